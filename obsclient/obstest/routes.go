package obstest

import (
	"net/http"
	"net/url"
)

// Request levels: what the path addresses.
const (
	levelService = iota // GET / (list buckets)
	levelBucket         // /bucket
	levelObject         // /bucket/key
)

// configSubs are the bucket sub-resources stored as documents (bucket.go).
var configSubs = []string{"policy", "lifecycle", "tagging", "cors", "website", "logging", "notification", "encryption"}

// classify maps a request to its operation name and handler.
func classify(method string, q url.Values, h http.Header, level int) (string, handlerFunc) {
	switch level {
	case levelService:
		if method == http.MethodGet {
			return "ListBuckets", handleListBuckets
		}
		return "Unknown", methodNotAllowed
	case levelBucket:
		return classifyBucket(method, q)
	}
	return classifyObject(method, q, h)
}

func methodNotAllowed(*reqCtx) error { return errMethodNotAllowed }

func notImplemented(*reqCtx) error { return errNotImplemented }

// bucketRoute is one bucket sub-resource's GET/PUT/DELETE operations.
type bucketRoute struct {
	sub           string
	get, put, del string
	hGet, hPut    handlerFunc
	hDel          handlerFunc
}

var bucketRoutes = []bucketRoute{
	{sub: "location", get: "GetBucketLocation", hGet: handleGetLocation},
	{sub: "storageinfo", get: "GetBucketStorageInfo", hGet: handleStorageInfo},
	{sub: "quota", get: "GetBucketQuota", put: "SetBucketQuota", hGet: handleGetQuota, hPut: handlePutQuota},
	{sub: "storageClass", get: "GetBucketStoragePolicy", put: "SetBucketStoragePolicy", hGet: handleGetStorageClass, hPut: handlePutStorageClass},
	{sub: "storagePolicy", get: "GetBucketStoragePolicy", put: "SetBucketStoragePolicy", hGet: handleGetStorageClass, hPut: handlePutStorageClass},
	{sub: "acl", get: "GetBucketAcl", put: "SetBucketAcl", hGet: handleGetBucketACL, hPut: handlePutBucketACL},
	{sub: "versioning", get: "GetBucketVersioning", put: "SetBucketVersioning", hGet: handleGetVersioning, hPut: handlePutVersioning},
	{sub: "versions", get: "ListVersions", hGet: handleListVersions},
	{sub: "uploads", get: "ListMultipartUploads", hGet: handleListUploads},
}

func init() {
	for _, sub := range configSubs {
		name := "Bucket" + configNames[sub]
		bucketRoutes = append(bucketRoutes, bucketRoute{sub: sub,
			get: "Get" + name, put: "Set" + name, del: "Delete" + name,
			hGet: handleGetConfig, hPut: handlePutConfig, hDel: handleDeleteConfig})
	}
}

// classifyBucket maps bucket-level requests.
func classifyBucket(method string, q url.Values) (string, handlerFunc) {
	if method == http.MethodOptions {
		return "OptionsBucket", handlePreflight
	}
	if method == http.MethodHead {
		return "HeadBucket", handleHeadBucket
	}
	if method == http.MethodPost {
		if q.Has("delete") {
			return "DeleteObjects", handleDeleteObjects
		}
		return "PostBucket", notImplemented
	}
	for _, rt := range bucketRoutes {
		if !q.Has(rt.sub) {
			continue
		}
		switch {
		case method == http.MethodGet && rt.hGet != nil:
			return rt.get, rt.hGet
		case method == http.MethodPut && rt.hPut != nil:
			return rt.put, rt.hPut
		case method == http.MethodDelete && rt.hDel != nil:
			return rt.del, rt.hDel
		}
		return "Unknown", methodNotAllowed
	}
	switch method {
	case http.MethodGet:
		if q.Get("list-type") == "2" {
			return "ListObjectsV2", handleListObjectsV2
		}
		return "ListObjects", handleListObjects
	case http.MethodPut:
		return "CreateBucket", handleCreateBucket
	case http.MethodDelete:
		return "DeleteBucket", handleDeleteBucket
	}
	return "Unknown", methodNotAllowed
}

// hasCopySource reports whether the request copies from another object.
func hasCopySource(h http.Header) bool {
	return h.Get("x-obs-copy-source") != "" || h.Get("x-amz-copy-source") != ""
}

// classifyObject maps object-level requests.
func classifyObject(method string, q url.Values, h http.Header) (string, handlerFunc) {
	switch method {
	case http.MethodOptions:
		return "OptionsObject", handlePreflight
	case http.MethodHead:
		return "HeadObject", handleHeadObject
	case http.MethodGet:
		return classifyObjectGet(q)
	case http.MethodPut:
		return classifyObjectPut(q, h)
	case http.MethodPost:
		return classifyObjectPost(q)
	case http.MethodDelete:
		switch {
		case q.Has("uploadId"):
			return "AbortMultipartUpload", handleAbortUpload
		case q.Has("tagging"):
			return "DeleteObjectTagging", handleDeleteObjectTagging
		}
		return "DeleteObject", handleDeleteObject
	}
	return "Unknown", methodNotAllowed
}

func classifyObjectGet(q url.Values) (string, handlerFunc) {
	switch {
	case q.Has("acl"):
		return "GetObjectAcl", handleGetObjectACL
	case q.Has("tagging"):
		return "GetObjectTagging", handleGetObjectTagging
	case q.Has("uploadId"):
		return "ListParts", handleListParts
	}
	return "GetObject", handleGetObject
}

func classifyObjectPut(q url.Values, h http.Header) (string, handlerFunc) {
	switch {
	case q.Has("partNumber") && q.Has("uploadId"):
		if hasCopySource(h) {
			return "UploadPartCopy", handleUploadPartCopy
		}
		return "UploadPart", handleUploadPart
	case q.Has("acl"):
		return "SetObjectAcl", handlePutObjectACL
	case q.Has("tagging"):
		return "SetObjectTagging", handlePutObjectTagging
	case q.Has("metadata"):
		return "SetObjectMetadata", handleSetMetadata
	case q.Has("truncate"):
		return "TruncateObject", handleTruncate
	case q.Has("modify"):
		return "ModifyObject", handleModify
	case hasCopySource(h):
		return "CopyObject", handleCopyObject
	}
	return "PutObject", handlePutObject
}

func classifyObjectPost(q url.Values) (string, handlerFunc) {
	switch {
	case q.Has("uploads"):
		return "InitiateMultipartUpload", handleInitiateUpload
	case q.Has("uploadId"):
		return "CompleteMultipartUpload", handleCompleteUpload
	case q.Has("append"):
		return "AppendObject", handleAppend
	case q.Has("restore"):
		return "RestoreObject", handleRestore
	case q.Has("rename"):
		return "RenameObject", handleRename
	}
	return "PostObject", notImplemented
}
