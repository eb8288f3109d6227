package transfer

import (
	"bytes"
	"context"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obsfs/obsfs/obsclient"
	"github.com/obsfs/obsfs/obsclient/obstest"
)

// TestReaderCoalescedWindow: the first read of a stream fetches its block
// and the whole first window with few large GETs (at most ceil(bytes /
// maxCoalesce)), which fill every block of the window: reading the window
// afterwards sends nothing.
func TestReaderCoalescedWindow(t *testing.T) {
	e := newEnv(t)
	data := randBytes(60, 64*testBlock)
	base := e.put(t, "coal", data)
	src := &countingSource{src: e.b}
	f := NewFetcher(8, 0)
	f.maxCoalesce = 8 * testBlock // "8 MiB" at the scale of test blocks
	const window = 32 * testBlock
	r := NewReader(src, "coal", base.ETag, base.Size, newBlocks(t), ReaderConfig{
		BlockSize: testBlock, StartReadahead: window, MaxReadahead: window, Fetcher: f,
	})
	defer r.Close()
	e.reset()
	ctx := context.Background()
	p := make([]byte, 16<<10)
	_, err := r.ReadAt(ctx, p, 0)
	require.NoError(t, err)
	assert.Equal(t, data[:len(p)], p)
	// Block 0 and the window behind the read's end: blocks 0..32.
	const fetched = 33 * testBlock
	require.Eventually(t, func() bool { return f.Stats().Bytes == fetched }, 5*time.Second, time.Millisecond)
	maxGets := int64((fetched + f.maxCoalesce - 1) / f.maxCoalesce)
	assert.LessOrEqual(t, e.requests("GetObject"), maxGets)
	assert.Equal(t, src.gets.Load(), e.requests("GetObject"))
	assertCoverOnce(t, src.takeRanges(), fetched)

	// Every block of the window is filled: reading it (in place, without
	// moving past the half-window mark) sends no GET.
	before := src.gets.Load()
	for off := int64(len(p)); off < window/2; off += int64(len(p)) {
		_, err := r.ReadAt(ctx, p, off)
		require.NoError(t, err)
		require.Equal(t, data[off:off+int64(len(p))], p)
	}
	assert.Equal(t, before, src.gets.Load())

	// The whole object, sequentially: every block fetched exactly once.
	assert.Equal(t, data, readerBytes(t, r, 16<<10))
	assert.Equal(t, int64(len(data)), f.Stats().Bytes)
}

// TestReaderDefaultStartWindow: with the defaults, a stream read from
// offset 0 starts with an 8 MiB window fetched by coalesced GETs of at most
// 8 MiB, instead of one GET per 1 MiB block.
func TestReaderDefaultStartWindow(t *testing.T) {
	e := newEnv(t)
	const size = 24 << 20
	data := randBytes(61, size)
	base := e.put(t, "big", data)
	src := &countingSource{src: e.b}
	f := NewFetcher(16, 0)
	r := NewReader(src, "big", base.ETag, base.Size, nil, ReaderConfig{Fetcher: f})
	defer r.Close()
	p := make([]byte, 128<<10)
	_, err := r.ReadAt(context.Background(), p, 0)
	require.NoError(t, err)
	w, raEnd := r.readahead()
	assert.Equal(t, int64(DefaultStartReadahead), w)
	assert.Equal(t, int64(len(p))+DefaultStartReadahead, raEnd)
	// Blocks 0..8 (9 MiB): two GETs, 8 MiB and 1 MiB.
	require.Eventually(t, func() bool { return f.Stats().Bytes == 9<<20 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, int64(2), src.gets.Load())
	for _, rg := range src.takeRanges() {
		assert.LessOrEqual(t, rg.End-rg.Start+1, int64(DefaultMaxCoalesce))
	}
	assert.Equal(t, data, readerBytes(t, r, 1<<20))
	st := f.Stats()
	assert.Equal(t, int64(size), st.Bytes)
	assert.LessOrEqual(t, st.Requests, int64(6), "24 MiB in coalesced GETs")
}

// TestReaderJoinsCoalescedFetch: a random read of a block inside an
// in-flight coalesced GET (by another reader sharing the Fetcher) waits for
// it and gets the right bytes, without a GET of its own.
func TestReaderJoinsCoalescedFetch(t *testing.T) {
	e := newEnv(t)
	data := randBytes(62, 16*testBlock)
	base := e.put(t, "join", data)
	src := &countingSource{src: e.b}
	gate := make(chan struct{})
	src.setGate(gate)
	f := NewFetcher(8, 0)
	seq := NewReader(src, "join", base.ETag, base.Size, nil, ReaderConfig{BlockSize: testBlock, StartReadahead: 8 * testBlock, MaxReadahead: 8 * testBlock, Fetcher: f})
	defer seq.Close()
	rnd := NewReader(src, "join", base.ETag, base.Size, nil, ReaderConfig{BlockSize: testBlock, MaxReadahead: -1, Fetcher: f})
	defer rnd.Close()

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		p := make([]byte, 1000)
		n, err := seq.ReadAt(context.Background(), p, 0)
		assert.NoError(t, err)
		assert.Equal(t, data[:n], p[:n])
	}()
	require.Eventually(t, func() bool { return src.gets.Load() == 1 }, 5*time.Second, time.Millisecond)
	rg := src.takeRanges()
	require.Len(t, rg, 1)
	require.Equal(t, obsclient.Range{Start: 0, End: 9*testBlock - 1}, rg[0], "blocks 0..8 in one GET")

	wg.Add(1)
	go func() {
		defer wg.Done()
		off := int64(5*testBlock + 123)
		p := make([]byte, testBlock) // blocks 5 and 6
		n, err := rnd.ReadAt(context.Background(), p, off)
		assert.NoError(t, err)
		assert.Equal(t, data[off:off+int64(n)], p[:n])
	}()
	require.Eventually(t, func() bool { return f.Stats().Shared == 2 }, 5*time.Second, time.Millisecond)
	close(gate)
	wg.Wait()
	require.Eventually(t, func() bool { return f.Stats().Bytes == 9*testBlock }, 5*time.Second, time.Millisecond)
	assert.Equal(t, int64(1), src.gets.Load())
}

// TestReaderCoalescedTruncated: a coalesced body cut short is retried once
// for the blocks not yet received; cut short twice, the blocks it did not
// deliver fail with ErrShortBody (and are fetched again on the next read).
func TestReaderCoalescedTruncated(t *testing.T) {
	t.Run("once: retried from the first missing block", func(t *testing.T) {
		e := newEnv(t)
		data := randBytes(63, 8*testBlock)
		base := e.put(t, "tr", data)
		require.NoError(t, e.srv.InjectFault(obstest.Fault{Op: "GetObject", Kind: obstest.FaultTruncate, After: 3*testBlock + 100}))
		src := &countingSource{src: e.b}
		f := NewFetcher(4, 0)
		r := NewReader(src, "tr", base.ETag, base.Size, nil, ReaderConfig{BlockSize: testBlock, StartReadahead: 8 * testBlock, MaxReadahead: 8 * testBlock, Fetcher: f})
		defer r.Close()
		assert.Equal(t, data, readerBytes(t, r, 8*testBlock))
		assert.Equal(t, []obsclient.Range{{Start: 0, End: 8*testBlock - 1}, {Start: 3 * testBlock, End: 8*testBlock - 1}}, src.takeRanges())
		assert.Equal(t, FetchStats{Requests: 1, Bytes: 8 * testBlock}, f.Stats())
	})
	t.Run("twice: error", func(t *testing.T) {
		e := newEnv(t)
		data := randBytes(64, 8*testBlock)
		base := e.put(t, "tr", data)
		require.NoError(t, e.srv.InjectFault(obstest.Fault{Op: "GetObject", Kind: obstest.FaultTruncate, Count: 2, After: 2*testBlock + 100}))
		src := &countingSource{src: e.b}
		f := NewFetcher(4, 0)
		r := NewReader(src, "tr", base.ETag, base.Size, nil, ReaderConfig{BlockSize: testBlock, StartReadahead: 8 * testBlock, MaxReadahead: 8 * testBlock, Fetcher: f})
		defer r.Close()
		ctx := context.Background()
		p := make([]byte, testBlock)
		// Blocks 0 and 1 arrived before the first cut; block 2 is in neither
		// attempt (the retry starts at block 2 and is cut 100 bytes in block 4).
		_, err := r.ReadAt(ctx, p, 0)
		require.NoError(t, err)
		assert.Equal(t, data[:testBlock], p)
		require.Eventually(t, func() bool { return f.Stats().Errors == 1 }, 5*time.Second, time.Millisecond)
		_, err = r.ReadAt(ctx, p, 6*testBlock) // random: the failed block is refetched
		require.NoError(t, err)
		assert.Equal(t, data[6*testBlock:7*testBlock], p)
		r2 := NewReader(src, "tr", base.ETag, base.Size, nil, ReaderConfig{BlockSize: testBlock, MaxReadahead: -1, Fetcher: NewFetcher(4, 0)})
		defer r2.Close()
		assert.Equal(t, data, readerBytes(t, r2, 3*testBlock))
	})
	t.Run("twice: waiting read fails", func(t *testing.T) {
		e := newEnv(t)
		data := randBytes(65, 8*testBlock)
		base := e.put(t, "tr", data)
		require.NoError(t, e.srv.InjectFault(obstest.Fault{Op: "GetObject", Kind: obstest.FaultTruncate, Count: 2, After: 100}))
		r := NewReader(e.b, "tr", base.ETag, base.Size, nil, ReaderConfig{BlockSize: testBlock, StartReadahead: 8 * testBlock, MaxReadahead: 8 * testBlock, Fetcher: NewFetcher(4, 0)})
		defer r.Close()
		ctx := context.Background()
		p := make([]byte, testBlock)
		_, err := r.ReadAt(ctx, p, 0)
		require.ErrorIs(t, err, ErrShortBody)
		// Not kept: the next read fetches again and succeeds.
		n, err := r.ReadAt(ctx, p, 0)
		require.NoError(t, err)
		assert.Equal(t, data[:n], p)
	})
}

// TestReaderCoalescedStale: the object changes while a coalesced GET of a
// window is pending: every block of it fails with ErrStale, never bytes of
// the new version.
func TestReaderCoalescedStale(t *testing.T) {
	e := newEnv(t)
	data := randBytes(66, 16*testBlock)
	base := e.put(t, "stale", data)
	src := &countingSource{src: e.b}
	gate := make(chan struct{})
	src.setGate(gate)
	f := NewFetcher(4, 0)
	r := NewReader(src, "stale", base.ETag, base.Size, nil, ReaderConfig{BlockSize: testBlock, StartReadahead: 8 * testBlock, MaxReadahead: 8 * testBlock, Fetcher: f})
	defer r.Close()
	ctx := context.Background()
	errc := make(chan error, 1)
	go func() {
		_, err := r.ReadAt(ctx, make([]byte, 100), 0)
		errc <- err
	}()
	require.Eventually(t, func() bool { return src.gets.Load() == 1 }, 5*time.Second, time.Millisecond)
	e.put(t, "stale", randBytes(67, 16*testBlock))
	close(gate)
	err := <-errc
	require.ErrorIs(t, err, ErrStale)
	assert.True(t, obsclient.IsPreconditionFailed(err))
	// A block of the window (fetched again: failures are not kept) and one
	// past it are stale too.
	for _, off := range []int64{4*testBlock + 7, 12 * testBlock} {
		_, err = r.ReadAt(ctx, make([]byte, 100), off)
		assert.ErrorIs(t, err, ErrStale, "offset %d", off)
	}
	assert.Zero(t, f.Stats().Bytes)
}

// bytesSource counts the bytes of the GETs in flight.
type bytesSource struct {
	src           ObjectSource
	cur, maxBytes atomic.Int64
}

func (b *bytesSource) GetObject(ctx context.Context, key string, o obsclient.GetOptions) (*obsclient.ObjectReader, error) {
	n := o.Range.End - o.Range.Start + 1
	cur := b.cur.Add(n)
	defer b.cur.Add(-n)
	for m := b.maxBytes.Load(); cur > m && !b.maxBytes.CompareAndSwap(m, cur); m = b.maxBytes.Load() {
	}
	r, err := b.src.GetObject(ctx, key, o)
	if err != nil {
		return nil, err
	}
	// Hold the request open until the body is read: the fetcher reads it
	// right away, so hold it while it does.
	data := make([]byte, n)
	_, err = io.ReadFull(r, data)
	r.Close()
	if err != nil {
		return nil, err
	}
	time.Sleep(time.Millisecond)
	return &obsclient.ObjectReader{ReadCloser: io.NopCloser(bytes.NewReader(data)), Info: r.Info}, nil
}

// TestReaderCoalescedMemoryCap: coalesced GETs respect the Fetcher's bytes
// in flight (a GET never asks for more than the cap) and readahead budget,
// with several streams at once.
func TestReaderCoalescedMemoryCap(t *testing.T) {
	e := newEnv(t)
	data := randBytes(68, 64*testBlock+99)
	base := e.put(t, "cap", data)
	src := &bytesSource{src: e.b}
	const inFlight = 4 * testBlock
	f := NewFetcher(8, inFlight) // budget 8 blocks, GETs of at most 4
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := NewReader(src, "cap", base.ETag, base.Size, nil, ReaderConfig{BlockSize: testBlock, StartReadahead: 32 * testBlock, MaxReadahead: 64 * testBlock, Fetcher: f})
			defer r.Close()
			p := make([]byte, 20000+1000*g)
			for off := int64(0); off < base.Size; {
				n, err := r.ReadAt(context.Background(), p, off)
				if err != io.EOF && !assert.NoError(t, err) {
					return
				}
				if !assert.Equal(t, data[off:off+int64(n)], p[:n]) {
					return
				}
				assert.LessOrEqual(t, f.Stats().Ahead, int64(2*inFlight))
				off += int64(n)
			}
		}()
	}
	wg.Wait()
	assert.LessOrEqual(t, src.maxBytes.Load(), int64(inFlight))
	assert.Zero(t, f.Stats().Ahead)
}

// TestReaderReadVecSlices: ReadVec answers with slices of the cached
// blocks that end where the range ends (no access past it).
func TestReaderReadVecSlices(t *testing.T) {
	e := newEnv(t)
	data := randBytes(69, 3*testBlock+10)
	base := e.put(t, "slice", data)
	r := NewReader(e.b, "slice", base.ETag, base.Size, newBlocks(t), ReaderConfig{BlockSize: testBlock, Fetcher: NewFetcher(4, 0)})
	defer r.Close()
	ctx := context.Background()
	size := int64(len(data))
	tests := []struct {
		off     int64
		n       int
		vecs    int
		wantN   int
		wantEOF bool
	}{
		{0, testBlock, 1, testBlock, false},
		{testBlock + 5, 100, 1, 100, false},
		{testBlock - 3, 6, 2, 6, false},
		{3 * testBlock, testBlock, 1, 10, true},
		{size, 10, 0, 0, true},
		{7, 0, 0, 0, false},
	}
	for _, tt := range tests {
		got, err := r.ReadVec(ctx, tt.off, tt.n)
		if tt.wantEOF {
			assert.ErrorIs(t, err, io.EOF, "%+v", tt)
		} else {
			assert.NoError(t, err, "%+v", tt)
		}
		require.Len(t, got, tt.vecs, "%+v", tt)
		joined := bytes.Join(got, nil)
		require.Len(t, joined, tt.wantN, "%+v", tt)
		if tt.wantN > 0 {
			assert.Equal(t, data[tt.off:tt.off+int64(tt.wantN)], joined)
		}
		for _, v := range got {
			assert.Equal(t, len(v), cap(v), "no access past the range")
		}
	}
	_, err := r.ReadVec(ctx, -1, 1)
	assert.Error(t, err)
}
