package obstest

import (
	"crypto/md5"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/obsfs/obsfs/obsclient/signer"
)

// Object headers: what a write request sets on a new version and what a
// read returns.

// stdHeaders are the standard headers stored with an object.
var stdHeaders = []string{"Content-Type", "Content-Encoding", "Content-Disposition", "Content-Language", "Cache-Control", "Expires"}

// maxMetadata is the user-metadata limit (names plus values).
const maxMetadata = 8 * 1024

// storage classes, OBS names; S3 names map onto them.
var classAliases = map[string]string{
	"STANDARD": "STANDARD", "WARM": "WARM", "COLD": "COLD", "DEEP_ARCHIVE": "DEEP_ARCHIVE",
	"STANDARD_IA": "WARM", "GLACIER": "COLD",
}

// parseClass validates a storage class ("" stays "").
func parseClass(c string) (string, error) {
	if c == "" {
		return "", nil
	}
	v, ok := classAliases[strings.ToUpper(c)]
	if !ok {
		return "", errf(http.StatusBadRequest, "InvalidStorageClass", "The storage class you specified is not valid")
	}
	if v == "STANDARD" {
		return "", nil
	}
	return v, nil
}

// className renders a stored class in the request's dialect.
func (rc *reqCtx) className(c string) string {
	if c == "" {
		c = "STANDARD"
	}
	if rc.s3 {
		switch c {
		case "WARM":
			return "STANDARD_IA"
		case "COLD":
			return "GLACIER"
		}
	}
	return c
}

// readStdHeaders collects the standard headers present on the request.
func (rc *reqCtx) readStdHeaders() map[string]string {
	out := map[string]string{}
	for _, h := range stdHeaders {
		if v := rc.r.Header.Get(h); v != "" {
			out[h] = v
		}
	}
	if ce := out["Content-Encoding"]; ce != "" {
		parts := strings.Split(ce, ",")
		var keep []string
		for _, p := range parts {
			if p = strings.TrimSpace(p); p != "" && p != "aws-chunked" {
				keep = append(keep, p)
			}
		}
		out["Content-Encoding"] = strings.Join(keep, ",")
		if len(keep) == 0 {
			delete(out, "Content-Encoding")
		}
	}
	return out
}

// readMetadata collects x-obs-meta-* / x-amz-meta-* (names lowercased).
func (rc *reqCtx) readMetadata() (map[string]string, error) {
	meta := map[string]string{}
	size := 0
	for name, vals := range rc.r.Header {
		l := strings.ToLower(name)
		var k string
		switch {
		case strings.HasPrefix(l, "x-obs-meta-"):
			k = l[len("x-obs-meta-"):]
		case strings.HasPrefix(l, "x-amz-meta-"):
			k = l[len("x-amz-meta-"):]
		default:
			continue
		}
		v := strings.Join(vals, ",")
		meta[k] = v
		size += len(k) + len(v)
	}
	if size > maxMetadata {
		return nil, errMetadataTooLarge
	}
	return meta, nil
}

// readSSE parses server-side-encryption request headers into v.
func (rc *reqCtx) readSSE(v *version) error {
	switch alg := rc.hdr("server-side-encryption"); alg {
	case "":
	case "kms", "aws:kms":
		v.SSE = "kms"
		v.SSEKMSKeyID = rc.hdr("server-side-encryption-kms-key-id")
		if v.SSEKMSKeyID == "" {
			v.SSEKMSKeyID = rc.hdr("server-side-encryption-aws-kms-key-id")
		}
	case "AES256":
		v.SSE = "AES256"
	default:
		return invalidArgument("Invalid server-side-encryption %q", alg)
	}
	md5, err := rc.sseCustomerKey("server-side-encryption-customer-")
	if err != nil {
		return err
	}
	v.SSECKeyMD5 = md5
	if md5 != "" && v.SSE != "" {
		return invalidArgument("SSE-C cannot be combined with SSE-KMS/SSE-OBS")
	}
	return nil
}

// sseCustomerKey validates SSE-C headers with the given prefix (after
// x-obs-/x-amz-) and returns the key MD5, or "" when absent.
func (rc *reqCtx) sseCustomerKey(p string) (string, error) {
	alg, key, keyMD5 := rc.hdr(p+"algorithm"), rc.hdr(p+"key"), rc.hdr(p+"key-MD5")
	if alg == "" && key == "" && keyMD5 == "" {
		return "", nil
	}
	raw, err := base64.StdEncoding.DecodeString(key)
	if alg != "AES256" || err != nil || len(raw) != 32 {
		return "", invalidArgument("Invalid SSE-C algorithm or key")
	}
	sum := md5.Sum(raw)
	got := base64.StdEncoding.EncodeToString(sum[:])
	if keyMD5 != got {
		// OBS marks the key MD5 mandatory; a missing or wrong one is refused.
		return "", invalidArgument("The calculated MD5 hash of the key did not match the hash that was provided.")
	}
	return got, nil
}

// checkSSEC enforces that requests touching an SSE-C object (HEAD, GET,
// copy source, append, upload part) present its key: none → 400, another
// key → 403. A key offered for an object that is not SSE-C is refused with
// 400 too, as S3 does ("not applicable"): a client must learn which objects
// need it rather than send it everywhere.
func (rc *reqCtx) checkSSEC(v *version, prefix string) error {
	got, err := rc.sseCustomerKey(prefix)
	if err != nil {
		return err
	}
	if v.SSECKeyMD5 == "" {
		if got != "" {
			return errSSECNotApplicable
		}
		return nil
	}
	if got == "" {
		return invalidRequest("The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.")
	}
	if got != v.SSECKeyMD5 {
		return errAccessDenied
	}
	return nil
}

// newVersion builds a version from a write request's headers (metadata,
// standard headers, class, ACL, SSE, expires). Body fields are left empty.
func (rc *reqCtx) newVersion() (*version, error) {
	v := &version{ObjectInfo: ObjectInfo{Key: rc.key, Headers: rc.readStdHeaders()}}
	var err error
	if v.Metadata, err = rc.readMetadata(); err != nil {
		return nil, err
	}
	if v.StorageClass, err = parseClass(rc.hdr("storage-class")); err != nil {
		return nil, err
	}
	if rc.hdr("storage-class") == "" {
		rc.b.mu.RLock()
		v.StorageClass = rc.b.storageClass
		rc.b.mu.RUnlock()
	}
	a, ok, err := rc.aclFromHeaders()
	if err != nil {
		return nil, err
	}
	if !ok {
		a = cannedACL("private", rc.s.opts.OwnerID)
	}
	v.acl = a
	if err := rc.readSSE(v); err != nil {
		return nil, err
	}
	if e := rc.r.Header.Get("x-obs-expires"); e != "" {
		days, err := strconv.Atoi(e)
		if err != nil || days <= 0 {
			return nil, invalidArgument("Invalid x-obs-expires %q", e)
		}
		v.ExpiresDays = days
	}
	if rc.b.pfs && (v.SSE != "" || v.SSECKeyMD5 != "") {
		return nil, errFsNotSupport
	}
	return v, nil
}

// setSSEHeaders echoes the encryption of v.
func (rc *reqCtx) setSSEHeaders(v *version) {
	switch {
	case v.SSE == "kms":
		alg := "kms"
		if rc.s3 {
			alg = "aws:kms"
		}
		rc.setHdr("server-side-encryption", alg)
		if v.SSEKMSKeyID != "" {
			rc.setHdr("server-side-encryption-kms-key-id", v.SSEKMSKeyID)
			if rc.s3 {
				rc.setHdr("server-side-encryption-aws-kms-key-id", v.SSEKMSKeyID)
			}
		}
	case v.SSE != "":
		rc.setHdr("server-side-encryption", v.SSE)
	case v.SSECKeyMD5 != "":
		rc.setHdr("server-side-encryption-customer-algorithm", "AES256")
		rc.setHdr("server-side-encryption-customer-key-MD5", v.SSECKeyMD5)
	}
}

// setVersionHeader sets x-obs-version-id when the bucket has (had) versioning.
func (rc *reqCtx) setVersionHeader(id string) {
	if id != "" && id != "null" {
		rc.setHdr("version-id", id)
	}
}

// setObjectHeaders writes the metadata headers of a GET/HEAD response.
func (rc *reqCtx) setObjectHeaders(v *version) {
	h := rc.w.Header()
	h.Set("ETag", v.ETag)
	h.Set("Last-Modified", v.LastModified.Format(http.TimeFormat))
	h.Set("Accept-Ranges", "bytes")
	h.Set("Content-Type", "binary/octet-stream")
	for k, val := range v.Headers {
		h.Set(k, val)
	}
	for k, val := range v.Metadata {
		h.Set(rc.prefix()+"meta-"+k, val)
	}
	rc.setVersionHeader(v.VersionID)
	if v.StorageClass != "" {
		rc.setHdr("storage-class", rc.className(v.StorageClass))
	}
	if v.Appendable {
		h.Set("x-obs-object-type", "Appendable")
		h.Set("x-obs-next-append-position", strconv.FormatInt(v.Size, 10))
	}
	if v.UploadID != "" {
		rc.setHdr("uploadId", v.UploadID)
	}
	if v.ExpiresDays > 0 {
		exp := v.LastModified.Add(time.Duration(v.ExpiresDays) * 24 * time.Hour)
		rc.setHdr("expiration", `expiry-date="`+exp.Format(http.TimeFormat)+`"`)
	}
	rc.setSSEHeaders(v)
}

// quote wraps a hex digest in double quotes (ETag form).
func quote(s string) string { return `"` + s + `"` }

// unquote strips surrounding double quotes (and a weak prefix).
func unquote(s string) string {
	s = strings.TrimPrefix(strings.TrimSpace(s), "W/")
	return strings.Trim(s, `"`)
}

// signerEscape escapes a key for a URL path as the SDK does.
func signerEscape(key string) string { return signer.EscapeKey(key) }
