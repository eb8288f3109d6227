package fs

// Listing-driven metadata: READDIRPLUS without HEADs where the listing
// tells the type, statahead for `ls -l`, lookups answered from a listing,
// and trust_listing. Proven with the emulator's request counters through
// real mounts.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const bigBody = 5000 // > ambiguousMax: the listing says "regular file"

func lstatT(t *testing.T, p string) *syscall.Stat_t {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		t.Fatalf("lstat %s: %v", p, err)
	}
	return &st
}

// A find-like walk (readdir with d_type, no stat) of large objects sends
// no HEAD; the entries it skipped linking in the kernel stat normally
// afterwards (no negative dentry).
func TestFindWalkNoHeads(t *testing.T) {
	e := newEnv(t)
	const n = 40
	body := strings.Repeat("b", bigBody)
	for i := range n {
		e.put(fmt.Sprintf("big/f%03d", i), body, map[string]string{"mode": "33152", "uid": "123", "gid": "456", "mtime": "1500000000"})
	}
	e.put("big/sub/x", "x", nil)
	e.mount(Options{})
	if _, err := os.Stat(e.path("big")); err != nil {
		t.Fatal(err)
	}
	e.resetStats()
	ents, err := os.ReadDir(e.path("big"))
	if err != nil || len(ents) != n+1 {
		t.Fatalf("ReadDir: %d entries, %v", len(ents), err)
	}
	for _, de := range ents {
		want := os.FileMode(0)
		if de.Name() == "sub" {
			want = os.ModeDir
		}
		if de.Type() != want {
			t.Fatalf("%s: d_type %v, want %v", de.Name(), de.Type(), want)
		}
	}
	st := e.settled()
	if st["HeadObject"].Requests != 0 || st["ListObjects"].Requests != 1 {
		t.Fatalf("find-like walk: %v", st)
	}
	// The names were listed without attributes: a stat looks them up.
	s := lstatT(t, e.path("big/f007"))
	if s.Mode != syscall.S_IFREG|0600 || s.Size != bigBody || s.Uid != 123 || s.Gid != 456 || s.Mtim.Sec != 1500000000 {
		t.Fatalf("lstat after walk: %+v", s)
	}
	if fi, err := os.Lstat(e.path("big/sub")); err != nil || !fi.IsDir() {
		t.Fatalf("lstat sub: %v %v", fi, err)
	}
}

// Small objects may be symlinks: readdir HEADs them (concurrently) so
// d_type is right, unless trust_listing is set, which sends no HEAD and
// calls them regular files in d_type while lstat still tells the truth.
func TestFindWalkSmallObjects(t *testing.T) {
	e := newEnv(t)
	for i := range 10 {
		e.put(fmt.Sprintf("small/f%02d", i), "x", nil)
	}
	e.mount(Options{})
	if err := os.Symlink("f00", e.path("small/l")); err != nil {
		t.Fatal(err)
	}
	e.put("small/old-link", "f01", map[string]string{"mode": fmt.Sprint(syscall.S_IFLNK | 0777)}) // s3fs-style
	types := func() map[string]os.FileMode {
		t.Helper()
		ents, err := os.ReadDir(e.path("small"))
		if err != nil || len(ents) != 12 {
			t.Fatalf("ReadDir: %d entries, %v", len(ents), err)
		}
		m := map[string]os.FileMode{}
		for _, de := range ents {
			m[de.Name()] = de.Type()
		}
		return m
	}

	e.remount(Options{})
	if _, err := os.Stat(e.path("small")); err != nil {
		t.Fatal(err)
	}
	e.resetStats()
	m := types()
	if m["l"] != os.ModeSymlink || m["old-link"] != os.ModeSymlink || m["f03"] != 0 {
		t.Fatalf("d_types (option off): %v", m)
	}
	if h := e.settled()["HeadObject"].Requests; h != 12 {
		t.Fatalf("readdir of 12 small objects: %d HEADs, want 12", h)
	}

	e.remount(Options{TrustListing: true})
	if _, err := os.Stat(e.path("small")); err != nil {
		t.Fatal(err)
	}
	e.resetStats()
	m = types()
	if m["l"] != 0 || m["f03"] != 0 {
		t.Fatalf("d_types (trust_listing): %v", m)
	}
	if h := e.settled()["HeadObject"].Requests; h != 0 {
		t.Fatalf("readdir with trust_listing: %d HEADs", h)
	}
	for _, name := range []string{"l", "old-link"} {
		if fi, err := os.Lstat(e.path("small/" + name)); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Fatalf("lstat %s with trust_listing: %v %v", name, fi, err)
		}
	}
	if got, err := os.Readlink(e.path("small/l")); err != nil || got != "f00" {
		t.Fatalf("readlink: %q %v", got, err)
	}
	// Once known, the type is in the attribute cache: readdir tells it.
	if m = types(); m["l"] != os.ModeSymlink {
		t.Fatalf("d_type after lstat: %v", m)
	}
}

// `ls -l` (readdir, then lstat of each entry in order) of large objects:
// one HEAD per entry, no duplicates, several in flight (statahead), and
// the attributes are the metadata's.
func TestLsLongStatahead(t *testing.T) {
	e := newEnv(t)
	const n = 300
	body := strings.Repeat("b", bigBody)
	for i := range n {
		e.put(fmt.Sprintf("ls/f%04d", i), body, map[string]string{"mode": "33152", "uid": "123", "gid": "456", "mtime": fmt.Sprint(1500000000 + i)})
	}
	e.mount(Options{})
	if err := os.Chmod(e.path("ls/f0007"), 0640); err != nil { // metadata written through the mount
		t.Fatal(err)
	}
	hc := &headCounter{}
	e.wrap = func(s store) store { hc.store = s; return hc }
	e.remount(Options{})
	if _, err := os.Stat(e.path("ls")); err != nil {
		t.Fatal(err)
	}
	e.resetStats()
	hc.mu.Lock()
	hc.n, hc.peak = 0, 0
	hc.mu.Unlock()
	ents, err := os.ReadDir(e.path("ls"))
	if err != nil || len(ents) != n {
		t.Fatalf("ReadDir: %d entries, %v", len(ents), err)
	}
	for i, de := range ents {
		s := lstatT(t, filepath.Join(e.path("ls"), de.Name()))
		mode := uint32(syscall.S_IFREG | 0600)
		if i == 7 {
			mode = syscall.S_IFREG | 0640
		}
		if s.Mode != mode || s.Size != bigBody || s.Uid != 123 || s.Gid != 456 || s.Mtim.Sec != int64(1500000000+i) {
			t.Fatalf("lstat %s: mode %o size %d uid %d gid %d mtime %d", de.Name(), s.Mode, s.Size, s.Uid, s.Gid, s.Mtim.Sec)
		}
	}
	st := e.settled()
	hc.mu.Lock()
	heads, peak := hc.n, hc.peak
	hc.mu.Unlock()
	if heads != n || st["HeadObject"].Requests != n || st["ListObjects"].Requests != 1 {
		t.Fatalf("ls -l of %d: %d HEADs (server %v)", n, heads, st)
	}
	if peak < 4 {
		t.Fatalf("statahead: at most %d HEADs in flight", peak)
	}
	// A second pass is served from the caches.
	e.resetStats()
	for _, de := range ents {
		lstatT(t, filepath.Join(e.path("ls"), de.Name()))
	}
	if st := e.settled(); st.Total().Requests != 0 {
		t.Fatalf("second pass: %v", st)
	}
}

// lstat of N names in order, without readdir (a fresh mount): the second
// miss lists the directory once, and from then on each name costs one HEAD
// (no LIST); a directory still shadows a same-named object, absent names
// are ENOENT, and local and remote creations are seen at once.
func TestLstatWalkWithoutReaddir(t *testing.T) {
	for _, prefix := range []string{"", "pre/"} {
		t.Run("prefix="+prefix, func(t *testing.T) {
			e := newEnv(t)
			const n = 200
			for i := range n {
				e.put(fmt.Sprintf("%ss/f%04d", prefix, i), "x", map[string]string{"mode": "33184", "mtime": fmt.Sprint(1600000000 + i)}) // 0640
			}
			e.put(prefix+"s/a-shadow", "object", nil)
			e.put(prefix+"s/a-shadow/x", "x", nil)
			e.mount(Options{Prefix: prefix})
			if _, err := os.Stat(e.path("s")); err != nil {
				t.Fatal(err)
			}
			e.resetStats()
			for i := range n {
				s := lstatT(t, e.path(fmt.Sprintf("s/f%04d", i)))
				if s.Mode != syscall.S_IFREG|0640 || s.Size != 1 || s.Mtim.Sec != int64(1600000000+i) {
					t.Fatalf("lstat f%04d: mode %o size %d mtime %d", i, s.Mode, s.Size, s.Mtim.Sec)
				}
			}
			st := e.settled()
			if l, h := st["ListObjects"].Requests, st["HeadObject"].Requests; l > 3 || h != n {
				t.Fatalf("lstat of %d names: %d LIST, %d HEAD", n, l, h)
			}
			if _, ok := e.f.meta.Dirs.Get(prefix + "s/"); !ok {
				t.Fatal("the directory's listing is not cached")
			}
			if fi, err := os.Lstat(e.path("s/a-shadow")); err != nil || !fi.IsDir() {
				t.Fatalf("shadowing directory: %v %v", fi, err)
			}
			if _, err := os.Lstat(e.path("s/missing")); !os.IsNotExist(err) {
				t.Fatalf("lstat of an absent name: %v", err)
			}

			// Created through the mount after the listing was cached.
			mustWrite(t, e.path("s/new"), "new!")
			if fi, err := os.Lstat(e.path("s/new")); err != nil || fi.Size() != 4 {
				t.Fatalf("local create: %v %v", fi, err)
			}
			if err := os.Mkdir(e.path("s/newdir"), 0755); err != nil {
				t.Fatal(err)
			}
			if fi, err := os.Lstat(e.path("s/newdir")); err != nil || !fi.IsDir() {
				t.Fatalf("local mkdir: %v %v", fi, err)
			}
			// Another client's new file (the listing cached again first) is
			// not in the listing: it is asked of the server, so it shows at
			// once.
			if _, err := os.ReadDir(e.path("s")); err != nil {
				t.Fatal(err)
			}
			if _, ok := e.f.meta.Dirs.Get(prefix + "s/"); !ok {
				t.Fatal("the directory's listing is not cached")
			}
			e.put(prefix+"s/other", "other", nil)
			if fi, err := os.Lstat(e.path("s/other")); err != nil || fi.Size() != 5 {
				t.Fatalf("remote create after the listing: %v %v", fi, err)
			}
			// Removed through the mount: gone at once.
			if err := os.Remove(e.path("s/f0003")); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Lstat(e.path("s/f0003")); !os.IsNotExist(err) {
				t.Fatalf("lstat after unlink: %v", err)
			}
		})
	}
}

// The listing a lookup uses is the cached one, and only while it is fresh:
// stat_cache_expire=0 sends every lookup to the server (HEAD+LIST).
func TestLookupListingDisabledWithoutCache(t *testing.T) {
	e := newEnv(t)
	for i := range 5 {
		e.put(fmt.Sprintf("nc/f%d", i), "x", nil)
	}
	e.mount(Options{NoStatCache: true})
	ctx := context.Background()
	if _, err := e.f.stat(ctx, "nc"); err != nil {
		t.Fatal(err)
	}
	e.resetStats()
	for i := range 5 {
		if _, err := e.f.stat(ctx, fmt.Sprintf("nc/f%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if st := e.settled(); st["ListObjects"].Requests != 5 || st["HeadObject"].Requests != 5 {
		t.Fatalf("without caches: %v", st)
	}
	time.Sleep(10 * time.Millisecond)
	if st := e.settled(); st["ListObjects"].Requests != 5 {
		t.Fatalf("background listing without caches: %v", st)
	}
}
