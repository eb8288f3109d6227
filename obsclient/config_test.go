package obsclient_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obsfs/obsfs/obsclient"
	"github.com/obsfs/obsfs/obsclient/signer"
)

var creds = signer.Credentials{AccessKey: "ak", SecretKey: "sk"}

func TestBucketNameValidation(t *testing.T) {
	good := []string{"abc", "my-bucket", "my.bucket.1", "a1b", "0bucket9", "a-b.c-d", "123", "1.2.3", string(make63('a'))}
	bad := []string{"", "ab", "ABC", "my_bucket", "-abc", "abc-", ".abc", "abc.", "a..b", "a.-b", "a-.b",
		"192.168.1.1", "10.0.0.255", "bücket", "a b", string(make63('a')) + "a", "abc/def"}
	c, err := obsclient.New(obsclient.Config{Endpoint: "obs.cn-north-4.myhuaweicloud.com", Credentials: creds})
	require.NoError(t, err)
	for _, n := range good {
		b, err := c.Bucket(n)
		if assert.NoError(t, err, n) {
			assert.Equal(t, n, b.Name())
		}
	}
	for _, n := range bad {
		_, err := c.Bucket(n)
		assert.Error(t, err, "%q", n)
	}
}

func make63(c byte) []byte {
	p := make([]byte, 63)
	for i := range p {
		p[i] = c
	}
	return p
}

func TestParseEndpoint(t *testing.T) {
	cases := map[string]string{
		"obs.cn-north-4.myhuaweicloud.com":             "https://obs.cn-north-4.myhuaweicloud.com",
		"https://obs.cn-north-4.myhuaweicloud.com":     "https://obs.cn-north-4.myhuaweicloud.com",
		"http://127.0.0.1:9000":                        "http://127.0.0.1:9000",
		"HTTP://localhost:9000/":                       "http://localhost:9000",
		" obs.example.com:8443 ":                       "https://obs.example.com:8443",
		"http://[::1]:9000":                            "http://[::1]:9000",
		"https://obs.ap-southeast-1.myhuaweicloud.com": "https://obs.ap-southeast-1.myhuaweicloud.com",
	}
	for in, want := range cases {
		u, err := obsclient.ParseEndpoint(in)
		if assert.NoError(t, err, in) {
			assert.Equal(t, want, u.String(), in)
		}
	}
	for _, in := range []string{"", "ftp://host", "http://", "https://host/path", "http://u:p@host", "https://host?x=1", "http://%zz"} {
		_, err := obsclient.ParseEndpoint(in)
		assert.Error(t, err, "%q", in)
	}
}

func TestAddressingAndDefaults(t *testing.T) {
	for ep, virtual := range map[string]bool{
		"obs.cn-north-4.myhuaweicloud.com": true,
		"http://127.0.0.1:9000":            false,
		"http://localhost:9000":            false,
		"http://[::1]:9000":                false,
		"https://obs.example.test":         true,
	} {
		c, err := obsclient.New(obsclient.Config{Endpoint: ep, Credentials: creds})
		require.NoError(t, err)
		assert.Equal(t, virtual, c.VirtualHosted(), ep)
	}
	c, err := obsclient.New(obsclient.Config{Endpoint: "127.0.0.1", Credentials: creds, Addressing: obsclient.AddressingVirtual})
	require.NoError(t, err)
	assert.True(t, c.VirtualHosted())
	c, err = obsclient.New(obsclient.Config{Endpoint: "obs.example.com", Credentials: creds, Addressing: obsclient.AddressingPath})
	require.NoError(t, err)
	assert.False(t, c.VirtualHosted())

	cfg := c.Config()
	assert.Equal(t, "cn-north-4", cfg.Region)
	assert.Equal(t, signer.OBS, cfg.Signature)
	assert.Equal(t, 10*time.Second, cfg.ConnectTimeout)
	assert.Equal(t, 60*time.Second, cfg.RequestTimeout)
	assert.Equal(t, 3, cfg.Retries)
	assert.Equal(t, 64, cfg.MaxConns)
	assert.Contains(t, cfg.UserAgent, "obsfs/")
	assert.NotNil(t, cfg.Logger)
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "x.pem")
	require.NoError(t, os.WriteFile(notPEM, []byte("not a certificate"), 0o600))
	for name, cfg := range map[string]obsclient.Config{
		"no endpoint":  {Credentials: creds},
		"no keys":      {Endpoint: "obs.example.com"},
		"no sk":        {Endpoint: "obs.example.com", Credentials: signer.Credentials{AccessKey: "ak"}},
		"bad dialect":  {Endpoint: "obs.example.com", Credentials: creds, Signature: "v3"},
		"bad endpoint": {Endpoint: "ftp://x", Credentials: creds},
		"missing CA":   {Endpoint: "obs.example.com", Credentials: creds, CAFile: filepath.Join(dir, "none.pem")},
		"bad CA":       {Endpoint: "obs.example.com", Credentials: creds, CAFile: notPEM},
		"bad proxy":    {Endpoint: "obs.example.com", Credentials: creds, Proxy: "http://%zz"},
	} {
		_, err := obsclient.New(cfg)
		assert.Error(t, err, name)
	}
	_, err := obsclient.New(obsclient.Config{Endpoint: "obs.example.com", Credentials: creds,
		Proxy: "http://user:pass@proxy.example:3128", InsecureSkipVerify: true, Signature: "V4"})
	assert.NoError(t, err)
}

func TestErrorPredicates(t *testing.T) {
	e := func(status int, code string) error { return &obsclient.Error{Op: "X", StatusCode: status, Code: code} }
	assert.True(t, obsclient.IsNotFound(e(404, "NoSuchUpload")))
	assert.True(t, obsclient.IsNotFound(e(404, "NoSuchVersion")))
	assert.False(t, obsclient.IsNotFound(e(403, "AccessDenied")))
	assert.True(t, obsclient.IsAccessDenied(e(403, "SignatureDoesNotMatch")))
	assert.True(t, obsclient.IsAccessDenied(e(403, "InvalidAccessKeyId")))
	assert.False(t, obsclient.IsAccessDenied(e(403, "InsufficientStorageSpace")))
	assert.True(t, obsclient.IsQuotaExceeded(e(403, "InsufficientStorageSpace")))
	assert.True(t, obsclient.IsPreconditionFailed(e(412, "PreconditionFailed")))
	assert.True(t, obsclient.IsNotModified(e(304, "")))
	assert.True(t, obsclient.IsConflict(e(409, "BucketNotEmpty")))
	assert.True(t, obsclient.IsNotSupported(e(405, "FsNotSupport")))
	assert.False(t, obsclient.IsNotFound(nil))
	assert.False(t, obsclient.IsNotFound(os.ErrNotExist))
	assert.Equal(t, `obs X "k": 404 NoSuchKey: gone (request R)`,
		(&obsclient.Error{Op: "X", Key: "k", StatusCode: 404, Code: "NoSuchKey", Message: "gone", RequestID: "R"}).Error())
	wrapped := &obsclient.Error{Op: "X", Err: os.ErrDeadlineExceeded}
	assert.ErrorIs(t, wrapped, os.ErrDeadlineExceeded)
}
