package obsclient_test

import (
	"context"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obsfs/obsfs/obsclient"
	"github.com/obsfs/obsfs/obsclient/obstest"
	"github.com/obsfs/obsfs/obsclient/signer"
)

// TestProxyWithCredentials sends a plain-HTTP request through a configured
// proxy and checks the absolute URI and the Proxy-Authorization header.
func TestProxyWithCredentials(t *testing.T) {
	var seen atomic.Value
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.Header.Get("Proxy-Authorization") + " " + r.URL.String())
		w.Header().Set("ETag", `"abc"`)
		w.Header().Set("Content-Length", "0")
	}))
	defer proxy.Close()
	c, err := obsclient.New(obsclient.Config{Endpoint: "http://obs.example.test", Credentials: creds,
		Proxy: "http://alice:s3cret@" + strings.TrimPrefix(proxy.URL, "http://")})
	require.NoError(t, err)
	info, err := mustBucket(t, c, "bkt").HeadObject(ctx(t), "k", obsclient.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "abc", info.ETag)
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:s3cret")) + " http://bkt.obs.example.test/k"
	assert.Equal(t, want, seen.Load())
}

// TestTLSVerification: a private CA is refused by default (without
// retries) and accepted with CAFile or InsecureSkipVerify.
func TestTLSVerification(t *testing.T) {
	srv := obstest.NewTest(t, obstest.Options{AccessKey: testAK, SecretKey: testSK, Buckets: []string{testBucket}})
	var hits atomic.Int32
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		srv.ServeHTTP(w, r)
	}))
	defer tlsSrv.Close()
	pemFile := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(pemFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw}), 0o600))
	base := obsclient.Config{Endpoint: tlsSrv.URL, Credentials: signer.Credentials{AccessKey: testAK, SecretKey: testSK}, RetryBaseDelay: 1}

	c, err := obsclient.New(base)
	require.NoError(t, err)
	_, err = mustBucket(t, c, testBucket).Head(ctx(t))
	require.Error(t, err)
	assert.EqualValues(t, 0, hits.Load())

	for _, mod := range []func(*obsclient.Config){
		func(c *obsclient.Config) { c.CAFile = pemFile },
		func(c *obsclient.Config) { c.InsecureSkipVerify = true },
	} {
		cfg := base
		mod(&cfg)
		c, err := obsclient.New(cfg)
		require.NoError(t, err)
		b := mustBucket(t, c, testBucket)
		_, err = b.PutObject(ctx(t), "tls", strings.NewReader("ok"), 2, obsclient.WriteOptions{})
		require.NoError(t, err)
		r, err := b.GetObject(ctx(t), "tls", obsclient.GetOptions{})
		require.NoError(t, err)
		got, _ := io.ReadAll(r)
		r.Close()
		assert.Equal(t, "ok", string(got))
	}
}

func TestObjectKeyValidation(t *testing.T) {
	srv := newEmulator(t)
	b := mustBucket(t, newClient(t, srv, clientOpts{dialect: signer.OBS}), testBucket)
	_, err := b.HeadObject(ctx(t), "", obsclient.GetOptions{})
	assert.Error(t, err)
	_, err = b.PutObject(ctx(t), strings.Repeat("k", 1025), strings.NewReader(""), 0, obsclient.WriteOptions{})
	assert.Error(t, err)
	_, err = b.DeleteObject(ctx(t), "", "")
	assert.Error(t, err)
	_, err = b.PutObject(ctx(t), strings.Repeat("k", 1024), strings.NewReader(""), 0, obsclient.WriteOptions{})
	assert.NoError(t, err)
	_, err = b.PutObject(ctx(t), "neg", strings.NewReader(""), -1, obsclient.WriteOptions{})
	assert.Error(t, err)
	_, err = b.UploadPart(ctx(t), "k", "u", 0, strings.NewReader(""), 0)
	assert.Error(t, err)
	assert.Zero(t, srv.Stats()["HeadObject"].Requests+srv.Stats()["UploadPart"].Requests+srv.Stats()["DeleteObject"].Requests)
}

// TestProxyPasswordNotInErrors: a failing proxy must not echo its
// credentials into error messages (which get logged).
func TestProxyPasswordNotInErrors(t *testing.T) {
	l := httptest.NewServer(http.NotFoundHandler())
	addr := strings.TrimPrefix(l.URL, "http://")
	l.Close() // nothing listens there any more
	for _, ep := range []string{"http://obs.example.test", "https://obs.example.test"} {
		c, err := obsclient.New(obsclient.Config{Endpoint: ep, Credentials: creds, Retries: -1,
			Proxy: "http://alice:pr0xyPassw0rd@" + addr})
		require.NoError(t, err)
		_, err = mustBucket(t, c, "bkt").HeadObject(ctx(t), "k", obsclient.GetOptions{})
		require.Error(t, err)
		assert.NotContains(t, err.Error(), "pr0xyPassw0rd")
		c.Close()
	}
}

func TestShortBodyIsNotRetried(t *testing.T) {
	srv := newEmulator(t)
	b := mustBucket(t, newClient(t, srv, clientOpts{dialect: signer.OBS}), testBucket)
	_, err := b.PutObject(ctx(t), "short", strings.NewReader("abc"), 10, obsclient.WriteOptions{ContentMD5: "AAAAAAAAAAAAAAAAAAAAAA=="})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "short")
	assert.LessOrEqual(t, srv.Stats()["PutObject"].Requests, int64(1))
	_, err = b.PutObject(ctx(t), "short", strings.NewReader("abc"), 10, obsclient.WriteOptions{})
	require.Error(t, err, "hash pass finds the short body")
}

func TestConcurrentUse(t *testing.T) {
	srv := newEmulator(t)
	c := newClient(t, srv, clientOpts{dialect: signer.V4, virtual: true})
	b := mustBucket(t, c, testBucket)
	require.NoError(t, srv.InjectFault(obstest.Fault{Kind: obstest.FaultSlowDown, Count: 10}))
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			key := fmt.Sprintf("c/%d", i)
			body := strings.Repeat(key, 1000)
			if _, err := b.PutObject(context.Background(), key, strings.NewReader(body), int64(len(body)), obsclient.WriteOptions{}); err != nil {
				errs <- err
				return
			}
			r, err := b.GetObject(context.Background(), key, obsclient.GetOptions{})
			if err != nil {
				errs <- err
				return
			}
			got, err := io.ReadAll(r)
			r.Close()
			if err != nil || string(got) != body {
				errs <- fmt.Errorf("%s: %v", key, err)
			}
			if _, err := b.ListObjects(context.Background(), obsclient.ListOptions{Prefix: "c/"}); err != nil {
				errs <- err
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestInvalidHeadersRefusedLocally(t *testing.T) {
	srv := newEmulator(t)
	b := mustBucket(t, newClient(t, srv, clientOpts{dialect: signer.OBS}), testBucket)
	for _, o := range []obsclient.WriteOptions{
		{Metadata: map[string]string{"a b": "v"}},
		{Metadata: map[string]string{"é": "v"}},
		{ContentType: "text/plain\r\nX-Injected: 1"},
	} {
		_, err := b.PutObject(ctx(t), "h", strings.NewReader("x"), 1, o)
		assert.Error(t, err, "%+v", o)
	}
	assert.Zero(t, srv.Stats()["PutObject"].Requests)
	// Values are encoded, not refused.
	_, err := b.PutObject(ctx(t), "h", strings.NewReader("x"), 1, obsclient.WriteOptions{Metadata: map[string]string{"note": "line1\nline2"}})
	require.NoError(t, err)
	info, err := b.HeadObject(ctx(t), "h", obsclient.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "line1\nline2", info.Metadata["note"])
}

// TestTLSSkipHostnameVerify: SkipHostnameVerify accepts a certificate that
// chains to a trusted root but names another host, and still refuses an
// untrusted chain.
func TestTLSSkipHostnameVerify(t *testing.T) {
	srv := obstest.NewTest(t, obstest.Options{AccessKey: testAK, SecretKey: testSK, Buckets: []string{testBucket}})
	tlsSrv := httptest.NewTLSServer(srv)
	defer tlsSrv.Close()
	pemFile := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(pemFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw}), 0o600))
	// The certificate names example.com and 127.0.0.1, not localhost.
	endpoint := strings.Replace(tlsSrv.URL, "127.0.0.1", "localhost", 1)
	base := obsclient.Config{Endpoint: endpoint, Addressing: obsclient.AddressingPath, CAFile: pemFile,
		Credentials: signer.Credentials{AccessKey: testAK, SecretKey: testSK}, RetryBaseDelay: 1}
	head := func(cfg obsclient.Config) error {
		c, err := obsclient.New(cfg)
		require.NoError(t, err)
		_, err = mustBucket(t, c, testBucket).Head(ctx(t))
		return err
	}
	assert.Error(t, head(base), "host name mismatch must fail by default")
	skip := base
	skip.SkipHostnameVerify = true
	assert.NoError(t, head(skip))
	untrusted := skip
	untrusted.CAFile = ""
	assert.Error(t, head(untrusted), "an untrusted chain must still fail")
}
