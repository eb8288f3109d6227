package integration

// What survives an unmount and a fresh mount: everything lives in the
// bucket, so modes, owners, mtimes and symlinks must come back as set.

import (
	"os"
	"syscall"
	"testing"
	"time"
)

// attrs is what the remount test compares.
type attrs struct {
	Mode     os.FileMode
	UID, GID uint32
	Mtime    int64 // seconds
	Size     int64
	Target   string
}

func lstatAttrs(t *testing.T, p string) attrs {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatalf("lstat: %v", err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	a := attrs{Mode: fi.Mode(), UID: st.Uid, GID: st.Gid, Mtime: fi.ModTime().Unix(), Size: fi.Size()}
	if fi.Mode()&os.ModeSymlink != 0 {
		a.Target, _ = os.Readlink(p)
		a.Size = 0
	}
	if fi.IsDir() {
		a.Size = 0
	}
	return a
}

func TestRemountKeepsAttributes(t *testing.T) {
	e := newEnv(t)
	m := e.Mount(t)
	when := time.Date(2001, 2, 3, 4, 5, 6, 700_000_000, time.UTC)

	must(t, os.Mkdir(m.Path("d"), 0o755))
	must(t, os.WriteFile(m.Path("d", "exec"), []byte("#!/bin/sh\n"), 0o644))
	must(t, os.WriteFile(m.Path("d", "plain"), []byte("plain"), 0o644))
	must(t, os.WriteFile(m.Path("empty"), nil, 0o644))
	must(t, os.Symlink("target with space/and ünï", m.Path("d", "link")))
	must(t, os.Symlink("nowhere", m.Path("dangling")))
	must(t, os.Mkdir(m.Path("d", "sub"), 0o755))

	must(t, os.Chmod(m.Path("d", "exec"), 0o751))
	must(t, os.Chown(m.Path("d", "exec"), 1234, 5678))
	must(t, os.Chmod(m.Path("d", "plain"), 0o600))
	must(t, os.Chmod(m.Path("empty"), os.ModeSetuid|0o755)) // setuid survives too
	must(t, os.Chmod(m.Path("d", "sub"), 0o710))
	must(t, os.Chown(m.Path("d", "sub"), 42, 43))
	must(t, os.Lchown(m.Path("d", "link"), 7, 8))
	for i, p := range []string{"d/exec", "d/plain", "empty", "d/link", "d/sub", "d"} {
		must(t, lutimes(m.Path(p), when.Add(time.Duration(i)*time.Hour)))
	}

	paths := []string{"d", "d/exec", "d/plain", "empty", "d/link", "dangling", "d/sub"}
	before := map[string]attrs{}
	for _, p := range paths {
		before[p] = lstatAttrs(t, m.Path(p))
	}
	checkOwnWork(t, before)
	m.Remount()
	for _, p := range paths {
		if got := lstatAttrs(t, m.Path(p)); got != before[p] {
			t.Errorf("%s after remount: %+v, before %+v", p, got, before[p])
		}
	}
}

// checkOwnWork asserts the attributes were applied on the first mount.
func checkOwnWork(t *testing.T, a map[string]attrs) {
	t.Helper()
	want := map[string]attrs{
		"d/exec":  {Mode: 0o751, UID: 1234, GID: 5678},
		"d/plain": {Mode: 0o600},
		"empty":   {Mode: 0o755 | os.ModeSetuid},
		"d/sub":   {Mode: os.ModeDir | 0o710, UID: 42, GID: 43},
	}
	for p, w := range want {
		if got := a[p]; got.Mode != w.Mode || got.UID != w.UID || got.GID != w.GID {
			t.Errorf("%s on the first mount: mode %v uid %d gid %d, want %v %d %d", p, got.Mode, got.UID, got.GID, w.Mode, w.UID, w.GID)
		}
	}
	if a["d/link"].Target != "target with space/and ünï" || a["d/link"].UID != 7 {
		t.Errorf("d/link on the first mount: %+v", a["d/link"])
	}
	if got := time.Unix(a["d/exec"].Mtime, 0).UTC(); got.Year() != 2001 {
		t.Errorf("d/exec mtime on the first mount: %v, want 2001-02-03", got)
	}
}
