package obstest

import (
	"encoding/xml"
	"time"
)

// XML documents of the OBS API, declared here independently of any client so
// that the SDK conformance tests catch mistakes on either side. Output types
// carry the dialect's namespace (xmlns); input types ignore namespaces.

const (
	nsOBS = "http://obs.myhwclouds.com/doc/2015-06-30/"
	nsS3  = "http://s3.amazonaws.com/doc/2006-03-01/"
)

// ns returns the response namespace of the request's dialect.
func (rc *reqCtx) ns() string {
	if rc.s3 {
		return nsS3
	}
	return nsOBS
}

// isoTime formats times as listings do: 2018-01-01T00:00:00.000Z.
func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

type xmlOwner struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName,omitempty"`
}

// ---- ACL ----

type xmlACLIn struct {
	XMLName   xml.Name
	Owner     struct{ ID string }
	Delivered string       `xml:"Delivered"`
	Grants    []xmlGrantIn `xml:"AccessControlList>Grant"`
}

type xmlGrantIn struct {
	Grantee struct {
		Type   string `xml:"type,attr"`
		ID     string `xml:"ID"`
		URI    string `xml:"URI"`
		Canned string `xml:"Canned"`
	} `xml:"Grantee"`
	Permission string `xml:"Permission"`
	Delivered  string `xml:"Delivered"`
}

type xmlACLObs struct {
	XMLName   xml.Name      `xml:"AccessControlPolicy"`
	Xmlns     string        `xml:"xmlns,attr,omitempty"`
	Owner     xmlOwner      `xml:"Owner"`
	Delivered string        `xml:"Delivered,omitempty"`
	Grants    []xmlGrantObs `xml:"AccessControlList>Grant"`
}

type xmlGrantObs struct {
	Grantee struct {
		ID     string `xml:"ID,omitempty"`
		Canned string `xml:"Canned,omitempty"`
	} `xml:"Grantee"`
	Permission string  `xml:"Permission"`
	Delivered  *string `xml:"Delivered,omitempty"`
}

type xmlACLS3 struct {
	XMLName xml.Name     `xml:"AccessControlPolicy"`
	Xmlns   string       `xml:"xmlns,attr,omitempty"`
	Owner   xmlOwner     `xml:"Owner"`
	Grants  []xmlGrantS3 `xml:"AccessControlList>Grant"`
}

type xmlGrantS3 struct {
	Grantee struct {
		XSI  string `xml:"xmlns:xsi,attr"`
		Type string `xml:"xsi:type,attr"`
		ID   string `xml:"ID,omitempty"`
		URI  string `xml:"URI,omitempty"`
	} `xml:"Grantee"`
	Permission string `xml:"Permission"`
}

// ---- listings ----

type xmlContent struct {
	Key          string   `xml:"Key"`
	LastModified string   `xml:"LastModified"`
	ETag         string   `xml:"ETag"`
	Size         int64    `xml:"Size"`
	Owner        xmlOwner `xml:"Owner"`
	StorageClass string   `xml:"StorageClass"`
	Type         string   `xml:"Type,omitempty"`
}

type xmlPrefix struct {
	Prefix string `xml:"Prefix"`
}

type xmlListBucket struct {
	XMLName        xml.Name     `xml:"ListBucketResult"`
	Xmlns          string       `xml:"xmlns,attr,omitempty"`
	Name           string       `xml:"Name"`
	Prefix         string       `xml:"Prefix"`
	Marker         string       `xml:"Marker"`
	NextMarker     string       `xml:"NextMarker,omitempty"`
	MaxKeys        int          `xml:"MaxKeys"`
	Delimiter      string       `xml:"Delimiter,omitempty"`
	EncodingType   string       `xml:"EncodingType,omitempty"`
	IsTruncated    bool         `xml:"IsTruncated"`
	Contents       []xmlContent `xml:"Contents"`
	CommonPrefixes []xmlPrefix  `xml:"CommonPrefixes"`
}

type xmlListBucketV2 struct {
	XMLName               xml.Name     `xml:"ListBucketResult"`
	Xmlns                 string       `xml:"xmlns,attr,omitempty"`
	Name                  string       `xml:"Name"`
	Prefix                string       `xml:"Prefix"`
	MaxKeys               int          `xml:"MaxKeys"`
	KeyCount              int          `xml:"KeyCount"`
	Delimiter             string       `xml:"Delimiter,omitempty"`
	EncodingType          string       `xml:"EncodingType,omitempty"`
	IsTruncated           bool         `xml:"IsTruncated"`
	ContinuationToken     string       `xml:"ContinuationToken,omitempty"`
	NextContinuationToken string       `xml:"NextContinuationToken,omitempty"`
	StartAfter            string       `xml:"StartAfter,omitempty"`
	Contents              []xmlContent `xml:"Contents"`
	CommonPrefixes        []xmlPrefix  `xml:"CommonPrefixes"`
}

type xmlVersion struct {
	XMLName      xml.Name `xml:"Version"`
	Key          string   `xml:"Key"`
	VersionID    string   `xml:"VersionId"`
	IsLatest     bool     `xml:"IsLatest"`
	LastModified string   `xml:"LastModified"`
	ETag         string   `xml:"ETag"`
	Size         int64    `xml:"Size"`
	Owner        xmlOwner `xml:"Owner"`
	StorageClass string   `xml:"StorageClass"`
	Type         string   `xml:"Type,omitempty"`
}

type xmlDeleteMarker struct {
	XMLName      xml.Name `xml:"DeleteMarker"`
	Key          string   `xml:"Key"`
	VersionID    string   `xml:"VersionId"`
	IsLatest     bool     `xml:"IsLatest"`
	LastModified string   `xml:"LastModified"`
	Owner        xmlOwner `xml:"Owner"`
}

type xmlListVersions struct {
	XMLName             xml.Name    `xml:"ListVersionsResult"`
	Xmlns               string      `xml:"xmlns,attr,omitempty"`
	Name                string      `xml:"Name"`
	Prefix              string      `xml:"Prefix"`
	KeyMarker           string      `xml:"KeyMarker"`
	VersionIDMarker     string      `xml:"VersionIdMarker"`
	NextKeyMarker       string      `xml:"NextKeyMarker,omitempty"`
	NextVersionIDMarker string      `xml:"NextVersionIdMarker,omitempty"`
	MaxKeys             int         `xml:"MaxKeys"`
	Delimiter           string      `xml:"Delimiter,omitempty"`
	EncodingType        string      `xml:"EncodingType,omitempty"`
	IsTruncated         bool        `xml:"IsTruncated"`
	Entries             []any       // xmlVersion and xmlDeleteMarker, in order
	CommonPrefixes      []xmlPrefix `xml:"CommonPrefixes"`
}

type xmlBucket struct {
	Name         string `xml:"Name"`
	CreationDate string `xml:"CreationDate"`
	Location     string `xml:"Location"`
	BucketType   string `xml:"BucketType,omitempty"`
}

type xmlListBuckets struct {
	XMLName xml.Name    `xml:"ListAllMyBucketsResult"`
	Xmlns   string      `xml:"xmlns,attr,omitempty"`
	Owner   xmlOwner    `xml:"Owner"`
	Buckets []xmlBucket `xml:"Buckets>Bucket"`
}

// ---- batch delete ----

type xmlDeleteIn struct {
	XMLName xml.Name
	Quiet   string `xml:"Quiet"`
	Objects []struct {
		Key       string `xml:"Key"`
		VersionID string `xml:"VersionId"`
	} `xml:"Object"`
}

type xmlDeleted struct {
	Key                   string `xml:"Key"`
	VersionID             string `xml:"VersionId,omitempty"`
	DeleteMarker          bool   `xml:"DeleteMarker,omitempty"`
	DeleteMarkerVersionID string `xml:"DeleteMarkerVersionId,omitempty"`
}

type xmlDeleteError struct {
	Key       string `xml:"Key"`
	VersionID string `xml:"VersionId,omitempty"`
	Code      string `xml:"Code"`
	Message   string `xml:"Message"`
}

type xmlDeleteResult struct {
	XMLName xml.Name         `xml:"DeleteResult"`
	Xmlns   string           `xml:"xmlns,attr,omitempty"`
	Deleted []xmlDeleted     `xml:"Deleted"`
	Errors  []xmlDeleteError `xml:"Error"`
}

// ---- copy ----

type xmlCopyResult struct {
	XMLName      xml.Name
	Xmlns        string `xml:"xmlns,attr,omitempty"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
}

// ---- multipart ----

type xmlInitiateResult struct {
	XMLName  xml.Name `xml:"InitiateMultipartUploadResult"`
	Xmlns    string   `xml:"xmlns,attr,omitempty"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	UploadID string   `xml:"UploadId"`
}

type xmlCompleteIn struct {
	XMLName xml.Name
	Parts   []struct {
		PartNumber string `xml:"PartNumber"`
		ETag       string `xml:"ETag"`
	} `xml:"Part"`
}

type xmlCompleteResult struct {
	XMLName  xml.Name `xml:"CompleteMultipartUploadResult"`
	Xmlns    string   `xml:"xmlns,attr,omitempty"`
	Location string   `xml:"Location"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	ETag     string   `xml:"ETag"`
}

type xmlPart struct {
	PartNumber   int    `xml:"PartNumber"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int64  `xml:"Size"`
}

type xmlListParts struct {
	XMLName              xml.Name  `xml:"ListPartsResult"`
	Xmlns                string    `xml:"xmlns,attr,omitempty"`
	Bucket               string    `xml:"Bucket"`
	Key                  string    `xml:"Key"`
	UploadID             string    `xml:"UploadId"`
	Initiator            xmlOwner  `xml:"Initiator"`
	Owner                xmlOwner  `xml:"Owner"`
	StorageClass         string    `xml:"StorageClass"`
	PartNumberMarker     int       `xml:"PartNumberMarker"`
	NextPartNumberMarker int       `xml:"NextPartNumberMarker"`
	MaxParts             int       `xml:"MaxParts"`
	IsTruncated          bool      `xml:"IsTruncated"`
	Parts                []xmlPart `xml:"Part"`
}

type xmlUpload struct {
	Key          string   `xml:"Key"`
	UploadID     string   `xml:"UploadId"`
	Initiator    xmlOwner `xml:"Initiator"`
	Owner        xmlOwner `xml:"Owner"`
	StorageClass string   `xml:"StorageClass"`
	Initiated    string   `xml:"Initiated"`
}

type xmlListUploads struct {
	XMLName            xml.Name    `xml:"ListMultipartUploadsResult"`
	Xmlns              string      `xml:"xmlns,attr,omitempty"`
	Bucket             string      `xml:"Bucket"`
	KeyMarker          string      `xml:"KeyMarker"`
	UploadIDMarker     string      `xml:"UploadIdMarker"`
	NextKeyMarker      string      `xml:"NextKeyMarker,omitempty"`
	NextUploadIDMarker string      `xml:"NextUploadIdMarker,omitempty"`
	Delimiter          string      `xml:"Delimiter,omitempty"`
	Prefix             string      `xml:"Prefix"`
	MaxUploads         int         `xml:"MaxUploads"`
	EncodingType       string      `xml:"EncodingType,omitempty"`
	IsTruncated        bool        `xml:"IsTruncated"`
	Uploads            []xmlUpload `xml:"Upload"`
	CommonPrefixes     []xmlPrefix `xml:"CommonPrefixes"`
}

// ---- bucket documents ----

type xmlLocation struct {
	XMLName  xml.Name `xml:"Location"`
	Xmlns    string   `xml:"xmlns,attr,omitempty"`
	Location string   `xml:",chardata"`
}

// xmlLocationS3 is the S3-dialect answer the SDK expects.
type xmlLocationS3 struct {
	XMLName  xml.Name `xml:"CreateBucketConfiguration"`
	Xmlns    string   `xml:"xmlns,attr,omitempty"`
	Location string   `xml:"LocationConstraint"`
}

type xmlStorageInfo struct {
	XMLName      xml.Name `xml:"GetBucketStorageInfoResult"`
	Xmlns        string   `xml:"xmlns,attr,omitempty"`
	Size         int64    `xml:"Size"`
	ObjectNumber int64    `xml:"ObjectNumber"`
}

type xmlQuota struct {
	XMLName      xml.Name `xml:"Quota"`
	Xmlns        string   `xml:"xmlns,attr,omitempty"`
	StorageQuota string   `xml:"StorageQuota"`
}

type xmlStorageClass struct {
	XMLName      xml.Name `xml:"StorageClass"`
	Xmlns        string   `xml:"xmlns,attr,omitempty"`
	StorageClass string   `xml:",chardata"`
}

type xmlStoragePolicy struct {
	XMLName             xml.Name `xml:"StoragePolicy"`
	Xmlns               string   `xml:"xmlns,attr,omitempty"`
	DefaultStorageClass string   `xml:"DefaultStorageClass"`
}

type xmlVersioning struct {
	XMLName xml.Name `xml:"VersioningConfiguration"`
	Xmlns   string   `xml:"xmlns,attr,omitempty"`
	Status  string   `xml:"Status,omitempty"`
}

type xmlTag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

type xmlTagging struct {
	XMLName xml.Name `xml:"Tagging"`
	Xmlns   string   `xml:"xmlns,attr,omitempty"`
	Tags    []xmlTag `xml:"TagSet>Tag"`
}

type xmlRestoreIn struct {
	XMLName xml.Name
	Days    string `xml:"Days"`
	Tier1   string `xml:"RestoreJob>Tier"`
	Tier2   string `xml:"GlacierJobParameters>Tier"`
}

// xmlName names a root element.
func xmlName(local string) xml.Name { return xml.Name{Local: local} }
