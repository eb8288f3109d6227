package cache

// blocks.go: the in-memory block cache the read path keeps object data in.
//
// Blocks are fixed-size slices of an object, keyed by object key, ETag and
// block index, so a changed object (new ETag) can never be served from an old
// entry: stale blocks are simply never asked for again and age out. The cache
// is bounded by bytes (the cost of an entry is its length) and backed by
// ristretto, whose TinyLFU admission keeps frequently read blocks over
// one-shot scans. Two ristretto properties callers must know:
//   - Set is asynchronous: a Get right after a Set may miss. Wait blocks until
//     pending Sets are applied (tests use it for determinism).
//   - Set may drop or reject an entry (contention, admission policy). That is
//     fine for a cache; the reader refetches.

import (
	"errors"
	"strconv"
	"strings"
	"sync"

	"github.com/dgraph-io/ristretto/v2"
)

// BlockKey names one block of one version of an object.
type BlockKey struct {
	Object string // object key
	ETag   string // version of the object the block belongs to
	Index  int64  // block number: the block covers [Index*blockSize, (Index+1)*blockSize)
	// Span is the unit size when it is not the reader's block size (the
	// small granules random reads fetch), so the two never share an entry;
	// 0 for blocks.
	Span int64
}

// String is the cache's internal key: fields separated by NUL, which cannot
// occur in an object key (keys are UTF-8 paths without NUL) nor in an ETag.
func (k BlockKey) String() string {
	var b strings.Builder
	b.Grow(len(k.Object) + len(k.ETag) + 22)
	b.WriteString(k.Object)
	b.WriteByte(0)
	b.WriteString(k.ETag)
	b.WriteByte(0)
	b.WriteString(strconv.FormatInt(k.Index, 10))
	if k.Span != 0 {
		b.WriteString("\x00s")
		b.WriteString(strconv.FormatInt(k.Span, 10))
	}
	return b.String()
}

// Blocks is a byte-bounded cache of object blocks, safe for concurrent use.
// Returned slices are shared with the cache: callers must not modify them,
// and must not modify a slice after passing it to Set.
type Blocks struct {
	c *ristretto.Cache[string, []byte]

	// mu makes Close exclusive: ristretto's Set racing its Close can send on
	// a closed channel (fetches may still be landing at unmount).
	mu     sync.RWMutex
	closed bool // GUARDED_BY(mu)
}

// assumedBlock sizes ristretto's frequency sketch: about ten counters per
// block the cache can hold, assuming blocks of at least this size.
const assumedBlock = 64 << 10

// NewBlocks returns a cache holding at most maxBytes of block data.
func NewBlocks(maxBytes int64) (*Blocks, error) {
	if maxBytes <= 0 {
		return nil, errors.New("cache: block cache size must be positive")
	}
	counters := max(10*maxBytes/assumedBlock, 10000)
	c, err := ristretto.NewCache(&ristretto.Config[string, []byte]{
		NumCounters:        counters,
		MaxCost:            maxBytes,
		BufferItems:        64,
		Metrics:            true,
		IgnoreInternalCost: true,
	})
	if err != nil {
		return nil, err
	}
	return &Blocks{c: c}, nil
}

// Get returns the cached block, if present.
func (b *Blocks) Get(key BlockKey) ([]byte, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return nil, false
	}
	return b.c.Get(key.String())
}

// Set offers a block to the cache; it may be dropped (see the file comment).
// Empty blocks are not cached.
func (b *Blocks) Set(key BlockKey, data []byte) {
	if len(data) == 0 {
		return
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	if !b.closed {
		b.c.Set(key.String(), data, int64(len(data)))
	}
}

// Wait blocks until every earlier Set has been applied or rejected.
func (b *Blocks) Wait() {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if !b.closed {
		b.c.Wait()
	}
}

// Metrics reports hits and misses of Get, blocks evicted to make room, and
// the bytes currently held.
func (b *Blocks) Metrics() (hits, misses, evictions uint64, bytes int64) {
	m := b.c.Metrics
	return m.Hits(), m.Misses(), m.KeysEvicted(), b.c.MaxCost() - b.c.RemainingCost()
}

// MaxBytes is the capacity given to NewBlocks.
func (b *Blocks) MaxBytes() int64 { return b.c.MaxCost() }

// Close stops the cache's background goroutine and drops its contents.
// Afterwards Get misses and Set is a no-op; Close is idempotent.
func (b *Blocks) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.closed = true
		b.c.Close()
	}
}
