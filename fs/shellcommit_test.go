package fs

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/obsfs/obsfs/obsclient/obstest"
)

// waitBody polls until key holds want (a commit at RELEASE lands just after
// close(2) returns) and fails after a generous deadline.
func (e *env) waitBody(key, want string) {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if b, ok := e.body(key); ok && b == want {
			return
		}
		if time.Now().After(deadline) {
			b, ok := e.body(key)
			e.t.Fatalf("%s = %q (present %v), want %q", key, b, ok, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// writeRequests counts the requests that change an object.
func writeRequests(st obstest.Stats) map[string]int64 {
	out := map[string]int64{}
	for _, op := range []string{"PutObject", "AppendObject", "CopyObject", "InitiateMultipartUpload", "SetObjectMetadata", "DeleteObject"} {
		if n := st[op].Requests; n > 0 {
			out[op] = n
		}
	}
	return out
}

// TestShellOverwriteOneCommit: bash and dash open the target, dup2 it onto
// stdout and close the original before writing, so the first FLUSH reaches
// an empty file. Each form is one PUT of the final content and one version,
// new file or overwrite; a redirection that wrote data is committed when the
// shell returns (the close of the written descriptor waits for the commit).
func TestShellOverwriteOneCommit(t *testing.T) {
	e := newEnv(t)
	e.srv.SetVersioning(e.bucket, "Enabled")
	e.mount(Options{})
	src := t.TempDir() + "/src"
	if err := os.WriteFile(src, []byte("from cat\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	forms := []struct{ name, cmd, want string }{
		{"echo", `echo x > "$F"`, "x\n"},
		{"printf", `printf '%s\n' a b > "$F"`, "a\nb\n"},
		{"cmd", `cat "$SRC" > "$F"`, "from cat\n"},
		{"colon", `: > "$F"`, ""},
	}
	for _, sh := range []string{"bash", "dash"} {
		if _, err := exec.LookPath(sh); err != nil {
			t.Logf("no %s", sh)
			continue
		}
		for _, fm := range forms {
			for _, existing := range []bool{false, true} {
				key := fmt.Sprintf("%s-%s-%v", sh, fm.name, existing)
				if existing {
					e.put(key, "old content\n", nil)
				}
				before := len(e.srv.Versions(e.bucket, key))
				e.resetStats()
				cmd := exec.Command(sh, "-c", fm.cmd)
				cmd.Env = append(os.Environ(), "F="+e.path(key), "SRC="+src)
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("%s -c %s: %v\n%s", sh, fm.cmd, err, out)
				}
				if fm.want != "" {
					// Written data: committed before the shell went on.
					if b, ok := e.body(key); !ok || b != fm.want {
						t.Errorf("%s: right after the shell returned the object is %q (present %v), want %q", key, b, ok, fm.want)
					}
				}
				e.waitBody(key, fm.want)
				st := e.settled()
				w := writeRequests(st)
				if w["PutObject"] != 1 || len(w) != 1 {
					t.Errorf("%s: write requests %v, want exactly one PutObject (all: %v)", key, w, st)
				}
				if v := len(e.srv.Versions(e.bucket, key)) - before; v != 1 {
					t.Errorf("%s: %d new versions, want 1", key, v)
				}
			}
		}
	}
}

// TestDupCloseBeforeWrite is the shells' pattern in raw system calls:
// the close of the original descriptor (nothing written through it yet)
// does not commit the empty file; the close of the duplicate that wrote
// returns after the commit; fsync of it too.
func TestDupCloseBeforeWrite(t *testing.T) {
	e := newEnv(t)
	e.mount(Options{})
	for _, useFsync := range []bool{false, true} {
		key := fmt.Sprintf("dup-%v", useFsync)
		e.resetStats()
		fd, err := syscall.Open(e.path(key), syscall.O_WRONLY|syscall.O_CREAT|syscall.O_TRUNC, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		dup, err := syscall.Dup(fd)
		if err != nil {
			t.Fatal(err)
		}
		if err := syscall.Close(fd); err != nil {
			t.Fatalf("close original: %v", err)
		}
		if _, ok := e.srv.Object(e.bucket, key); ok {
			t.Errorf("%s: closing the unwritten original committed the empty file", key)
		}
		if _, err := syscall.Write(dup, []byte("payload")); err != nil {
			t.Fatal(err)
		}
		if useFsync {
			if err := syscall.Fsync(dup); err != nil {
				t.Fatal(err)
			}
			if b, ok := e.body(key); !ok || b != "payload" {
				t.Errorf("%s: after fsync the object is %q (present %v)", key, b, ok)
			}
		}
		if err := syscall.Close(dup); err != nil {
			t.Fatalf("close duplicate: %v", err)
		}
		if b, ok := e.body(key); !ok || b != "payload" {
			t.Errorf("%s: after close the object is %q (present %v)", key, b, ok)
		}
		if n := e.settled()["PutObject"].Requests; n != 1 {
			t.Errorf("%s: %d PUTs, want 1", key, n)
		}
	}
	// Opened with O_TRUNC and closed without a write: the empty object is
	// committed at release (the kernel sends it right after close returns).
	e.put("trunc", "old", nil)
	fd, err := syscall.Open(e.path("trunc"), syscall.O_WRONLY|syscall.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Close(fd); err != nil {
		t.Fatal(err)
	}
	e.waitBody("trunc", "")
	// ftruncate through the descriptor is a write: close commits it.
	e.put("ftrunc", "old", nil)
	fd, err = syscall.Open(e.path("ftrunc"), syscall.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Ftruncate(fd, 1); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Close(fd); err != nil {
		t.Fatal(err)
	}
	if b, ok := e.body("ftrunc"); !ok || b != "o" {
		t.Errorf("after ftruncate+close the object is %q (present %v), want %q", b, ok, "o")
	}
}

// TestMetaAfterDeferredCommit: `cp -a` of an empty file closes it (the
// commit is left to the release, which runs concurrently) and sets its
// times and mode right after; none of it may be lost to the commit.
func TestMetaAfterDeferredCommit(t *testing.T) {
	e := newEnv(t)
	e.mount(Options{})
	old := time.Unix(1000000000, 0)
	const n = 20
	for i := range n {
		p := e.path(fmt.Sprintf("e%02d", i))
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		e.waitBody(fmt.Sprintf("e%02d", i), "")
	}
	e.settled()
	e.remount(Options{})
	for i := range n {
		fi, err := os.Stat(e.path(fmt.Sprintf("e%02d", i)))
		if err != nil {
			t.Fatal(err)
		}
		if !fi.ModTime().Equal(old) || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s after remount: mtime %v mode %v, want %v 0600", fi.Name(), fi.ModTime(), fi.Mode(), old)
		}
	}
}

// TestDeferredCommitRenameUnlink: a file created and closed unwritten is
// committed at its release, which races with what the program does next:
// a rename must leave the object under the new name only, an unlink must
// leave none (posixtest OpenSymlinkRace's shuffler does the first).
func TestDeferredCommitRenameUnlink(t *testing.T) {
	e := newEnv(t)
	e.mount(Options{})
	const n = 300
	want := map[string]bool{}
	for i := range n {
		tmp, dst, gone := e.path(fmt.Sprintf("tmp%03d", i)), fmt.Sprintf("dst%03d", i), e.path(fmt.Sprintf("gone%03d", i))
		for _, p := range []string{tmp, gone} {
			f, err := os.Create(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Rename(tmp, e.path(dst)); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(gone); err != nil {
			t.Fatal(err)
		}
		want[dst] = true
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		e.settled()
		keys := e.srv.Keys(e.bucket, "")
		ok := len(keys) == len(want)
		for _, k := range keys {
			ok = ok && want[k]
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("keys %v, want exactly the %d renamed files", keys, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDeferFlushDecision: a flush skips the commit only for a handle that
// wrote nothing while the file holds what create/O_TRUNC left.
func TestDeferFlushDecision(t *testing.T) {
	f := testFS(t)
	for _, tc := range []struct {
		name                              string
		hasW, dirty, emptied, wrote, gone bool
		want                              bool
	}{
		{"created or truncated, unwritten", true, true, true, false, false, true},
		{"written through this handle", true, true, true, true, false, false},
		{"data written since (by anyone)", true, true, false, false, false, false},
		{"already committed", true, false, true, false, false, false},
		{"no local data", false, false, false, false, false, false},
		{"unlinked", true, true, true, false, true, false},
	} {
		n := &node{fsys: f, deleted: tc.gone}
		if tc.hasW {
			n.w = &writeState{dirty: tc.dirty, emptied: tc.emptied}
		}
		h := &handle{n: n, write: true, wrote: tc.wrote}
		if got := h.deferFlush(); got != tc.want || h.deferred != tc.want {
			t.Errorf("%s: deferFlush = %v (deferred %v), want %v", tc.name, got, h.deferred, tc.want)
		}
	}
	// touchData keeps emptied only while the file stays empty.
	n := &node{fsys: f}
	w := &writeState{emptied: true}
	n.touchData(w, 0)
	if !w.emptied {
		t.Error("a truncate to 0 cleared emptied")
	}
	n.touchData(w, 1)
	if w.emptied {
		t.Error("a write kept emptied")
	}
}

// TestWithTouched: entry changes only ever move a directory's times
// forward.
func TestWithTouched(t *testing.T) {
	t0 := time.Unix(1000, 0)
	a := objAttr{Mtime: t0, Ctime: t0}
	if b := withTouched(a, t0.Add(time.Second)); !b.Mtime.Equal(t0.Add(time.Second)) || !b.Ctime.Equal(t0.Add(time.Second)) {
		t.Errorf("later touch: %v %v", b.Mtime, b.Ctime)
	}
	if b := withTouched(a, t0.Add(-time.Second)); !b.Mtime.Equal(t0) || !b.Ctime.Equal(t0) {
		t.Errorf("earlier touch moved times back: %v %v", b.Mtime, b.Ctime)
	}
	if b := withTouched(a, time.Time{}); !b.Mtime.Equal(t0) {
		t.Errorf("no touch changed mtime: %v", b.Mtime)
	}
}
