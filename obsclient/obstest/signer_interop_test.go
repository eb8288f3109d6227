package obstest

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obsfs/obsfs/obsclient/signer"
)

// Package signer (used by obsclient) against the emulator: header signing
// in both addressing styles with awkward keys and query values, and
// presigned URLs in all three dialects, with and without a security token.

var awkwardKeys = []string{"plain", "dir/a b+c~é.txt", "x&y=z?#%", "trailing/", "*()!'", "日本/語"}

func TestSignerInterop(t *testing.T) {
	for _, token := range []string{"", "TOK+/="} {
		for _, d := range dialects {
			for _, virtual := range []bool{false, true} {
				name := string(d) + map[bool]string{false: "-path", true: "-virtual"}[virtual]
				if token != "" {
					name += "-token"
				}
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					e := newRaw(t, d, Options{SecurityToken: token})
					e.client = &http.Client{Transport: &http.Transport{DialContext: dialTo(e.srv.Addr())}}
					interop(t, e, virtual)
				})
			}
		}
	}
}

// interop writes, lists, reads and presigns awkward keys.
func interop(t *testing.T, e *rawEnv, virtual bool) {
	for _, key := range awkwardKeys {
		st, body := sendSigned(t, e, virtual, http.MethodPut, key, nil, key)
		require.Equal(t, 200, st, "%s: %s", key, body)
		st, body = sendSigned(t, e, virtual, http.MethodGet, key, nil, "")
		require.Equal(t, 200, st, key)
		assert.Equal(t, key, body)
	}
	q := url.Values{"prefix": {"dir/a b"}, "delimiter": {"/"}, "encoding-type": {"url"}, "marker": {"a+b c"}}
	st, body := sendSigned(t, e, virtual, http.MethodGet, "", q, "")
	require.Equal(t, 200, st, body)
	assert.Contains(t, body, "<Key>dir/a+b%2Bc~%C3%A9.txt</Key>", "encoding-type=url: QueryEscape, space as +")
	st, _ = sendSigned(t, e, virtual, http.MethodGet, "", url.Values{"acl": {""}}, "")
	assert.Equal(t, 200, st)
	for _, key := range awkwardKeys {
		u := presign(t, e, virtual, http.MethodGet, key, time.Minute)
		resp, err := e.client.Get(u)
		require.NoError(t, err)
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode, "%s: %s", u, data)
		assert.Equal(t, key, string(data))
	}
	u := presign(t, e, virtual, http.MethodGet, "plain", -time.Minute)
	resp, err := e.client.Get(u)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 403, resp.StatusCode, "expired presigned URL")
}

// baseURL is the bucket URL in the chosen style.
func (e *rawEnv) baseURL(virtual bool) string {
	if virtual {
		_, port, _ := strings.Cut(e.srv.Addr(), ":")
		return "http://" + testBucket + "." + testDomain + ":" + port
	}
	return e.srv.URL + "/" + testBucket
}

// sendSigned signs with package signer and sends.
func sendSigned(t *testing.T, e *rawEnv, virtual bool, method, key string, q url.Values, body string) (int, string) {
	t.Helper()
	u := e.baseURL(virtual) + "/" + signer.EscapeKey(key)
	if key == "" && !virtual {
		u = e.baseURL(virtual)
	}
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	r, err := http.NewRequest(method, u, strings.NewReader(body))
	require.NoError(t, err)
	signer.SignRequest(r, e.dialect, e.creds, signer.Target{Bucket: testBucket, EscapedKey: signer.EscapeKey(key),
		VirtualHosted: virtual, Region: "cn-north-4"}, time.Now())
	st, _, b := e.do(r)
	return st, b
}

// presign builds a presigned URL with package signer.
func presign(t *testing.T, e *rawEnv, virtual bool, method, key string, ttl time.Duration) string {
	t.Helper()
	u, err := url.Parse(e.baseURL(virtual) + "/" + signer.EscapeKey(key))
	require.NoError(t, err)
	now := time.Now()
	if ttl < 0 {
		now, ttl = now.Add(2*ttl), -ttl
	}
	return signer.PresignURL(method, u, e.dialect, e.creds, signer.Target{Bucket: testBucket, EscapedKey: signer.EscapeKey(key),
		VirtualHosted: virtual, Region: "cn-north-4"}, now, ttl)
}
