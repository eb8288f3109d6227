package fs

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/obsfs/obsfs/obsclient/obstest"
)

// TestCrashJournalRecovers: with a journal directory, what a mount held
// uncommitted (files still open, a file renamed while never committed, a
// chmod folded into unsaved data, a failed close) is committed by the next
// FS on the same directory as if the first had been killed at that point;
// a file unlinked while open is not brought back.
func TestCrashJournalRecovers(t *testing.T) {
	e := newEnv(t)
	jdir := t.TempDir()
	e.mount(Options{JournalDir: jdir})

	open := func(name string) *os.File {
		fh, err := os.Create(e.path(name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = fh.Close() })
		return fh
	}
	a := open("a")
	if _, err := a.Write([]byte("unsaved a")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(e.path("a"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := open("p1")
	if _, err := p.Write([]byte("renamed")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(e.path("p1"), e.path("p2")); err != nil {
		t.Fatal(err)
	}
	g := open("gone")
	if _, err := g.Write([]byte("deleted")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(e.path("gone")); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.InjectFault(obstest.Fault{Op: "PutObject", KeyPrefix: "failed", Kind: obstest.FaultStatus500, Count: -1}); err != nil {
		t.Fatal(err)
	}
	wantErrno(t, "close with failing PUT", os.WriteFile(e.path("failed"), []byte("kept"), 0o644), syscall.EIO)
	e.srv.ClearFaults()
	for _, k := range []string{"a", "p2", "failed"} {
		if _, ok := e.body(k); ok {
			t.Fatalf("%s on the server before the crash", k)
		}
	}

	// The first mount is frozen here, as if killed: a new FS on the same
	// journal directory recovers.
	f2, err := New(e.b, Options{JournalDir: jdir, Logger: zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel))})
	if err != nil {
		t.Fatal(err)
	}
	res, err := f2.Recover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Committed != 3 {
		t.Errorf("recovered %+v, want 3 committed", res)
	}
	for k, want := range map[string]string{"a": "unsaved a", "p2": "renamed", "failed": "kept"} {
		if got, ok := e.body(k); !ok || got != want {
			t.Errorf("%s = %q %v, want %q", k, got, ok, want)
		}
	}
	if info, _ := e.srv.Object(e.bucket, "a"); info.Metadata["mode"] != "33152" {
		t.Errorf("a: mode metadata %q, want 33152 (0600)", info.Metadata["mode"])
	}
	for _, k := range []string{"gone", "p1"} {
		if _, ok := e.body(k); ok {
			t.Errorf("%s brought back by recovery", k)
		}
	}
}

// TestSpoolENOSPCEvictsDiskCache: on a small cache filesystem filled by
// the disk block cache, a write that needs the space gets it (the cache
// gives way); a write beyond the filesystem fails with ENOSPC, the mount
// stays usable, and close commits what the successful writes wrote.
func TestSpoolENOSPCEvictsDiskCache(t *testing.T) {
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	e := newEnv(t)
	big := bytes.Repeat([]byte("0123456789abcdef"), 22<<16) // 22 MiB
	e.put("big", string(big), nil)
	e.mount(Options{CacheDir: dir, DiskCacheSize: 1 << 30, JournalDir: dir + "/journal"})
	if got, err := os.ReadFile(e.path("big")); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("read big: %v", err)
	}
	e.f.disk.Wait()
	if st := e.f.diskc.Stats(); st.Bytes < 18<<20 {
		t.Fatalf("disk cache holds %d bytes, want the tmpfs nearly full", st.Bytes)
	}
	data := bytes.Repeat([]byte("w"), 12<<20)
	if err := os.WriteFile(e.path("fits"), data, 0o644); err != nil {
		t.Fatalf("write needing the cache's space: %v", err)
	}
	if got, _ := e.body("fits"); got != string(data) {
		t.Fatal("fits not committed")
	}
	if e.f.diskc.Stats().Reclaimed == 0 {
		t.Error("no cache bytes reclaimed for the write")
	}

	fh, err := os.Create(e.path("huge"))
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte("h"), 1<<20)
	written, werr := 0, error(nil)
	for written < 64<<20 && werr == nil {
		var n int
		n, werr = fh.Write(chunk)
		written += n
	}
	if !errors.Is(werr, syscall.ENOSPC) {
		t.Fatalf("write beyond the filesystem: %v after %d bytes, want ENOSPC", werr, written)
	}
	if err := fh.Close(); err != nil {
		t.Fatalf("close after ENOSPC: %v", err)
	}
	if got, _ := e.body("huge"); len(got) != written || strings.Trim(got, "h") != "" {
		t.Errorf("huge committed with %d bytes, want the %d written", len(got), written)
	}
	if err := os.WriteFile(e.path("after"), []byte("usable"), 0o644); err != nil {
		t.Fatalf("write after ENOSPC: %v", err)
	}
	if got, err := os.ReadFile(e.path("after")); err != nil || string(got) != "usable" {
		t.Fatalf("read after ENOSPC: %q %v", got, err)
	}
}
