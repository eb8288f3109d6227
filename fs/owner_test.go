package fs

import (
	"os"
	"syscall"
	"testing"
)

// TestUIDOptionKeepsMetadataOwner: Options.UID/GID are the owner of objects
// without uid/gid metadata only; an object whose metadata says uid 0 keeps
// owner 0, and so does a file root creates through the mount.
func TestUIDOptionKeepsMetadataOwner(t *testing.T) {
	e := newEnv(t)
	e.put("root-file", "r", map[string]string{"uid": "0", "gid": "0", "mode": "33152"}) // S_IFREG|0600
	e.put("other-file", "o", map[string]string{"uid": "7", "gid": "8", "mode": "33188"})
	e.put("plain", "p", nil)
	e.mount(Options{UID: 42, GID: 43})
	owner := func(rel string) (uint32, uint32) {
		t.Helper()
		var st syscall.Stat_t
		if err := syscall.Lstat(e.path(rel), &st); err != nil {
			t.Fatal(err)
		}
		return st.Uid, st.Gid
	}
	for _, c := range []struct {
		rel      string
		uid, gid uint32
	}{{"root-file", 0, 0}, {"other-file", 7, 8}, {"plain", 42, 43}} {
		if u, g := owner(c.rel); u != c.uid || g != c.gid {
			t.Errorf("%s: owner %d:%d, want %d:%d", c.rel, u, g, c.uid, c.gid)
		}
	}
	if os.Geteuid() == 0 {
		if err := os.WriteFile(e.path("made-by-root"), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if u, g := owner("made-by-root"); u != 0 || g != 0 {
			t.Errorf("a file root created shows owner %d:%d", u, g)
		}
	}
}
