package obsclient

// Bucket configuration sub-resources (PROTOCOL.md §4): versioning, bucket
// ACL, policy, default storage class and encryption live here; lifecycle,
// CORS, website, logging, notification and tagging have their own files.
//
// Every configuration is a typed Go value with xml tags (the wire form) and
// json tags (the editable form the file system exposes in control files).
// Set* sends the document with its Content-MD5 (OBS requires it for
// lifecycle, tagging and CORS; it is harmless elsewhere), Get* decodes the
// reply in any namespace and reports a malformed one as a MalformedResponse
// error, and Delete* removes the setting so that the next Get* is an error
// for which IsNotFound is true (NoSuchLifecycleConfiguration, …). Logging
// and notification have no DELETE: setting an empty document disables them
// and Get* then returns the zero value.
//
// Values that cannot be right (an unknown versioning status, an empty
// policy, more than MaxTags tags, …) are refused before any request with an
// error that wraps ErrInvalidConfig.

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// ErrInvalidConfig is wrapped by the errors of configuration values refused
// client-side, before any request.
var ErrInvalidConfig = errors.New("invalid configuration")

// IsInvalidConfig reports a configuration refused client-side
// (ErrInvalidConfig) or by the server with a 400 (MalformedXML,
// InvalidArgument, InvalidRequest, MalformedPolicy, InvalidTag, …).
func IsInvalidConfig(err error) bool {
	return errors.Is(err, ErrInvalidConfig) || StatusCode(err) == http.StatusBadRequest
}

// invalidConfig builds the error of a value refused client-side.
func invalidConfig(op, key, format string, args ...any) *Error {
	return &Error{Op: op, Key: key, Err: fmt.Errorf("%w: %w: %s", ErrInvalidConfig, errNotRetryable, fmt.Sprintf(format, args...))}
}

// configRequest starts a request on a bucket sub-resource (?sub).
func configRequest(op, method, sub string) *request {
	r := newRequest(op, method, "")
	r.query.Set(sub, "")
	return r
}

// getConfig GETs ?sub and decodes the XML reply into v.
func (b *Bucket) getConfig(ctx context.Context, op, sub string, v any) error {
	r := configRequest(op, http.MethodGet, sub)
	_, err := b.doDecode(ctx, r, v)
	return err
}

// putConfig PUTs the XML document doc to ?sub with its Content-MD5.
func (b *Bucket) putConfig(ctx context.Context, op, sub string, doc []byte) error {
	r := configRequest(op, http.MethodPut, sub)
	setXMLBody(r, doc)
	_, err := b.do(ctx, r)
	return err
}

// putConfigValue marshals v and PUTs it to ?sub.
func (b *Bucket) putConfigValue(ctx context.Context, op, sub string, v any) error {
	doc, err := xml.Marshal(v)
	if err != nil {
		return invalidConfig(op, "", "%v", err)
	}
	return b.putConfig(ctx, op, sub, doc)
}

// deleteConfig DELETEs ?sub.
func (b *Bucket) deleteConfig(ctx context.Context, op, sub string) error {
	_, err := b.do(ctx, configRequest(op, http.MethodDelete, sub))
	return err
}

// ---- Versioning ----

// Versioning statuses.
const (
	VersioningEnabled   = "Enabled"
	VersioningSuspended = "Suspended"
)

type xmlVersioning struct {
	XMLName xml.Name `xml:"VersioningConfiguration"`
	Status  string   `xml:"Status,omitempty"`
}

// GetVersioning is GET ?versioning: "Enabled", "Suspended", or "" for a
// bucket on which versioning was never enabled.
func (b *Bucket) GetVersioning(ctx context.Context) (string, error) {
	var x xmlVersioning
	if err := b.getConfig(ctx, "GetBucketVersioning", "versioning", &x); err != nil {
		return "", err
	}
	return strings.TrimSpace(x.Status), nil
}

// SetVersioning is PUT ?versioning with status "Enabled" or "Suspended".
// Versioning cannot be switched off once enabled, only suspended.
func (b *Bucket) SetVersioning(ctx context.Context, status string) error {
	if status != VersioningEnabled && status != VersioningSuspended {
		return invalidConfig("SetBucketVersioning", "", "versioning status %q is neither %s nor %s", status, VersioningEnabled, VersioningSuspended)
	}
	return b.putConfigValue(ctx, "SetBucketVersioning", "versioning", xmlVersioning{Status: status})
}

// ---- Bucket ACL ----

// GetBucketACL is GET ?acl on the bucket. Each grant's Delivered says
// whether it is inherited by objects (OBS dialect; false under S3).
func (b *Bucket) GetBucketACL(ctx context.Context) (ACL, error) {
	var x xmlACL
	if err := b.getConfig(ctx, "GetBucketACL", "acl", &x); err != nil {
		return ACL{}, err
	}
	return aclFromXML(x), nil
}

// SetBucketACL replaces the bucket's ACL (PUT ?acl with a document; the
// OBS form carries <Delivered> per grant, ACL.Delivered is ignored).
func (b *Bucket) SetBucketACL(ctx context.Context, acl ACL) error {
	for _, g := range acl.Grants {
		if g.Permission == "" || (g.ID == "") == (g.Canned == "") {
			return invalidConfig("SetBucketACL", "", "a grant needs a permission and exactly one of ID or Canned")
		}
	}
	doc, err := b.aclDoc(acl, true)
	if err != nil {
		return invalidConfig("SetBucketACL", "", "%v", err)
	}
	return b.putConfig(ctx, "SetBucketACL", "acl", doc)
}

// SetBucketCannedACL applies a canned ACL (private, public-read,
// public-read-write, public-read-delivered, …) with the x-obs-acl /
// x-amz-acl header.
func (b *Bucket) SetBucketCannedACL(ctx context.Context, canned string) error {
	if strings.TrimSpace(canned) == "" {
		return invalidConfig("SetBucketCannedACL", "", "empty canned ACL")
	}
	r := configRequest("SetBucketCannedACL", http.MethodPut, "acl")
	r.header.Set(b.prefix()+"acl", canned)
	_, err := b.do(ctx, r)
	return err
}

// ---- Policy ----

// GetPolicy is GET ?policy: the bucket policy's JSON text, as stored. A
// bucket without one is a 404 NoSuchBucketPolicy (IsNotFound).
func (b *Bucket) GetPolicy(ctx context.Context) (string, error) {
	r := configRequest("GetBucketPolicy", http.MethodGet, "policy")
	res, err := b.do(ctx, r)
	if err != nil {
		return "", err
	}
	if !json.Valid(res.body) {
		return "", b.malformed(r, res, errors.New("policy reply is not JSON"))
	}
	return string(res.body), nil
}

// SetPolicy is PUT ?policy with a JSON policy document (checked to be a
// JSON object client-side; the server validates the rest).
func (b *Bucket) SetPolicy(ctx context.Context, policy string) error {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal([]byte(policy), &probe); err != nil {
		return invalidConfig("SetBucketPolicy", "", "policy is not a JSON object: %v", err)
	}
	r := configRequest("SetBucketPolicy", http.MethodPut, "policy")
	setXMLBody(r, []byte(policy))
	r.header.Set("Content-Type", "application/json")
	_, err := b.do(ctx, r)
	return err
}

// DeletePolicy is DELETE ?policy.
func (b *Bucket) DeletePolicy(ctx context.Context) error {
	return b.deleteConfig(ctx, "DeleteBucketPolicy", "policy")
}

// ---- Default storage class ----

type xmlStorageClass struct {
	XMLName      xml.Name `xml:"StorageClass"`
	StorageClass string   `xml:",chardata"`
}

type xmlStoragePolicy struct {
	XMLName             xml.Name `xml:"StoragePolicy"`
	DefaultStorageClass string   `xml:"DefaultStorageClass"`
}

// GetBucketStorageClass is the bucket's default storage class in OBS
// names (STANDARD, WARM, COLD, DEEP_ARCHIVE): GET ?storageClass
// (<StorageClass>) in the OBS dialect, ?storagePolicy
// (<StoragePolicy><DefaultStorageClass>) under V2/V4, as the SDK does.
func (b *Bucket) GetBucketStorageClass(ctx context.Context) (string, error) {
	sub := "storagePolicy"
	if b.isOBS() {
		sub = "storageClass"
	}
	r := configRequest("GetBucketStorageClass", http.MethodGet, sub)
	res, err := b.do(ctx, r)
	if err != nil {
		return "", err
	}
	c, ok := findText(res.body, "DefaultStorageClass", "StorageClass")
	if !ok {
		return "", b.malformed(r, res, errors.New("no storage class in reply"))
	}
	return normClass(c), nil
}

// SetBucketStorageClass sets the bucket's default storage class (OBS
// names; WARM and COLD are sent as STANDARD_IA and GLACIER under V2/V4).
func (b *Bucket) SetBucketStorageClass(ctx context.Context, class string) error {
	if strings.TrimSpace(class) == "" {
		return invalidConfig("SetBucketStorageClass", "", "empty storage class")
	}
	if b.isOBS() {
		return b.putConfigValue(ctx, "SetBucketStorageClass", "storageClass", xmlStorageClass{StorageClass: b.wireClass(class)})
	}
	return b.putConfigValue(ctx, "SetBucketStorageClass", "storagePolicy", xmlStoragePolicy{DefaultStorageClass: b.wireClass(class)})
}

// ---- Encryption ----

// BucketEncryption is the bucket's default server-side encryption
// (<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault>).
// SSEAlgorithm is "kms" or "AES256" ("aws:kms" on the wire under V2/V4,
// read back as "kms").
type BucketEncryption struct {
	XMLName        xml.Name `xml:"ServerSideEncryptionConfiguration" json:"-"`
	SSEAlgorithm   string   `xml:"Rule>ApplyServerSideEncryptionByDefault>SSEAlgorithm" json:"SSEAlgorithm"`
	KMSMasterKeyID string   `xml:"Rule>ApplyServerSideEncryptionByDefault>KMSMasterKeyID,omitempty" json:"KMSMasterKeyID,omitempty"`
	ProjectID      string   `xml:"Rule>ApplyServerSideEncryptionByDefault>ProjectID,omitempty" json:"ProjectID,omitempty"`
}

// GetEncryption is GET ?encryption; none is a 404
// NoSuchEncryptionConfiguration (IsNotFound).
func (b *Bucket) GetEncryption(ctx context.Context) (BucketEncryption, error) {
	var x BucketEncryption
	if err := b.getConfig(ctx, "GetBucketEncryption", "encryption", &x); err != nil {
		return BucketEncryption{}, err
	}
	x.XMLName = xml.Name{}
	x.SSEAlgorithm = normSSE(strings.TrimSpace(x.SSEAlgorithm))
	x.KMSMasterKeyID = strings.TrimSpace(x.KMSMasterKeyID)
	x.ProjectID = strings.TrimSpace(x.ProjectID)
	return x, nil
}

// SetEncryption is PUT ?encryption.
func (b *Bucket) SetEncryption(ctx context.Context, e BucketEncryption) error {
	alg := normSSE(strings.TrimSpace(e.SSEAlgorithm))
	if alg != "kms" && alg != "AES256" {
		return invalidConfig("SetBucketEncryption", "", "SSEAlgorithm %q is neither kms nor AES256", e.SSEAlgorithm)
	}
	if alg == "AES256" && e.KMSMasterKeyID != "" {
		return invalidConfig("SetBucketEncryption", "", "KMSMasterKeyID needs SSEAlgorithm kms")
	}
	if alg == "kms" && !b.isOBS() {
		alg = "aws:kms"
	}
	e.XMLName, e.SSEAlgorithm = xml.Name{}, alg
	return b.putConfigValue(ctx, "SetBucketEncryption", "encryption", e)
}

// DeleteEncryption is DELETE ?encryption.
func (b *Bucket) DeleteEncryption(ctx context.Context) error {
	return b.deleteConfig(ctx, "DeleteBucketEncryption", "encryption")
}
