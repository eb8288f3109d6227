package transfer

import (
	"context"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/obsfs/obsfs/obsclient"
	"github.com/obsfs/obsfs/obsclient/obstest"
	"github.com/obsfs/obsfs/obsclient/signer"
)

const (
	testAK     = "AKTRANSFER"
	testSK     = "SKtransfer-secret"
	testBucket = "transfer-test"
)

// env is an emulator and a client bucket talking to it over HTTP.
type env struct {
	srv *obstest.Server
	b   *obsclient.Bucket
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, obstest.Options{Buckets: []string{testBucket}})
}

// newEnvWith is newEnv with emulator options (the keys are filled in), e.g.
// FSBuckets for a parallel file system bucket.
func newEnvWith(t *testing.T, o obstest.Options) *env {
	t.Helper()
	o.AccessKey, o.SecretKey = testAK, testSK
	srv := obstest.NewTest(t, o)
	c, err := obsclient.New(obsclient.Config{
		Endpoint:       srv.URL,
		Credentials:    signer.Credentials{AccessKey: testAK, SecretKey: testSK},
		RetryBaseDelay: time.Millisecond,
	})
	require.NoError(t, err)
	b, err := c.Bucket(testBucket)
	require.NoError(t, err)
	return &env{srv: srv, b: b}
}

// put stores an object directly in the emulator and returns its base.
func (e *env) put(t *testing.T, key string, data []byte) *Base {
	t.Helper()
	info, err := e.srv.PutObject(testBucket, key, data, obstest.ObjectInfo{})
	require.NoError(t, err)
	return &Base{Key: key, ETag: trimQuotes(info.ETag), Size: int64(len(data))}
}

func (e *env) body(t *testing.T, key string) []byte {
	t.Helper()
	b, err := e.srv.ObjectBody(testBucket, key)
	require.NoError(t, err)
	return b
}

// stats returns the emulator's counters once in-flight requests are
// counted (obstest.Server.SettledStats).
func (e *env) stats() obstest.Stats { return e.srv.SettledStats() }

// reset zeroes the emulator's counters after in-flight requests settle.
func (e *env) reset() {
	e.stats()
	e.srv.ResetStats()
}

func (e *env) requests(op string) int64 { return e.stats()[op].Requests }

func trimQuotes(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

// randBytes returns n pseudo-random bytes, fixed by seed.
func randBytes(seed uint64, n int64) []byte {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(rng.Uint32())
	}
	return p
}

// countingSource wraps an ObjectSource, counting GETs and optionally
// holding them until released.
type countingSource struct {
	src                 ObjectSource
	gets                atomic.Int64
	inFlight, maxFlight atomic.Int64

	mu     sync.Mutex
	gate   chan struct{} // when non-nil, GETs wait for it to close
	ranges []obsclient.Range
}

func (c *countingSource) GetObject(ctx context.Context, key string, o obsclient.GetOptions) (*obsclient.ObjectReader, error) {
	c.gets.Add(1)
	cur := c.inFlight.Add(1)
	defer c.inFlight.Add(-1)
	for m := c.maxFlight.Load(); cur > m && !c.maxFlight.CompareAndSwap(m, cur); m = c.maxFlight.Load() {
	}
	c.mu.Lock()
	gate := c.gate
	if o.Range != nil {
		c.ranges = append(c.ranges, *o.Range)
	}
	c.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return c.src.GetObject(ctx, key, o)
}

func (c *countingSource) setGate(g chan struct{}) {
	c.mu.Lock()
	c.gate = g
	c.mu.Unlock()
}

func (c *countingSource) takeRanges() []obsclient.Range {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.ranges
	c.ranges = nil
	return r
}

// readAll reads [0, size) of r with reads of n bytes.
func readAllAt(t *testing.T, r func(p []byte, off int64) (int, error), size int64, n int) []byte {
	t.Helper()
	out := make([]byte, 0, size)
	p := make([]byte, n)
	for off := int64(0); ; {
		k, err := r(p, off)
		out = append(out, p[:k]...)
		off += int64(k)
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
	}
	return out
}
