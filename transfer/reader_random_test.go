package transfer

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obsfs/obsfs/obsclient"
)

// Random reads in granules: a reader with 256 KiB blocks and 16 KiB
// granules, so the tests stay small.
const (
	rndBlock   = 4 * testBlock
	rndGranule = testBlock / 4
)

func newRandomReader(src ObjectSource, b *Base, key string, bc bool, t *testing.T) *Reader {
	// A stream from offset 0 opens with one block, so that the opening of
	// a run from 0 (any read in it is sequential) is that block.
	cfg := ReaderConfig{BlockSize: rndBlock, GranuleSize: rndGranule, InitialReadahead: rndBlock, StartReadahead: rndBlock, Fetcher: NewFetcher(4, 0)}
	if bc {
		return NewReader(src, key, b.ETag, b.Size, newBlocks(t), cfg)
	}
	return NewReader(src, key, b.ETag, b.Size, nil, cfg)
}

// TestReaderRandomGranules: a random read fetches the granules it touches
// (aligned, short at EOF), not whole blocks, with no readahead; one read's
// granules share GETs; a granule read again comes from the cache.
func TestReaderRandomGranules(t *testing.T) {
	e := newEnv(t)
	size := int64(10*rndBlock + 1000) // the last granule is short
	data := randBytes(31, size)
	base := e.put(t, "rnd", data)
	src := &countingSource{src: e.b}
	r := newRandomReader(src, base, "rnd", true, t)
	defer r.Close()
	ctx := context.Background()

	g := func(i int64) obsclient.Range {
		return obsclient.Range{Start: i * rndGranule, End: (i+1)*rndGranule - 1}
	}
	tests := []struct {
		name string
		off  int64
		n    int
		want []obsclient.Range
	}{
		{"4 KiB inside a granule", 5*rndBlock + 3*rndGranule + 100, 4096, []obsclient.Range{g(5*4*4 + 3)}},
		{"straddles two granules", 7*rndBlock + rndGranule - 10, 20, []obsclient.Range{{Start: g(7*16 + 0).Start, End: g(7*16 + 1).End}}},
		{"straddles two blocks", 3*rndBlock - 10, 20, []obsclient.Range{{Start: g(3*16 - 1).Start, End: g(3 * 16).End}}},
		{"1 byte", 2*rndBlock + 5, 1, []obsclient.Range{g(2 * 16)}},
		{"last granule, short", size - 10, 100, []obsclient.Range{{Start: size - 1000, End: size - 1}}},
		{"again: cached", 5*rndBlock + 3*rndGranule + 200, 4096, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r.bc.Wait()
			src.takeRanges()
			p := make([]byte, tt.n)
			n, err := r.ReadAt(ctx, p, tt.off)
			want := int(min(int64(tt.n), size-tt.off))
			if want < tt.n {
				require.ErrorIs(t, err, io.EOF)
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, want, n)
			assert.Equal(t, data[tt.off:tt.off+int64(n)], p[:n])
			time.Sleep(20 * time.Millisecond) // readahead, if any, would have started
			assert.Equal(t, tt.want, src.takeRanges())
		})
	}
}

// TestReaderRandomUsesCachedBlock: a random read inside a block that a
// sequential read left in the cache is served from the block.
func TestReaderRandomUsesCachedBlock(t *testing.T) {
	e := newEnv(t)
	data := randBytes(32, 8*rndBlock)
	base := e.put(t, "blk", data)
	src := &countingSource{src: e.b}
	r := newRandomReader(src, base, "blk", true, t)
	ctx := context.Background()
	p := make([]byte, rndBlock)
	_, err := r.ReadAt(ctx, p, 0) // a stream from 0: whole blocks
	require.NoError(t, err)
	require.NoError(t, r.Close())
	r.bc.Wait()

	r2 := NewReader(src, "blk", base.ETag, base.Size, r.bc, ReaderConfig{BlockSize: rndBlock, GranuleSize: rndGranule, InitialReadahead: rndBlock, StartReadahead: rndBlock, MaxReadahead: -1, Fetcher: NewFetcher(4, 0)})
	defer r2.Close()
	before := src.gets.Load()
	_, err = r2.ReadVec(ctx, 5*rndBlock, 100) // random: granules
	require.NoError(t, err)
	require.Greater(t, src.gets.Load(), before, "an uncached granule is fetched")
	before = src.gets.Load()
	got, err := r2.ReadVec(ctx, rndBlock/2, 100)
	require.NoError(t, err)
	assert.Equal(t, [][]byte{data[rndBlock/2 : rndBlock/2+100]}, got)
	assert.Equal(t, before, src.gets.Load(), "served from the cached block")
}

// TestReaderRunBecomesStream: sequential reads from a random offset fetch
// granules until the run has read StreamThreshold bytes, then whole blocks
// with readahead.
func TestReaderRunBecomesStream(t *testing.T) {
	e := newEnv(t)
	size := int64(StreamThreshold + 16*rndBlock)
	data := randBytes(33, size)
	base := e.put(t, "run", data)
	src := &countingSource{src: e.b}
	r := NewReader(src, "run", base.ETag, base.Size, nil, ReaderConfig{BlockSize: rndBlock, GranuleSize: rndGranule, InitialReadahead: rndBlock, StartReadahead: rndBlock, MaxReadahead: 4 * rndBlock, Fetcher: NewFetcher(4, 0)})
	defer r.Close()
	ctx := context.Background()
	start := int64(rndBlock + rndGranule) // not 0, not block aligned
	const step = 32 << 10
	p := make([]byte, step)
	off := start
	for ; off+step <= start+StreamThreshold-step; off += step {
		_, err := r.ReadAt(ctx, p, off)
		require.NoError(t, err)
		require.Equal(t, data[off:off+step], p)
	}
	for _, rg := range src.takeRanges() {
		assert.LessOrEqual(t, rg.End, off, "no readahead while the run is short: %+v", rg)
		assert.Zero(t, rg.Start%rndGranule, "granule aligned: %+v", rg)
	}
	for ; off+step <= size && off < start+StreamThreshold+2*rndBlock; off += step {
		_, err := r.ReadAt(ctx, p, off)
		require.NoError(t, err)
		require.Equal(t, data[off:off+step], p)
	}
	time.Sleep(20 * time.Millisecond)
	var furthest int64
	for _, rg := range src.takeRanges() {
		furthest = max(furthest, rg.End+1)
	}
	assert.Greater(t, furthest, off+rndBlock, "a stream reads ahead")
	w, _ := r.readahead()
	assert.Greater(t, w, int64(rndBlock), "the window grew")
}

// TestReaderRandomModel: random reads of random sizes, mixed with short
// sequential runs, through both entry points, always return the object's
// bytes (with and without a cache, with granules and blocks mixed).
func TestReaderRandomModel(t *testing.T) {
	e := newEnv(t)
	size := int64(9*rndBlock + 777)
	data := randBytes(34, size)
	base := e.put(t, "model", data)
	for _, bc := range []bool{false, true} {
		r := newRandomReader(e.b, base, "model", bc, t)
		rng := rand.New(rand.NewPCG(7, 9))
		ctx := context.Background()
		off := int64(0)
		for i := 0; i < 400; i++ {
			if rng.IntN(3) > 0 {
				off = rng.Int64N(size + 10)
			}
			n := 1 + rng.IntN(3*rndBlock)
			if rng.IntN(2) == 0 {
				n = 1 + rng.IntN(2*rndGranule)
			}
			want := data[min(off, size):min(off+int64(n), size)]
			var got []byte
			var err error
			if rng.IntN(2) == 0 {
				p := make([]byte, n)
				var k int
				k, err = r.ReadAt(ctx, p, off)
				got = p[:k]
			} else {
				var vecs [][]byte
				vecs, err = r.ReadVec(ctx, off, n)
				got = bytes.Join(vecs, nil)
				for _, v := range vecs {
					require.NotEmpty(t, v, "no empty slices")
				}
			}
			if int64(len(want)) < int64(n) {
				require.ErrorIs(t, err, io.EOF, "read %d at %d", n, off)
			} else {
				require.NoError(t, err, "read %d at %d", n, off)
			}
			require.Equal(t, len(want), len(got), "read %d at %d (cache %v)", n, off, bc)
			if len(want) > 0 {
				require.Equal(t, want, got, "read %d at %d (cache %v)", n, off, bc)
			}
			off += int64(len(got))
		}
		require.NoError(t, r.Close())
	}
}

// TestReaderStreamOpeningOutOfOrder: the kernel's first readahead requests
// of a stream from offset 0 may arrive in any order; reads within
// StartReadahead of a fresh reader belong to the stream (whole blocks, so
// a later pass over the same bytes finds them in the cache).
func TestReaderStreamOpeningOutOfOrder(t *testing.T) {
	e := newEnv(t)
	data := randBytes(35, 16*rndBlock)
	base := e.put(t, "open", data)
	src := &countingSource{src: e.b}
	r := NewReader(src, "open", base.ETag, base.Size, newBlocks(t), ReaderConfig{BlockSize: rndBlock, GranuleSize: rndGranule,
		InitialReadahead: rndBlock, StartReadahead: 4 * rndBlock, MaxReadahead: 4 * rndBlock, Fetcher: NewFetcher(4, 0)})
	defer r.Close()
	ctx := context.Background()
	p := make([]byte, 100)
	for _, i := range []int64{2, 0, 3, 1} {
		off := i*rndBlock + 2*rndGranule + 5
		_, err := r.ReadAt(ctx, p, off)
		require.NoError(t, err)
		require.Equal(t, data[off:off+100], p)
	}
	for _, rg := range src.takeRanges() {
		assert.Zero(t, rg.Start%rndBlock, "whole blocks: %+v", rg)
		assert.Zero(t, (rg.End+1)%rndBlock, "whole blocks: %+v", rg)
	}
}

// TestReaderReadVec: a read answered as slices of the pieces it lies in:
// one per block in a stream, one per granule in a random read, cut at the
// end of the object.
func TestReaderReadVec(t *testing.T) {
	e := newEnv(t)
	size := int64(6*rndBlock + 10)
	data := randBytes(36, size)
	base := e.put(t, "vec", data)
	r := newRandomReader(e.b, base, "vec", true, t)
	defer r.Close()
	ctx := context.Background()
	tests := []struct {
		name    string
		off     int64
		n       int
		vecs    int
		wantEOF bool
	}{
		{"stream, one block", 0, rndBlock, 1, false},
		{"stream, two blocks", rndBlock / 2, rndBlock, 2, false},
		{"random, three granules", 4*rndBlock + rndGranule/2, 2 * rndGranule, 3, false},
		{"random, across blocks", 3*rndBlock - rndGranule, 2 * rndGranule, 2, false},
		{"past the end", size - 5, 100, 1, true},
	}
	for _, tt := range tests {
		vecs, err := r.ReadVec(ctx, tt.off, tt.n)
		if tt.wantEOF {
			require.ErrorIs(t, err, io.EOF, tt.name)
		} else {
			require.NoError(t, err, tt.name)
		}
		assert.Len(t, vecs, tt.vecs, tt.name)
		end := min(tt.off+int64(tt.n), size)
		assert.Equal(t, data[tt.off:end], bytes.Join(vecs, nil), tt.name)
	}
	vecs, err := r.ReadVec(ctx, size, 10)
	assert.ErrorIs(t, err, io.EOF)
	assert.Empty(t, vecs)
}
