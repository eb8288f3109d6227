package transfer

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obsfs/obsfs/cache"
)

// mountLike is what one mount holds of the read path: a memory cache, a
// fetcher and a disk tier over dir.
type mountLike struct {
	bc   *cache.Blocks
	f    *Fetcher
	disk *cache.Disk
	tier *DiskTier
}

func newMountLike(t *testing.T, dir string) *mountLike {
	t.Helper()
	d, err := cache.OpenDisk(dir, 64<<20)
	require.NoError(t, err)
	m := &mountLike{bc: newBlocks(t), f: NewFetcher(4, 0), disk: d, tier: NewDiskTier(d, DiskTierConfig{})}
	t.Cleanup(m.tier.Close)
	return m
}

func (m *mountLike) reader(src ObjectSource, key string, b *Base) *Reader {
	return NewReader(src, key, b.ETag, b.Size, m.bc, ReaderConfig{BlockSize: testBlock, Fetcher: m.f, Disk: m.tier})
}

// fillDisk reads the whole object through a first "mount" with a disk tier
// over dir and closes it (its tier flushes to disk on Close); the closed
// mount is returned for its disk index.
func fillDisk(t *testing.T, e *env, dir, key string, b *Base, data []byte) *mountLike {
	t.Helper()
	m := newMountLike(t, dir)
	r := m.reader(e.b, key, b)
	assert.Equal(t, data, readerBytes(t, r, testBlock))
	require.NoError(t, r.Close())
	m.tier.Close()
	return m
}

func TestTierSurvivesRemount(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	data := randBytes(41, 12*testBlock+77)
	base := e.put(t, "obj", data)

	m1 := newMountLike(t, dir)
	r1 := m1.reader(e.b, "obj", base)
	assert.Equal(t, data, readerBytes(t, r1, 50000))
	require.NoError(t, r1.Close())
	m1.tier.Wait()
	assert.Equal(t, int64(13), m1.tier.Stats().Written)
	assert.Zero(t, m1.tier.Stats().Dropped)
	m1.tier.Close()

	// "Remount": fresh memory cache, fetcher, disk index and tier over the
	// same directory. Unchanged ETag: no GET at all.
	e.reset()
	m2 := newMountLike(t, dir)
	r2 := m2.reader(e.b, "obj", base)
	assert.Equal(t, data, readerBytes(t, r2, 70000))
	require.NoError(t, r2.Close())
	assert.Zero(t, e.requests("GetObject"))
	assert.Equal(t, FetchStats{DiskHits: 13}, m2.f.Stats())
	assert.Equal(t, int64(13), m2.tier.Stats().Hits)

	// Promoted to memory: a third reader on the same mount hits memory.
	m2.bc.Wait()
	r3 := m2.reader(e.b, "obj", base)
	assert.Equal(t, data, readerBytes(t, r3, 1<<20))
	require.NoError(t, r3.Close())
	assert.Equal(t, int64(13), m2.f.Stats().DiskHits)

	// Changed object: new ETag, nothing served from the old blocks.
	data2 := randBytes(42, 12*testBlock+77)
	base2 := e.put(t, "obj", data2)
	e.reset()
	m3 := newMountLike(t, dir)
	r4 := m3.reader(e.b, "obj", base2)
	assert.Equal(t, data2, readerBytes(t, r4, 50000))
	require.NoError(t, r4.Close())
	// Every block fetched again from the network: the whole object (13
	// blocks) fits the first window of a read from offset 0, fetched by one
	// coalesced GET.
	assert.Equal(t, int64(1), e.requests("GetObject"))
	assert.Equal(t, int64(len(data2)), m3.f.Stats().Bytes)
	assert.Zero(t, m3.f.Stats().DiskHits)
}

func TestTierCorruptBlockRefetched(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	data := randBytes(43, 6*testBlock)
	base := e.put(t, "c", data)
	m1 := fillDisk(t, e, dir, "c", base, data)

	// Damage two blocks: one truncated, one overwritten with garbage.
	p2 := m1.disk.Path(cache.BlockKey{Object: "c", ETag: base.ETag, Index: 2 * testBlock}) // named by offset
	p4 := m1.disk.Path(cache.BlockKey{Object: "c", ETag: base.ETag, Index: 4 * testBlock})
	require.NoError(t, os.Truncate(p2, 1000))
	require.NoError(t, os.WriteFile(p4, randBytes(44, testBlock+80), 0o600))

	e.reset()
	m2 := newMountLike(t, dir)
	src := &countingSource{src: e.b}
	r2 := m2.reader(src, "c", base)
	assert.Equal(t, data, readerBytes(t, r2, testBlock))
	require.NoError(t, r2.Close())
	assert.Equal(t, int64(2), src.gets.Load(), "only the damaged blocks are refetched")
	ranges := src.takeRanges()
	require.Len(t, ranges, 2)
	starts := []int64{ranges[0].Start, ranges[1].Start}
	assert.ElementsMatch(t, []int64{2 * testBlock, 4 * testBlock}, starts)
	assert.Equal(t, int64(2), m2.disk.Stats().Corrupt)

	// Rewritten: a third mount reads everything from disk.
	m2.tier.Wait()
	m3 := newMountLike(t, dir)
	src3 := &countingSource{src: e.b}
	r3 := m3.reader(src3, "c", base)
	assert.Equal(t, data, readerBytes(t, r3, testBlock))
	require.NoError(t, r3.Close())
	assert.Zero(t, src3.gets.Load())
}

// slowDisk is a DiskCache whose Puts wait for a gate.
type slowDisk struct {
	gate chan struct{}
	mu   sync.Mutex
	puts int
}

func (s *slowDisk) Get(cache.BlockKey) ([]byte, bool) { return nil, false }
func (s *slowDisk) Put(cache.BlockKey, []byte) error {
	<-s.gate
	s.mu.Lock()
	s.puts++
	s.mu.Unlock()
	return nil
}

func TestTierBacklogDropsWithoutBlocking(t *testing.T) {
	e := newEnv(t)
	data := randBytes(45, 20*testBlock)
	base := e.put(t, "slow", data)
	sd := &slowDisk{gate: make(chan struct{})}
	tier := NewDiskTier(sd, DiskTierConfig{QueueBytes: 3 * testBlock, Writers: 1})
	r := NewReader(e.b, "slow", base.ETag, base.Size, nil, ReaderConfig{BlockSize: testBlock, Fetcher: NewFetcher(4, 0), Disk: tier})
	done := make(chan []byte)
	go func() { done <- readerBytes(t, r, 100000) }()
	select {
	case got := <-done:
		assert.Equal(t, data, got)
	case <-time.After(30 * time.Second):
		t.Fatal("reader blocked by a stuck disk")
	}
	require.NoError(t, r.Close())
	st := tier.Stats()
	assert.LessOrEqual(t, st.Pending, int64(3*testBlock))
	assert.Positive(t, st.Dropped)
	assert.Equal(t, int64(20), st.Queued+st.Dropped)
	close(sd.gate)
	tier.Wait()
	tier.Close()
	assert.Equal(t, st.Queued, tier.Stats().Written)
	assert.Zero(t, tier.Stats().Pending)
	// After Close, writes are dropped and reads still work.
	tier.put(cache.BlockKey{Object: "x", ETag: "e"}, 0, []byte("x"))
	assert.Equal(t, st.Dropped+1, tier.Stats().Dropped)
}

func TestTierNoETagNotPersisted(t *testing.T) {
	dir := t.TempDir()
	d, err := cache.OpenDisk(dir, 1<<20)
	require.NoError(t, err)
	tier := NewDiskTier(d, DiskTierConfig{})
	defer tier.Close()
	tier.put(cache.BlockKey{Object: "o"}, 0, []byte("data"))
	tier.Wait()
	assert.Zero(t, tier.Stats().Queued)
	_, ok := tier.get(cache.BlockKey{Object: "o"}, 0, 4)
	assert.False(t, ok)

	// A block of another length (another block size) is a miss.
	k := cache.BlockKey{Object: "o", ETag: "e"}
	tier.put(k, 0, []byte("data"))
	tier.Wait()
	_, ok = tier.get(k, 0, 8)
	assert.False(t, ok)
	got, ok := tier.get(k, 0, 4)
	assert.True(t, ok)
	assert.Equal(t, "data", string(got))
	_, ok = tier.get(k, 4, 4)
	assert.False(t, ok, "named by offset")
}

// Concurrent readers of one object on a fresh mount share disk reads and
// never reach the network.
func TestTierConcurrentReaders(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	data := randBytes(46, 9*testBlock+5)
	base := e.put(t, "cc", data)
	fillDisk(t, e, dir, "cc", base, data)

	m2 := newMountLike(t, dir)
	src := &countingSource{src: e.b}
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := m2.reader(src, "cc", base)
			defer r.Close()
			p := make([]byte, 3000+i*1000)
			for off := int64(i * 7919); off < base.Size; off += int64(len(p)) * 3 {
				n, err := r.ReadAt(context.Background(), p, off)
				if err != nil && n == 0 {
					t.Errorf("read at %d: %v", off, err)
					return
				}
				if !assert.Equal(t, data[off:off+int64(n)], p[:n]) {
					return
				}
			}
		}()
	}
	wg.Wait()
	assert.Zero(t, src.gets.Load())
	assert.LessOrEqual(t, m2.f.Stats().DiskHits, int64(10*6))
}

// The disk cache outlives the process: a reader with another block size
// must only ever get the bytes of its own ranges from it.
func TestTierOtherBlockSize(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	data := randBytes(47, 3*testBlock)
	base := e.put(t, "bs", data)
	fillDisk(t, e, dir, "bs", base, data)

	m2 := newMountLike(t, dir)
	src := &countingSource{src: e.b}
	r2 := NewReader(src, "bs", base.ETag, base.Size, m2.bc, ReaderConfig{BlockSize: 2 * testBlock, Fetcher: m2.f, Disk: m2.tier})
	assert.Equal(t, data, readerBytes(t, r2, testBlock))
	require.NoError(t, r2.Close())
	// Block 0 (128 KiB at 0) is not on disk; block 1 (64 KiB at 128 KiB)
	// is the same range the first reader stored.
	assert.Equal(t, int64(1), src.gets.Load())
	assert.Equal(t, int64(1), m2.f.Stats().DiskHits)
}
