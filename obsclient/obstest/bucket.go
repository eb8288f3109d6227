package obstest

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"
)

// Bucket-level APIs: HEAD, location, storage info, quota, default storage
// class, ACL, create/delete, and the configuration documents (policy,
// lifecycle, tagging, CORS, website, logging, notification, encryption),
// which are validated, stored verbatim and returned as stored.

// handleHeadBucket: HEAD / (also answers ?apiversion with x-obs-api: 3.0).
func handleHeadBucket(rc *reqCtx) error {
	h := rc.w.Header()
	rc.b.mu.RLock()
	class := rc.b.storageClass
	rc.b.mu.RUnlock()
	h.Set("x-obs-api", "3.0")
	rc.setHdr("bucket-location", rc.b.region)
	rc.setHdr("bucket-region", rc.b.region)
	rc.setHdr("storage-class", rc.className(class))
	h.Set("x-obs-version", "3.0")
	if rc.b.pfs {
		h.Set("x-obs-fs-file-interface", "Enabled")
		h.Set("x-obs-bucket-type", "POSIX")
	} else {
		h.Set("x-obs-bucket-type", "OBJECT")
	}
	return rc.noContent(http.StatusOK)
}

// handleGetLocation: GET /?location. The OBS dialect answers
// <Location>; the S3 dialect <CreateBucketConfiguration><LocationConstraint>,
// which is what the official SDK parses in V2/V4 mode.
func handleGetLocation(rc *reqCtx) error {
	if rc.s3 {
		return rc.writeXML(http.StatusOK, xmlLocationS3{Xmlns: rc.ns(), Location: rc.b.region})
	}
	return rc.writeXML(http.StatusOK, xmlLocation{Xmlns: rc.ns(), Location: rc.b.region})
}

// handleStorageInfo: GET /?storageinfo.
func handleStorageInfo(rc *reqCtx) error {
	rc.b.mu.RLock()
	out := xmlStorageInfo{Xmlns: rc.ns(), Size: rc.b.used, ObjectNumber: rc.b.count}
	rc.b.mu.RUnlock()
	return rc.writeXML(http.StatusOK, out)
}

// handleGetQuota: GET /?quota.
func handleGetQuota(rc *reqCtx) error {
	rc.b.mu.RLock()
	q := rc.b.quota
	rc.b.mu.RUnlock()
	return rc.writeXML(http.StatusOK, xmlQuota{Xmlns: rc.ns(), StorageQuota: strconv.FormatInt(q, 10)})
}

// handlePutQuota: PUT /?quota (0 = unlimited).
func handlePutQuota(rc *reqCtx) error {
	var in xmlQuota
	if err := rc.readXML(&in, 64<<10, false); err != nil {
		return err
	}
	q, err := strconv.ParseInt(strings.TrimSpace(in.StorageQuota), 10, 64)
	if err != nil || q < 0 {
		return invalidArgument("Invalid StorageQuota")
	}
	rc.b.mu.Lock()
	rc.b.quota = q
	rc.b.mu.Unlock()
	return rc.noContent(http.StatusOK)
}

// SetQuota sets a bucket's quota in bytes (0 = unlimited).
func (s *Server) SetQuota(bucketName string, bytes int64) {
	if b := s.bucket(bucketName); b != nil {
		b.mu.Lock()
		b.quota = bytes
		b.mu.Unlock()
	}
}

// handleGetStorageClass: GET /?storageClass (OBS form) or ?storagePolicy (S3 form).
func handleGetStorageClass(rc *reqCtx) error {
	rc.b.mu.RLock()
	c := rc.b.storageClass
	rc.b.mu.RUnlock()
	if rc.has("storagePolicy") {
		return rc.writeXML(http.StatusOK, xmlStoragePolicy{Xmlns: rc.ns(), DefaultStorageClass: rc.className(c)})
	}
	return rc.writeXML(http.StatusOK, xmlStorageClass{Xmlns: rc.ns(), StorageClass: rc.className(c)})
}

// handlePutStorageClass: PUT /?storageClass or ?storagePolicy.
func handlePutStorageClass(rc *reqCtx) error {
	data, err := rc.readSmallBody(64<<10, false)
	if err != nil {
		return err
	}
	var raw string
	if rc.has("storagePolicy") {
		var in xmlStoragePolicy
		err, raw = xml.Unmarshal(data, &in), in.DefaultStorageClass
	} else {
		var in xmlStorageClass
		err, raw = xml.Unmarshal(data, &in), in.StorageClass
	}
	if err != nil || strings.TrimSpace(raw) == "" {
		return errMalformedXML
	}
	c, err := parseClass(strings.TrimSpace(raw))
	if err != nil {
		return err
	}
	if rc.b.pfs && c != "" {
		return errFsNotSupport
	}
	rc.b.mu.Lock()
	rc.b.storageClass = c
	rc.b.mu.Unlock()
	return rc.noContent(http.StatusOK)
}

// handleGetBucketACL: GET /?acl.
func handleGetBucketACL(rc *reqCtx) error {
	rc.b.mu.RLock()
	a := rc.b.acl
	rc.b.mu.RUnlock()
	return rc.writeACL(a, false)
}

// handlePutBucketACL: PUT /?acl.
func handlePutBucketACL(rc *reqCtx) error {
	a, err := rc.readACL()
	if err != nil {
		return err
	}
	rc.b.mu.Lock()
	rc.b.acl = a
	rc.b.mu.Unlock()
	return rc.noContent(http.StatusOK)
}

// handleCreateBucket: PUT /bucket.
func handleCreateBucket(rc *reqCtx) error {
	if !validBucketName(rc.bucketName) {
		return errInvalidBucketName
	}
	fs := rc.r.Header.Get("x-obs-fs-file-interface") == "Enabled"
	if err := rc.s.CreateBucket(rc.bucketName, fs); err != nil {
		return err
	}
	b := rc.s.bucket(rc.bucketName)
	if a, ok, err := rc.aclFromHeaders(); err == nil && ok {
		b.mu.Lock()
		b.acl = a
		b.mu.Unlock()
	}
	if c, err := parseClass(rc.hdr("storage-class")); err == nil {
		b.mu.Lock()
		b.storageClass = c
		b.mu.Unlock()
	}
	rc.w.Header().Set("Location", "/"+rc.bucketName)
	return rc.noContent(http.StatusOK)
}

// handleDeleteBucket: DELETE /bucket (409 BucketNotEmpty unless empty).
func handleDeleteBucket(rc *reqCtx) error {
	rc.s.mu.Lock()
	defer rc.s.mu.Unlock()
	rc.b.mu.RLock()
	empty := len(rc.b.objects) == 0 && len(rc.b.uploads) == 0
	rc.b.mu.RUnlock()
	if !empty {
		return errBucketNotEmpty
	}
	delete(rc.s.buckets, rc.bucketName)
	return rc.noContent(http.StatusNoContent)
}

// configNames maps config sub-resources to operation-name suffixes.
var configNames = map[string]string{
	"policy": "Policy", "lifecycle": "Lifecycle", "tagging": "Tagging", "cors": "Cors",
	"website": "Website", "logging": "Logging", "notification": "Notification", "encryption": "Encryption",
}

// configSpec says how a configuration document is validated and reported.
type configSpec struct {
	root     string // XML root element ("" = JSON policy)
	notFound string // 404 code when unset ("" = return an empty document)
	needMD5  bool
	validate func([]byte) error
}

var configSpecs = map[string]configSpec{
	"policy":       {notFound: "NoSuchBucketPolicy", validate: validatePolicy},
	"lifecycle":    {root: "LifecycleConfiguration", notFound: "NoSuchLifecycleConfiguration", needMD5: true, validate: validateLifecycle},
	"tagging":      {root: "Tagging", notFound: "NoSuchTagSet", needMD5: true, validate: func(d []byte) error { _, err := parseTagging(d); return err }},
	"cors":         {root: "CORSConfiguration", notFound: "NoSuchCORSConfiguration", needMD5: true, validate: validateCORS},
	"website":      {root: "WebsiteConfiguration", notFound: "NoSuchWebsiteConfiguration", validate: validateWebsite},
	"logging":      {root: "BucketLoggingStatus"},
	"notification": {root: "NotificationConfiguration"},
	"encryption":   {root: "ServerSideEncryptionConfiguration", notFound: "NoSuchEncryptionConfiguration", validate: validateEncryption},
}

// configSub returns the configuration sub-resource of the request.
func (rc *reqCtx) configSub() string {
	for _, s := range configSubs {
		if rc.has(s) {
			return s
		}
	}
	return ""
}

// handleGetConfig: GET /?policy|lifecycle|….
func handleGetConfig(rc *reqCtx) error {
	sub := rc.configSub()
	spec := configSpecs[sub]
	rc.b.mu.RLock()
	doc := rc.b.configs[sub]
	rc.b.mu.RUnlock()
	if doc == nil {
		if spec.notFound != "" {
			return noSuchConfig(spec.notFound, "bucket "+sub+" configuration")
		}
		doc = []byte(xml.Header + "<" + spec.root + ` xmlns="` + rc.ns() + `"/>`)
	}
	h := rc.w.Header()
	h.Set("Content-Type", "application/xml")
	if spec.root == "" {
		h.Set("Content-Type", "application/json")
	}
	h.Set("Content-Length", strconv.Itoa(len(doc)))
	rc.w.WriteHeader(http.StatusOK)
	_, _ = rc.w.Write(doc)
	return nil
}

// handlePutConfig: PUT /?policy|lifecycle|….
func handlePutConfig(rc *reqCtx) error {
	sub := rc.configSub()
	spec := configSpecs[sub]
	data, err := rc.readSmallBody(1<<20, spec.needMD5)
	if err != nil {
		return err
	}
	if err := checkConfig(spec, data); err != nil {
		return err
	}
	rc.b.mu.Lock()
	defer rc.b.mu.Unlock()
	if spec.notFound == "" && isEmptyConfig(data, spec.root) {
		delete(rc.b.configs, sub) // logging / notification: empty disables
	} else {
		rc.b.configs[sub] = data
	}
	status := http.StatusOK
	if sub == "policy" {
		status = http.StatusNoContent
	}
	return rc.noContent(status)
}

// checkConfig validates a configuration document.
func checkConfig(spec configSpec, data []byte) error {
	if spec.root != "" {
		var probe struct{ XMLName xml.Name }
		if err := xml.Unmarshal(data, &probe); err != nil || probe.XMLName.Local != spec.root {
			return errMalformedXML
		}
	}
	if spec.validate != nil {
		return spec.validate(data)
	}
	return nil
}

// isEmptyConfig reports whether an XML document has no child elements.
func isEmptyConfig(data []byte, root string) bool {
	var probe struct {
		Inner string `xml:",innerxml"`
	}
	if xml.Unmarshal(data, &probe) != nil {
		return false
	}
	return strings.TrimSpace(probe.Inner) == ""
}

// handleDeleteConfig: DELETE /?policy|lifecycle|… → 204.
func handleDeleteConfig(rc *reqCtx) error {
	sub := rc.configSub()
	rc.b.mu.Lock()
	delete(rc.b.configs, sub)
	rc.b.mu.Unlock()
	return rc.noContent(http.StatusNoContent)
}

// validatePolicy requires a JSON object with a Statement list.
func validatePolicy(data []byte) error {
	var doc struct {
		Statement []json.RawMessage `json:"Statement"`
	}
	if err := json.Unmarshal(data, &doc); err != nil || len(doc.Statement) == 0 {
		return errf(http.StatusBadRequest, "MalformedPolicy", "Policy has invalid JSON or no Statement")
	}
	return nil
}

// validateLifecycle checks rule statuses, actions and counts.
func validateLifecycle(data []byte) error {
	var doc struct {
		Rules []struct {
			ID         string `xml:"ID"`
			Status     string `xml:"Status"`
			Expiration *struct {
				Days string `xml:"Days"`
				Date string `xml:"Date"`
			} `xml:"Expiration"`
			Transitions []struct {
				Days         string `xml:"Days"`
				Date         string `xml:"Date"`
				StorageClass string `xml:"StorageClass"`
			} `xml:"Transition"`
			NoncurrentExp   *struct{} `xml:"NoncurrentVersionExpiration"`
			NoncurrentTrans []struct {
				StorageClass string `xml:"StorageClass"`
			} `xml:"NoncurrentVersionTransition"`
			Abort *struct{} `xml:"AbortIncompleteMultipartUpload"`
		} `xml:"Rule"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil || len(doc.Rules) == 0 || len(doc.Rules) > 1000 {
		return errMalformedXML
	}
	for _, r := range doc.Rules {
		if r.Status != "Enabled" && r.Status != "Disabled" {
			return errMalformedXML
		}
		if r.Expiration == nil && len(r.Transitions) == 0 && r.NoncurrentExp == nil && len(r.NoncurrentTrans) == 0 && r.Abort == nil {
			return invalidRequest("At least one action needs to be specified in a rule")
		}
		for _, t := range r.Transitions {
			if _, err := parseClass(t.StorageClass); err != nil || t.StorageClass == "" {
				return invalidArgument("Invalid transition storage class %q", t.StorageClass)
			}
		}
	}
	return nil
}

// validateCORS requires at least one rule with methods and origins.
func validateCORS(data []byte) error {
	var doc struct {
		Rules []struct {
			Methods []string `xml:"AllowedMethod"`
			Origins []string `xml:"AllowedOrigin"`
		} `xml:"CORSRule"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil || len(doc.Rules) == 0 || len(doc.Rules) > 100 {
		return errMalformedXML
	}
	for _, r := range doc.Rules {
		if len(r.Methods) == 0 || len(r.Origins) == 0 {
			return errMalformedXML
		}
		for _, m := range r.Methods {
			switch m {
			case "GET", "PUT", "POST", "DELETE", "HEAD":
			default:
				return invalidRequest("Found unsupported HTTP method in CORS config. Unsupported method is %s", m)
			}
		}
	}
	return nil
}

// validateWebsite requires a redirect or an index document.
func validateWebsite(data []byte) error {
	var doc struct {
		Redirect *struct {
			HostName string `xml:"HostName"`
		} `xml:"RedirectAllRequestsTo"`
		Index *struct {
			Suffix string `xml:"Suffix"`
		} `xml:"IndexDocument"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		return errMalformedXML
	}
	if (doc.Redirect == nil || doc.Redirect.HostName == "") && (doc.Index == nil || doc.Index.Suffix == "") {
		return invalidArgument("A value for IndexDocument Suffix or RedirectAllRequestsTo HostName must be provided")
	}
	return nil
}

// validateEncryption requires SSEAlgorithm kms or AES256.
func validateEncryption(data []byte) error {
	var doc struct {
		Alg string `xml:"Rule>ApplyServerSideEncryptionByDefault>SSEAlgorithm"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		return errMalformedXML
	}
	switch doc.Alg {
	case "kms", "aws:kms", "AES256":
		return nil
	}
	return errMalformedXML
}
