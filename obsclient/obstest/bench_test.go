package obstest

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/obsfs/obsfs/obsclient/signer"
)

// BenchmarkPutGet streams 16 MiB objects through the disk store.
func BenchmarkPutGet(b *testing.B) {
	srv := New(Options{AccessKey: testAK, SecretKey: testSK, Buckets: []string{testBucket}, Root: b.TempDir()})
	defer srv.Close()
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<20)
	creds := signer.Credentials{AccessKey: testAK, SecretKey: testSK}
	b.SetBytes(int64(2 * len(data)))
	for i := 0; i < b.N; i++ {
		r, _ := http.NewRequest(http.MethodPut, srv.URL+"/"+testBucket+"/big", bytes.NewReader(data))
		signer.SignRequest(r, signer.OBS, creds, signer.Target{Bucket: testBucket, EscapedKey: "big"}, time.Now())
		resp, err := http.DefaultClient.Do(r)
		if err != nil || resp.StatusCode != 200 {
			b.Fatal(err, resp)
		}
		resp.Body.Close()
		r, _ = http.NewRequest(http.MethodGet, srv.URL+"/"+testBucket+"/big", nil)
		signer.SignRequest(r, signer.OBS, creds, signer.Target{Bucket: testBucket, EscapedKey: "big"}, time.Now())
		resp, err = http.DefaultClient.Do(r)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if n != int64(len(data)) {
			b.Fatalf("got %d bytes", n)
		}
	}
}

func TestRecoverMiddleware(t *testing.T) {
	srv, err := NewUnstarted(Options{AccessKey: testAK, SecretKey: testSK, Buckets: []string{testBucket}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	w := httptest.NewRecorder()
	func() {
		rc := srv.newReqCtx(w, httptest.NewRequest(http.MethodGet, "/"+testBucket+"/k", nil))
		rc.op = "GetObject"
		defer rc.finish()
		defer rc.recoverPanic()
		panic("boom")
	}()
	assert.Equal(t, 500, w.Code)
	assert.True(t, strings.Contains(w.Body.String(), "<Code>InternalError</Code>"))
	assert.Equal(t, int64(1), srv.Stats()["GetObject"].Errors)
}
