package cache

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func block(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(rng.Uint32())
	}
	return p
}

func openDisk(t *testing.T, dir string, max int64) *Disk {
	t.Helper()
	d, err := OpenDisk(dir, max)
	require.NoError(t, err)
	return d
}

// dirBytes sums the sizes of the block files under dir/blocks.
func dirBytes(t *testing.T, dir string) (total int64, files int) {
	t.Helper()
	err := filepath.WalkDir(filepath.Join(dir, "blocks"), func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.IsDir() && filepath.Ext(p) == diskExt {
			info, err := e.Info()
			if err != nil {
				return err
			}
			total += info.Size()
			files++
		}
		return nil
	})
	require.NoError(t, err)
	return total, files
}

func TestDiskPutGet(t *testing.T) {
	dir := t.TempDir()
	d := openDisk(t, dir, 1<<20)
	k := BlockKey{Object: "a/b", ETag: "e1", Index: 3}
	_, ok := d.Get(k)
	assert.False(t, ok)
	data := block(1, 10000)
	require.NoError(t, d.Put(k, data))
	got, ok := d.Get(k)
	require.True(t, ok)
	assert.Equal(t, data, got)

	// Other ETag, index or object: misses.
	for _, o := range []BlockKey{{"a/b", "e2", 3, 0}, {"a/b", "e1", 4, 0}, {"a/c", "e1", 3, 0}, {"a/b", "e1", 3, 4096}} {
		_, ok := d.Get(o)
		assert.False(t, ok, "%v", o)
	}
	// No ETag: never stored.
	require.NoError(t, d.Put(BlockKey{Object: "x", Index: 0}, data))
	_, ok = d.Get(BlockKey{Object: "x", Index: 0})
	assert.False(t, ok)
	// Empty blocks are not stored.
	require.NoError(t, d.Put(BlockKey{Object: "y", ETag: "e", Index: 0}, nil))

	st := d.Stats()
	assert.Equal(t, int64(1), st.Hits)
	assert.Equal(t, int64(1), st.Writes)
	assert.Equal(t, 1, st.Files)
	total, files := dirBytes(t, dir)
	assert.Equal(t, st.Bytes, total)
	assert.Equal(t, 1, files)
}

func TestDiskLRUBound(t *testing.T) {
	dir := t.TempDir()
	const bs = 4096
	max := int64(20*bs + 10*diskHdrFixed)
	d := openDisk(t, dir, max)
	key := func(i int) BlockKey { return BlockKey{Object: "obj", ETag: "etag", Index: int64(i)} }
	for i := range 100 {
		require.NoError(t, d.Put(key(i), block(uint64(i), bs)))
		if i%10 == 9 {
			// Keep block 0 hot: it must survive the churn.
			_, ok := d.Get(key(0))
			require.True(t, ok, "hot block evicted at %d", i)
		}
		st := d.Stats()
		require.LessOrEqual(t, st.Bytes, max)
		total, _ := dirBytes(t, dir)
		require.LessOrEqual(t, total, max)
	}
	st := d.Stats()
	assert.Positive(t, st.Evictions)
	got, ok := d.Get(key(99))
	require.True(t, ok, "newest block kept")
	assert.Equal(t, block(99, bs), got)
	_, ok = d.Get(key(1))
	assert.False(t, ok, "old cold block evicted")

	// A block larger than the whole cache is not stored.
	require.NoError(t, d.Put(BlockKey{Object: "big", ETag: "e"}, make([]byte, max)))
	_, ok = d.Get(BlockKey{Object: "big", ETag: "e"})
	assert.False(t, ok)
}

func TestDiskRestart(t *testing.T) {
	dir := t.TempDir()
	const bs = 4096
	d := openDisk(t, dir, 1<<20)
	base := time.Now().Add(-time.Hour)
	for i := range 10 {
		k := BlockKey{Object: "o", ETag: "v1", Index: int64(i)}
		require.NoError(t, d.Put(k, block(uint64(i), bs)))
		// Older index = older use.
		tm := base.Add(time.Duration(i) * time.Minute)
		require.NoError(t, os.Chtimes(d.Path(k), tm, tm))
	}
	bytes1 := d.Stats().Bytes

	// Same bound: everything is served by a new instance.
	d2 := openDisk(t, dir, 1<<20)
	assert.Equal(t, bytes1, d2.Stats().Bytes)
	assert.Equal(t, 10, d2.Stats().Files)
	for i := range 10 {
		got, ok := d2.Get(BlockKey{Object: "o", ETag: "v1", Index: int64(i)})
		require.True(t, ok, "block %d", i)
		assert.Equal(t, block(uint64(i), bs), got)
	}
	// A changed object (new ETag) is not served from the old blocks.
	_, ok := d2.Get(BlockKey{Object: "o", ETag: "v2", Index: 0})
	assert.False(t, ok)

	// Lowered bound: the least recently used files go at startup.
	for i := range 10 {
		k := BlockKey{Object: "o", ETag: "v1", Index: int64(i)}
		tm := base.Add(time.Duration(i) * time.Minute)
		require.NoError(t, os.Chtimes(d.Path(k), tm, tm))
	}
	half := bytes1 / 2
	d3 := openDisk(t, dir, half)
	assert.LessOrEqual(t, d3.Stats().Bytes, half)
	total, _ := dirBytes(t, dir)
	assert.LessOrEqual(t, total, half)
	_, ok = d3.Get(BlockKey{Object: "o", ETag: "v1", Index: 9})
	assert.True(t, ok, "most recent kept")
	_, ok = d3.Get(BlockKey{Object: "o", ETag: "v1", Index: 0})
	assert.False(t, ok, "least recent evicted")
}

func TestDiskCorruption(t *testing.T) {
	k := BlockKey{Object: "dir/file", ETag: "abc", Index: 2}
	data := block(7, 5000)
	cases := map[string]func(t *testing.T, d *Disk, p string){
		"truncated": func(t *testing.T, d *Disk, p string) {
			require.NoError(t, os.Truncate(p, 3000))
		},
		"truncated header": func(t *testing.T, d *Disk, p string) {
			require.NoError(t, os.Truncate(p, 10))
		},
		"empty": func(t *testing.T, d *Disk, p string) {
			require.NoError(t, os.Truncate(p, 0))
		},
		"garbage": func(t *testing.T, d *Disk, p string) {
			require.NoError(t, os.WriteFile(p, block(8, 5100), 0o600))
		},
		"flipped payload byte": func(t *testing.T, d *Disk, p string) {
			raw, err := os.ReadFile(p)
			require.NoError(t, err)
			raw[len(raw)-100] ^= 0x40
			require.NoError(t, os.WriteFile(p, raw, 0o600))
		},
		"extra bytes": func(t *testing.T, d *Disk, p string) {
			f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
			require.NoError(t, err)
			_, err = f.Write([]byte("xx"))
			require.NoError(t, err)
			require.NoError(t, f.Close())
		},
		"wrong etag": func(t *testing.T, d *Disk, p string) {
			// The file of another version put at this block's name.
			other := BlockKey{Object: k.Object, ETag: "zzz", Index: k.Index}
			raw := append(encodeHeader(other, keyHash(other), data), data...)
			require.NoError(t, os.WriteFile(p, raw, 0o600))
		},
		"same hash, other etag header": func(t *testing.T, d *Disk, p string) {
			other := BlockKey{Object: k.Object, ETag: "abd", Index: k.Index}
			raw := append(encodeHeader(other, keyHash(k), data), data...)
			require.NoError(t, os.WriteFile(p, raw, 0o600))
		},
		"wrong index": func(t *testing.T, d *Disk, p string) {
			other := BlockKey{Object: k.Object, ETag: k.ETag, Index: 5}
			raw := append(encodeHeader(other, keyHash(k), data), data...)
			require.NoError(t, os.WriteFile(p, raw, 0o600))
		},
	}
	for name, corrupt := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			d := openDisk(t, dir, 1<<20)
			require.NoError(t, d.Put(k, data))
			p := d.Path(k)
			corrupt(t, d, p)
			_, ok := d.Get(k)
			assert.False(t, ok, "corrupt file served")
			_, err := os.Stat(p)
			assert.ErrorIs(t, err, os.ErrNotExist, "corrupt file not removed")
			st := d.Stats()
			assert.Equal(t, int64(1), st.Corrupt)
			assert.Zero(t, st.Files)
			assert.Zero(t, st.Bytes)
			// Refetched and rewritten: served again.
			require.NoError(t, d.Put(k, data))
			got, ok := d.Get(k)
			require.True(t, ok)
			assert.Equal(t, data, got)
		})
	}
}

func TestDiskVanishedAndStrayFiles(t *testing.T) {
	dir := t.TempDir()
	d := openDisk(t, dir, 1<<20)
	k := BlockKey{Object: "o", ETag: "e", Index: 0}
	require.NoError(t, d.Put(k, block(1, 100)))
	require.NoError(t, os.Remove(d.Path(k))) // evicted by another process
	_, ok := d.Get(k)
	assert.False(t, ok)
	assert.Zero(t, d.Stats().Bytes)

	// Strays and stale temp files do not break a scan; old temps are swept.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "blocks", "README"), []byte("x"), 0o600))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "blocks", "zz"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "blocks", "zz", "nothex.blk"), []byte("x"), 0o600))
	old := filepath.Join(dir, "blocks", "tmp", "blk-old")
	young := filepath.Join(dir, "blocks", "tmp", "blk-young")
	require.NoError(t, os.WriteFile(old, []byte("x"), 0o600))
	require.NoError(t, os.WriteFile(young, []byte("x"), 0o600))
	tm := time.Now().Add(-2 * staleTempAge)
	require.NoError(t, os.Chtimes(old, tm, tm))
	d2 := openDisk(t, dir, 1<<20)
	assert.Zero(t, d2.Stats().Files)
	_, err := os.Stat(old)
	assert.ErrorIs(t, err, os.ErrNotExist)
	_, err = os.Stat(young)
	assert.NoError(t, err, "a live writer's temp file is left alone")

	// The whole directory wiped underneath: writes recreate it.
	require.NoError(t, os.RemoveAll(filepath.Join(dir, "blocks")))
	require.NoError(t, d2.Put(k, block(2, 100)))
	got, ok := d2.Get(k)
	require.True(t, ok)
	assert.Equal(t, block(2, 100), got)
}

// Two instances (two mounts) on one directory, concurrently: every hit is
// the right block, each stays within its bound, files written by one are
// served to the other.
func TestDiskSharedDirConcurrent(t *testing.T) {
	dir := t.TempDir()
	const bs = 2048
	max := int64(40 * bs)
	a, b := openDisk(t, dir, max), openDisk(t, dir, max)
	key := func(i int) BlockKey { return BlockKey{Object: fmt.Sprintf("obj%d", i%7), ETag: "e", Index: int64(i)} }
	want := func(i int) []byte { return block(uint64(i), bs-i%5) }
	var wg sync.WaitGroup
	for w := range 8 {
		d := a
		if w%2 == 1 {
			d = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 9))
			for range 300 {
				i := rng.IntN(100)
				if got, ok := d.Get(key(i)); ok {
					if !bytes.Equal(got, want(i)) {
						t.Errorf("block %d: wrong data", i)
						return
					}
					continue
				}
				if err := d.Put(key(i), want(i)); err != nil {
					t.Errorf("put %d: %v", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, d := range []*Disk{a, b} {
		assert.LessOrEqual(t, d.Stats().Bytes, max)
		assert.Zero(t, d.Stats().Corrupt)
	}
	total, _ := dirBytes(t, dir)
	assert.LessOrEqual(t, total, 2*max)

	// Written by a, read by b (adopted into b's index).
	k := BlockKey{Object: "shared", ETag: "e", Index: 1}
	require.NoError(t, a.Put(k, want(1)))
	got, ok := b.Get(k)
	require.True(t, ok)
	assert.Equal(t, want(1), got)
}

func TestDiskConcurrentReaders(t *testing.T) {
	dir := t.TempDir()
	d := openDisk(t, dir, 1<<20)
	k := BlockKey{Object: "o", ETag: "e", Index: 0}
	data := block(3, 64<<10)
	require.NoError(t, d.Put(k, data))
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				got, ok := d.Get(k)
				if !ok || !bytes.Equal(got, data) {
					t.Error("concurrent read failed")
					return
				}
			}
		}()
	}
	// Concurrent Puts of the same block are harmless.
	for range 4 {
		wg.Add(1)
		go func() { defer wg.Done(); _ = d.Put(k, data) }()
	}
	wg.Wait()
	assert.Equal(t, int64(400), d.Stats().Hits)
}

func TestDiskBadSize(t *testing.T) {
	_, err := OpenDisk(t.TempDir(), 0)
	assert.Error(t, err)
}

// The cache gives way to the spool sharing its filesystem: below the
// free-space reserve it evicts its own files, and declines when that is
// not enough.
func TestDiskKeepsFreeSpace(t *testing.T) {
	d := openDisk(t, t.TempDir(), 1<<20)
	assert.Positive(t, d.minFree)
	assert.LessOrEqual(t, d.minFree, int64(maxMinFree))
	var mu sync.Mutex
	avail := int64(1 << 30)
	d.minFree = 1 << 20
	d.avail = func() (int64, bool) { mu.Lock(); defer mu.Unlock(); return avail, true }
	key := func(i int) BlockKey { return BlockKey{Object: "o", ETag: "e", Index: int64(i)} }
	for i := range 4 {
		require.NoError(t, d.Put(key(i), block(uint64(i), 1000)))
	}
	assert.Equal(t, 4, d.Stats().Files)

	// 1.5 blocks short of the reserve: the two oldest files go.
	mu.Lock()
	avail = 1<<20 + 1000 - 1500
	mu.Unlock()
	require.NoError(t, d.Put(key(4), block(4, 1000)))
	st := d.Stats()
	assert.Equal(t, 3, st.Files)
	assert.Equal(t, int64(2), st.Evictions)
	for i, want := range []bool{false, false, true, true, true} {
		_, ok := d.Get(key(i))
		assert.Equal(t, want, ok, "block %d", i)
	}

	// Far below the reserve: everything of ours goes and the write is declined.
	mu.Lock()
	avail = 0
	mu.Unlock()
	require.NoError(t, d.Put(key(5), block(5, 1000)))
	st = d.Stats()
	assert.Zero(t, st.Files)
	assert.Equal(t, int64(1), st.NoSpace)
	_, ok := d.Get(key(5))
	assert.False(t, ok)
}

// Reclaim evicts least recently used files for a spool write that met
// ENOSPC; SetReserve sets the free space Put keeps (ensure_diskfree).
func TestDiskReclaimAndReserve(t *testing.T) {
	d := openDisk(t, t.TempDir(), 1<<20)
	def := d.Reserve()
	assert.Positive(t, def)
	d.SetReserve(123 << 20)
	assert.Equal(t, int64(123<<20), d.Reserve())
	d.SetReserve(0)
	assert.Equal(t, def, d.Reserve())

	key := func(i int) BlockKey { return BlockKey{Object: "o", ETag: "e", Index: int64(i)} }
	d.minFree = 0
	for i := range 4 {
		require.NoError(t, d.Put(key(i), block(uint64(i), 1000)))
	}
	_, ok := d.Get(key(0)) // most recently used now
	require.True(t, ok)
	freed := d.Reclaim(1500)
	assert.GreaterOrEqual(t, freed, int64(1500))
	st := d.Stats()
	assert.Equal(t, 2, st.Files)
	assert.Equal(t, freed, st.Reclaimed)
	for i, want := range []bool{true, false, false, true} {
		_, ok := d.Get(key(i))
		assert.Equal(t, want, ok, "block %d", i)
	}
	assert.Positive(t, d.Reclaim(1<<40))
	assert.Zero(t, d.Stats().Files)
	assert.Zero(t, d.Reclaim(1))
}
