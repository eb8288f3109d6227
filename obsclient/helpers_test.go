package obsclient_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/obsfs/obsfs/obsclient"
	"github.com/obsfs/obsfs/obsclient/obstest"
	"github.com/obsfs/obsfs/obsclient/signer"
)

const (
	testAK     = "AKTESTEXAMPLE"
	testSK     = "SKtestSECRET/do-not-log+0123456789"
	testBucket = "obsfs-test"
	testPFS    = "obsfs-pfs"
)

var dialects = []signer.Dialect{signer.OBS, signer.V2, signer.V4}

// newEmulator starts an emulator serving the test buckets.
func newEmulator(t *testing.T, mod ...func(*obstest.Options)) *obstest.Server {
	t.Helper()
	o := obstest.Options{AccessKey: testAK, SecretKey: testSK, Buckets: []string{testBucket}, FSBuckets: []string{testPFS}}
	for _, m := range mod {
		m(&o)
	}
	return obstest.NewTest(t, o)
}

// clientOpts tweak a test client.
type clientOpts struct {
	dialect signer.Dialect
	virtual bool // virtual-hosted: endpoint obs.example.test dialled to the emulator
	logger  *zap.Logger
	mod     func(*obsclient.Config)
	wrap    func(http.RoundTripper) http.RoundTripper
}

// newClient builds a client for the emulator. Virtual-hosted clients use
// the endpoint obs.example.test:PORT, and a transport whose dialer sends
// every connection (bucket.obs.example.test:PORT) to the emulator.
func newClient(t *testing.T, srv *obstest.Server, o clientOpts) *obsclient.Client {
	t.Helper()
	addr := srv.Addr()
	_, port, _ := net.SplitHostPort(addr)
	cfg := obsclient.Config{
		Endpoint:       srv.URL,
		Credentials:    signer.Credentials{AccessKey: testAK, SecretKey: testSK},
		Signature:      o.dialect,
		RetryBaseDelay: time.Millisecond,
		Logger:         o.logger,
	}
	var rt http.RoundTripper = &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
		DisableCompression: true,
	}
	if o.virtual {
		cfg.Endpoint = "http://obs.example.test:" + port
	}
	if o.wrap != nil {
		rt = o.wrap(rt)
	}
	cfg.Transport = rt
	if o.mod != nil {
		o.mod(&cfg)
	}
	c, err := obsclient.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if o.virtual != c.VirtualHosted() {
		t.Fatalf("virtual-hosted = %v, want %v", c.VirtualHosted(), o.virtual)
	}
	return c
}

func mustBucket(t *testing.T, c *obsclient.Client, name string) *obsclient.Bucket {
	t.Helper()
	b, err := c.Bucket(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// roundTripFunc adapts a function to http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func dialectName(d signer.Dialect) string { return strings.ToUpper(string(d)) }
