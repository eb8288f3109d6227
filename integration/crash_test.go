package integration

// Crashes and full disks (issue 12 items 2 and 3): obsfs killed with -9
// while files are open for writing, or after a close that failed, loses
// nothing: the next mount with the same cache directory commits it; a
// changed object is kept and ours goes beside it; no multipart upload is
// left; two mounts cannot share a cache directory; a small tmpfs cache
// directory full of read cache gives way to a write, and a write beyond it
// fails with ENOSPC without breaking the mount.

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/obsfs/obsfs/obsclient"
	"github.com/obsfs/obsfs/obsclient/obstest"
)

func randData(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed+1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	return b
}

// crash kills obsfs with SIGKILL and leaves its dead mount behind, as an
// OOM kill does.
func (m *Mount) crash() {
	m.t.Helper()
	_ = m.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-m.exited:
	case <-time.After(unmountTimeout):
		m.t.Fatalf("obsfs did not die")
	}
	m.mounted = false
}

// restartAfterCrash starts obsfs again on the dead mount crash left and
// waits until the new mount is the live one (obsfs detaches the dead one
// itself, then recovers, then mounts).
func (m *Mount) restartAfterCrash() {
	m.t.Helper()
	m.start()
	deadline := time.Now().Add(mountTimeout)
	for {
		var st syscall.Statfs_t
		err := syscall.Statfs(m.Dir, &st) // stat may come from the dead mount's cache
		if err == nil && isMountpoint(m.Dir) {
			return
		}
		select {
		case <-m.exited:
			m.mounted = false
			m.t.Fatalf("obsfs exited after the crash instead of mounting:\n%s", tail(m.log, 20))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("no live mount after the crash (%v):\n%s", err, tail(m.log, 20))
		}
	}
}

// openUploads lists the multipart uploads in progress, through the client.
func openUploads(t *testing.T, e *Env) []string {
	t.Helper()
	res, err := e.Client(t).ListMultipartUploads(context.Background(), obsclient.ListUploadsOptions{})
	if err != nil {
		t.Fatalf("list uploads: %v", err)
	}
	var out []string
	for _, u := range res.Uploads {
		out = append(out, u.Key+" "+u.UploadID)
	}
	return out
}

func body(t *testing.T, e *Env, key string) []byte {
	t.Helper()
	b, err := e.Srv.ObjectBody(e.Bucket, key)
	if err != nil {
		t.Fatalf("object %s: %v", key, err)
	}
	return b
}

// TestCrashUnclosedWritesRecovered: files open for writing when obsfs is
// killed (a new small file, a new 24 MiB file streaming its parts, an edit
// in the middle of an existing object, a chmod'ed file) are committed
// byte-exact by the next mount on the same cache directory, which also
// detaches the dead mount itself; no multipart upload is left. A file
// whose object another client changed meanwhile is kept beside it.
func TestCrashUnclosedWritesRecovered(t *testing.T) {
	e := newEnv(t)
	cache := t.TempDir()
	base := randData(1, 3<<20)
	if _, err := e.Srv.PutObject(e.Bucket, "edit.bin", base, obstest.ObjectInfo{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Srv.PutObject(e.Bucket, "theirs.txt", []byte("old"), obstest.ObjectInfo{}); err != nil {
		t.Fatal(err)
	}
	m := e.Mount(t, "use_cache="+cache)

	small := []byte("written, never closed\n")
	big := randData(2, 24<<20)
	patch := randData(3, 5000)
	wantEdit := bytes.Clone(base)
	copy(wantEdit[1<<20+3:], patch)

	var open []*os.File
	create := func(name string, data []byte, mode os.FileMode) {
		f, err := os.OpenFile(m.Path(name), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
		if err != nil {
			t.Fatal(err)
		}
		for off := 0; off < len(data); off += 1 << 20 {
			if _, err := f.Write(data[off:min(off+1<<20, len(data))]); err != nil {
				t.Fatal(err)
			}
		}
		open = append(open, f)
	}
	create("small.txt", small, 0o640)
	create("dir-less-big.bin", big, 0o644)
	create("conflict.txt", []byte("ours"), 0o644)
	ef, err := os.OpenFile(m.Path("edit.bin"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ef.WriteAt(patch, 1<<20+3); err != nil {
		t.Fatal(err)
	}
	open = append(open, ef)
	tf, err := os.OpenFile(m.Path("theirs.txt"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tf.WriteAt([]byte("OURS"), 0); err != nil {
		t.Fatal(err)
	}
	open = append(open, tf)
	if err := os.Chmod(m.Path("small.txt"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The big file streams its full parts while written: an upload is open.
	deadline := time.Now().Add(30 * time.Second)
	for len(openUploads(t, e)) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if len(openUploads(t, e)) == 0 {
		t.Fatal("no streaming upload in progress before the crash")
	}

	m.crash()
	for _, f := range open {
		_ = f.Close() // ENOTCONN: the server is gone
	}
	for _, k := range []string{"small.txt", "dir-less-big.bin", "conflict.txt"} {
		if _, ok := e.Srv.Object(e.Bucket, k); ok {
			t.Fatalf("%s committed before the crash", k)
		}
	}
	// Another client writes where we had unsaved data.
	if _, err := e.Srv.PutObject(e.Bucket, "conflict.txt", []byte("another writer"), obstest.ObjectInfo{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Srv.PutObject(e.Bucket, "theirs.txt", []byte("new from another writer"), obstest.ObjectInfo{}); err != nil {
		t.Fatal(err)
	}

	m.restartAfterCrash() // same directory (a dead mount) and cache directory
	if !bytes.Equal(body(t, e, "small.txt"), small) {
		t.Errorf("small.txt not recovered byte-exact")
	}
	info, _ := e.Srv.Object(e.Bucket, "small.txt")
	if info.Metadata["mode"] == "" || !strings.HasSuffix(info.Metadata["mode"], "33152") { // S_IFREG|0600
		t.Errorf("small.txt metadata %v: want mode 0600 kept", info.Metadata)
	}
	if !bytes.Equal(body(t, e, "dir-less-big.bin"), big) {
		t.Errorf("the streaming file not recovered byte-exact")
	}
	if !bytes.Equal(body(t, e, "edit.bin"), wantEdit) {
		t.Errorf("edit.bin not recovered byte-exact")
	}
	if got := body(t, e, "conflict.txt"); string(got) != "another writer" {
		t.Errorf("conflict.txt = %q: another writer's object overwritten", got)
	}
	if got := body(t, e, "theirs.txt"); string(got) != "new from another writer" {
		t.Errorf("theirs.txt = %q: another writer's object overwritten", got)
	}
	kept := map[string]string{}
	for _, k := range e.Srv.Keys(e.Bucket, "") {
		if i := strings.Index(k, ".obsfs-recovered-"); i > 0 {
			kept[k[:i]] = string(body(t, e, k))
		}
	}
	if kept["conflict.txt"] != "ours" || !strings.HasPrefix(kept["theirs.txt"], "OURS") {
		t.Errorf("conflicting files not kept beside: %q", kept)
	}
	if u := openUploads(t, e); len(u) != 0 {
		t.Errorf("multipart uploads left: %v", u)
	}
	// The mount works and sees the recovered files.
	if got, err := os.ReadFile(m.Path("small.txt")); err != nil || !bytes.Equal(got, small) {
		t.Errorf("read through the new mount: %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(cache, "journal")); len(ents) != 0 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("journal not emptied: %v", names)
	}
}

// TestCrashAfterFailedClose: a close that failed (the server refuses the
// upload) keeps the data; obsfs then killed; the next mount, with the
// server accepting again, commits it. Also without use_cache (the default
// journal directory under $TMPDIR).
func TestCrashAfterFailedClose(t *testing.T) {
	for _, withCache := range []bool{true, false} {
		name := "default-dir"
		if withCache {
			name = "use_cache"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			var opts []string
			if withCache {
				opts = append(opts, "use_cache="+t.TempDir())
			}
			m := e.Mount(t, opts...)
			data := randData(5, 10<<20+123) // multipart
			for _, op := range []string{"PutObject", "InitiateMultipartUpload", "UploadPart"} {
				if err := e.Srv.InjectFault(obstest.Fault{Op: op, Count: -1, Kind: obstest.FaultStatus, Status: 403, Code: "AccessDenied"}); err != nil {
					t.Fatal(err)
				}
			}
			err := os.WriteFile(m.Path("refused.bin"), data, 0o644)
			if err == nil {
				t.Fatal("close succeeded although the server refuses uploads")
			}
			m.crash()
			e.Srv.ClearFaults()
			m.restartAfterCrash()
			if got := body(t, e, "refused.bin"); !bytes.Equal(got, data) {
				t.Errorf("refused.bin: %d bytes, want %d byte-exact", len(got), len(data))
			}
			if u := openUploads(t, e); len(u) != 0 {
				t.Errorf("multipart uploads left: %v", u)
			}
		})
	}
}

// TestCacheDirLocked: a second mount on the same use_cache directory fails
// with one clear line and exit code 9; the first keeps working.
func TestCacheDirLocked(t *testing.T) {
	e := newEnv(t)
	cache := t.TempDir()
	m := e.Mount(t, "use_cache="+cache)
	second := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, obsfsBin(), e.Bucket, second, "-o", e.Options("use_cache="+cache), "-f")
	out, err := cmd.CombinedOutput()
	if isMountpoint(second) {
		_ = unmount(second)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 9 || !strings.Contains(string(out), "in use by another obsfs mount") {
		t.Fatalf("second mount on the same cache dir: %v, output %q", err, out)
	}
	if err := os.WriteFile(m.Path("ok.txt"), []byte("ok"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestFullCacheDisk: a 64 MiB tmpfs as cache directory, filled by the disk
// read cache, still takes a 24 MiB write (the cache gives way); a write
// larger than the tmpfs fails with ENOSPC, the mount stays usable, and the
// close commits what the successful writes wrote.
func TestFullCacheDisk(t *testing.T) {
	e := newEnv(t)
	requireFUSE(t)
	cache := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", cache).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", cache).Run() })
	big := randData(7, 60<<20)
	if _, err := e.Srv.PutObject(e.Bucket, "big.bin", big, obstest.ObjectInfo{}); err != nil {
		t.Fatal(err)
	}
	m := e.Mount(t, "use_cache="+cache)
	got, err := os.ReadFile(m.Path("big.bin"))
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("read big.bin: %v", err)
	}
	// Wait for the read cache to fill the disk (written in the background).
	var st syscall.Statfs_t
	deadline := time.Now().Add(60 * time.Second)
	for {
		if err := syscall.Statfs(cache, &st); err != nil {
			t.Fatal(err)
		}
		if int64(st.Bavail)*st.Bsize < 12<<20 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	free := int64(st.Bavail) * st.Bsize
	t.Logf("free on the cache tmpfs after reading: %d KiB", free>>10)
	if free >= 12<<20 {
		t.Fatalf("the read cache did not fill the disk (%d KiB free)", free>>10)
	}

	data := randData(8, 24<<20)
	if err := os.WriteFile(m.Path("fits.bin"), data, 0o644); err != nil {
		t.Fatalf("write needing the cache's space: %v", err)
	}
	if !bytes.Equal(body(t, e, "fits.bin"), data) {
		t.Fatal("fits.bin not committed byte-exact")
	}

	// Beyond the tmpfs: ENOSPC on write, not a broken mount.
	f, err := os.Create(m.Path("toolarge.bin"))
	if err != nil {
		t.Fatal(err)
	}
	chunk := randData(9, 1<<20)
	var written int
	var werr error
	for written < 100<<20 {
		n, err := f.Write(chunk)
		written += n
		if err != nil {
			werr = err
			break
		}
	}
	if !errors.Is(werr, syscall.ENOSPC) {
		t.Fatalf("write beyond the cache disk: %v after %d MiB, want ENOSPC", werr, written>>20)
	}
	t.Logf("ENOSPC after %d bytes", written)
	if err := f.Close(); err != nil {
		t.Fatalf("close after ENOSPC: %v", err)
	}
	if got := body(t, e, "toolarge.bin"); len(got) != written {
		t.Errorf("toolarge.bin committed with %d bytes, want the %d written", len(got), written)
	}
	// The mount stays usable: reads, listings, new writes.
	if err := os.WriteFile(m.Path("after.txt"), []byte("still works"), 0o644); err != nil {
		t.Fatalf("write after ENOSPC: %v", err)
	}
	if b, err := os.ReadFile(m.Path("after.txt")); err != nil || string(b) != "still works" {
		t.Fatalf("read after ENOSPC: %q %v", b, err)
	}
	if _, err := os.ReadDir(m.Dir); err != nil {
		t.Fatal(err)
	}
}
