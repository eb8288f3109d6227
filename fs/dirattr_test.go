package fs

import (
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"
)

func statT(t *testing.T, p string) syscall.Stat_t {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func tsTime(ts syscall.Timespec) time.Time { return time.Unix(ts.Sec, ts.Nsec) }

// TestDirTimesOnEntryChange: creating, removing or renaming an entry
// moves the parent's mtime and ctime, at once and without a request for
// the directory.
func TestDirTimesOnEntryChange(t *testing.T) {
	// Without caches every stat asks the server: the time must survive that.
	for _, o := range []Options{{}, {NoStatCache: true}} {
		t.Run(fmt.Sprintf("ttl=%v", o.StatCacheTTL), func(t *testing.T) { testDirTimes(t, o) })
	}
}

func testDirTimes(t *testing.T, o Options) {
	e := newEnv(t)
	e.mount(o)
	for _, d := range []string{"d", "d2"} {
		if err := os.Mkdir(e.path(d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(e.path("d/old"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	ops := []struct {
		name string
		dirs []string
		do   func() error
	}{
		{"create", []string{"d"}, func() error { return os.WriteFile(e.path("d/f"), []byte("x"), 0o644) }},
		{"mkdir", []string{"d"}, func() error { return os.Mkdir(e.path("d/sub"), 0o755) }},
		{"rmdir", []string{"d"}, func() error { return os.Remove(e.path("d/sub")) }},
		{"symlink", []string{"d"}, func() error { return os.Symlink("f", e.path("d/l")) }},
		{"mknod", []string{"d"}, func() error { return syscall.Mkfifo(e.path("d/p"), 0o644) }},
		{"unlink", []string{"d"}, func() error { return os.Remove(e.path("d/l")) }},
		{"rename within", []string{"d"}, func() error { return os.Rename(e.path("d/f"), e.path("d/g")) }},
		{"rename across", []string{"d", "d2"}, func() error { return os.Rename(e.path("d/g"), e.path("d2/g")) }},
		{"create at root", []string{""}, func() error { return os.WriteFile(e.path("top"), nil, 0o644) }},
	}
	for _, op := range ops {
		before := time.Now()
		if err := op.do(); err != nil {
			t.Fatalf("%s: %v", op.name, err)
		}
		for _, d := range op.dirs {
			st := statT(t, e.path(d))
			if m, c := tsTime(st.Mtim), tsTime(st.Ctim); m.Before(before) || c.Before(before) {
				t.Errorf("%s: %q mtime %v ctime %v, not after %v", op.name, d, m, c, before)
			}
		}
	}
	// The time holds when the directory's attributes are fetched again.
	mt := tsTime(statT(t, e.path("d")).Mtim)
	e.f.meta.Attrs.Delete(e.f.ns.dirKey("d"))
	e.remountKeepNodes()
	if got := tsTime(statT(t, e.path("d")).Mtim); got.Before(mt) {
		t.Errorf("after refetch d's mtime went back from %v to %v", mt, got)
	}
	// An explicit time (tar, cp -a, rsync restoring a tree) wins, and is
	// stored with the marker.
	old := time.Unix(1000000000, 0)
	if err := os.Chtimes(e.path("d"), old, old); err != nil {
		t.Fatal(err)
	}
	e.f.meta.Attrs.Delete(e.f.ns.dirKey("d"))
	e.remountKeepNodes()
	if got := tsTime(statT(t, e.path("d")).Mtim); !got.Equal(old) {
		t.Errorf("after utimes d's mtime is %v, want %v", got, old)
	}
	if info, ok := e.srv.Object(e.bucket, "d/"); !ok || info.Metadata["mtime"] != "1000000000" {
		t.Errorf("marker metadata %v", info.Metadata)
	}
}

// remountKeepNodes makes the kernel forget cached attributes without
// dropping our nodes: it asks the node for attributes again.
func (e *env) remountKeepNodes() {
	for _, p := range []string{"", "d", "d2"} {
		_ = e.server.InodeNotify(e.f.inoOf(p), -1, 0)
	}
}

// TestReaddirDots: getdents64 starts with "." and "..", carrying the
// directory's and its parent's inode numbers, then the real entries.
func TestReaddirDots(t *testing.T) {
	e := newEnv(t)
	e.put("a/b/f1", "x", nil)
	e.put("a/b/f2", "x", nil)
	e.put("a/b/c/f3", "x", nil)
	e.mount(Options{})
	for _, tc := range []struct{ dir, parent string }{{"a/b", "a"}, {"a", ""}, {"", ""}} {
		ents := getdents(t, e.path(tc.dir))
		if len(ents) < 2 || ents[0].name != "." || ents[1].name != ".." {
			t.Fatalf("%q: entries %v, want . and .. first", tc.dir, ents)
		}
		if self := statT(t, e.path(tc.dir)).Ino; ents[0].ino != self {
			t.Errorf("%q: . has inode %d, want %d", tc.dir, ents[0].ino, self)
		}
		if par := statT(t, e.path(tc.parent)).Ino; ents[1].ino != par {
			t.Errorf("%q: .. has inode %d, want %d", tc.dir, ents[1].ino, par)
		}
		if ents[0].typ != syscall.DT_DIR || ents[1].typ != syscall.DT_DIR {
			t.Errorf("%q: dot types %d %d", tc.dir, ents[0].typ, ents[1].typ)
		}
		for _, de := range ents[2:] {
			if de.name == "." || de.name == ".." {
				t.Errorf("%q: %s listed twice", tc.dir, de.name)
			}
		}
	}
	names := map[string]bool{}
	for _, de := range getdents(t, e.path("a/b"))[2:] {
		names[de.name] = true
	}
	if len(names) != 3 || !names["f1"] || !names["f2"] || !names["c"] {
		t.Errorf("a/b lists %v", names)
	}
}

// TestDirLinkCount: 2 + subdirectories once the listing is known, else 1;
// never 2 for a directory that has subdirectories.
func TestDirLinkCount(t *testing.T) {
	e := newEnv(t)
	e.put("d/s1/f", "x", nil)
	e.put("d/s2/", "", nil)
	e.put("d/f", "x", nil)
	e.put("leaf/f", "x", nil)
	e.mount(Options{})
	if n := statT(t, e.path("d")).Nlink; n != 1 && n != 4 {
		t.Errorf("d before listing: nlink %d, want 1 (unknown) or 4", n)
	}
	getdents(t, e.path("d"))
	getdents(t, e.path("leaf"))
	e.remountKeepNodes()
	_ = e.server.InodeNotify(e.f.inoOf("leaf"), -1, 0)
	if n := statT(t, e.path("d")).Nlink; n != 4 {
		t.Errorf("d after listing: nlink %d, want 4", n)
	}
	if n := statT(t, e.path("leaf")).Nlink; n != 2 {
		t.Errorf("leaf after listing: nlink %d, want 2", n)
	}
	if err := os.Mkdir(e.path("d/s3"), 0o755); err != nil {
		t.Fatal(err)
	}
	if n := statT(t, e.path("d")).Nlink; n != 1 && n != 5 {
		t.Errorf("d after mkdir: nlink %d, want 1 or 5", n)
	}
	getdents(t, e.path("d"))
	e.remountKeepNodes()
	if n := statT(t, e.path("d")).Nlink; n != 5 {
		t.Errorf("d after mkdir and listing: nlink %d, want 5", n)
	}
	if n := statT(t, e.path("d/s1")).Nlink; n == 2 {
		t.Errorf("d/s1 (listing unknown): nlink 2")
	}
}
