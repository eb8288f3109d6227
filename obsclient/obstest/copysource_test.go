package obstest

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obsfs/obsfs/obsclient/signer"
)

// Copy sources are decoded the way the services decode them (issue 18):
// fully percent-decoded, with or without a leading "/", with an optional
// "?versionId=".
func TestParseCopySourceForms(t *testing.T) {
	cases := []struct {
		in, bucket, key, version string
	}{
		{"b/k", "b", "k", ""},
		{"/b/k", "b", "k", ""},
		{"b/dir/a%20b%2Bc%3F", "b", "dir/a b+c?", ""},     // documented form, as obsclient sends it
		{"/b/dir%2Fa+b%2Bc%3F", "b", "dir/a b+c?", ""},    // the SDK's QueryEscape, leading slash
		{"b%2Fdir%2Fa%20b%2Bc%3F", "b", "dir/a b+c?", ""}, // slashes encoded too (goofys)
		{"%2Fb%2Fk", "b", "k", ""},                        // even the leading slash
		{"peerbkt%2Fgoofys%2Fe2%2F.s199.swkaoK", "peerbkt", "goofys/e2/.s199.swkaoK", ""},
		{"b/k?versionId=G001", "b", "k", "G001"},
		{"/b%2Fk%3Fx?versionId=G%2B1", "b", "k?x", "G+1"},                // encoded "?" in the key, version after the literal one
		{"b/100%25%20done%C3%A9%E6%97%A5", "b", "100% doneé日", ""},       // "%" and UTF-8
		{"b/a?b", "b", "a?b", ""},                                        // a raw "?" that is not a version query stays in the key
		{"/from/2017-11-21+0000.jpg", "from", "2017-11-21 0000.jpg", ""}, // a raw "+" is a space, on S3 too (aws-sdk-js#1821)
		{"b/dir/", "b", "dir/", ""},
	}
	for _, c := range cases {
		cs, err := parseCopySource(c.in)
		if !assert.NoError(t, err, c.in) {
			continue
		}
		assert.Equal(t, copySource{bucket: c.bucket, key: c.key, versionID: c.version}, cs, c.in)
	}
	for _, bad := range []string{"", "b", "/b", "b/", "/b/", "%2Fb", "b/%zz", "b%2F"} {
		_, err := parseCopySource(bad)
		assert.Error(t, err, bad)
	}
}

// The same forms end to end: CopyObject and UploadPartCopy of keys with
// spaces, "+", "%", unicode, "?" and "&", in every dialect, the source
// named by each encoding, with and without a version.
func TestCopySourceEncodings(t *testing.T) {
	keys := []string{"dir/a b+c.txt", "100% done?.txt", "ünï/日本 語&x=1#y", "plus+only", "semi;colon,comma"}
	forms := map[string]func(bucket, key string) string{
		"documented": func(b, k string) string { return "/" + b + "/" + signer.EscapeKey(k) },
		"sdk":        func(b, k string) string { return b + "/" + url.QueryEscape(k) },
		"whole":      func(b, k string) string { return url.QueryEscape(b + "/" + k) },
	}
	forEachDialect(t, Options{Versioned: true}, func(t *testing.T, e *rawEnv) {
		p := e.dialect.HeaderPrefix()
		for i, key := range keys {
			body := strings.Repeat(string(rune('a'+i)), 10)
			v1 := e.put(key, body, nil).Get(p + "version-id")
			e.put(key, "newer", nil)
			for name, form := range forms {
				src := form(testBucket, key)
				st, _, out := e.call(http.MethodPut, testBucket2, "copy", "", "", func(r *http.Request) { r.Header.Set(p+"copy-source", src) })
				require.Equal(t, 200, st, "%s %q: %s", name, src, out)
				got, err := e.srv.ObjectBody(testBucket2, "copy")
				require.NoError(t, err)
				assert.Equal(t, "newer", string(got), "%s %q", name, src)

				src += "?versionId=" + v1
				st, _, out = e.call(http.MethodPut, testBucket2, "copy", "", "", func(r *http.Request) { r.Header.Set(p+"copy-source", src) })
				require.Equal(t, 200, st, "%s %q: %s", name, src, out)
				got, err = e.srv.ObjectBody(testBucket2, "copy")
				require.NoError(t, err)
				assert.Equal(t, body, string(got), "%s %q", name, src)

				// UploadPartCopy of the old version's bytes 2-5.
				st, _, out = e.call(http.MethodPost, testBucket2, "mp", "uploads", "", nil)
				require.Equal(t, 200, st, out)
				id := between(out, "<UploadId>", "</UploadId>")
				require.NotEmpty(t, id)
				st, _, out = e.call(http.MethodPut, testBucket2, "mp", "partNumber=1&uploadId="+id, "", func(r *http.Request) {
					r.Header.Set(p+"copy-source", src)
					r.Header.Set(p+"copy-source-range", "bytes=2-5")
				})
				require.Equal(t, 200, st, "part copy %s %q: %s", name, src, out)
				etag := between(out, "<ETag>", "</ETag>")
				doc := "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>" + etag + "</ETag></Part></CompleteMultipartUpload>"
				st, _, out = e.call(http.MethodPost, testBucket2, "mp", "uploadId="+id, doc, nil)
				require.Equal(t, 200, st, out)
				got, err = e.srv.ObjectBody(testBucket2, "mp")
				require.NoError(t, err)
				assert.Equal(t, body[2:6], string(got), "part copy %s %q", name, src)
			}
		}
		st, _, out := e.call(http.MethodPut, testBucket2, "copy", "", "", func(r *http.Request) { r.Header.Set(p+"copy-source", testBucket+"/%zz") })
		assert.Equal(t, 400, st)
		assert.Equal(t, "InvalidArgument", errCode(out))
	})
}
