package fs

// Caching, proven with the emulator's request counters: metadata caches
// (stat within the TTL costs nothing), the block caches (a warm re-read
// costs no GET, and with use_cache a remount serves unchanged objects from
// the disk cache) and the kernel-side mount settings.

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/obsfs/obsfs/obsclient/obstest"
)

// settled returns the emulator's counters once in-flight requests are
// counted (obstest.Server.SettledStats).
func (e *env) settled() obstest.Stats { return e.srv.SettledStats() }

func (e *env) resetStats() {
	e.settled()
	e.srv.ResetStats()
}

// Issue 4 target: a second stat pass over 1,000 files within the TTL
// issues zero requests, both through the kernel and when the kernel's
// caches are bypassed (obsfs's own attribute and negative caches).
func TestStatSecondPassNoRequests(t *testing.T) {
	e := newEnv(t)
	const n = 1000
	for i := range n {
		e.put(fmt.Sprintf("s/f%04d", i), "x", nil)
	}
	e.mount(Options{})
	name := func(i int) string { return fmt.Sprintf("s/f%04d", i) }
	for i := range n {
		if _, err := os.Stat(e.path(name(i))); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 20 { // negative lookups
		if _, err := os.Stat(e.path(fmt.Sprintf("s/missing%d", i))); !os.IsNotExist(err) {
			t.Fatalf("stat missing: %v", err)
		}
	}
	if st := e.settled(); st.Total().Requests == 0 {
		t.Fatal("first pass made no requests: the test proves nothing")
	}
	e.resetStats()

	for i := range n {
		fi, err := os.Stat(e.path(name(i)))
		if err != nil || fi.Size() != 1 {
			t.Fatalf("stat %s: %v %v", name(i), fi, err)
		}
	}
	for i := range 20 {
		if _, err := os.Stat(e.path(fmt.Sprintf("s/missing%d", i))); !os.IsNotExist(err) {
			t.Fatalf("stat missing: %v", err)
		}
	}
	if st := e.settled(); st.Total().Requests != 0 {
		t.Fatalf("second stat pass (kernel) made requests: %v", st)
	}

	// Bypassing the kernel: obsfs's caches answer by themselves.
	hits0 := e.f.meta.Attrs.Stats().Hits
	neg0 := e.f.meta.Negative.Stats().Hits
	ctx := context.Background()
	for i := range n {
		a, err := e.f.stat(ctx, name(i))
		if err != nil || a.Size != 1 {
			t.Fatalf("f.stat %s: %+v %v", name(i), a, err)
		}
	}
	for i := range 20 {
		if _, err := e.f.stat(ctx, fmt.Sprintf("s/missing%d", i)); err != syscall.ENOENT {
			t.Fatalf("f.stat missing: %v", err)
		}
	}
	if st := e.settled(); st.Total().Requests != 0 {
		t.Fatalf("second stat pass (obsfs caches) made requests: %v", st)
	}
	if hits := e.f.meta.Attrs.Stats().Hits - hits0; hits < n {
		t.Fatalf("attr cache counted %d hits, want >= %d", hits, n)
	}
	if hits := e.f.meta.Negative.Stats().Hits - neg0; hits < 20 {
		t.Fatalf("negative cache counted %d hits, want >= 20", hits)
	}
	if l := e.f.meta.Attrs.Len(); l > DefaultMaxStatCacheEntries {
		t.Fatalf("attr cache holds %d entries", l)
	}
}

// The attribute cache is bounded: with max_stat_cache_size smaller than
// the working set, entries are evicted (and counted) instead of growing.
func TestStatCacheBounded(t *testing.T) {
	e := newEnv(t)
	for i := range 50 {
		e.put(fmt.Sprintf("b/f%02d", i), "x", nil)
	}
	e.mount(Options{MaxStatCacheEntries: 10})
	for i := range 50 {
		if _, err := e.f.stat(context.Background(), fmt.Sprintf("b/f%02d", i)); err != nil {
			t.Fatal(err)
		}
	}
	st := e.f.meta.Attrs.Stats()
	if st.Entries > 10 || st.Evictions == 0 {
		t.Fatalf("attr cache: %+v", st)
	}
}

func putRandom(t *testing.T, e *env, key string, seed int64, n int) []byte {
	t.Helper()
	data := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(data)
	if _, err := e.srv.PutObject(e.bucket, key, data, obstest.ObjectInfo{}); err != nil {
		t.Fatal(err)
	}
	return data
}

// dropPageCache makes the kernel forget the file's cached pages, so the
// next read reaches obsfs.
func dropPageCache(t *testing.T, e *env, rel string) {
	t.Helper()
	ch := e.f.root.GetChild(rel)
	if ch == nil {
		t.Fatalf("no inode for %s", rel)
	}
	if en := ch.NotifyContent(0, 0); en != 0 {
		t.Fatalf("NotifyContent: %v", en)
	}
}

func readCompare(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("ReadFile %s: %d bytes (want %d), %v", path, len(got), len(want), err)
	}
}

// A warm re-read issues no GET even when the kernel's page cache is
// dropped: obsfs's memory block cache serves it.
func TestWarmRereadNoGet(t *testing.T) {
	e := newEnv(t)
	data := putRandom(t, e, "warm", 11, 3<<20+5)
	e.mount(Options{CacheSize: 64 << 20, NoDiskCache: true})
	readCompare(t, e.path("warm"), data)
	e.f.blocks.Wait()
	e.resetStats()
	dropPageCache(t, e, "warm")
	readCompare(t, e.path("warm"), data)
	if st := e.settled(); st["GetObject"].Requests != 0 {
		t.Fatalf("warm re-read: %v", st)
	}
	if e.f.disk != nil {
		t.Fatal("NoDiskCache still made a disk cache")
	}
}

// With use_cache, blocks survive a remount (fresh memory cache, fresh
// process state) for an unchanged ETag; a changed object is refetched.
func TestDiskCacheAcrossRemount(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	data := putRandom(t, e, "d/big", 12, 2<<20+100)
	o := Options{CacheSize: 16 << 20, CacheDir: dir}
	e.mount(o)
	readCompare(t, e.path("d/big"), data)
	if err := e.f.Flush(context.Background()); err != nil { // drains the disk queue
		t.Fatal(err)
	}
	if st := e.f.disk.Stats(); st.Written == 0 {
		t.Fatalf("nothing written to the disk cache: %+v", st)
	}
	if _, err := os.Stat(dir + "/blocks"); err != nil {
		t.Fatal(err)
	}

	e.remount(o)
	e.resetStats()
	readCompare(t, e.path("d/big"), data)
	if st := e.settled(); st["GetObject"].Requests != 0 {
		t.Fatalf("read after remount: %v", st)
	}
	if h := e.f.fetcher.Stats().DiskHits; h == 0 {
		t.Fatal("no disk hits")
	}

	data2 := putRandom(t, e, "d/big", 13, 2<<20+100)
	e.remount(o)
	e.resetStats()
	readCompare(t, e.path("d/big"), data2)
	if st := e.settled(); st["GetObject"].Requests == 0 {
		t.Fatal("changed object served from the disk cache")
	}
}

// Kernel side: 1 MiB reads and writes, READDIRPLUS on, and the page cache
// kept across opens only while the ETag is unchanged.
func TestKernelCacheSettings(t *testing.T) {
	e := newEnv(t)
	data := putRandom(t, e, "k", 14, 100)
	e.mount(Options{})
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Skip(err)
	}
	var line string
	for _, l := range strings.Split(string(mi), "\n") {
		if strings.Contains(l, " "+e.mnt+" ") {
			line = l
		}
	}
	if !strings.Contains(line, "max_read=1048576") {
		t.Fatalf("mount without max_read=1 MiB: %q", line)
	}
	// go-fuse accepts READDIRPLUS whenever the kernel offers it, unless
	// DisableReadDirPlus (which Mount leaves off).
	if e.server.KernelSettings().Flags64()&fuse.CAP_READDIRPLUS == 0 {
		t.Fatalf("kernel without READDIRPLUS: flags %#x", e.server.KernelSettings().Flags64())
	}

	open := func() uint32 {
		t.Helper()
		n := e.f.root.GetChild("k")
		if n == nil {
			if _, err := os.Stat(e.path("k")); err != nil {
				t.Fatal(err)
			}
			n = e.f.root.GetChild("k")
		}
		fh, flags, en := n.Operations().(*node).Open(context.Background(), syscall.O_RDONLY)
		if en != 0 {
			t.Fatal(en)
		}
		fh.(*handle).Release(context.Background())
		return flags
	}
	readCompare(t, e.path("k"), data)
	if open()&fuse.FOPEN_KEEP_CACHE == 0 {
		t.Fatal("unchanged ETag: page cache not kept")
	}
	// A local change: the next open drops the page cache.
	if err := os.WriteFile(e.path("k"), []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	if open()&fuse.FOPEN_KEEP_CACHE != 0 {
		t.Fatal("after a local write the page cache was kept")
	}
	readCompare(t, e.path("k"), []byte("new"))
}

// A change made elsewhere is seen once the TTL has passed: the open
// revalidates, the ETag differs, the page cache is dropped and the new
// bytes are read.
func TestRemoteChangeDropsPageCache(t *testing.T) {
	e := newEnv(t)
	putRandom(t, e, "r", 15, 5000)
	e.mount(Options{StatCacheTTL: 200 * time.Millisecond})
	if _, err := os.ReadFile(e.path("r")); err != nil {
		t.Fatal(err)
	}
	data2 := putRandom(t, e, "r", 16, 5000) // same size, other bytes
	time.Sleep(300 * time.Millisecond)
	readCompare(t, e.path("r"), data2)
}
