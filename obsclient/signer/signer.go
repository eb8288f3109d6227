// Package signer computes OBS request signatures as pure functions.
//
// OBS accepts three dialects and so does this package:
//
//   - OBS: "Authorization: OBS AK:base64(HMAC-SHA1(SK, StringToSign))", headers x-obs-*.
//   - V2:  "Authorization: AWS AK:…", the same construction over x-amz-* headers.
//   - V4:  "AWS4-HMAC-SHA256 Credential=…,SignedHeaders=…,Signature=…" (service s3).
//
// Everything here is a function of its arguments: no clocks, no I/O. The client
// (obsclient) uses SignRequest and Presign; the emulator (obsclient/obstest)
// recomputes the expected signature of a received request with the same
// building blocks (CanonicalResource, CanonicalHeaders, StringToSign,
// CanonicalRequestV4, …) and compares. The vectors in ../../shared/PROTOCOL.md
// are the tests, and the official SDK keeps both ends honest in the emulator's
// conformance suite.
package signer

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Dialect selects the signature scheme.
type Dialect string

// The three dialects OBS accepts.
const (
	OBS Dialect = "obs"
	V2  Dialect = "v2"
	V4  Dialect = "v4"
)

// ParseDialect accepts "obs", "v2" or "v4" (case-insensitive).
func ParseDialect(s string) (Dialect, error) {
	switch d := Dialect(strings.ToLower(strings.TrimSpace(s))); d {
	case OBS, V2, V4:
		return d, nil
	}
	return "", fmt.Errorf("unknown signature %q (want obs, v2 or v4)", s)
}

// HeaderPrefix is the prefix of signed, metadata and ACL headers: "x-obs-" for
// the OBS dialect and "x-amz-" for V2 and V4.
func (d Dialect) HeaderPrefix() string {
	if d == OBS {
		return "x-obs-"
	}
	return "x-amz-"
}

// Credentials are the keys a request is signed with. String never shows the
// secret key or the token, so a Credentials value is safe to log by accident.
type Credentials struct {
	AccessKey     string
	SecretKey     string
	SecurityToken string
}

// String redacts the secrets.
func (c Credentials) String() string {
	return fmt.Sprintf("Credentials{AccessKey:%s SecretKey:*** token:%t}", c.AccessKey, c.SecurityToken != "")
}

// GoString redacts the secrets from %#v too.
func (c Credentials) GoString() string { return "signer." + c.String() }

// Time formats used on the wire.
const (
	// HTTPDate is the RFC 1123 form used by Date headers.
	HTTPDate = "Mon, 02 Jan 2006 15:04:05 GMT"
	// ISO8601Basic is the V4 long date (x-amz-date, X-Amz-Date).
	ISO8601Basic = "20060102T150405Z"
	shortDate    = "20060102"
)

// UnsignedPayload is the V4 payload hash OBS accepts for unsigned bodies.
const UnsignedPayload = "UNSIGNED-PAYLOAD"

// subResources lists the query parameters (lowercased) that OBS and V2
// signatures include in the canonicalized resource (PROTOCOL.md §1).
var subResources = map[string]bool{}

func init() {
	for _, s := range strings.Fields(`acl append attname backtosource bucketstatus
		cdnnotifyconfiguration cors customdomain delete deletebucket directcoldaccess
		encryption ignore-sign-in-query inventory length lifecycle location logging metadata
		mirrorbacktosource modify name notification object-lock partnumber policy
		policystatus position publicaccessblock quota rename replication requestpayment
		response-cache-control response-content-disposition response-content-encoding
		response-content-language response-content-type response-expires restore retention
		storageclass storageinfo storagepolicy tagging torrent truncate uploadid uploads
		versionid versioning versions website x-image-process x-image-save-bucket
		x-image-save-object x-obs-accesslabel x-obs-security-token x-oss-process apiversion`) {
		subResources[s] = true
	}
}

// IsSubResource reports whether query parameter name is part of the OBS/V2
// canonicalized resource in dialect d: a listed name, or any name starting
// with the dialect's header prefix (x-obs-security-token in presigned URLs).
func IsSubResource(name string, d Dialect) bool {
	l := strings.ToLower(name)
	return subResources[l] || strings.HasPrefix(l, d.HeaderPrefix())
}

// EscapeKey encodes an object key for both the URL path and the canonical
// resource, as the SDK does: per rune, "/" is kept, everything else goes
// through url.QueryEscape with "+" (an escaped space) written as %20.
func EscapeKey(key string) string {
	var b strings.Builder
	for _, seg := range strings.SplitAfter(key, "/") {
		name := strings.TrimSuffix(seg, "/")
		b.WriteString(strings.ReplaceAll(url.QueryEscape(name), "+", "%20"))
		if len(name) < len(seg) {
			b.WriteByte('/')
		}
	}
	return b.String()
}

// CanonicalResource builds the OBS/V2 CanonicalizedResource. bucket is empty
// for service-level requests (list buckets); escapedKey is the key exactly as
// escaped in the request path (EscapeKey, or r.URL.EscapedPath minus the bucket
// part on the server). A bucket-level request is "/bucket/" when virtual-hosted
// and "/bucket" in path style. The signed query parameters follow, sorted by
// name, values raw, a bare name for an empty value.
func CanonicalResource(bucket, escapedKey string, virtualHosted bool, query url.Values, d Dialect) string {
	var b strings.Builder
	switch {
	case bucket == "":
		b.WriteString("/")
	case escapedKey == "" && !virtualHosted:
		b.WriteString("/" + bucket)
	default:
		b.WriteString("/" + bucket + "/" + escapedKey)
	}
	b.WriteString(canonicalSubResources(query, d))
	return b.String()
}

func canonicalSubResources(query url.Values, d Dialect) string {
	names := make([]string, 0, len(query))
	for k := range query {
		if IsSubResource(k, d) {
			names = append(names, k)
		}
	}
	if len(names) == 0 {
		return ""
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = k
		if v := query.Get(k); v != "" {
			parts[i] += "=" + v
		}
	}
	return "?" + strings.Join(parts, "&")
}

// CanonicalHeaders renders the headers whose lowercased name starts with
// prefix ("x-obs-" or "x-amz-") as sorted "name:value\n" lines; repeated
// values are joined by ",", metadata values are trimmed.
func CanonicalHeaders(h http.Header, prefix string) string {
	lines := make(map[string]string)
	for name, values := range h {
		l := strings.ToLower(strings.TrimSpace(name))
		if !strings.HasPrefix(l, prefix) {
			continue
		}
		vs := make([]string, len(values))
		for i, v := range values {
			if strings.HasPrefix(l, prefix+"meta-") {
				v = strings.TrimSpace(v)
			}
			vs[i] = v
		}
		if prev, ok := lines[l]; ok {
			lines[l] = prev + "," + strings.Join(vs, ",")
		} else {
			lines[l] = strings.Join(vs, ",")
		}
	}
	names := make([]string, 0, len(lines))
	for n := range lines {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		b.WriteString(n + ":" + lines[n] + "\n")
	}
	return b.String()
}

// StringToSign is the OBS/V2 string to sign. date is the Date header, or
// Expires (Unix seconds) for a presigned URL, or "" when the dialect's date
// header (x-obs-date) is among canonicalHeaders.
func StringToSign(method, contentMD5, contentType, date, canonicalHeaders, resource string) string {
	return method + "\n" + contentMD5 + "\n" + contentType + "\n" + date + "\n" + canonicalHeaders + resource
}

// SignHMACSHA1 returns base64(HMAC-SHA1(secretKey, stringToSign)).
func SignHMACSHA1(secretKey, stringToSign string) string {
	m := hmac.New(sha1.New, []byte(secretKey))
	m.Write([]byte(stringToSign))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// AuthorizationV2 formats the OBS ("OBS AK:sig") or V2 ("AWS AK:sig") header.
func AuthorizationV2(d Dialect, accessKey, signature string) string {
	if d == OBS {
		return "OBS " + accessKey + ":" + signature
	}
	return "AWS " + accessKey + ":" + signature
}

// CanonicalQueryV4 renders the V4 canonical query string: sorted by name,
// names and values escaped (RFC 3986, space as %20), empty values as "k=".
func CanonicalQueryV4(query url.Values) string {
	type kv struct{ k, v string }
	var pairs []kv
	for k, vs := range query {
		for _, v := range vs {
			pairs = append(pairs, kv{escapeV4(k), escapeV4(v)})
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	parts := make([]string, len(pairs))
	for i, p := range pairs {
		parts[i] = p.k + "=" + p.v
	}
	return strings.Join(parts, "&")
}

func escapeV4(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// CanonicalRequestV4 builds the V4 canonical request. escapedPath is the URI
// path exactly as sent; signedHeaders are lowercased names, sorted; host is
// the Host header as sent (with any port). Values are trimmed; repeated values
// are joined by ",".
func CanonicalRequestV4(method, escapedPath string, query url.Values, h http.Header, host string, signedHeaders []string, payloadHash string) string {
	if escapedPath == "" {
		escapedPath = "/" // an empty path is canonically "/"
	}
	var b strings.Builder
	b.WriteString(method + "\n" + escapedPath + "\n" + CanonicalQueryV4(query) + "\n")
	for _, name := range signedHeaders {
		var v string
		if name == "host" {
			v = host
		} else {
			vals := h.Values(name)
			for i := range vals {
				vals[i] = strings.Join(strings.Fields(vals[i]), " ")
			}
			v = strings.Join(vals, ",")
		}
		b.WriteString(name + ":" + v + "\n")
	}
	b.WriteString("\n" + strings.Join(signedHeaders, ";") + "\n" + payloadHash)
	return b.String()
}

// ScopeV4 is "yyyymmdd/region/s3/aws4_request".
func ScopeV4(t time.Time, region string) string {
	return t.UTC().Format(shortDate) + "/" + region + "/s3/aws4_request"
}

// StringToSignV4 is "AWS4-HMAC-SHA256\n<long date>\n<scope>\n<hex sha256 of canonical request>".
func StringToSignV4(t time.Time, region, canonicalRequest string) string {
	sum := sha256.Sum256([]byte(canonicalRequest))
	return "AWS4-HMAC-SHA256\n" + t.UTC().Format(ISO8601Basic) + "\n" + ScopeV4(t, region) + "\n" + hex.EncodeToString(sum[:])
}

// SigningKeyV4 derives the V4 signing key for a day, region and service s3.
func SigningKeyV4(secretKey string, t time.Time, region string) []byte {
	k := hmacSHA256([]byte("AWS4"+secretKey), t.UTC().Format(shortDate))
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, "s3")
	return hmacSHA256(k, "aws4_request")
}

// SignV4 returns the hex V4 signature of stringToSign.
func SignV4(secretKey string, t time.Time, region, stringToSign string) string {
	return hex.EncodeToString(hmacSHA256(SigningKeyV4(secretKey, t, region), stringToSign))
}

// AuthorizationV4 formats the V4 Authorization header.
func AuthorizationV4(accessKey string, t time.Time, region string, signedHeaders []string, signature string) string {
	return "AWS4-HMAC-SHA256 Credential=" + accessKey + "/" + ScopeV4(t, region) +
		",SignedHeaders=" + strings.Join(signedHeaders, ";") + ",Signature=" + signature
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// Target says what a request addresses, as the signer needs it.
type Target struct {
	Bucket        string // "" for service-level requests
	EscapedKey    string // EscapeKey(key); "" for bucket-level requests
	VirtualHosted bool   // bucket in the Host name rather than the path
	Region        string // V4 only
}

// SignRequest signs req in place for dialect d at time now: it sets the
// date (Date for OBS and V2; X-Amz-Date, ISO 8601 basic, for V4, as S3
// requires: servers other than OBS refuse a V4 request dated only by Date),
// the security-token header when the credentials carry one, for V4 the
// x-amz-content-sha256 header (UNSIGNED-PAYLOAD unless already set), and
// Authorization. req.URL must already hold the final path and query.
func SignRequest(req *http.Request, d Dialect, c Credentials, t Target, now time.Time) {
	if c.SecurityToken != "" {
		req.Header.Set(d.HeaderPrefix()+"security-token", c.SecurityToken)
	}
	if d == V4 {
		req.Header.Del("Date")
		req.Header.Set("X-Amz-Date", now.UTC().Format(ISO8601Basic))
		signV4(req, c, t, now)
		return
	}
	req.Header.Set("Date", now.UTC().Format(HTTPDate))
	resource := CanonicalResource(t.Bucket, t.EscapedKey, t.VirtualHosted, req.URL.Query(), d)
	sts := StringToSign(req.Method, req.Header.Get("Content-MD5"), req.Header.Get("Content-Type"),
		req.Header.Get("Date"), CanonicalHeaders(req.Header, d.HeaderPrefix()), resource)
	req.Header.Set("Authorization", AuthorizationV2(d, c.AccessKey, SignHMACSHA1(c.SecretKey, sts)))
}

func signV4(req *http.Request, c Credentials, t Target, now time.Time) {
	if req.Header.Get("x-amz-content-sha256") == "" {
		req.Header.Set("x-amz-content-sha256", UnsignedPayload)
	}
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	signed := []string{"host"}
	for name := range req.Header {
		l := strings.ToLower(name)
		if l != "authorization" && l != "user-agent" && l != "content-length" {
			signed = append(signed, l)
		}
	}
	sort.Strings(signed)
	cr := CanonicalRequestV4(req.Method, req.URL.EscapedPath(), req.URL.Query(), req.Header, host, signed,
		req.Header.Get("x-amz-content-sha256"))
	sig := SignV4(c.SecretKey, now, t.Region, StringToSignV4(now, t.Region, cr))
	req.Header.Set("Authorization", AuthorizationV4(c.AccessKey, now, t.Region, signed, sig))
}

// Presign returns the query parameters that make u (method, target) a
// presigned URL valid until now+expires. For OBS/V2 the signature covers
// Expires (absolute Unix seconds) in place of Date; for V4 the standard
// X-Amz-* parameters with SignedHeaders=host and UNSIGNED-PAYLOAD. The caller
// appends the result to the URL's existing query (see PresignURL).
func Presign(method string, u *url.URL, d Dialect, c Credentials, t Target, now time.Time, expires time.Duration) url.Values {
	q := u.Query()
	out := url.Values{}
	if d == V4 {
		return presignV4(method, u, c, t, now, expires)
	}
	exp := strconv.FormatInt(now.Add(expires).Unix(), 10)
	if c.SecurityToken != "" {
		q.Set(d.HeaderPrefix()+"security-token", c.SecurityToken)
		out.Set(d.HeaderPrefix()+"security-token", c.SecurityToken)
	}
	resource := CanonicalResource(t.Bucket, t.EscapedKey, t.VirtualHosted, q, d)
	sig := SignHMACSHA1(c.SecretKey, StringToSign(method, "", "", exp, "", resource))
	if d == OBS {
		out.Set("AccessKeyId", c.AccessKey)
	} else {
		out.Set("AWSAccessKeyId", c.AccessKey)
	}
	out.Set("Expires", exp)
	out.Set("Signature", sig)
	return out
}

func presignV4(method string, u *url.URL, c Credentials, t Target, now time.Time, expires time.Duration) url.Values {
	q := u.Query()
	add := url.Values{}
	add.Set("X-Amz-Algorithm", "AWS4-HMAC-SHA256")
	add.Set("X-Amz-Credential", c.AccessKey+"/"+ScopeV4(now, t.Region))
	add.Set("X-Amz-Date", now.UTC().Format(ISO8601Basic))
	add.Set("X-Amz-Expires", strconv.Itoa(int(expires/time.Second)))
	add.Set("X-Amz-SignedHeaders", "host")
	if c.SecurityToken != "" {
		add.Set("X-Amz-Security-Token", c.SecurityToken)
	}
	for k, v := range add {
		q[k] = v
	}
	cr := CanonicalRequestV4(method, u.EscapedPath(), q, nil, u.Host, []string{"host"}, UnsignedPayload)
	add.Set("X-Amz-Signature", SignV4(c.SecretKey, now, t.Region, StringToSignV4(now, t.Region, cr)))
	return add
}

// PresignURL returns u with the presign parameters appended after its own
// query (so "?versionId=v1&AccessKeyId=…&Expires=…&Signature=…").
func PresignURL(method string, u *url.URL, d Dialect, c Credentials, t Target, now time.Time, expires time.Duration) string {
	add := Presign(method, u, d, c, t, now, expires)
	sep := "?"
	if u.RawQuery != "" {
		sep = "&"
	}
	var order []string
	if d == V4 {
		order = []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Security-Token", "X-Amz-Signature"}
	} else {
		order = []string{d.HeaderPrefix() + "security-token", "AccessKeyId", "AWSAccessKeyId", "Expires", "Signature"}
	}
	var parts []string
	for _, k := range order {
		if v, ok := add[k]; ok {
			parts = append(parts, k+"="+url.QueryEscape(v[0]))
		}
	}
	return u.String() + sep + strings.Join(parts, "&")
}
