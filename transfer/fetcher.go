package transfer

// fetcher.go: block fetches shared by every reader.
//
// A Fetcher bounds the ranged GETs of all readers (a count of requests and a
// count of bytes in flight), bounds the prefetched blocks readers hold (the
// readahead budget, twice the bytes-in-flight cap) and joins concurrent
// requests for the same block into one fetch (a small singleflight keyed by
// object, ETag, block index and block size).
//
// Coalescing: a reader hands the Fetcher all the blocks it wants at once
// (the blocks of a read plus its readahead, fetchBlocks). Blocks already in
// flight are joined; each run of adjacent new blocks becomes one ranged GET
// of up to maxCoalesce bytes (DefaultMaxCoalesce, at most the bytes-in-flight
// cap), read straight into per-block buffers. Blocks stay the unit of the
// cache and of the singleflight: every block has its own call, registered
// before the GET starts (so a concurrent reader of any block of the range
// waits for it instead of fetching it again) and released as soon as its
// bytes are in. A truncated body is retried once for the blocks not yet
// received; a failed GET fails the blocks it had not delivered. A fetch runs on its own context: a reader that gives up
// (cancelled read, closed handle) does not cancel a GET other readers may be
// waiting for; fetchTimeout bounds it instead. A fetched block is offered to
// the block cache before waiters are released. With a disk tier (tier.go)
// a fetch first looks the block up on disk, inside the singleflight and
// without taking a GET slot; fetched blocks are queued for the disk.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/obsfs/obsfs/cache"
	"github.com/obsfs/obsfs/obsclient"
)

const (
	// DefaultFetchConcurrency and DefaultBytesInFlight size the default
	// Fetcher shared by readers that are given none.
	DefaultFetchConcurrency = 16
	DefaultBytesInFlight    = 256 << 20
	// DefaultMaxCoalesce bounds the bytes of one coalesced GET (several
	// adjacent blocks fetched by one ranged request).
	DefaultMaxCoalesce = 8 << 20
	// fetchTimeout bounds one fetch (all its attempts).
	fetchTimeout = 5 * time.Minute
)

// FetchStats counts a Fetcher's work.
type FetchStats struct {
	Requests int64 // fetches sent to the network: one ranged GET of one or more adjacent blocks (two on a retried short body)
	DiskHits int64 // block fetches served by the disk tier
	Shared   int64 // block requests that joined a fetch already in flight
	Bytes    int64 // bytes fetched
	Errors   int64 // fetches that failed
	Ahead    int64 // bytes of prefetched blocks readers hold now
}

// Fetcher runs block fetches for readers, bounded and deduplicated. Share
// one per mount.
type Fetcher struct {
	slots chan struct{} // one per GET in flight
	bytes *byteSem      // bytes of GETs in flight

	ahead    atomic.Int64 // bytes of prefetched blocks readers hold
	aheadMax int64

	maxCoalesce int64 // bytes of one coalesced GET, at most

	mu    sync.Mutex
	calls map[flightKey]*call // GUARDED_BY(mu): fetches in flight

	requests, shared, fetched, errors, diskHits atomic.Int64
}

// flightKey identifies a block fetch. The block size is part of it so that
// readers with different block sizes never share a fetch (readers sharing a
// block cache must still agree on the block size).
type flightKey struct {
	cache.BlockKey
	size int64
}

// call is one block fetch; data and err are set before done is closed.
type call struct {
	done chan struct{}
	data []byte
	err  error
}

// wait returns the call's result, or ctx's error if ctx ends first.
func (c *call) wait(ctx context.Context) ([]byte, error) {
	select {
	case <-c.done:
		return c.data, c.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// failed reports whether the call finished with an error.
func (c *call) failed() bool {
	select {
	case <-c.done:
		return c.err != nil
	default:
		return false
	}
}

// doneCall wraps data already at hand (a cache hit) as a finished call.
func doneCall(data []byte) *call {
	c := &call{done: make(chan struct{}), data: data}
	close(c.done)
	return c
}

// NewFetcher returns a Fetcher running at most concurrency GETs and
// maxBytesInFlight bytes of them at once (zero or negative: defaults).
func NewFetcher(concurrency int, maxBytesInFlight int64) *Fetcher {
	if concurrency <= 0 {
		concurrency = DefaultFetchConcurrency
	}
	if maxBytesInFlight <= 0 {
		maxBytesInFlight = DefaultBytesInFlight
	}
	return &Fetcher{
		slots:       make(chan struct{}, concurrency),
		bytes:       newByteSem(maxBytesInFlight),
		aheadMax:    readaheadBudgetFactor * maxBytesInFlight,
		maxCoalesce: min(DefaultMaxCoalesce, maxBytesInFlight),
		calls:       make(map[flightKey]*call),
	}
}

// readaheadBudgetFactor sizes the readahead budget (prefetched blocks held
// by readers) relative to the bytes-in-flight cap.
const readaheadBudgetFactor = 2

// reserveAhead charges n bytes of prefetched data to the budget, if it has
// room.
func (f *Fetcher) reserveAhead(n int64) bool {
	for {
		cur := f.ahead.Load()
		if cur+n > f.aheadMax {
			return false
		}
		if f.ahead.CompareAndSwap(cur, cur+n) {
			return true
		}
	}
}

// releaseAhead returns n bytes to the readahead budget.
func (f *Fetcher) releaseAhead(n int64) {
	if n != 0 {
		f.ahead.Add(-n)
	}
}

var defaultFetcher = sync.OnceValue(func() *Fetcher { return NewFetcher(0, 0) })

// Stats returns the counters so far.
func (f *Fetcher) Stats() FetchStats {
	return FetchStats{Requests: f.requests.Load(), DiskHits: f.diskHits.Load(), Shared: f.shared.Load(), Bytes: f.fetched.Load(), Errors: f.errors.Load(), Ahead: f.ahead.Load()}
}

// blockReq says which bytes make up a block and where they go.
type blockReq struct {
	src  ObjectSource
	pin  pin
	bc   *cache.Blocks // may be nil
	disk *DiskTier     // may be nil
	key  cache.BlockKey
	off  int64 // first byte of the block in the object
	n    int64 // block length (short for the last block)
	bs   int64 // block size of the reader (granule size for granules)
	// coalesce bounds the bytes of the GET fetching this block with its
	// neighbours, below the Fetcher's own bound; 0: no further bound.
	coalesce int64
}

// fetchJob is one coalesced fetch: adjacent blocks of one object version,
// fetched (after the disk tier) by ranged GETs covering several blocks.
type fetchJob struct {
	reqs  []blockReq
	calls []*call
}

// fetchBlocks returns the calls of reqs, in order: a fetch already in
// flight for a block is joined; the others are started, each run of
// adjacent blocks (consecutive in reqs, same object version and block size)
// as one ranged GET of at most maxCoalesce bytes. Every block keeps its own
// call, so a reader waiting for one block of a coalesced GET is released as
// soon as that block has arrived, not when the whole range has.
func (f *Fetcher) fetchBlocks(reqs []blockReq) []*call {
	calls := make([]*call, len(reqs))
	var jobs []fetchJob
	var cur fetchJob
	var curBytes int64
	flush := func() {
		if len(cur.reqs) > 0 {
			jobs = append(jobs, cur)
		}
		cur, curBytes = fetchJob{}, 0
	}
	shared := 0
	f.mu.Lock()
	for k, r := range reqs {
		fk := flightKey{r.key, r.bs}
		if c, ok := f.calls[fk]; ok {
			calls[k] = c
			shared++
			flush()
			continue
		}
		c := &call{done: make(chan struct{})}
		f.calls[fk] = c
		calls[k] = c
		if n := len(cur.reqs); n > 0 {
			prev := cur.reqs[n-1]
			if prev.off+prev.n != r.off || prev.key.Index+1 != r.key.Index || prev.bs != r.bs ||
				prev.key.Object != r.key.Object || prev.key.ETag != r.key.ETag || prev.pin != r.pin || curBytes+r.n > f.coalesceLimit(r) {
				flush()
			}
		}
		cur.reqs = append(cur.reqs, r)
		cur.calls = append(cur.calls, c)
		curBytes += r.n
	}
	flush()
	f.mu.Unlock()
	if shared > 0 {
		f.shared.Add(int64(shared))
	}
	for _, j := range jobs {
		go f.run(j)
	}
	return calls
}

// coalesceLimit is the most bytes a GET including r may fetch.
func (f *Fetcher) coalesceLimit(r blockReq) int64 {
	if r.coalesce > 0 {
		return min(r.coalesce, f.maxCoalesce)
	}
	return f.maxCoalesce
}

// run fetches a job: blocks found on the disk tier are served from it, the
// runs of adjacent blocks left are fetched with one GET each.
func (f *Fetcher) run(j fetchJob) {
	reqs, calls := j.reqs, j.calls
	if reqs[0].disk != nil {
		var missR []blockReq
		var missC []*call
		for k, r := range reqs {
			if data, ok := r.disk.get(r.key, r.off, r.n); ok {
				f.diskHits.Add(1)
				if r.bc != nil {
					r.bc.Set(r.key, data)
				}
				f.finish(calls[k], r, data, nil)
				continue
			}
			if len(missR) > 0 && missR[len(missR)-1].key.Index+1 != r.key.Index {
				f.get(missR, missC)
				missR, missC = nil, nil
			}
			missR, missC = append(missR, r), append(missC, calls[k])
		}
		if len(missR) > 0 {
			f.get(missR, missC)
		}
		return
	}
	f.get(reqs, calls)
}

// get fetches adjacent blocks with one ranged GET (two when the body is
// truncated: the retry asks for the blocks not yet received) and publishes
// each block as soon as its bytes are in.
func (f *Fetcher) get(reqs []blockReq, calls []*call) {
	f.requests.Add(1)
	ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
	defer cancel()
	var total int64
	for _, r := range reqs {
		total += r.n
	}
	f.slots <- struct{}{}
	f.bytes.acquire(total)
	defer func() {
		f.bytes.release(total)
		<-f.slots
	}()
	// Block buffers are allocated as the body reaches them (the bytes are
	// reserved in f.bytes all along): a GET's later blocks cost no memory
	// until its earlier ones are in.
	sizes := make([]int64, len(reqs))
	for k, r := range reqs {
		sizes[k] = r.n
	}
	bufs := make([][]byte, len(reqs))
	buf := func(k int) []byte {
		if bufs[k] == nil {
			bufs[k] = make([]byte, sizes[k])
		}
		return bufs[k]
	}
	r0 := reqs[0]
	got, err := getBlocks(ctx, r0.src, r0.pin, r0.off, sizes, buf, func(k int) {
		r := reqs[k]
		f.fetched.Add(r.n)
		if r.bc != nil {
			r.bc.Set(r.key, bufs[k])
		}
		if r.disk != nil {
			r.disk.put(r.key, r.off, bufs[k])
		}
		f.finish(calls[k], r, bufs[k], nil)
	})
	if err != nil {
		f.errors.Add(1)
		for k := got; k < len(reqs); k++ {
			f.finish(calls[k], reqs[k], nil, err)
		}
	}
}

// getBlocks reads len(sizes) adjacent blocks starting at off of the pinned
// object with one ranged GET carrying If-Match, reading block k into
// buf(k) (which must return a slice of sizes[k] bytes, the same one on
// every call) and calling deliver(k) as soon as it is full. A body that
// ends early or breaks is retried once, for the blocks not yet delivered;
// errors of the request itself are already retried by the client. It
// returns how many blocks were delivered.
func getBlocks(ctx context.Context, src ObjectSource, p pin, off int64, sizes []int64, buf func(k int) []byte, deliver func(k int)) (int, error) {
	done := 0
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		var retry bool
		var k int
		base := done
		k, retry, err = getBlocksOnce(ctx, src, p, off, sizes[base:],
			func(i int) []byte { return buf(base + i) }, func(i int) { deliver(base + i) })
		for _, n := range sizes[base : base+k] {
			off += n
		}
		done += k
		if err == nil || !retry || ctx.Err() != nil {
			return done, err
		}
	}
	return done, err
}

// getBlocksOnce does one GET for the blocks; retry reports a failure while
// reading the body.
func getBlocksOnce(ctx context.Context, src ObjectSource, p pin, off int64, sizes []int64, buf func(k int) []byte, deliver func(k int)) (done int, retry bool, err error) {
	var n int64
	for _, sz := range sizes {
		n += sz
	}
	if n == 0 {
		for k := range sizes {
			deliver(k)
		}
		return len(sizes), false, nil
	}
	r, err := src.GetObject(ctx, p.Key, obsclient.GetOptions{
		Range:     &obsclient.Range{Start: off, End: off + n - 1},
		IfMatch:   p.ETag,
		VersionID: p.VersionID,
	})
	if err != nil {
		return 0, false, stale(p, err)
	}
	defer r.Close()
	if etag := strings.Trim(r.Info.ETag, `"`); etag != "" && p.ETag != "" && etag != strings.Trim(p.ETag, `"`) {
		return 0, false, fmt.Errorf("%w: %q: etag %s, want %s", ErrStale, p.Key, etag, p.ETag)
	}
	for k, sz := range sizes {
		if _, err := io.ReadFull(r, buf(k)); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				err = fmt.Errorf("%w: %q [%d, %d): %w", ErrShortBody, p.Key, off, off+sz, err)
			}
			return k, true, err
		}
		off += sz
		deliver(k)
	}
	return len(sizes), false, nil
}

// finish publishes a block fetch's result and ends its flight.
func (f *Fetcher) finish(c *call, r blockReq, buf []byte, err error) {
	fk := flightKey{r.key, r.bs}
	c.data, c.err = buf, err
	f.mu.Lock()
	delete(f.calls, fk)
	f.mu.Unlock()
	close(c.done)
}

// byteSem is a counting semaphore over bytes. A request larger than the
// capacity takes the whole capacity.
type byteSem struct {
	mu    sync.Mutex
	cond  *sync.Cond
	avail int64 // GUARDED_BY(mu)
	max   int64
}

func newByteSem(n int64) *byteSem {
	s := &byteSem{avail: n, max: n}
	s.cond = sync.NewCond(&s.mu)
	return s
}

func (s *byteSem) acquire(n int64) {
	n = min(n, s.max)
	s.mu.Lock()
	for s.avail < n {
		s.cond.Wait()
	}
	s.avail -= n
	s.mu.Unlock()
}

func (s *byteSem) release(n int64) {
	n = min(n, s.max)
	s.mu.Lock()
	s.avail += n
	s.mu.Unlock()
	s.cond.Broadcast()
}
