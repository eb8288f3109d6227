package transfer

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obsfs/obsfs/cache"
	"github.com/obsfs/obsfs/obsclient"
	"github.com/obsfs/obsfs/obsclient/obstest"
)

const testBlock = 64 << 10

func newBlocks(t *testing.T) *cache.Blocks {
	t.Helper()
	bc, err := cache.NewBlocks(64 << 20)
	require.NoError(t, err)
	t.Cleanup(bc.Close)
	return bc
}

func readerBytes(t *testing.T, r *Reader, n int) []byte {
	t.Helper()
	return readAllAt(t, func(p []byte, off int64) (int, error) { return r.ReadAt(context.Background(), p, off) }, r.Size(), n)
}

func TestReaderSizes(t *testing.T) {
	e := newEnv(t)
	sizes := []int64{0, 1, testBlock - 1, testBlock, testBlock + 1, 3*testBlock + 17}
	readSizes := []int{1, 4096, testBlock - 1, testBlock, testBlock + 1, 3 * testBlock}
	for _, size := range sizes {
		data := randBytes(uint64(size)+100, size)
		key := fmt.Sprintf("size-%d", size)
		base := e.put(t, key, data)
		for _, rs := range readSizes {
			if rs == 1 && size > testBlock {
				continue // slow and covered by the others
			}
			t.Run(fmt.Sprintf("%d/%d", size, rs), func(t *testing.T) {
				src := &countingSource{src: e.b}
				r := NewReader(src, key, base.ETag, size, nil, ReaderConfig{BlockSize: testBlock, Fetcher: NewFetcher(4, 0)})
				defer r.Close()
				assert.Equal(t, data, readerBytes(t, r, rs))
				// GETs cover whole blocks (coalesced: one or more adjacent
				// ones, at most DefaultMaxCoalesce bytes), the last one
				// ending at the end of the object.
				for _, rg := range src.takeRanges() {
					assert.Zero(t, rg.Start%testBlock, "GETs start on block boundaries")
					assert.True(t, (rg.End+1)%testBlock == 0 || rg.End == size-1, "GETs end on block boundaries or at EOF: %+v", rg)
					assert.LessOrEqual(t, rg.End-rg.Start+1, int64(DefaultMaxCoalesce))
					assert.Less(t, rg.End, size)
				}
			})
		}
	}
}

func TestReaderEdges(t *testing.T) {
	e := newEnv(t)
	data := randBytes(20, 3*testBlock+10)
	base := e.put(t, "edges", data)
	r := NewReader(e.b, "edges", base.ETag, base.Size, nil, ReaderConfig{BlockSize: testBlock, Fetcher: NewFetcher(4, 0)})
	defer r.Close()
	ctx := context.Background()
	size := int64(len(data))
	tests := []struct {
		name    string
		off     int64
		n       int
		wantN   int
		wantEOF bool
	}{
		{"across a block boundary", testBlock - 3, 6, 6, false},
		{"exactly one block", testBlock, testBlock, testBlock, false},
		{"three blocks", 10, 2*testBlock + 5, 2*testBlock + 5, false},
		{"ends at EOF", size - 5, 5, 5, false},
		{"crosses EOF", size - 5, 10, 5, true},
		{"at EOF", size, 10, 0, true},
		{"past EOF", size + 100, 10, 0, true},
		{"empty read", 7, 0, 0, false},
	}
	for _, tt := range tests {
		p := make([]byte, tt.n)
		n, err := r.ReadAt(ctx, p, tt.off)
		assert.Equal(t, tt.wantN, n, tt.name)
		if tt.wantEOF {
			assert.ErrorIs(t, err, io.EOF, tt.name)
		} else {
			assert.NoError(t, err, tt.name)
		}
		if n > 0 {
			assert.Equal(t, data[tt.off:tt.off+int64(n)], p[:n], tt.name)
		}
	}
	_, err := r.ReadAt(ctx, make([]byte, 1), -1)
	assert.Error(t, err)
	require.NoError(t, r.Close())
	_, err = r.ReadAt(ctx, make([]byte, 1), 0)
	assert.ErrorIs(t, err, ErrClosed)
}

// TestReaderSharedFetch: readers of the same block wait for one GET.
func TestReaderSharedFetch(t *testing.T) {
	e := newEnv(t)
	data := randBytes(21, 4*testBlock)
	base := e.put(t, "shared", data)
	src := &countingSource{src: e.b}
	gate := make(chan struct{})
	src.setGate(gate)
	f := NewFetcher(8, 0)
	const readers = 8
	var wg sync.WaitGroup
	for i := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := NewReader(src, "shared", base.ETag, base.Size, nil, ReaderConfig{BlockSize: testBlock, MaxReadahead: -1, Fetcher: f})
			p := make([]byte, 100)
			n, err := r.ReadAt(context.Background(), p, int64(1000+i))
			assert.NoError(t, err)
			assert.Equal(t, data[1000+i:1100+i], p[:n])
		}()
	}
	require.Eventually(t, func() bool { return f.Stats().Shared == readers-1 }, 5*time.Second, time.Millisecond)
	close(gate)
	wg.Wait()
	assert.Equal(t, int64(1), src.gets.Load())
	assert.Equal(t, FetchStats{Requests: 1, Shared: readers - 1, Bytes: testBlock}, f.Stats())
}

func TestReaderReadaheadWindow(t *testing.T) {
	e := newEnv(t)
	const max = 16 * testBlock
	data := randBytes(22, 64*testBlock)
	base := e.put(t, "ra", data)
	src := &countingSource{src: e.b}
	r := NewReader(src, "ra", base.ETag, base.Size, nil, ReaderConfig{
		BlockSize: testBlock, InitialReadahead: testBlock, MaxReadahead: max, Fetcher: NewFetcher(4, 0),
	})
	defer r.Close()
	ctx := context.Background()
	p := make([]byte, testBlock)
	var windows []int64
	for off := int64(0); off < 40*testBlock; off += testBlock {
		_, err := r.ReadAt(ctx, p, off)
		require.NoError(t, err)
		require.Equal(t, data[off:off+testBlock], p)
		w, raEnd := r.readahead()
		windows = append(windows, w/testBlock)
		assert.GreaterOrEqual(t, raEnd, off+testBlock, "readahead is ahead of the reader")
	}
	t.Logf("windows (blocks): %v", windows)
	// The window doubles from one block to the maximum and stays there.
	assert.Equal(t, int64(1), windows[0])
	for i := 1; i < len(windows); i++ {
		assert.True(t, windows[i] == windows[i-1] || windows[i] == 2*windows[i-1], "windows %v", windows)
	}
	assert.Equal(t, int64(max/testBlock), windows[len(windows)-1], "windows %v", windows)
	// Sequential reading fetches every block once.
	gets := src.gets.Load()
	assert.LessOrEqual(t, gets, int64(40+max/testBlock))

	// A random read resets the window and fetches just its block.
	_, err := r.ReadAt(ctx, p[:10], 60*testBlock+5)
	require.NoError(t, err)
	w, _ := r.readahead()
	assert.Equal(t, int64(testBlock), w)
	time.Sleep(50 * time.Millisecond) // let stray readahead land
	before := src.gets.Load()
	_, err = r.ReadAt(ctx, p[:10], 2*testBlock) // random, and cached in no window
	require.NoError(t, err)
	assert.Equal(t, before+1, src.gets.Load())
}

// TestReaderSequentialGetsOnce: small sequential reads (as the kernel
// issues them) fetch every block exactly once.
func TestReaderSequentialGetsOnce(t *testing.T) {
	e := newEnv(t)
	data := randBytes(23, 40*testBlock+123)
	base := e.put(t, "seq", data)
	src := &countingSource{src: e.b}
	r := NewReader(src, "seq", base.ETag, base.Size, newBlocks(t), ReaderConfig{BlockSize: testBlock, MaxReadahead: 8 * testBlock, Fetcher: NewFetcher(4, 0)})
	defer r.Close()
	assert.Equal(t, data, readerBytes(t, r, 16<<10))
	// The request plan: the first read fetches its block and the first
	// window (8 blocks) with one coalesced GET; then every time half a
	// window is left ahead, one GET fetches the next half window (4 blocks):
	// 1 + (41-9)/4 = 9 GETs, covering every block exactly once.
	assert.Equal(t, int64(9), src.gets.Load())
	assertCoverOnce(t, src.takeRanges(), int64(len(data)))
}

// assertCoverOnce checks that GET ranges cover [0, size) exactly once.
func assertCoverOnce(t *testing.T, ranges []obsclient.Range, size int64) {
	t.Helper()
	slices.SortFunc(ranges, func(a, b obsclient.Range) int { return cmp.Compare(a.Start, b.Start) })
	next := int64(0)
	for _, rg := range ranges {
		require.Equal(t, next, rg.Start, "ranges %+v", ranges)
		next = rg.End + 1
	}
	require.Equal(t, size, next, "ranges %+v", ranges)
}

func TestReaderWarmReread(t *testing.T) {
	e := newEnv(t)
	data := randBytes(24, 10*testBlock+5)
	base := e.put(t, "warm", data)
	bc := newBlocks(t)
	f := NewFetcher(4, 0)
	r1 := NewReader(e.b, "warm", base.ETag, base.Size, bc, ReaderConfig{BlockSize: testBlock, Fetcher: f})
	assert.Equal(t, data, readerBytes(t, r1, 100000))
	require.NoError(t, r1.Close())
	bc.Wait()

	e.reset()
	r2 := NewReader(e.b, "warm", base.ETag, base.Size, bc, ReaderConfig{BlockSize: testBlock, Fetcher: f})
	defer r2.Close()
	assert.Equal(t, data, readerBytes(t, r2, 30000))
	assert.Zero(t, e.requests("GetObject"))
	hits, _, _, _ := bc.Metrics()
	assert.GreaterOrEqual(t, hits, uint64(11))

	// Another version of the object shares nothing with the cached one.
	data2 := randBytes(25, 10*testBlock+5)
	base2 := e.put(t, "warm", data2)
	r3 := NewReader(e.b, "warm", base2.ETag, base2.Size, bc, ReaderConfig{BlockSize: testBlock, Fetcher: f})
	defer r3.Close()
	assert.Equal(t, data2, readerBytes(t, r3, 30000))
}

func TestReaderETagChanged(t *testing.T) {
	e := newEnv(t)
	data := randBytes(26, 8*testBlock)
	base := e.put(t, "chg", data)
	r := NewReader(e.b, "chg", base.ETag, base.Size, nil, ReaderConfig{BlockSize: testBlock, MaxReadahead: -1, Fetcher: NewFetcher(4, 0)})
	defer r.Close()
	ctx := context.Background()
	p := make([]byte, 100)
	_, err := r.ReadAt(ctx, p, 0)
	require.NoError(t, err)

	e.put(t, "chg", randBytes(27, 8*testBlock))
	_, err = r.ReadAt(ctx, p, 5*testBlock)
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrStale)
	assert.True(t, obsclient.IsPreconditionFailed(err))
	// Still stale on retry (a failed block is not kept).
	_, err = r.ReadAt(ctx, p, 5*testBlock)
	assert.ErrorIs(t, err, ErrStale)

	// Shrunk object: a range past its new end is stale too.
	e.put(t, "chg", []byte("tiny"))
	r2 := NewReader(e.b, "chg", base.ETag, base.Size, nil, ReaderConfig{BlockSize: testBlock, MaxReadahead: -1, Fetcher: NewFetcher(4, 0)})
	_, err = r2.ReadAt(ctx, p, 5*testBlock)
	assert.ErrorIs(t, err, ErrStale)
}

func TestReaderTruncatedBody(t *testing.T) {
	tests := []struct {
		name    string
		count   int
		wantErr bool
	}{
		{"once: retried", 1, false},
		{"twice: error", 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			data := randBytes(28, 2*testBlock)
			base := e.put(t, "trunc", data)
			require.NoError(t, e.srv.InjectFault(obstest.Fault{Op: "GetObject", Kind: obstest.FaultTruncate, Count: tt.count, After: 1000}))
			r := NewReader(e.b, "trunc", base.ETag, base.Size, nil, ReaderConfig{BlockSize: testBlock, MaxReadahead: -1, Fetcher: NewFetcher(4, 0)})
			defer r.Close()
			p := make([]byte, testBlock)
			n, err := r.ReadAt(context.Background(), p, 0)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, data[:n], p)
			assert.Equal(t, int64(2), e.requests("GetObject"))
		})
	}
}

func TestReaderCancelled(t *testing.T) {
	e := newEnv(t)
	base := e.put(t, "cancel", randBytes(29, testBlock))
	src := &countingSource{src: e.b}
	gate := make(chan struct{})
	src.setGate(gate)
	defer close(gate)
	r := NewReader(src, "cancel", base.ETag, base.Size, nil, ReaderConfig{BlockSize: testBlock, Fetcher: NewFetcher(4, 0)})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := r.ReadAt(ctx, make([]byte, 10), 0)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestFetcherBounds(t *testing.T) {
	e := newEnv(t)
	data := randBytes(30, 32*testBlock)
	base := e.put(t, "bound", data)
	src := &countingSource{src: e.b}
	f := NewFetcher(3, 0)
	f.maxCoalesce = 2 * testBlock // several GETs per window
	r := NewReader(src, "bound", base.ETag, base.Size, nil, ReaderConfig{BlockSize: testBlock, MaxReadahead: 16 * testBlock, Fetcher: f})
	defer r.Close()
	assert.Equal(t, data, readerBytes(t, r, 8*testBlock))
	assert.LessOrEqual(t, src.maxFlight.Load(), int64(3))
	assert.Greater(t, src.maxFlight.Load(), int64(1), "parallel GETs")

	// Bytes in flight: one block at a time.
	src2 := &countingSource{src: e.b}
	r2 := NewReader(src2, "bound", base.ETag, base.Size, nil, ReaderConfig{BlockSize: testBlock, MaxReadahead: 16 * testBlock, Fetcher: NewFetcher(8, testBlock)})
	defer r2.Close()
	assert.Equal(t, data, readerBytes(t, r2, 8*testBlock))
	assert.Equal(t, int64(1), src2.maxFlight.Load())
}

// TestReaderConcurrentReads hammers one reader (and a second sharing its
// cache and fetcher) from several goroutines, mixing sequential streams and
// random reads.
func TestReaderConcurrentReads(t *testing.T) {
	e := newEnv(t)
	data := randBytes(31, 50*testBlock+321)
	base := e.put(t, "hammer", data)
	bc := newBlocks(t)
	f := NewFetcher(4, 4*testBlock)
	cfg := ReaderConfig{BlockSize: testBlock, MaxReadahead: 8 * testBlock, Fetcher: f}
	readers := []*Reader{
		NewReader(e.b, "hammer", base.ETag, base.Size, bc, cfg),
		NewReader(e.b, "hammer", base.ETag, base.Size, bc, cfg),
	}
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := readers[g%2]
			p := make([]byte, 20000+g*1000)
			off := int64(g) * 3 * testBlock
			for range 40 {
				if g%3 == 0 {
					off = int64((g*7919 + int(off)) % len(data))
				}
				n, err := r.ReadAt(context.Background(), p, off)
				if err != io.EOF && !assert.NoError(t, err) {
					return
				}
				if !assert.Equal(t, data[off:off+int64(n)], p[:n]) {
					return
				}
				off = (off + int64(n)) % int64(len(data))
			}
		}()
	}
	wg.Wait()
	st := f.Stats()
	t.Logf("fetched %.2f× the object", float64(st.Bytes)/float64(len(data)))
	assert.Zero(t, st.Errors)
}

// TestReaderReadaheadBudget: prefetched blocks held by readers stay within
// the Fetcher's budget, reading still works when it is spent, and Close
// returns it.
func TestReaderReadaheadBudget(t *testing.T) {
	e := newEnv(t)
	data := randBytes(32, 40*testBlock)
	base := e.put(t, "budget", data)
	f := NewFetcher(4, 2*testBlock) // budget: 4 blocks
	cfg := ReaderConfig{BlockSize: testBlock, MaxReadahead: 32 * testBlock, Fetcher: f}
	r1 := NewReader(e.b, "budget", base.ETag, base.Size, nil, cfg)
	r2 := NewReader(e.b, "budget", base.ETag, base.Size, nil, cfg)
	ctx := context.Background()
	p := make([]byte, testBlock/2)
	for off := int64(0); off < 20*testBlock; off += int64(len(p)) {
		for _, r := range []*Reader{r1, r2} {
			n, err := r.ReadAt(ctx, p, off)
			require.NoError(t, err)
			require.Equal(t, data[off:off+int64(n)], p[:n])
			require.LessOrEqual(t, f.Stats().Ahead, int64(4*testBlock))
		}
	}
	assert.Positive(t, f.Stats().Ahead)
	require.NoError(t, r1.Close())
	require.NoError(t, r2.Close())
	assert.Zero(t, f.Stats().Ahead)
}
