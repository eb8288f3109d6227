package obstest

import (
	"crypto/md5"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/obsfs/obsfs/obsclient/signer"
)

// rawEnv drives the emulator with hand-built requests signed by package
// signer, for protocol details the SDK cannot express.
type rawEnv struct {
	t       *testing.T
	srv     *Server
	dialect signer.Dialect
	creds   signer.Credentials
	client  *http.Client
}

func newRaw(t *testing.T, d signer.Dialect, opts Options) *rawEnv {
	t.Helper()
	if opts.AccessKey == "" {
		opts.AccessKey, opts.SecretKey = testAK, testSK
	}
	opts.Buckets = append(opts.Buckets, testBucket, testBucket2)
	opts.FSBuckets = append(opts.FSBuckets, testFS)
	opts.Domains = append(opts.Domains, testDomain)
	srv := NewTest(t, opts)
	// A transport of its own: httptest.Server.Close closes the idle
	// connections of http.DefaultTransport, which would break the requests
	// of tests running in parallel ("CloseIdleConnections called").
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &rawEnv{t: t, srv: srv, dialect: d, client: &http.Client{Timeout: 10 * time.Second, Transport: tr},
		creds: signer.Credentials{AccessKey: opts.AccessKey, SecretKey: opts.SecretKey, SecurityToken: opts.SecurityToken}}
}

// req builds a signed path-style request; mod may add headers before signing.
func (e *rawEnv) req(method, bucket, key, query string, body string, mod func(*http.Request)) *http.Request {
	e.t.Helper()
	ek := signer.EscapeKey(key)
	u := e.srv.URL + "/" + bucket
	if bucket != "" && (key != "" || query == "") {
		u += "/" + ek
	}
	if bucket == "" {
		u = e.srv.URL + "/"
	}
	if query != "" {
		u += "?" + query
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r, err := http.NewRequest(method, u, rd)
	require.NoError(e.t, err)
	if mod != nil {
		mod(r)
	}
	signer.SignRequest(r, e.dialect, e.creds, signer.Target{Bucket: bucket, EscapedKey: ek, Region: "cn-north-4"}, time.Now())
	return r
}

// do sends r and returns status, headers and body.
func (e *rawEnv) do(r *http.Request) (int, http.Header, string) {
	e.t.Helper()
	resp, err := e.client.Do(r)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return resp.StatusCode, resp.Header, string(data)
}

// call builds, signs and sends a request.
func (e *rawEnv) call(method, bucket, key, query, body string, mod func(*http.Request)) (int, http.Header, string) {
	e.t.Helper()
	return e.do(e.req(method, bucket, key, query, body, mod))
}

// put stores an object (fails the test on error).
func (e *rawEnv) put(key, body string, mod func(*http.Request)) http.Header {
	e.t.Helper()
	st, h, b := e.call(http.MethodPut, testBucket, key, "", body, mod)
	require.Equal(e.t, 200, st, b)
	return h
}

// contentMD5 returns the base64 Content-MD5 of s.
func contentMD5(s string) string {
	sum := md5.Sum([]byte(s))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// errCode extracts <Code> from an error body.
func errCode(body string) string {
	_, rest, ok := strings.Cut(body, "<Code>")
	if !ok {
		return ""
	}
	code, _, _ := strings.Cut(rest, "</Code>")
	return code
}

var _ = url.QueryEscape
