package obsclient

import (
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header helpers shared by the object operations. Write headers use the
// dialect's prefix (x-obs- or x-amz-); the few OBS-only headers
// (x-obs-expires, x-obs-object-type, x-obs-next-append-position, …) always
// use x-obs-. Response headers are read under either prefix.

// s3StorageClass maps OBS class names to the S3 dialect's names, and back.
var (
	toS3Class   = map[string]string{"WARM": "STANDARD_IA", "COLD": "GLACIER"}
	fromS3Class = map[string]string{"STANDARD_IA": "WARM", "GLACIER": "COLD"}
)

// setWriteHeaders adds the headers of WriteOptions (content type, MD5,
// storage class, ACL, metadata, expiry, SSE).
func (b *Bucket) setWriteHeaders(h http.Header, o WriteOptions) {
	p := b.prefix()
	if o.ContentType != "" {
		h.Set("Content-Type", o.ContentType)
	}
	if o.ContentMD5 != "" {
		h.Set("Content-MD5", o.ContentMD5)
	}
	if o.StorageClass != "" {
		h.Set(p+"storage-class", b.wireClass(o.StorageClass))
	}
	if o.ACL != "" {
		h.Set(p+"acl", o.ACL)
	}
	b.setMetadata(h, o.Metadata)
	if o.ExpiresDays > 0 {
		h.Set("x-obs-expires", strconv.Itoa(o.ExpiresDays))
	}
	b.setSSE(h, o.SSE, true)
}

// setMetadata adds x-obs-meta-* / x-amz-meta-* headers; names are
// lowercased and values with bytes outside printable ASCII are encoded (see
// encodeHeaderValue).
func (b *Bucket) setMetadata(h http.Header, md map[string]string) {
	for k, v := range md {
		name := b.prefix() + "meta-" + strings.ToLower(strings.TrimSpace(k))
		h[http.CanonicalHeaderKey(name)] = []string{encodeHeaderValue(v)}
	}
}

func (b *Bucket) wireClass(c string) string {
	c = strings.ToUpper(c)
	if !b.isOBS() {
		if s, ok := toS3Class[c]; ok {
			return s
		}
	}
	return c
}

// setSSE adds server-side encryption headers: KMS only when writing, SSE-C
// (algorithm, base64 key, base64 key MD5) on every request that touches an
// SSE-C object.
func (b *Bucket) setSSE(h http.Header, s *SSE, write bool) {
	if s == nil {
		return
	}
	p := b.prefix()
	if s.OBS && write {
		h.Set(p+"server-side-encryption", "AES256")
	}
	if s.KMS && write {
		if b.isOBS() {
			h.Set(p+"server-side-encryption", "kms")
			if s.KMSKeyID != "" {
				h.Set("x-obs-server-side-encryption-kms-key-id", s.KMSKeyID)
			}
		} else {
			h.Set(p+"server-side-encryption", "aws:kms")
			if s.KMSKeyID != "" {
				h.Set("x-amz-server-side-encryption-aws-kms-key-id", s.KMSKeyID)
			}
		}
	}
	setSSEC(h, p+"server-side-encryption-customer-", s.CustomerKey)
}

// setSSEC adds the three SSE-C headers under prefix when key is set.
func setSSEC(h http.Header, prefix string, key []byte) {
	if len(key) == 0 {
		return
	}
	sum := md5.Sum(key)
	h.Set(prefix+"algorithm", "AES256")
	h.Set(prefix+"key", base64.StdEncoding.EncodeToString(key))
	h.Set(prefix+"key-MD5", base64.StdEncoding.EncodeToString(sum[:]))
}

// setConditions adds If-* headers (prefix "" for the object itself,
// "x-obs-copy-source-" style for a copy source).
func setConditions(h http.Header, prefix, ifMatch, ifNoneMatch string, ifMod, ifUnmod time.Time) {
	name := func(s string) string {
		if prefix == "" {
			return s
		}
		return prefix + strings.ToLower(strings.TrimPrefix(s, "If-"))
	}
	if ifMatch != "" {
		h.Set(name("If-Match"), quoteETag(ifMatch))
	}
	if ifNoneMatch != "" {
		h.Set(name("If-None-Match"), quoteETag(ifNoneMatch))
	}
	if !ifMod.IsZero() {
		h.Set(name("If-Modified-Since"), ifMod.UTC().Format(http.TimeFormat))
	}
	if !ifUnmod.IsZero() {
		h.Set(name("If-Unmodified-Since"), ifUnmod.UTC().Format(http.TimeFormat))
	}
}

// quoteETag quotes an ETag unless it is "*" or already quoted.
func quoteETag(s string) string {
	s = strings.TrimSpace(s)
	if s == "*" || strings.HasPrefix(s, `"`) || strings.HasPrefix(s, `W/`) {
		return s
	}
	return `"` + s + `"`
}

// encodeHeaderValue percent-encodes the bytes of v that HTTP header values
// cannot carry (controls, DEL and non-ASCII), like the SDK does for
// non-ASCII text; decodeHeaderValue reverses exactly that.
func encodeHeaderValue(v string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < 0x20 || c >= 0x7f {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// decodeHeaderValue decodes the %XX escapes of bytes encodeHeaderValue
// encodes (controls, DEL, non-ASCII) and leaves every other '%' alone, so
// a value such as "100%" or "a%20b" round-trips unchanged.
func decodeHeaderValue(v string) string {
	if !strings.Contains(v, "%") {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '%' && i+2 < len(v) {
			if n, err := strconv.ParseUint(v[i+1:i+3], 16, 8); err == nil && (n < 0x20 || n >= 0x7f) {
				b.WriteByte(byte(n))
				i += 2
				continue
			}
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// infoFromHeader reads an ObjectInfo from HEAD/GET response headers.
func infoFromHeader(key string, h http.Header) ObjectInfo {
	get := func(name string) string { return firstHeader(h, "x-obs-"+name, "x-amz-"+name) }
	info := ObjectInfo{
		Key:           key,
		ETag:          trimETag(h.Get("ETag")),
		LastModified:  parseTime(h.Get("Last-Modified")),
		StorageClass:  normClass(get("storage-class")),
		ContentType:   h.Get("Content-Type"),
		VersionID:     get("version-id"),
		Restore:       get("restore"),
		SSE:           normSSE(get("server-side-encryption")),
		KMSKeyID:      firstHeader(h, "x-obs-server-side-encryption-kms-key-id", "x-amz-server-side-encryption-aws-kms-key-id"),
		SSECAlgorithm: get("server-side-encryption-customer-algorithm"),
		SSECKeyMD5:    get("server-side-encryption-customer-key-MD5"),
		UploadID:      firstHeader(h, "x-obs-uploadId", "x-amz-uploadId"),
		DeleteMarker:  strings.EqualFold(get("delete-marker"), "true"),
		Appendable:    strings.EqualFold(h.Get("x-obs-object-type"), "Appendable"),
	}
	info.Size, _ = strconv.ParseInt(h.Get("Content-Length"), 10, 64)
	if n, err := strconv.ParseInt(h.Get("x-obs-next-append-position"), 10, 64); err == nil {
		info.NextAppendPosition = n
	}
	for name, vs := range h {
		l := strings.ToLower(name)
		for _, p := range []string{"x-obs-meta-", "x-amz-meta-"} {
			if strings.HasPrefix(l, p) && len(vs) > 0 {
				if info.Metadata == nil {
					info.Metadata = map[string]string{}
				}
				info.Metadata[l[len(p):]] = decodeHeaderValue(strings.Join(vs, ","))
			}
		}
	}
	return info
}

// normClass maps a wire storage class to OBS's names; "" is STANDARD.
func normClass(c string) string {
	c = strings.ToUpper(strings.TrimSpace(c))
	if c == "" {
		return "STANDARD"
	}
	if o, ok := fromS3Class[c]; ok {
		return o
	}
	return c
}

func normSSE(s string) string {
	if s == "aws:kms" {
		return "kms"
	}
	return s
}

// checkHeaders refuses header names that are not HTTP tokens and values
// with control characters (a metadata name with a space, a content type
// with a newline) before anything is sent: Go would refuse them on every
// attempt.
func checkHeaders(h http.Header) error {
	for name, vs := range h {
		if name == "" || strings.IndexFunc(name, func(c rune) bool { return !isTokenChar(c) }) >= 0 {
			return fmt.Errorf("invalid header name %q", name)
		}
		for _, v := range vs {
			for i := 0; i < len(v); i++ {
				if c := v[i]; c < 0x20 && c != '\t' || c == 0x7f {
					return fmt.Errorf("invalid character in header %s", name)
				}
			}
		}
	}
	return nil
}

// ValidMetadataName reports whether name can be sent as a user metadata
// name (x-obs-meta-NAME): a non-empty HTTP token. Any other name would make
// every request carrying it fail locally.
func ValidMetadataName(name string) bool {
	return name != "" && strings.IndexFunc(name, func(c rune) bool { return !isTokenChar(c) }) < 0
}

func isTokenChar(c rune) bool {
	return c < 0x7f && c > 0x20 && !strings.ContainsRune(`"(),/:;<=>?@[\]{}`, c)
}
