package transfer

// tier.go: the optional disk tier of the read path, between the memory
// block cache and the network.
//
// Lookup order for a block: the reader's window, the memory cache
// (cache.Blocks), then — inside the Fetcher's singleflight, so concurrent
// readers share one disk read — the disk tier, and only then a ranged GET.
// A block read from disk is promoted to the memory cache; a fetched block
// goes to the memory cache at once and to the disk tier through a bounded
// background queue: the reader never waits for a disk write, and when the
// queue is full (a slow disk under a fast link) the write is dropped and
// counted. Blocks without an ETag are never put on disk (after a remount
// they could not be told from another version).
//
// On disk a block is named by its byte offset, not its index (diskKey), and
// a hit must have the expected length: the disk cache outlives the process,
// so a reader with another block size (another release, another setting)
// must never be served bytes of another range.

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/obsfs/obsfs/cache"
)

// DiskCache is a persistent block store; *cache.Disk satisfies it. Get must
// return only verified data of exactly that key (a corrupt entry is a miss);
// Put may decline silently.
type DiskCache interface {
	Get(key cache.BlockKey) ([]byte, bool)
	Put(key cache.BlockKey, data []byte) error
}

// Defaults of DiskTierConfig.
const (
	DefaultDiskQueueBytes = 64 << 20
	DefaultDiskWriters    = 2
	DefaultDiskReaders    = 8
)

// DiskTierConfig configures a DiskTier. Zero fields take defaults.
type DiskTierConfig struct {
	QueueBytes int64 // bytes of blocks waiting to be written; beyond it writes are dropped
	Writers    int   // background writers
	Readers    int   // concurrent disk reads
}

// TierStats counts a DiskTier's traffic.
type TierStats struct {
	Hits, Misses int64
	Queued       int64 // writes accepted
	Written      int64 // writes done
	Dropped      int64 // writes dropped on backlog (or after Close)
	Errors       int64 // writes that failed
	Pending      int64 // bytes waiting to be written now
}

// DiskTier is the read path's disk tier: reads through, writes behind.
// Share one per mount; it is safe for concurrent use.
type DiskTier struct {
	dc       DiskCache
	maxQueue int64
	reads    chan struct{} // one per disk read in progress

	mu     sync.Mutex
	closed bool // GUARDED_BY(mu)
	queue  chan tierWrite
	wg     sync.WaitGroup // writers
	idle   sync.Cond      // signalled when pending drops to zero; L = &mu

	pending                                             atomic.Int64
	hits, misses, queued, written, dropped, writeErrors atomic.Int64
}

type tierWrite struct {
	key  cache.BlockKey
	data []byte
}

// NewDiskTier starts the background writers of a tier over dc. Close it to
// stop them.
func NewDiskTier(dc DiskCache, cfg DiskTierConfig) *DiskTier {
	if cfg.QueueBytes <= 0 {
		cfg.QueueBytes = DefaultDiskQueueBytes
	}
	if cfg.Writers <= 0 {
		cfg.Writers = DefaultDiskWriters
	}
	if cfg.Readers <= 0 {
		cfg.Readers = DefaultDiskReaders
	}
	t := &DiskTier{dc: dc, maxQueue: cfg.QueueBytes, reads: make(chan struct{}, cfg.Readers),
		queue: make(chan tierWrite, 1024)}
	t.idle.L = &t.mu
	for range cfg.Writers {
		t.wg.Add(1)
		go t.writer()
	}
	return t
}

func (t *DiskTier) writer() {
	defer t.wg.Done()
	for w := range t.queue {
		if err := t.dc.Put(w.key, w.data); err != nil {
			t.writeErrors.Add(1)
		} else {
			t.written.Add(1)
		}
		t.done(int64(len(w.data)))
	}
}

func (t *DiskTier) done(n int64) {
	if t.pending.Add(-n) == 0 {
		t.mu.Lock()
		t.idle.Broadcast()
		t.mu.Unlock()
	}
}

// diskKey names the block of key starting at byte off on disk.
func diskKey(key cache.BlockKey, off int64) cache.BlockKey {
	key.Index = off
	return key
}

// get reads the block of key at byte off, of n bytes, from disk. A block of
// another length (written by a reader with another block size) is a miss.
func (t *DiskTier) get(key cache.BlockKey, off, n int64) ([]byte, bool) {
	if key.ETag == "" {
		return nil, false
	}
	t.reads <- struct{}{}
	data, ok := t.dc.Get(diskKey(key, off))
	<-t.reads
	if !ok || int64(len(data)) != n {
		t.misses.Add(1)
		return nil, false
	}
	t.hits.Add(1)
	return data, true
}

// put queues the block of key at byte off for writing; it never blocks.
// data must not be modified afterwards (blocks are immutable once fetched).
func (t *DiskTier) put(key cache.BlockKey, off int64, data []byte) {
	n := int64(len(data))
	if n == 0 || key.ETag == "" {
		return
	}
	if t.pending.Add(n) > t.maxQueue {
		t.dropped.Add(1)
		t.done(n)
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		t.dropLocked(n)
		return
	}
	select {
	case t.queue <- tierWrite{diskKey(key, off), data}:
		t.queued.Add(1)
	default:
		t.dropLocked(n)
	}
}

// dropLocked counts a dropped write of n bytes. REQUIRES mu.
func (t *DiskTier) dropLocked(n int64) {
	t.dropped.Add(1)
	if t.pending.Add(-n) == 0 {
		t.idle.Broadcast()
	}
}

// Wait blocks until every queued write is done (tests, and before reading
// the disk cache from another instance).
func (t *DiskTier) Wait() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for t.pending.Load() > 0 {
		t.idle.Wait()
	}
}

// WaitContext is Wait bounded by ctx.
func (t *DiskTier) WaitContext(ctx context.Context) error {
	done := make(chan struct{})
	go func() { t.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close finishes the queued writes (at most QueueBytes) and stops the
// writers. Later writes are dropped; reads keep working. Idempotent.
func (t *DiskTier) Close() {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	t.closed = true
	close(t.queue)
	t.mu.Unlock()
	t.wg.Wait()
}

// Cache is the disk cache the tier reads and writes (for its own stats).
func (t *DiskTier) Cache() DiskCache { return t.dc }

// Stats returns the counters so far.
func (t *DiskTier) Stats() TierStats {
	return TierStats{Hits: t.hits.Load(), Misses: t.misses.Load(), Queued: t.queued.Load(), Written: t.written.Load(),
		Dropped: t.dropped.Load(), Errors: t.writeErrors.Load(), Pending: t.pending.Load()}
}
