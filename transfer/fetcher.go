package transfer

// fetcher.go: block fetches shared by every reader.
//
// A Fetcher bounds the ranged GETs of all readers (a count of requests and a
// count of bytes in flight), bounds the prefetched blocks readers hold (the
// readahead budget, twice the bytes-in-flight cap) and joins concurrent requests for the same block
// into one GET (a small singleflight keyed by object, ETag, block index and
// block size). A fetch runs on its own context: a reader that gives up
// (cancelled read, closed handle) does not cancel a GET other readers may be
// waiting for; fetchTimeout bounds it instead. A fetched block is offered to
// the block cache before waiters are released. With a disk tier (tier.go)
// a fetch first looks the block up on disk, inside the singleflight and
// without taking a GET slot; fetched blocks are queued for the disk.

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/obsfs/obsfs/cache"
)

const (
	// DefaultFetchConcurrency and DefaultBytesInFlight size the default
	// Fetcher shared by readers that are given none.
	DefaultFetchConcurrency = 16
	DefaultBytesInFlight    = 256 << 20
	// fetchTimeout bounds one block fetch (all its attempts).
	fetchTimeout = 5 * time.Minute
)

// FetchStats counts a Fetcher's work.
type FetchStats struct {
	Requests int64 // block fetches sent to the network (each one GET, two on a retried short body)
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
		slots:    make(chan struct{}, concurrency),
		bytes:    newByteSem(maxBytesInFlight),
		aheadMax: readaheadBudgetFactor * maxBytesInFlight,
		calls:    make(map[flightKey]*call),
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
	bs   int64 // block size of the reader
}

// fetch returns the fetch of the block in flight, starting one if there is
// none.
func (f *Fetcher) fetch(r blockReq) *call {
	fk := flightKey{r.key, r.bs}
	f.mu.Lock()
	if c, ok := f.calls[fk]; ok {
		f.mu.Unlock()
		f.shared.Add(1)
		return c
	}
	c := &call{done: make(chan struct{})}
	f.calls[fk] = c
	f.mu.Unlock()
	go f.run(fk, c, r)
	return c
}

func (f *Fetcher) run(fk flightKey, c *call, r blockReq) {
	if r.disk != nil {
		if data, ok := r.disk.get(r.key, r.off, r.n); ok {
			f.diskHits.Add(1)
			if r.bc != nil {
				r.bc.Set(r.key, data)
			}
			f.finish(fk, c, data, nil)
			return
		}
	}
	f.requests.Add(1)
	ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
	defer cancel()
	f.slots <- struct{}{}
	f.bytes.acquire(r.n)
	buf := make([]byte, r.n)
	err := getRange(ctx, r.src, r.pin, r.off, buf)
	f.bytes.release(r.n)
	<-f.slots
	if err != nil {
		f.errors.Add(1)
		buf = nil
	} else {
		f.fetched.Add(r.n)
		if r.bc != nil {
			r.bc.Set(r.key, buf)
		}
		if r.disk != nil {
			r.disk.put(r.key, r.off, buf)
		}
	}
	f.finish(fk, c, buf, err)
}

// finish publishes a fetch's result and ends its flight.
func (f *Fetcher) finish(fk flightKey, c *call, buf []byte, err error) {
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
