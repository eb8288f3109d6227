package obstest

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Header and query forms the services accept must not be refused or
// misread by the emulator (issue 18): the Range unit in any case and with
// blanks, the three HTTP date formats in conditional headers (also on copy
// sources), metadata names in any case, list page sizes of 0 and above the
// cap.
func TestLenientHeaderForms(t *testing.T) {
	forEachDialect(t, Options{}, func(t *testing.T, e *rawEnv) {
		p := e.dialect.HeaderPrefix()
		e.put("r", "0123456789", func(r *http.Request) {
			r.Header.Set("X-OBS-META-CamelCase", "obs")
			r.Header.Set(p+"META-MiXeD", "mixed")
		})
		for _, rng := range []string{"Bytes=2-4", "BYTES=2-4", "bytes= 2-4", "bytes=2 - 4"} {
			st, h, body := e.call(http.MethodGet, testBucket, "r", "", "", func(r *http.Request) { r.Header.Set("Range", rng) })
			assert.Equal(t, 206, st, rng)
			assert.Equal(t, "234", body, rng)
			assert.Equal(t, "bytes 2-4/10", h.Get("Content-Range"), rng)
		}

		st, h, _ := e.call(http.MethodHead, testBucket, "r", "", "", nil)
		require.Equal(t, 200, st)
		if e.dialect.HeaderPrefix() == "x-obs-" {
			assert.Equal(t, "obs", h.Get("x-obs-meta-camelcase"))
		}
		assert.Equal(t, "mixed", h.Get(p+"meta-mixed"))

		future, past := time.Now().Add(time.Hour).UTC(), time.Now().Add(-time.Hour).UTC()
		formats := map[string]string{
			"RFC 1123": http.TimeFormat,
			"RFC 850":  "Monday, 02-Jan-06 15:04:05 GMT",
			"asctime":  time.ANSIC,
		}
		for name, layout := range formats {
			st, _, _ := e.call(http.MethodGet, testBucket, "r", "", "", func(r *http.Request) { r.Header.Set("If-Modified-Since", future.Format(layout)) })
			assert.Equal(t, 304, st, "If-Modified-Since in %s", name)
			st, _, _ = e.call(http.MethodGet, testBucket, "r", "", "", func(r *http.Request) { r.Header.Set("If-Unmodified-Since", past.Format(layout)) })
			assert.Equal(t, 412, st, "If-Unmodified-Since in %s", name)
			st, _, _ = e.call(http.MethodGet, testBucket, "r", "", "", func(r *http.Request) { r.Header.Set("If-Modified-Since", past.Format(layout)) })
			assert.Equal(t, 200, st, "If-Modified-Since (modified) in %s", name)
			st, _, body := e.call(http.MethodPut, testBucket, "c", "", "", func(r *http.Request) {
				r.Header.Set(p+"copy-source", testBucket+"/r")
				r.Header.Set(p+"copy-source-if-modified-since", future.Format(layout))
			})
			assert.Equal(t, 412, st, "copy-source-if-modified-since in %s: %s", name, body)
		}

		for _, q := range []string{"max-keys=0", "max-keys=5000", "max-keys=1&encoding-type=url"} {
			st, _, body := e.call(http.MethodGet, testBucket, "", q, "", nil)
			assert.Equal(t, 200, st, "%s: %s", q, body)
		}
		st, _, body := e.call(http.MethodGet, testBucket, "", "max-keys=0", "", nil)
		require.Equal(t, 200, st)
		assert.NotContains(t, body, "<Contents>", "max-keys=0 lists nothing")
	})
}
