package obstest

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-obs/obs"
	"github.com/stretchr/testify/require"
)

const (
	testAK      = "AKTESTEXAMPLE"
	testSK      = "SKTESTEXAMPLE/secret+key"
	testBucket  = "bkt"
	testBucket2 = "bkt-two"
	testFS      = "fsbkt"
	testDomain  = "obs.emu.test"
)

// sdkEnv is one way the official SDK talks to the emulator.
type sdkEnv struct {
	name    string
	sig     obs.SignatureType
	virtual bool   // hostname endpoint + dialer override; else the IP endpoint (path style)
	scheme  string // Authorization scheme that actually goes on the wire
}

// sdkEnvs: OBS signing only happens virtual-hosted (the SDK turns OBS into V2
// for path style, which it forces for IP endpoints: PROTOCOL.md §1).
var sdkEnvs = []sdkEnv{
	{"obs-virtual", obs.SignatureObs, true, "OBS"},
	{"v2-virtual", obs.SignatureV2, true, "AWS"},
	{"v4-virtual", obs.SignatureV4, true, "AWS4-HMAC-SHA256"},
	{"v2-path", obs.SignatureV2, false, "AWS"},
	{"v4-path", obs.SignatureV4, false, "AWS4-HMAC-SHA256"},
	{"obs-path-becomes-v2", obs.SignatureObs, false, "AWS"},
}

// recorder remembers which auth schemes and host styles reached the server.
type recorder struct {
	mu      sync.Mutex
	schemes map[string]int // "OBS", "AWS", "AWS4-HMAC-SHA256", "presign-…", "anonymous"
	virtual int
	path    int
	service int // requests to the bare endpoint (list buckets)
}

func (r *recorder) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		scheme := "anonymous"
		if a := req.Header.Get("Authorization"); a != "" {
			scheme, _, _ = strings.Cut(a, " ")
		} else if q := req.URL.Query(); q.Get("Signature") != "" || q.Get("X-Amz-Signature") != "" {
			scheme = "presign"
		}
		r.mu.Lock()
		if r.schemes == nil {
			r.schemes = map[string]int{}
		}
		r.schemes[scheme]++
		host := strings.Split(req.Host, ":")[0]
		switch {
		case host == testDomain || req.URL.Path == "/" && !strings.HasSuffix(host, testDomain):
			r.service++
		case strings.HasSuffix(host, "."+testDomain):
			r.virtual++
		default:
			r.path++
		}
		r.mu.Unlock()
		h.ServeHTTP(w, req)
	})
}

// fixture is an emulator plus an SDK client in one environment.
type fixture struct {
	env sdkEnv
	srv *Server
	hs  *httptest.Server
	rec *recorder
	c   *obs.ObsClient
}

// newFixture starts an emulator (buckets bkt, bkt-two, PFS fsbkt) and an
// SDK client for env.
func newFixture(t *testing.T, env sdkEnv, opts Options) *fixture {
	t.Helper()
	if opts.AccessKey == "" {
		opts.AccessKey, opts.SecretKey = testAK, testSK
	}
	opts.Buckets = append(opts.Buckets, testBucket, testBucket2)
	opts.FSBuckets = append(opts.FSBuckets, testFS)
	opts.Domains = append(opts.Domains, testDomain)
	srv, err := NewUnstarted(opts)
	require.NoError(t, err)
	f := &fixture{env: env, srv: srv, rec: &recorder{}}
	f.hs = httptest.NewServer(f.rec.wrap(srv))
	t.Cleanup(func() { f.hs.Close(); srv.Close() })
	f.c = f.client(t, opts.AccessKey, opts.SecretKey, opts.SecurityToken)
	return f
}

// client builds an SDK client for the fixture's environment.
func (f *fixture) client(t *testing.T, ak, sk, token string) *obs.ObsClient {
	t.Helper()
	addr := f.hs.Listener.Addr().String()
	endpoint := f.hs.URL
	cfg := sliceOf(obs.WithSignature(f.env.sig), obs.WithMaxRetryCount(0), obs.WithRegion("cn-north-4"))
	if f.env.virtual {
		_, port, _ := net.SplitHostPort(addr)
		endpoint = "http://" + testDomain + ":" + port
		tr := &http.Transport{DialContext: dialTo(addr)}
		cfg = append(cfg, obs.WithHttpTransport(tr))
	} else {
		cfg = append(cfg, obs.WithPathStyle(true))
	}
	if token != "" {
		cfg = append(cfg, obs.WithSecurityToken(token))
	}
	c, err := obs.New(ak, sk, endpoint, cfg...)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// forEachEnv runs body once per SDK environment.
func forEachEnv(t *testing.T, opts Options, body func(t *testing.T, f *fixture)) {
	for _, env := range sdkEnvs {
		t.Run(env.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, env, opts)
			body(t, f)
			assertSchemes(t, f)
		})
	}
}

// obsErr asserts err is an ObsError with the given status and code.
func obsErr(t *testing.T, err error, status int, code string) {
	t.Helper()
	require.Error(t, err)
	var oe obs.ObsError
	require.True(t, errors.As(err, &oe), "not an ObsError: %v", err)
	require.True(t, strings.HasPrefix(oe.Status, strconv.Itoa(status)), "status %q, want %d (%v)", oe.Status, status, err)
	if code != "" {
		require.Equal(t, code, oe.Code, "error: %v", err)
	}
}

// sliceOf builds a slice of a type the caller cannot name (the SDK's
// unexported configurer).
func sliceOf[T any](xs ...T) []T { return xs }

// dialTo returns a DialContext that always connects to addr, so virtual-hosted
// names like bkt.obs.emu.test reach the emulator.
func dialTo(addr string) func(ctx context.Context, network, _ string) (net.Conn, error) {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return func(ctx context.Context, network, _ string) (net.Conn, error) {
		return dialer.DialContext(ctx, network, addr)
	}
}
