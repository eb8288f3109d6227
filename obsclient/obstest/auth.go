package obstest

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/obsfs/obsfs/obsclient/signer"
)

// Authentication
//
// The emulator recomputes the signature of every request with the pure
// functions of package signer and compares. Where clients legitimately
// differ (documented in PROTOCOL.md §1) it accepts each known form:
//   - bucket-level resource "/bucket" or "/bucket/";
//   - Date line holding the Date header, or empty when x-obs-date/x-amz-date
//     is present (the documented form);
//   - resource with or without the "apiversion" sub-resource (the SDK does
//     not sign it, package signer does);
//   - V4 canonical query re-encoded per AWS (space as %20) or exactly as sent,
//     sorted (the SDK signs its raw query, space as "+").

// maxSkew is the allowed difference between request and server time.
const maxSkew = 15 * time.Minute

// authenticate verifies the request's signature (header or presigned URL)
// and marks anonymous requests; it sets rc.s3 for the dialect.
func (s *Server) authenticate(rc *reqCtx) error {
	auth := rc.r.Header.Get("Authorization")
	q := rc.query
	switch {
	case strings.HasPrefix(auth, "OBS "):
		return s.authHeaderV2(rc, signer.OBS, auth[4:])
	case strings.HasPrefix(auth, "AWS "):
		return s.authHeaderV2(rc, signer.V2, auth[4:])
	case strings.HasPrefix(auth, "AWS4-HMAC-SHA256 "):
		return s.authHeaderV4(rc, auth)
	case auth != "":
		return invalidArgument("Unsupported Authorization Type")
	case q.Has("X-Amz-Signature"):
		return s.authPresignV4(rc)
	case q.Has("AccessKeyId") && q.Has("Signature"):
		return s.authPresignV2(rc, signer.OBS, q.Get("AccessKeyId"))
	case q.Has("AWSAccessKeyId") && q.Has("Signature"):
		return s.authPresignV2(rc, signer.V2, q.Get("AWSAccessKeyId"))
	}
	rc.anonymous = true
	return nil
}

// checkKey validates the access key and the security token.
func (s *Server) checkKey(ak, token string) error {
	if s.opts.AccessKey == "" || ak != s.opts.AccessKey {
		return errInvalidAccessKey
	}
	if token != s.opts.SecurityToken {
		return errInvalidToken
	}
	return nil
}

// requestToken returns the security token from headers or query.
func (rc *reqCtx) requestToken() string {
	if t := rc.hdr("security-token"); t != "" {
		return t
	}
	for _, k := range []string{"x-obs-security-token", "x-amz-security-token", "X-Amz-Security-Token"} {
		if t := rc.query.Get(k); t != "" {
			return t
		}
	}
	return ""
}

// checkSkew fails with RequestTimeTooSkewed when t is too far from now.
func (s *Server) checkSkew(t time.Time) error {
	d := s.now().Sub(t)
	if d > maxSkew || d < -maxSkew {
		return errTimeSkewed
	}
	return nil
}

// authHeaderV2 verifies "OBS AK:sig" and "AWS AK:sig".
func (s *Server) authHeaderV2(rc *reqCtx, d signer.Dialect, cred string) error {
	ak, sig, ok := strings.Cut(cred, ":")
	if !ok {
		return invalidArgument("Authorization header is invalid")
	}
	if err := s.checkKey(ak, rc.requestToken()); err != nil {
		return err
	}
	prefix := d.HeaderPrefix()
	date := rc.r.Header.Get("Date")
	stamp := rc.r.Header.Get(prefix + "date")
	if stamp == "" {
		stamp = date
	}
	t, err := http.ParseTime(stamp)
	if err != nil {
		return errf(http.StatusForbidden, "AccessDenied", "OBS authentication requires a valid Date or %sdate header", prefix)
	}
	if err := s.checkSkew(t); err != nil {
		return err
	}
	dates := []string{date}
	if rc.r.Header.Get(prefix+"date") != "" {
		dates = append(dates, "")
	}
	return s.matchV2(rc, d, sig, dates)
}

// authPresignV2 verifies an OBS/V2 presigned URL.
func (s *Server) authPresignV2(rc *reqCtx, d signer.Dialect, ak string) error {
	if err := s.checkKey(ak, rc.requestToken()); err != nil {
		return err
	}
	exp, err := strconv.ParseInt(rc.query.Get("Expires"), 10, 64)
	if err != nil {
		return errf(http.StatusForbidden, "AccessDenied", "Invalid Expires parameter")
	}
	if s.now().Unix() > exp {
		return errf(http.StatusForbidden, "AccessDenied", "Request has expired")
	}
	return s.matchV2(rc, d, rc.query.Get("Signature"), []string{rc.query.Get("Expires")})
}

// matchV2 compares sig with every accepted StringToSign variant.
func (s *Server) matchV2(rc *reqCtx, d signer.Dialect, sig string, dates []string) error {
	r := rc.r
	headers := signer.CanonicalHeaders(r.Header, d.HeaderPrefix())
	for _, res := range s.resources(rc, d) {
		for _, date := range dates {
			sts := signer.StringToSign(r.Method, r.Header.Get("Content-MD5"), r.Header.Get("Content-Type"), date, headers, res)
			if equalSig(signer.SignHMACSHA1(s.opts.SecretKey, sts), sig) {
				return nil
			}
		}
	}
	s.logf("obstest: signature mismatch (%s) for %s %s", d, r.Method, r.URL.RequestURI())
	return errSignatureMismatch
}

// resources lists the accepted canonicalized resources of rc.
func (s *Server) resources(rc *reqCtx, d signer.Dialect) []string {
	q := rc.query
	var qs []url.Values
	qs = append(qs, q)
	if q.Has("apiversion") {
		q2 := url.Values{}
		for k, v := range q {
			if k != "apiversion" {
				q2[k] = v
			}
		}
		qs = append(qs, q2)
	}
	key := rc.escapedKey()
	var out []string
	for _, qq := range qs {
		out = append(out, signer.CanonicalResource(rc.bucketName, key, rc.virtual, qq, d))
		if rc.bucketName != "" && key == "" {
			out = append(out, signer.CanonicalResource(rc.bucketName, key, !rc.virtual, qq, d))
		}
	}
	return out
}

// rawPath is the request path exactly as sent.
func rawPath(r *http.Request) string {
	if strings.HasPrefix(r.RequestURI, "/") {
		p, _, _ := strings.Cut(r.RequestURI, "?")
		return p
	}
	return r.URL.EscapedPath()
}

// escapedKey is the object key as escaped in the request path.
func (rc *reqCtx) escapedKey() string {
	p := strings.TrimPrefix(rawPath(rc.r), "/")
	if rc.virtual {
		return p
	}
	_, key, _ := strings.Cut(p, "/")
	return key
}

// equalSig compares signatures in constant time.
func equalSig(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// v4Auth is a parsed AWS4-HMAC-SHA256 Authorization header or presign query.
type v4Auth struct {
	ak, date, region string
	signed           []string
	sig              string
}

// parseCredential splits "AK/yyyymmdd/region/s3/aws4_request".
func (a *v4Auth) parseCredential(c string) bool {
	parts := strings.Split(c, "/")
	if len(parts) != 5 || parts[3] != "s3" || parts[4] != "aws4_request" {
		return false
	}
	a.ak, a.date, a.region = parts[0], parts[1], parts[2]
	return true
}

// parseV4Header parses the Authorization header of a V4 request.
func parseV4Header(h string) (*v4Auth, bool) {
	a := &v4Auth{}
	for _, f := range strings.Split(strings.TrimPrefix(h, "AWS4-HMAC-SHA256 "), ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		switch k {
		case "Credential":
			if !a.parseCredential(v) {
				return nil, false
			}
		case "SignedHeaders":
			a.signed = strings.Split(v, ";")
		case "Signature":
			a.sig = v
		}
	}
	return a, a.ak != "" && a.sig != "" && len(a.signed) > 0
}

// authHeaderV4 verifies an AWS4-HMAC-SHA256 Authorization header and arranges
// payload verification (hex SHA-256 or aws-chunked).
func (s *Server) authHeaderV4(rc *reqCtx, h string) error {
	a, ok := parseV4Header(h)
	if !ok {
		return invalidArgument("Authorization header is malformed")
	}
	if err := s.checkKey(a.ak, rc.requestToken()); err != nil {
		return err
	}
	if err := s.checkRegion(a.region, "AuthorizationHeaderMalformed"); err != nil {
		return err
	}
	t, err := v4Time(rc.r.Header.Get("x-amz-date"), rc.r.Header.Get("Date"))
	if err != nil {
		return errf(http.StatusForbidden, "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header")
	}
	if err := s.checkSkew(t); err != nil {
		return err
	}
	dateHeader := "date"
	if rc.r.Header.Get("x-amz-date") != "" {
		dateHeader = "x-amz-date"
	}
	if !slices.Contains(a.signed, dateHeader) {
		// As S3: the date a signature is checked against must be signed, or
		// the request could be replayed at any later time.
		return errf(http.StatusForbidden, "AccessDenied", "There were headers present in the request which were not signed: %s", dateHeader)
	}
	payload := rc.r.Header.Get("x-amz-content-sha256")
	if payload == "" {
		return invalidRequest("Missing required header for this request: x-amz-content-sha256")
	}
	if err := s.matchV4(rc, a, t, rc.query, payload); err != nil {
		return err
	}
	return rc.verifyPayload(payload, t, a, s.opts.SecretKey)
}

// authPresignV4 verifies a V4 presigned URL.
func (s *Server) authPresignV4(rc *reqCtx) error {
	q := rc.query
	a := &v4Auth{sig: q.Get("X-Amz-Signature"), signed: strings.Split(q.Get("X-Amz-SignedHeaders"), ";")}
	if q.Get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" || !a.parseCredential(q.Get("X-Amz-Credential")) {
		return errf(http.StatusBadRequest, "AuthorizationQueryParametersError", "invalid X-Amz-Algorithm or X-Amz-Credential")
	}
	if err := s.checkKey(a.ak, rc.requestToken()); err != nil {
		return err
	}
	if err := s.checkRegion(a.region, "AuthorizationQueryParametersError"); err != nil {
		return err
	}
	t, err := time.Parse(signer.ISO8601Basic, q.Get("X-Amz-Date"))
	exp, err2 := strconv.ParseInt(q.Get("X-Amz-Expires"), 10, 64)
	if err != nil || err2 != nil || exp < 0 || exp > 7*24*3600 {
		return errf(http.StatusBadRequest, "AuthorizationQueryParametersError", "invalid X-Amz-Date or X-Amz-Expires")
	}
	now := s.now()
	if now.After(t.Add(time.Duration(exp) * time.Second)) {
		return errf(http.StatusForbidden, "AccessDenied", "Request has expired")
	}
	if t.After(now.Add(maxSkew)) {
		return errf(http.StatusForbidden, "AccessDenied", "Request is not valid yet")
	}
	qq := url.Values{}
	for k, v := range q {
		if k != "X-Amz-Signature" {
			qq[k] = v
		}
	}
	return s.matchV4(rc, a, t, qq, signer.UnsignedPayload)
}

// checkRegion rejects a V4 credential scoped to another region (unless
// Options.AnyRegion), as S3 does.
func (s *Server) checkRegion(region, code string) error {
	if s.opts.AnyRegion || region == s.opts.Region {
		return nil
	}
	return errf(http.StatusBadRequest, code, "The authorization header is malformed; the region '%s' is wrong; expecting '%s'", region, s.opts.Region)
}

// v4Time parses x-amz-date (ISO 8601 basic) or else the Date header.
func v4Time(amzDate, date string) (time.Time, error) {
	if amzDate != "" {
		if t, err := time.Parse(signer.ISO8601Basic, amzDate); err == nil {
			return t, nil
		}
		return http.ParseTime(amzDate)
	}
	return http.ParseTime(date)
}

// matchV4 compares the V4 signature with both canonical query forms.
func (s *Server) matchV4(rc *reqCtx, a *v4Auth, t time.Time, q url.Values, payload string) error {
	r := rc.r
	if a.date != t.UTC().Format("20060102") {
		return errSignatureMismatch
	}
	h := r.Header.Clone()
	if r.ContentLength >= 0 && h.Get("Content-Length") == "" {
		h.Set("Content-Length", strconv.FormatInt(r.ContentLength, 10))
	}
	cr := signer.CanonicalRequestV4(r.Method, rawPath(r), q, h, r.Host, a.signed, payload)
	variants := []string{cr, replaceLine(cr, 2, rawSortedQuery(r.URL.RawQuery, "X-Amz-Signature"))}
	for _, c := range variants {
		sts := signer.StringToSignV4(t, a.region, c)
		if equalSig(signer.SignV4(s.opts.SecretKey, t, a.region, sts), a.sig) {
			return nil
		}
	}
	s.logf("obstest: V4 signature mismatch for %s %s; canonical request:\n%s", r.Method, r.URL.RequestURI(), redactSSECKeys(cr))
	return errSignatureMismatch
}

// rawSortedQuery sorts the raw query pairs as sent (dropping skip), adding
// "=" to bare names, as the SDK's V4 canonical query does.
func rawSortedQuery(raw, skip string) string {
	var pairs []string
	for _, kv := range strings.Split(raw, "&") {
		if kv == "" || strings.HasPrefix(kv, skip+"=") {
			continue
		}
		if !strings.Contains(kv, "=") {
			kv += "="
		}
		pairs = append(pairs, kv)
	}
	sort.Strings(pairs)
	return strings.Join(pairs, "&")
}

// replaceLine replaces line i (0-based) of s.
func replaceLine(s string, i int, line string) string {
	lines := strings.SplitN(s, "\n", i+2)
	if len(lines) < i+2 {
		return s
	}
	lines[i] = line
	return strings.Join(lines, "\n")
}

// redactSSECKeys hides SSE-C key values in a canonical request before it is
// logged.
func redactSSECKeys(cr string) string {
	lines := strings.Split(cr, "\n")
	for i, l := range lines {
		if name, _, ok := strings.Cut(l, ":"); ok && strings.HasSuffix(name, "-customer-key") {
			lines[i] = name + ":<redacted>"
		}
	}
	return strings.Join(lines, "\n")
}
