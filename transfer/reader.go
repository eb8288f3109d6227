package transfer

// reader.go: the read path of a file open for reading.
//
// A Reader serves ReadAt from fixed-size blocks of one version of an object
// (every GET carries If-Match with the ETag seen at open, so a changed
// object fails the read with ErrStale instead of mixing versions). Blocks
// come from, in order: the reader's own window of recent and prefetched
// blocks, the shared block cache, or a fetch through the shared Fetcher
// (joined with any fetch of the same block already in flight), which tries
// the optional disk tier before the network (tier.go).
//
// Readahead: a read that starts within the window behind the furthest
// read so far, or not past the larger of the next block and the readahead
// already requested, continues the current run (the kernel's parallel FUSE
// reads of one stream arrive slightly out of order); any other read starts
// a new run. A run is a stream once it began at offset 0 or has read
// StreamThreshold (2 MiB) bytes: a stream is served in whole blocks and
// keeps a lookahead of `window` bytes fetched ahead of the reader; whenever
// less than half a window remains ahead, the window doubles (from
// InitialReadahead up to MaxReadahead) and the next stretch is requested. A
// stream from offset 0 opens with StartReadahead (8 MiB) instead.
//
// Random reads (a run not yet a stream) fetch only the granules they touch
// (GranuleSize, 64 KiB, aligned), unless their whole block is already at
// hand: a 4 KiB read costs a 64 KiB GET instead of a 1 MiB one, and a 1 MiB
// read about 1 MiB instead of the 2 MiB of the two blocks it straddles. The
// granules of one read are fetched by GETs of up to RandomCoalesce (1 MiB)
// each, in parallel; a smaller value splits a large random read into
// parallel GETs, which pays where one connection is slower than the link
// (not on a CPU-bound local link, where 256 KiB GETs measured slower).
// Granules are cached under their own keys (cache.BlockKey Span), never
// mixed with blocks.
//
// Request plan: the missing blocks of a read and the readahead it triggers
// are handed to the Fetcher together, which fetches each run of adjacent
// blocks with one ranged GET of up to DefaultMaxCoalesce (8 MiB) bytes, in
// parallel up to its GET limit (fetcher.go). So a sequential stream from 0
// costs one GET for its first 8 MiB + first block, then one GET per 8 MiB
// of each half window (a 1 GiB file: about 130 GETs instead of 1024).
// Blocks and granules remain the unit of the cache and of fetch sharing.
//
// ReadVec serves a read as slices of the cached blocks and granules (no
// copy); fs answers FUSE reads with them (one writev).
//
// Memory: a reader holds its window, the blocks of the reads in progress
// and up to keepBehind (16 MiB) of blocks just behind its reads, for late
// out-of-order reads (in `ahead`). Prefetched blocks held by all readers together are
// bounded by the Fetcher's readahead budget (readahead stops short when it
// is spent, and resumes as readers consume or close), fetches in flight by
// the Fetcher's byte cap, and the cache by its size. Close a Reader to
// return its budget.

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/obsfs/obsfs/cache"
)

// Defaults of ReaderConfig.
const (
	DefaultBlockSize        = 1 << 20
	DefaultInitialReadahead = 1 << 20
	DefaultStartReadahead   = 8 << 20
	DefaultMaxReadahead     = 64 << 20
	DefaultGranuleSize      = 64 << 10
	DefaultRandomCoalesce   = 1 << 20
	// StreamThreshold is how many bytes a run that did not begin at offset
	// 0 reads before it counts as a stream (whole blocks, readahead).
	StreamThreshold = 2 << 20
)

// ReaderConfig configures a Reader. Zero fields take defaults.
type ReaderConfig struct {
	BlockSize        int64     // block size; readers sharing a cache must agree on it; default 1 MiB
	InitialReadahead int64     // first readahead window; default 1 MiB
	StartReadahead   int64     // first window of a sequential read from offset 0; default 8 MiB, or InitialReadahead when that is set
	MaxReadahead     int64     // largest window; default 64 MiB; negative disables readahead
	GranuleSize      int64     // unit of random reads, dividing BlockSize; default 64 KiB (BlockSize when that is not larger); negative: whole blocks
	RandomCoalesce   int64     // bytes of one GET of a random read's granules, at most; default 1 MiB
	Fetcher          *Fetcher  // shared fetch limiter; nil uses a process-wide default
	VersionID        string    // when set, GETs also name this version
	Disk             *DiskTier // optional disk tier below the memory cache (tier.go)
}

// keepBehind is how far behind the start of a sequential read a reader
// keeps blocks in its window (at least 4 blocks).
const keepBehind = 16 << 20

// aheadEntry is a block in a reader's window; held is what it charges to
// the Fetcher's readahead budget (0 for blocks a read asked for).
type aheadEntry struct {
	c    *call
	held int64
}

// Reader reads one version of an object. It is safe for concurrent use.
type Reader struct {
	src   ObjectSource
	pin   pin
	size  int64
	bc    *cache.Blocks
	f     *Fetcher
	disk  *DiskTier // may be nil
	bs    int64
	gs    int64 // granule size (== bs: random reads fetch whole blocks)
	rc    int64 // bytes of one GET of granules, at most
	init  int64 // initial window
	start int64 // first window of a stream read from offset 0
	max   int64 // max window; 0 when readahead is off

	mu sync.Mutex
	// GUARDED_BY(mu):
	next     int64                // where the next sequential read starts
	runStart int64                // where the current run of sequential reads began
	window   int64                // current readahead window
	raEnd    int64                // end of the readahead requested so far
	ramped   bool                 // a readahead was issued in this sequential run
	ahead    map[int64]aheadEntry // block index → recent or prefetched block
	closed   bool
}

// NewReader returns a reader of the object key at ETag etag, of the given
// size. bc may be nil (no caching).
func NewReader(src ObjectSource, key string, etag string, size int64, bc *cache.Blocks, cfg ReaderConfig) *Reader {
	r := &Reader{
		src: src, pin: pin{Key: key, ETag: etag, VersionID: cfg.VersionID}, size: size, bc: bc, f: cfg.Fetcher, disk: cfg.Disk,
		bs: cfg.BlockSize, init: cfg.InitialReadahead, max: cfg.MaxReadahead,
		ahead: make(map[int64]aheadEntry),
	}
	if r.f == nil {
		r.f = defaultFetcher()
	}
	if r.bs <= 0 {
		r.bs = DefaultBlockSize
	}
	if r.max == 0 {
		r.max = DefaultMaxReadahead
	}
	if r.init <= 0 {
		r.init = DefaultInitialReadahead
	}
	r.start = cfg.StartReadahead
	if r.start <= 0 {
		r.start = r.init
		if cfg.InitialReadahead <= 0 {
			r.start = DefaultStartReadahead
		}
	}
	if r.max < 0 {
		r.max, r.init, r.start = 0, 0, 0
	}
	r.init = min(max(r.init, r.bs), max(r.max, r.bs))
	r.start = min(max(r.start, r.init), max(r.max, r.bs))
	r.window = r.init
	r.gs, r.rc = cfg.GranuleSize, cfg.RandomCoalesce
	if r.gs == 0 {
		r.gs = DefaultGranuleSize
	}
	if r.gs < 0 || r.gs >= r.bs || r.bs%r.gs != 0 {
		r.gs = r.bs
	}
	if r.rc <= 0 {
		r.rc = DefaultRandomCoalesce
	}

	return r
}

// Size is the size of the object version being read.
func (r *Reader) Size() int64 { return r.size }

// ETag is the version being read.
func (r *Reader) ETag() string { return r.pin.ETag }

// ReadAt reads len(p) bytes at off. It returns io.EOF with fewer bytes when
// the read crosses the end of the object, and an error wrapping ErrStale
// when the object changed on the server since the reader was opened.
func (r *Reader) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	vecs, err := r.ReadVec(ctx, off, len(p))
	n := 0
	for _, v := range vecs {
		n += copy(p[n:], v)
	}
	return n, err
}

// ReadVec returns the bytes [off, off+n) of the object (fewer, with io.EOF,
// at its end) as slices of the cached blocks and granules the range lies
// in, in order, without a copy (the caller must not modify them): for a
// scatter-gather reply. On an error it returns the slices before the
// failed piece.
func (r *Reader) ReadVec(ctx context.Context, off int64, n int) ([][]byte, error) {
	end, pieces, err := r.begin(off, n)
	if err != nil || len(pieces) == 0 {
		return nil, err
	}
	vecs := make([][]byte, 0, len(pieces))
	for _, pc := range pieces {
		data, err := r.slicePiece(ctx, pc, max(off, pc.start), min(end, pc.start+pc.n))
		if err != nil {
			return vecs, err
		}
		vecs = append(vecs, data)
	}
	if end-off < int64(n) {
		err = io.EOF
	}
	return vecs, err
}

// begin plans a read of n bytes at off: the end of the range within the
// object and its pieces (none for an empty range, io.EOF at or past the
// end).
func (r *Reader) begin(off int64, n int) (int64, []piece, error) {
	if off < 0 {
		return 0, nil, fmt.Errorf("transfer: negative offset %d", off)
	}
	if off >= r.size {
		return 0, nil, io.EOF
	}
	end := min(off+int64(n), r.size)
	if end == off {
		return end, nil, nil
	}
	pieces, err := r.plan(off, end)
	return end, pieces, err
}

// piece is one unit of data a read needs: a block, or a granule of one.
type piece struct {
	c     *call
	start int64 // offset in the object of its first byte
	n     int64 // its length (short at the end of the object)
}

// slicePiece waits for p and returns the bytes [off, end) of the object
// from it.
func (r *Reader) slicePiece(ctx context.Context, p piece, off, end int64) ([]byte, error) {
	data, err := p.c.wait(ctx)
	if err != nil {
		return nil, err
	}
	if int64(len(data)) < p.n {
		return nil, fmt.Errorf("%w: [%d, %d) of %q has %d bytes", ErrShortBody, p.start, p.start+p.n, r.pin.Key, len(data))
	}
	return data[off-p.start : end-p.start : end-p.start], nil
}

// plan updates the run state for a read of [off, end), starts the fetches
// of the read's missing blocks or granules and of the readahead it calls
// for (together, so that adjacent blocks share GETs), and returns the
// pieces covering the read, in order.
func (r *Reader) plan(off, end int64) ([]piece, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	first, last := off/r.bs, (end-1)/r.bs
	pieces := make([]piece, 0, last-first+1)
	var b batch
	stream := r.classifyLocked(off, end, first)
	for i := first; i <= last; i++ {
		bstart := i * r.bs
		if c := r.lookupLocked(i); c != nil {
			pieces = append(pieces, piece{c: c, start: bstart, n: min(r.bs, r.size-bstart)})
			continue
		}
		if stream || r.gs == r.bs {
			b.add(r.unitReq(i, r.bs), i, 0, len(pieces))
			pieces = append(pieces, piece{start: bstart, n: min(r.bs, r.size-bstart)})
			continue
		}
		lo, hi := max(off, bstart), min(end, bstart+r.bs)
		for g := lo / r.gs; g*r.gs < hi; g++ {
			req := r.unitReq(g, r.gs)
			if data, ok := r.cacheGet(req.key); ok {
				pieces = append(pieces, piece{c: doneCall(data), start: req.off, n: req.n})
				continue
			}
			b.add(req, -1, 0, len(pieces))
			pieces = append(pieces, piece{start: req.off, n: req.n})
		}
	}
	if stream {
		r.readaheadLocked(end, last, &b)
	}
	if len(b.reqs) > 0 {
		for k, c := range r.f.fetchBlocks(b.reqs) {
			if i := b.index[k]; i >= 0 {
				r.ahead[i] = aheadEntry{c: c, held: b.held[k]}
			}
			if d := b.dest[k]; d >= 0 {
				pieces[d].c = c
			}
		}
	}
	return pieces, nil
}

// batch collects the block fetches one read starts.
type batch struct {
	reqs  []blockReq
	index []int64 // block index, -1 for a granule (not kept in the window)
	held  []int64 // readahead budget charged
	dest  []int   // position in the read's pieces, -1 for readahead
}

func (b *batch) add(req blockReq, i, held int64, dest int) {
	b.reqs = append(b.reqs, req)
	b.index = append(b.index, i)
	b.held = append(b.held, held)
	b.dest = append(b.dest, dest)
}

// classifyLocked places the read in the current run of sequential reads or
// starts a new one, adjusts the window, and reports whether the run is a
// stream (see the file comment). A read continues the run when it starts
// within the window behind the furthest read end, or not past the larger
// of the next block and the readahead already requested (the kernel's
// parallel FUSE reads of one stream can arrive slightly out of order; at
// the start of a run from offset 0, any read within StartReadahead). A new
// run resets the window and drops the reader's blocks. REQUIRES mu.
func (r *Reader) classifyLocked(off, end, first int64) bool {
	sequential := off >= r.next-r.window && off <= max(r.next+r.bs, r.raEnd) ||
		// The opening of a run from offset 0: the kernel's first readahead
		// requests arrive in any order; all of them belong to the stream.
		r.runStart == 0 && r.next <= r.start && off < r.start
	if !sequential {
		r.window, r.ramped, r.raEnd = r.init, false, end
		r.dropLocked(func(int64) bool { return true })
		r.next, r.runStart = end, off
		return false
	}
	if off == 0 && !r.ramped {
		r.window = max(r.window, r.start) // a stream from the start: open wide
	}
	// Behind the reader: the kernel's parallel reads of one stream (up to
	// its readahead, kernelra.go in fs) may arrive out of order, and a late
	// read must find its block here instead of fetching it again. Blocks
	// behind return their readahead budget at once and are forgotten
	// keepBehind bytes behind the read.
	behind := first - max(keepBehind/r.bs, 4)
	for i, e := range r.ahead {
		switch {
		case i < behind:
			r.f.releaseAhead(e.held)
			delete(r.ahead, i)
		case i < first && e.held != 0:
			r.f.releaseAhead(e.held)
			r.ahead[i] = aheadEntry{c: e.c}
		}
	}
	r.next = max(r.next, end)
	return r.runStart == 0 || r.next-r.runStart >= StreamThreshold
}

// readaheadLocked adds the readahead a sequential read ending at end (in
// block last) calls for to b: whenever less than half a window is
// requested ahead of the reader, the window doubles (after the first
// readahead of the run) and the next stretch is requested. REQUIRES mu.
func (r *Reader) readaheadLocked(end, last int64, b *batch) {
	if r.max == 0 || end+r.window/2 < r.raEnd {
		return
	}
	if r.ramped {
		r.window = min(2*r.window, r.max)
	}
	r.ramped = true
	from, to := max(r.raEnd, end), min(end+r.window, r.size)
	r.raEnd = max(r.raEnd, end)
	for i := max(from/r.bs, last+1); i*r.bs < to; i++ {
		if r.lookupLocked(i) == nil {
			n := min(r.bs, r.size-i*r.bs)
			if !r.f.reserveAhead(n) {
				return // readahead budget exhausted: try again on a later read
			}
			b.add(r.unitReq(i, r.bs), i, n, -1)
		}
		r.raEnd = min((i+1)*r.bs, r.size)
	}
	r.raEnd = end + r.window
}

// lookupLocked returns block i from the reader's window or the cache
// (keeping it in the window), or nil when it must be fetched. REQUIRES mu.
func (r *Reader) lookupLocked(i int64) *call {
	if e, ok := r.ahead[i]; ok {
		if !e.c.failed() {
			return e.c
		}
		r.f.releaseAhead(e.held) // failed: fetch again
		delete(r.ahead, i)
	}
	if data, ok := r.cacheGet(r.blockKey(i)); ok {
		c := doneCall(data)
		r.ahead[i] = aheadEntry{c: c}
		return c
	}
	return nil
}

// blockKey is the cache key of block i.
func (r *Reader) blockKey(i int64) cache.BlockKey { return r.unitKey(i, r.bs) }

// unitKey is the cache key of unit i of size unit: a block (r.bs) or a
// granule (r.gs, which its Span tells apart).
func (r *Reader) unitKey(i, unit int64) cache.BlockKey {
	k := cache.BlockKey{Object: r.pin.Key, ETag: r.cacheTag(), Index: i}
	if unit != r.bs {
		k.Span = unit
	}
	return k
}

// unitReq describes the fetch of unit i of size unit (r.bs: a block; r.gs:
// a granule, fetched with its neighbours in GETs of at most r.rc bytes).
func (r *Reader) unitReq(i, unit int64) blockReq {
	off := i * unit
	req := blockReq{src: r.src, pin: r.pin, bc: r.bc, disk: r.disk, key: r.unitKey(i, unit), off: off, n: min(unit, r.size-off), bs: unit}
	if unit != r.bs {
		req.coalesce = r.rc
	}
	return req
}

// dropLocked forgets the window's blocks whose index matches, returning
// their readahead budget. REQUIRES mu.
func (r *Reader) dropLocked(match func(int64) bool) {
	for i, e := range r.ahead {
		if match(i) {
			r.f.releaseAhead(e.held)
			delete(r.ahead, i)
		}
	}
}

// cacheTag names the version in cache keys: the ETag, or the version id
// when no ETag is known.
func (r *Reader) cacheTag() string {
	if r.pin.ETag == "" && r.pin.VersionID != "" {
		return "version:" + r.pin.VersionID
	}
	return r.pin.ETag
}

func (r *Reader) cacheGet(key cache.BlockKey) ([]byte, bool) {
	if r.bc == nil {
		return nil, false
	}
	return r.bc.Get(key)
}

// Close drops the reader's window. Fetches in flight finish into the cache.
func (r *Reader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	r.dropLocked(func(int64) bool { return true })
	return nil
}

// readahead reports the current window and readahead end (tests).
func (r *Reader) readahead() (window, raEnd int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.window, r.raEnd
}
