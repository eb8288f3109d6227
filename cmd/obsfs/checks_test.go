package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/obsfs/obsfs/obsclient"
	"github.com/obsfs/obsfs/obsclient/signer"
)

func TestClientConfigMapping(t *testing.T) {
	c := parseOK(t, withURL("-o", "signature=v2,region=r1,use_path_request_style,retries=0,readwrite_timeout=0,connect_timeout=7,ssl_verify=false,cafile=/ca.pem,proxy=http://u:p@h:1")...)
	creds := signer.Credentials{AccessKey: "AK", SecretKey: "SK"}
	cc := clientConfig(c, creds, zap.NewNop())
	assert.Equal(t, "http://127.0.0.1:9000", cc.Endpoint)
	assert.Equal(t, "r1", cc.Region)
	assert.Equal(t, signer.V2, cc.Signature)
	assert.Equal(t, obsclient.AddressingPath, cc.Addressing)
	assert.Equal(t, -1, cc.Retries, "retries=0 means none, which obsclient spells -1")
	assert.Equal(t, time.Duration(-1), cc.RequestTimeout, "readwrite_timeout=0 disables the timeout")
	assert.Equal(t, 7*time.Second, cc.ConnectTimeout)
	assert.True(t, cc.InsecureSkipVerify)
	assert.Equal(t, "/ca.pem", cc.CAFile)
	assert.Equal(t, "http://u:p@h:1", cc.Proxy)
	assert.Equal(t, creds, cc.Credentials)

	cc = clientConfig(parseOK(t, withURL()...), creds, zap.NewNop())
	assert.Equal(t, obsclient.AddressingAuto, cc.Addressing)
	assert.Equal(t, 3, cc.Retries)
	assert.False(t, cc.InsecureSkipVerify)
}

func TestHeadErrorMessages(t *testing.T) {
	c := &Config{Bucket: "bkt", Endpoint: "obs.example.com", ConnectTimeout: time.Second}
	cases := []struct {
		err  error
		code int
		msg  string
	}{
		{&obsclient.Error{Op: "HeadBucket", StatusCode: 403}, exitAccess, `access denied by https://obs.example.com for bucket "bkt" (check the credentials from SRC)`},
		{&obsclient.Error{Op: "HeadBucket", StatusCode: 404, Code: "NoSuchBucket"}, exitNoBucket, `bucket "bkt" does not exist at https://obs.example.com`},
		{&obsclient.Error{Op: "HeadBucket", StatusCode: 301, Code: "PermanentRedirect"}, exitFailure, `bucket "bkt" is not served by https://obs.example.com (301 PermanentRedirect): check url= and region=`},
		{&obsclient.Error{Op: "HeadBucket", StatusCode: 503, Code: "ServiceUnavailable"}, exitFailure, `HEAD bucket "bkt" at https://obs.example.com failed: obs HeadBucket: 503 ServiceUnavailable`},
		{&obsclient.Error{Op: "HeadBucket", Err: &url.Error{Op: "Head", URL: "https://x", Err: errors.New("tls: bad certificate")}}, exitEndpoint, `cannot reach https://obs.example.com: tls: bad certificate`},
		{&obsclient.Error{Op: "HeadBucket", Err: fmt.Errorf("attempt 4: %w", context.DeadlineExceeded)}, exitEndpoint, `cannot reach https://obs.example.com: no answer within 20s`},
	}
	// Refused signatures are worded by what the server said.
	v4 := *c
	v4.Signature = signer.V4
	auth := []struct {
		err  error
		code int
		msg  string
	}{
		{&obsclient.Error{Op: "ListObjects", StatusCode: 403, Code: "RequestTimeTooSkewed", Message: "The difference between the request time and the server's time is too large."}, exitAccess,
			`https://obs.example.com refused the request time: this machine's clock differs from the server's by more than 15 minutes (RequestTimeTooSkewed: The difference between the request time and the server's time is too large.); set the clock (NTP)`},
		{&obsclient.Error{Op: "ListObjects", StatusCode: 400, Code: "AuthorizationHeaderMalformed", Message: `the region "cn-north-4" is wrong; expecting "us-east-1"`}, exitAccess,
			`https://obs.example.com refused the signature's region "cn-north-4" (AuthorizationHeaderMalformed: the region "cn-north-4" is wrong; expecting "us-east-1"): set region= to the bucket's region`},
		{&obsclient.Error{Op: "ListObjects", StatusCode: 403, Code: "SignatureDoesNotMatch"}, exitAccess,
			`https://obs.example.com says the signature does not match (SignatureDoesNotMatch): check the secret key from SRC, and signature= (now v4)`},
		{&obsclient.Error{Op: "ListObjects", StatusCode: 403, Code: "InvalidAccessKeyId"}, exitAccess,
			`https://obs.example.com does not know the access key (InvalidAccessKeyId): check the credentials from SRC`},
		{&obsclient.Error{Op: "ListObjects", StatusCode: 404, Code: "XAdminUserNotFound"}, exitAccess,
			`https://obs.example.com does not know the access key (XAdminUserNotFound): check the credentials from SRC`},
		{&obsclient.Error{Op: "ListObjects", StatusCode: 403, Code: "AccessDenied", Message: "AWS authentication requires a valid Date or x-amz-date header"}, exitAccess,
			`access denied by https://obs.example.com for bucket "bkt" (check the credentials from SRC): AWS authentication requires a valid Date or x-amz-date header`},
	}
	for _, tc := range auth {
		err := headError(tc.err, &v4, "SRC")
		assert.Equal(t, tc.code, exitCode(err), tc.msg)
		assert.Equal(t, tc.msg, err.Error())
	}

	for _, tc := range cases {
		err := headError(tc.err, c, "SRC")
		assert.Equal(t, tc.code, exitCode(err), tc.msg)
		assert.Equal(t, tc.msg, err.Error())
	}
}

func TestMountpointChecks(t *testing.T) {
	dir := t.TempDir()
	assert.NoError(t, checkMountpoint(&Config{Mountpoint: dir}))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".hidden"), nil, 0o600))
	err := checkMountpoint(&Config{Mountpoint: dir})
	assert.Equal(t, exitMountpoint, exitCode(err))
	assert.Contains(t, err.Error(), "is not empty (use -o nonempty")
	assert.NoError(t, checkMountpoint(&Config{Mountpoint: dir, NonEmpty: true}))
}

func TestEndpointURL(t *testing.T) {
	assert.Equal(t, "https://obs.example.com", endpointURL("obs.example.com"))
	assert.Equal(t, "http://127.0.0.1:9000", endpointURL("http://127.0.0.1:9000/"))
}

func TestPrepareCacheDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	require.NoError(t, prepareCacheDir(&Config{CacheDir: dir}))
	st, err := os.Stat(dir)
	require.NoError(t, err)
	assert.True(t, st.IsDir())
	file := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	err = prepareCacheDir(&Config{CacheDir: filepath.Join(file, "x")})
	assert.Equal(t, exitUsage, exitCode(err))
	assert.Contains(t, err.Error(), "option use_cache: mkdir "+file+": not a directory")
	assert.NoError(t, prepareCacheDir(&Config{}))
}

// skewedS3 is an S3 server whose clock runs an hour ahead: like versitygw it
// refuses a HEAD with a bodiless 403 and names RequestTimeTooSkewed only in
// the <Error> body of other requests; every reply carries its Date.
func skewedS3(t *testing.T, offset time.Duration) (*httptest.Server, *atomic.Int32) {
	var heads atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now().Add(offset)
		w.Header().Set("Date", now.UTC().Format(http.TimeFormat))
		sent, err := time.Parse(signer.ISO8601Basic, r.Header.Get("X-Amz-Date"))
		skewed := err != nil || sent.Sub(now).Abs() > 15*time.Minute
		if r.Method == http.MethodHead {
			heads.Add(1)
		}
		switch {
		case skewed && r.Method == http.MethodHead:
			w.WriteHeader(http.StatusForbidden)
		case skewed:
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `<Error><Code>RequestTimeTooSkewed</Code><Message>The difference between the request time and the server's time is too large.</Message></Error>`)
		case r.Method == http.MethodHead:
		default:
			io.WriteString(w, `<ListBucketResult><Name>bkt</Name><IsTruncated>false</IsTruncated></ListBucketResult>`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &heads
}

// A clock an hour off is learnt from the diagnosis listing's refusal and the
// mount goes ahead; a server that gives no Date to learn from makes the
// mount fail naming the clock.
func TestOpenBucketLearnsSkewFromListing(t *testing.T) {
	srv, heads := skewedS3(t, time.Hour)
	c := parseOK(t, "bkt", "/mnt", "-o", "url="+srv.URL+",signature=v4,use_path_request_style,retries=0")
	creds := signer.Credentials{AccessKey: "AK", SecretKey: "SK"}
	_, _, err := openBucket(context.Background(), c, creds, "SRC", zap.NewNop())
	require.NoError(t, err)
	assert.EqualValues(t, 2, heads.Load(), "HEAD, the diagnosis listing, HEAD again")

	noDate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Date"] = nil // no Date to learn the server's clock from
		w.WriteHeader(http.StatusForbidden)
		if r.Method != http.MethodHead {
			io.WriteString(w, `<Error><Code>RequestTimeTooSkewed</Code><Message>too skewed</Message></Error>`)
		}
	}))
	t.Cleanup(noDate.Close)
	c = parseOK(t, "bkt", "/mnt", "-o", "url="+noDate.URL+",signature=v4,use_path_request_style,retries=0")
	_, _, err = openBucket(context.Background(), c, creds, "SRC", zap.NewNop())
	require.Error(t, err)
	assert.Equal(t, exitAccess, exitCode(err))
	assert.Contains(t, err.Error(), "clock differs from the server's by more than 15 minutes (RequestTimeTooSkewed: too skewed)")
}
