package obsclient

// This file is the public contract of obsclient: configuration, the value
// types the operations exchange, and the operation set of a Bucket. The
// implementations live in the files named after each concept (object.go,
// list.go, multipart.go, append.go, bucket.go, presign.go, …).

import (
	"io"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/obsfs/obsfs/obsclient/signer"
)

// AddressingStyle chooses where the bucket name goes.
type AddressingStyle int

const (
	// AddressingAuto uses path style for IP and localhost endpoints and
	// virtual-hosted style otherwise.
	AddressingAuto AddressingStyle = iota
	// AddressingPath puts the bucket in the path: https://endpoint/bucket/key.
	AddressingPath
	// AddressingVirtual puts it in the host: https://bucket.endpoint/key.
	AddressingVirtual
)

// Config configures a Client. The zero value of every field but Endpoint and
// Credentials has a sensible default (see New).
type Config struct {
	Endpoint    string // "obs.cn-north-4.myhuaweicloud.com", "https://…", "http://127.0.0.1:9000"; no scheme means https
	Region      string // V4 scope and location; default "cn-north-4"
	Credentials signer.Credentials
	Signature   signer.Dialect // default signer.OBS
	Addressing  AddressingStyle

	ConnectTimeout time.Duration // dial + TLS handshake; default 10s
	RequestTimeout time.Duration // time to response headers of one attempt, and longest stall of a GET body read; default 60s; 0 keeps the default, <0 disables
	// ReadTimeout is the time to response headers of one attempt of a
	// request without side effects (GET, HEAD: stat, listing, read), at
	// most RequestTimeout; default 15s; <0 leaves RequestTimeout. A healthy
	// server answers these in well under a second (a 1,000-key listing
	// included), so 15 s only ever trips on a frozen or unreachable
	// server, and a lookup gives up after about a minute (four attempts)
	// instead of four times RequestTimeout.
	ReadTimeout    time.Duration
	IdleTimeout    time.Duration // idle keep-alive connections; default 90s
	Retries        int           // extra attempts for retryable failures; default 3; <0 means none
	RetryBaseDelay time.Duration // first backoff; default 100ms, capped at 10s, with full jitter

	InsecureSkipVerify bool   // TLS verification off (ssl_verify=false)
	SkipHostnameVerify bool   // verify the chain but not the host name (ssl_verify_hostname=0)
	CAFile             string // extra PEM roots
	Proxy              string // "http://user:pass@host:port"; "" uses the environment
	UserAgent          string // default "obsfs/<version>"
	MaxConns           int    // per-host connection pool size; default 64

	Logger *zap.Logger // debug logs per request; nil means zap.NewNop()

	// Transport replaces the HTTP transport (tests use it to dial a
	// virtual-hosted name to a local emulator). The request still goes over
	// the wire; nil builds one from the fields above.
	Transport http.RoundTripper
}

// ObjectInfo is what HEAD, GET and listings say about an object. Fields a
// source does not carry are zero (listings have no Metadata or ContentType).
type ObjectInfo struct {
	Key          string
	Size         int64
	ETag         string // without quotes
	LastModified time.Time
	StorageClass string // "STANDARD" when the server omits it
	ContentType  string
	// Metadata holds custom metadata: names lowercased and without the
	// x-obs-meta- / x-amz-meta- prefix, values as stored (URL-decoded when the
	// server sent them encoded).
	Metadata           map[string]string
	VersionID          string
	Appendable         bool   // x-obs-object-type: Appendable / <Type>APPENDABLE</Type>
	NextAppendPosition int64  // valid when Appendable
	Restore            string // raw x-obs-restore header, "" if none
	SSE                string // x-obs-server-side-encryption: "kms", "AES256", or ""
	KMSKeyID           string // x-obs-server-side-encryption-kms-key-id (SSE-KMS)
	SSECAlgorithm      string // x-obs-server-side-encryption-customer-algorithm (SSE-C, "AES256")
	SSECKeyMD5         string // x-obs-server-side-encryption-customer-key-MD5 (SSE-C)
	UploadID           string // x-obs-uploadId on multipart objects
	DeleteMarker       bool   // listings of versions, and 404s of HEAD/GET
	IsLatest           bool   // version listings only
	Owner              string // listings only
}

// SSE selects server-side encryption for a write (and, for SSE-C, the key
// needed again to read).
type SSE struct {
	KMS      bool   // x-obs-server-side-encryption: kms
	KMSKeyID string // optional key id for KMS
	OBS      bool   // SSE-OBS: x-obs-server-side-encryption: AES256
	// CustomerKey, when 32 bytes, selects SSE-C (AES256) with this key.
	CustomerKey []byte
}

// Range is an inclusive byte range. End < 0 means "to the end".
// Suffix > 0 asks for the last Suffix bytes (Start and End ignored).
type Range struct {
	Start, End int64
	Suffix     int64
}

// GetOptions qualify HEAD and GET.
type GetOptions struct {
	Range             *Range // GET only
	IfMatch           string // ETag, with or without quotes
	IfNoneMatch       string
	IfModifiedSince   time.Time
	IfUnmodifiedSince time.Time
	VersionID         string
	// ResponseHeaders overrides response headers on GET:
	// keys "content-type", "content-disposition", "cache-control", … (sent as response-<key>).
	ResponseHeaders map[string]string
	SSE             *SSE // SSE-C key to read an SSE-C object
}

// ObjectReader is the body of a GET; Close it.
type ObjectReader struct {
	io.ReadCloser
	Info ObjectInfo
	// Size of this body; for a ranged GET, RangeStart is the first byte's offset.
	ContentLength int64
	RangeStart    int64
}

// WriteOptions qualify PUT, initiate multipart, append (first write) and
// copy with REPLACE.
type WriteOptions struct {
	ContentType  string
	ContentMD5   string // base64; PutObject computes it when empty and the body is seekable
	StorageClass string // STANDARD, WARM, COLD, DEEP_ARCHIVE
	ACL          string // canned ACL
	Metadata     map[string]string
	ExpiresDays  int
	SSE          *SSE
}

// PutResult is the outcome of PUT, copy, complete and append.
type PutResult struct {
	ETag         string // without quotes
	VersionID    string
	LastModified time.Time
}

// CopySource names the object a copy reads.
type CopySource struct {
	Bucket    string // "" means the same bucket
	Key       string
	VersionID string
	// Conditions on the source (x-obs-copy-source-if-*); a failed one is a
	// 412 PreconditionFailed error.
	IfMatch, IfNoneMatch               string
	IfModifiedSince, IfUnmodifiedSince time.Time
	// SSE carries the SSE-C key of an SSE-C encrypted source
	// (x-obs-copy-source-server-side-encryption-customer-*).
	SSE *SSE
}

// MetadataDirective says what a copy or set-metadata does with metadata.
type MetadataDirective string

const (
	MetadataCopy       MetadataDirective = "COPY"
	MetadataReplace    MetadataDirective = "REPLACE"
	MetadataReplaceNew MetadataDirective = "REPLACE_NEW" // set-metadata only: merge
)

// CopyOptions qualify CopyObject. With MetadataReplace, Write supplies the
// new metadata, content type, storage class and ACL.
type CopyOptions struct {
	Directive MetadataDirective
	Write     WriteOptions
}

// ObjectID names an object version for batch delete.
type ObjectID struct {
	Key       string
	VersionID string
}

// DeleteResult reports one deletion.
type DeleteResult struct {
	Key                   string
	VersionID             string
	DeleteMarker          bool
	DeleteMarkerVersionID string
}

// ListOptions qualify ListObjects. MaxKeys 0 means 1000.
type ListOptions struct {
	Prefix    string
	Delimiter string
	Marker    string
	MaxKeys   int
}

// ListResult is one page of ListObjects. Keys and prefixes are decoded.
type ListResult struct {
	Objects        []ObjectInfo
	CommonPrefixes []string
	IsTruncated    bool
	// NextMarker is where the next page starts: the server's NextMarker, or
	// the last key or prefix of this page when the server omitted it.
	NextMarker string
}

// ListVersionsOptions qualify ListVersions.
type ListVersionsOptions struct {
	Prefix          string
	Delimiter       string
	KeyMarker       string
	VersionIDMarker string
	MaxKeys         int
}

// ListVersionsResult is one page of ListVersions; Versions holds objects and
// delete markers (DeleteMarker set) in the server's order.
type ListVersionsResult struct {
	Versions            []ObjectInfo
	CommonPrefixes      []string
	IsTruncated         bool
	NextKeyMarker       string
	NextVersionIDMarker string
}

// Part is an uploaded part of a multipart upload.
type Part struct {
	Number       int
	ETag         string // without quotes
	Size         int64
	LastModified time.Time
}

// Upload is an in-progress multipart upload.
type Upload struct {
	Key       string
	UploadID  string
	Initiated time.Time
}

// ListUploadsOptions qualify ListMultipartUploads.
type ListUploadsOptions struct {
	Prefix, Delimiter, KeyMarker, UploadIDMarker string
	MaxUploads                                   int
}

// ListUploadsResult is one page of ListMultipartUploads.
type ListUploadsResult struct {
	Uploads            []Upload
	CommonPrefixes     []string
	IsTruncated        bool
	NextKeyMarker      string
	NextUploadIDMarker string
}

// AppendResult is the outcome of an append.
type AppendResult struct {
	ETag               string // of this chunk
	NextAppendPosition int64
}

// Grant is one entry of an ACL. Exactly one of ID or Canned ("Everyone") is set.
// The json tags are the editable form the file system exposes.
type Grant struct {
	ID         string `json:"ID,omitempty"`
	Canned     string `json:"Canned,omitempty"`
	Permission string `json:"Permission"` // READ, WRITE, READ_ACP, WRITE_ACP, FULL_CONTROL
	Delivered  bool   `json:"Delivered,omitempty"`
}

// ACL is an access control policy.
type ACL struct {
	Owner     string  `json:"Owner"`
	Delivered bool    `json:"Delivered,omitempty"` // object ACLs
	Grants    []Grant `json:"Grants"`
}

// BucketInfo is what HEAD bucket says.
type BucketInfo struct {
	Location     string
	StorageClass string
	Version      string // x-obs-version (API version)
	// FileSystem is true for a parallel file system bucket
	// (x-obs-fs-file-interface: Enabled).
	FileSystem bool
}

// StorageInfo is GET ?storageinfo.
type StorageInfo struct {
	Size        int64
	ObjectCount int64
}

// RestoreTier is the speed of a restore from an archive class.
type RestoreTier string

const (
	TierExpedited RestoreTier = "Expedited"
	TierStandard  RestoreTier = "Standard"
)

// Operations of a Bucket (implemented in the concept files):
//
//	HeadObject(ctx, key string, o GetOptions) (ObjectInfo, error)
//	GetObject(ctx, key string, o GetOptions) (*ObjectReader, error)
//	PutObject(ctx, key string, body io.ReadSeeker, size int64, o WriteOptions) (PutResult, error)
//	CopyObject(ctx, dstKey string, src CopySource, o CopyOptions) (PutResult, error)
//	SetObjectMetadata(ctx, key string, d MetadataDirective, o WriteOptions) error
//	DeleteObject(ctx, key, versionID string) (DeleteResult, error)
//	DeleteObjects(ctx, objs []ObjectID) (deleted []DeleteResult, err error) // quiet; per-key failures as *DeleteErrors
//	ListObjects(ctx, o ListOptions) (*ListResult, error)
//	NewLister(o ListOptions) *Lister // pager: Next(ctx) (*ListResult, error), More() bool
//	ListVersions(ctx, o ListVersionsOptions) (*ListVersionsResult, error)
//	InitiateMultipartUpload(ctx, key string, o WriteOptions) (uploadID string, err error)
//	UploadPart(ctx, key, uploadID string, n int, body io.ReadSeeker, size int64) (Part, error)
//	UploadPartCopy(ctx, key, uploadID string, n int, src CopySource, r Range) (Part, error)
//	CompleteMultipartUpload(ctx, key, uploadID string, parts []Part) (PutResult, error)
//	AbortMultipartUpload(ctx, key, uploadID string) error
//	ListParts(ctx, key, uploadID string) ([]Part, error) // all pages
//	ListMultipartUploads(ctx, o ListUploadsOptions) (*ListUploadsResult, error)
//	AppendObject(ctx, key string, position int64, body io.ReadSeeker, size int64, o WriteOptions) (AppendResult, error)
//	RestoreObject(ctx, key, versionID string, days int, tier RestoreTier) error
//	GetObjectACL(ctx, key, versionID string) (ACL, error)
//	SetObjectACL(ctx, key, versionID string, acl ACL) error
//	SetObjectCannedACL(ctx, key, versionID, canned string) error
//	Head(ctx) (BucketInfo, error)                 // HEAD bucket
//	StorageInfo(ctx) (StorageInfo, error)
//	Quota(ctx) (int64, error)
//	SetQuota(ctx, bytes int64) error
//	RenameObject(ctx, from, to string) error     // parallel file systems only
//	PresignURL(method, key string, expires time.Duration, query url.Values) (string, error)
//
// Additions beyond the original contract:
//
//	UploadPartWith(ctx, key, uploadID string, n int, body io.ReadSeeker, size int64, o PartOptions) (Part, error) // MD5 / SSE-C
//	UploadPartCopyWith(ctx, key, uploadID string, n int, src CopySource, r Range, o PartOptions) (Part, error)
//	Location(ctx) (string, error)                // GET ?location
//	Exists(ctx) (bool, error)                    // HEAD bucket, 404 → false
//	Client() *Client
//
// Bucket configuration (bucketconfig.go, lifecycle.go, cors.go, website.go,
// logging.go, notification.go, tagging.go). Each configuration is a typed
// value with xml tags (wire) and json tags (the editable form of the
// file system's control files). Unset configurations are IsNotFound on
// Get (NoSuchBucketPolicy, NoSuchLifecycleConfiguration, NoSuchTagSet,
// NoSuchCORSConfiguration, NoSuchWebsiteConfiguration,
// NoSuchEncryptionConfiguration); logging and notification have no Delete
// (Set of the zero value disables them, Get then returns the zero value).
// Values refused client-side wrap ErrInvalidConfig; IsInvalidConfig also
// covers the server's 400s (MalformedXML, InvalidArgument, …).
//
//	GetVersioning(ctx) (string, error)           // "Enabled" | "Suspended" | ""
//	SetVersioning(ctx, status string) error
//	GetBucketACL(ctx) (ACL, error)               // per-grant Delivered (OBS dialect)
//	SetBucketACL(ctx, acl ACL) error
//	SetBucketCannedACL(ctx, canned string) error
//	GetPolicy(ctx) (string, error)
//	SetPolicy(ctx, policy string) error
//	DeletePolicy(ctx) error
//	GetLifecycle(ctx) (LifecycleConfiguration, error)
//	SetLifecycle(ctx, c LifecycleConfiguration) error // Content-MD5
//	DeleteLifecycle(ctx) error
//	GetBucketTagging(ctx) ([]Tag, error)
//	SetBucketTagging(ctx, tags []Tag) error     // ≤ MaxTags, Content-MD5
//	DeleteBucketTagging(ctx) error
//	GetCORS(ctx) (CORSConfiguration, error)
//	SetCORS(ctx, c CORSConfiguration) error     // Content-MD5
//	DeleteCORS(ctx) error
//	GetWebsite(ctx) (WebsiteConfiguration, error)
//	SetWebsite(ctx, w WebsiteConfiguration) error
//	DeleteWebsite(ctx) error
//	GetLogging(ctx) (BucketLoggingStatus, error)
//	SetLogging(ctx, s BucketLoggingStatus) error // zero value disables
//	GetNotification(ctx) (NotificationConfiguration, error)
//	SetNotification(ctx, c NotificationConfiguration) error // zero value disables
//	GetEncryption(ctx) (BucketEncryption, error)
//	SetEncryption(ctx, e BucketEncryption) error
//	DeleteEncryption(ctx) error
//	GetBucketStorageClass(ctx) (string, error)  // ?storageClass (OBS) / ?storagePolicy (V2/V4)
//	SetBucketStorageClass(ctx, class string) error
//	GetObjectTagging(ctx, key, versionID string) ([]Tag, error)
//	SetObjectTagging(ctx, key, versionID string, tags []Tag) error
//	DeleteObjectTagging(ctx, key, versionID string) error
//
// CopySource.SSE carries an SSE-C source key; PartOptions carries a part's
// MD5 and SSE-C key. Package helpers: ETagMatches, ParseEndpoint,
// ValidateBucketName, AsError, StatusCode, the Is* error predicates
// (IsConflict, IsInvalidRange, IsInvalidObjectState, IsNotSupported too),
// DeleteErrors, Lister, (*Client).Config, (*Client).VirtualHosted,
// (*Client).Close, and the limits MaxListKeys, MaxParts, MaxDeleteBatch,
// MaxKeyLength, MaxPresignExpiry.
