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
// Readahead: a read that starts where the previous one ended (or within
// the current window) is sequential. Sequential reads keep a lookahead of
// `window` bytes fetched ahead of the reader; whenever less than half a
// window remains ahead, the window doubles (from InitialReadahead up to
// MaxReadahead) and the next stretch is requested. Any other read is random:
// the window resets and only the blocks the read touches are fetched.
//
// Memory: a reader holds its window plus the blocks of the reads in
// progress (in `ahead`). Prefetched blocks held by all readers together are
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
	DefaultMaxReadahead     = 64 << 20
)

// ReaderConfig configures a Reader. Zero fields take defaults.
type ReaderConfig struct {
	BlockSize        int64     // block size; readers sharing a cache must agree on it; default 1 MiB
	InitialReadahead int64     // first readahead window; default 1 MiB
	MaxReadahead     int64     // largest window; default 64 MiB; negative disables readahead
	Fetcher          *Fetcher  // shared fetch limiter; nil uses a process-wide default
	VersionID        string    // when set, GETs also name this version
	Disk             *DiskTier // optional disk tier below the memory cache (tier.go)
}

// aheadEntry is a block in a reader's window; held is what it charges to
// the Fetcher's readahead budget (0 for blocks a read asked for).
type aheadEntry struct {
	c    *call
	held int64
}

// Reader reads one version of an object. It is safe for concurrent use.
type Reader struct {
	src  ObjectSource
	pin  pin
	size int64
	bc   *cache.Blocks
	f    *Fetcher
	disk *DiskTier // may be nil
	bs   int64
	init int64 // initial window
	max  int64 // max window; 0 when readahead is off

	mu sync.Mutex
	// GUARDED_BY(mu):
	next   int64                // where the next sequential read starts
	window int64                // current readahead window
	raEnd  int64                // end of the readahead requested so far
	ramped bool                 // a readahead was issued in this sequential run
	ahead  map[int64]aheadEntry // block index → recent or prefetched block
	closed bool
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
	if r.max < 0 {
		r.max, r.init = 0, 0
	}
	r.init = min(max(r.init, r.bs), max(r.max, r.bs))
	r.window = r.init
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
	if off < 0 {
		return 0, fmt.Errorf("transfer: negative offset %d", off)
	}
	if off >= r.size {
		return 0, io.EOF
	}
	end := min(off+int64(len(p)), r.size)
	if end == off {
		return 0, nil
	}
	calls, first, err := r.plan(off, end)
	if err != nil {
		return 0, err
	}
	n, err := r.copyBlocks(ctx, p, off, end, first, calls)
	if err == nil && n < len(p) {
		err = io.EOF
	}
	return n, err
}

// plan updates the readahead state for a read of [off, end), starts the
// prefetches it calls for, and returns the calls of the blocks the read
// needs, from block index first on.
func (r *Reader) plan(off, end int64) ([]*call, int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, 0, ErrClosed
	}
	first, last := off/r.bs, (end-1)/r.bs
	r.advanceLocked(off, end, first)
	calls := make([]*call, 0, last-first+1)
	for i := first; i <= last; i++ {
		calls = append(calls, r.blockLocked(i, false))
	}
	return calls, first, nil
}

// advanceLocked classifies the read, adjusts the window and issues
// readahead. REQUIRES mu.
func (r *Reader) advanceLocked(off, end, first int64) {
	sequential := off >= r.next-r.window && off <= r.next+r.bs
	if !sequential {
		r.window, r.ramped, r.raEnd = r.init, false, end
		r.dropLocked(func(int64) bool { return true })
		r.next = end
		return
	}
	r.dropLocked(func(i int64) bool { return i < first }) // behind the reader
	r.next = max(r.next, end)
	if r.max == 0 || end+r.window/2 < r.raEnd {
		return
	}
	if r.ramped {
		r.window = min(2*r.window, r.max)
	}
	r.ramped = true
	from, to := max(r.raEnd, end), min(end+r.window, r.size)
	r.raEnd = max(r.raEnd, end)
	for i := from / r.bs; i*r.bs < to; i++ {
		if r.blockLocked(i, true) == nil {
			return // readahead budget exhausted: try again on a later read
		}
		r.raEnd = min((i+1)*r.bs, r.size)
	}
	r.raEnd = end + r.window
}

// blockLocked returns block i from the reader's window, the cache, or a
// (possibly shared) fetch, and keeps it in the window. A prefetch charges
// the block to the Fetcher's readahead budget and returns nil when the
// budget is exhausted. REQUIRES mu.
func (r *Reader) blockLocked(i int64, prefetch bool) *call {
	if e, ok := r.ahead[i]; ok {
		if !e.c.failed() {
			return e.c
		}
		r.f.releaseAhead(e.held) // failed: fetch again
		delete(r.ahead, i)
	}
	key := cache.BlockKey{Object: r.pin.Key, ETag: r.cacheTag(), Index: i}
	off := i * r.bs
	n := min(r.bs, r.size-off)
	var held int64
	if prefetch {
		if !r.f.reserveAhead(n) {
			return nil
		}
		held = n
	}
	var c *call
	if data, ok := r.cacheGet(key); ok {
		c = doneCall(data)
	} else {
		c = r.f.fetch(blockReq{src: r.src, pin: r.pin, bc: r.bc, disk: r.disk, key: key, off: off, n: n, bs: r.bs})
	}
	r.ahead[i] = aheadEntry{c: c, held: held}
	return c
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

// copyBlocks waits for the blocks and copies [off, end) into p.
func (r *Reader) copyBlocks(ctx context.Context, p []byte, off, end, first int64, calls []*call) (int, error) {
	n := 0
	for k, c := range calls {
		data, err := c.wait(ctx)
		if err != nil {
			return n, err
		}
		bstart := (first + int64(k)) * r.bs
		lo, hi := max(off, bstart)-bstart, min(end, bstart+int64(len(data)))-bstart
		if hi < lo || int64(len(data)) < min(r.bs, r.size-bstart) {
			return n, fmt.Errorf("%w: block %d of %q has %d bytes", ErrShortBody, first+int64(k), r.pin.Key, len(data))
		}
		n += copy(p[n:], data[lo:hi])
	}
	return n, nil
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
