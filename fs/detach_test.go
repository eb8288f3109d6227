package fs

import (
	"context"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/obsfs/obsfs/obsclient/obstest"
)

// interrupted is the context of a FUSE request whose caller got a signal:
// go-fuse closes Cancel on FUSE_INTERRUPT.
func interrupted() context.Context {
	c := make(chan struct{})
	close(c)
	return &fuse.Context{Cancel: c}
}

// childNode returns the node the kernel looked up for name under the root.
func (e *env) childNode(name string) *node {
	e.t.Helper()
	if _, err := os.Lstat(e.path(name)); err != nil {
		e.t.Fatal(err)
	}
	ci := e.f.root.GetChild(name)
	if ci == nil {
		e.t.Fatalf("%s: no node", name)
	}
	return ci.Operations().(*node)
}

// TestMutationsRunToCompletionWhenInterrupted calls every operation with a
// server-side effect with the context of an interrupted request: each runs
// to completion and reports success, and the bucket holds the change (before
// detach.go, the first request failed at once and the call answered EINTR).
func TestMutationsRunToCompletionWhenInterrupted(t *testing.T) {
	e := newEnv(t)
	e.mount(Options{})
	mustWrite(t, e.path("f"), "data")
	mustWrite(t, e.path("h"), "data")
	root := e.f.root
	var out fuse.EntryOut
	has := func(key string) bool { _, ok := e.srv.Object(e.bucket, key); return ok }
	check := func(op string, en syscall.Errno, ok bool) {
		t.Helper()
		if en != 0 || !ok {
			t.Errorf("%s interrupted: errno %v, bucket changed: %v", op, en, ok)
		}
	}

	_, en := root.Mkdir(interrupted(), "d", 0o755, &out)
	check("mkdir", en, has("d/"))
	_, en = root.Symlink(interrupted(), "target", "l", &out)
	check("symlink", en, has("l"))
	en = root.Rename(interrupted(), "f", root, "g", 0)
	check("rename", en, has("g") && !has("f"))

	h := e.childNode("h")
	var aout fuse.AttrOut
	en = h.Setattr(interrupted(), nil, &fuse.SetAttrIn{SetAttrInCommon: fuse.SetAttrInCommon{Valid: fuse.FATTR_MODE, Mode: 0o600}}, &aout)
	info, _ := e.srv.Object(e.bucket, "h")
	check("chmod", en, info.Metadata["mode"] == "33152")
	en = h.Setxattr(interrupted(), "user.k", []byte("v"), 0)
	info, _ = e.srv.Object(e.bucket, "h")
	check("setxattr", en, info.Metadata["k"] == "v")
	en = h.Removexattr(interrupted(), "user.k")
	info, _ = e.srv.Object(e.bucket, "h")
	check("removexattr", en, info.Metadata["k"] == "")
	en = h.Setattr(interrupted(), nil, &fuse.SetAttrIn{SetAttrInCommon: fuse.SetAttrInCommon{Valid: fuse.FATTR_SIZE, Size: 2}}, &aout)
	b, _ := e.body("h")
	check("truncate", en, b == "da")

	ci, fh, _, en := root.Create(interrupted(), "c", syscall.O_WRONLY, 0o644, &out)
	if en == 0 {
		root.AddChild("c", ci, true) // what go-fuse does with a created node
		en = fh.(gofs.FileFlusher).Flush(interrupted())
		fh.(gofs.FileReleaser).Release(interrupted())
	}
	check("create+close", en, has("c"))

	en = root.Unlink(interrupted(), "h")
	check("unlink", en, !has("h"))
	en = root.Rmdir(interrupted(), "d")
	check("rmdir", en, !has("d/"))
}

// eventually polls cond for up to 10 s (the kernel learns of an uncertain
// outcome by a notification sent right after the call answers).
func eventually(cond func() bool) bool {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// TestFailedRequestsLeaveViewEqualToBucket: when the server did the work but
// the answer was lost (every attempt), the call fails with EIO, and the
// mount then shows what the bucket holds, not what it knew before the call
// (a negative or positive entry cached for the TTL).
func TestFailedRequestsLeaveViewEqualToBucket(t *testing.T) {
	e := newEnv(t)
	e.mount(Options{})
	mustWrite(t, e.path("f"), "x")
	mustWrite(t, e.path("a"), "x")
	for _, name := range []string{"f", "a", "b", "d"} { // cached: present, absent
		_, _ = os.Lstat(e.path(name))
	}
	fault := func(op, key string, kind obstest.FaultKind) {
		t.Helper()
		e.srv.ClearFaults()
		if err := e.srv.InjectFault(obstest.Fault{Op: op, KeyPrefix: key, Kind: kind, Count: -1}); err != nil {
			t.Fatal(err)
		}
	}
	exists := func(name string) bool { _, err := os.Lstat(e.path(name)); return err == nil }

	fault("DeleteObject", "f", obstest.FaultResetAfter)
	if err := syscall.Unlink(e.path("f")); !errors.Is(err, syscall.EIO) { // os.Remove would try rmdir next
		t.Fatalf("unlink with lost answers: %v", err)
	}
	if !eventually(func() bool { return !exists("f") }) {
		t.Error("unlink: the bucket has no f, the mount still shows it")
	}

	fault("PutObject", "d/", obstest.FaultResetAfter)
	if err := os.Mkdir(e.path("d"), 0o755); !errors.Is(err, syscall.EIO) {
		t.Fatalf("mkdir with lost answers: %v", err)
	}
	if !eventually(func() bool { return exists("d") }) {
		t.Error("mkdir: the bucket has d/, the mount does not show d")
	}

	fault("DeleteObject", "a", obstest.FaultStatus500) // the copy lands, the delete fails
	if err := os.Rename(e.path("a"), e.path("b")); !errors.Is(err, syscall.EIO) {
		t.Fatalf("rename with a failing delete: %v", err)
	}
	if !eventually(func() bool { return exists("a") && exists("b") }) {
		t.Errorf("rename: the bucket has a and b, the mount shows a=%v b=%v", exists("a"), exists("b"))
	}
	e.srv.ClearFaults()
}

// TestSymlinkTargetFollowsObject: a symlink replaced by another client shows
// its new target once the attributes are revalidated (the node kept the old
// target for its lifetime).
func TestSymlinkTargetFollowsObject(t *testing.T) {
	e := newEnv(t)
	e.mount(Options{NoStatCache: true})
	if err := os.Symlink("old", e.path("l")); err != nil {
		t.Fatal(err)
	}
	if got, err := os.Readlink(e.path("l")); err != nil || got != "old" {
		t.Fatalf("readlink = %q %v", got, err)
	}
	info, _ := e.srv.Object(e.bucket, "l")
	e.put("l", "new", info.Metadata)
	if got, err := os.Readlink(e.path("l")); err != nil || got != "new" {
		t.Errorf("readlink after another client replaced the symlink = %q %v, want new", got, err)
	}
}

// TestLongNamesRefused: a name over 255 bytes, or a key over 1,024 bytes,
// is ENAMETOOLONG from every call that would create it and from lookup,
// and nothing reaches the bucket; a key of exactly 1,024 bytes is a
// valid file.
func TestLongNamesRefused(t *testing.T) {
	e := newEnv(t)
	e.mount(Options{})
	long := strings.Repeat("n", 256)
	if err := os.Mkdir(e.path("d"), 0o755); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, e.path("d/f"), "x")
	before := e.srv.Stats()
	for op, call := range map[string]func() error{
		"create":  func() error { return os.WriteFile(e.path("d/"+long), nil, 0o644) },
		"mkdir":   func() error { return os.Mkdir(e.path("d/"+long), 0o755) },
		"mknod":   func() error { return syscall.Mknod(e.path("d/"+long), syscall.S_IFREG|0o644, 0) },
		"symlink": func() error { return os.Symlink("t", e.path("d/"+long)) },
		"rename":  func() error { return os.Rename(e.path("d/f"), e.path("d/"+long)) },
		"link":    func() error { return os.Link(e.path("d/f"), e.path("d/"+long)) },
		"lookup":  func() error { _, err := os.Lstat(e.path("d/" + long)); return err },
	} {
		if err := call(); !errors.Is(err, syscall.ENAMETOOLONG) {
			t.Errorf("%s of a 256-byte name: %v, want ENAMETOOLONG", op, errnoIn(err))
		}
	}
	for op, n := range e.srv.Stats() {
		if strings.Contains(op, "Put") || strings.Contains(op, "Copy") || strings.Contains(op, "Delete") {
			if n.Requests != before[op].Requests {
				t.Errorf("%s sent for a refused name (%d)", op, n.Requests-before[op].Requests)
			}
		}
	}
	if names := readDirNames(t, e.path("d")); len(names) != 1 {
		t.Errorf("ls d = %v", names)
	}
	if err := os.RemoveAll(e.path("d")); err != nil {
		t.Errorf("rm -rf d: %v", err)
	}

	// A key of exactly 1,024 bytes: visible and creatable; its directory
	// (marker 1,025 bytes) is not.
	dir := strings.Repeat(strings.Repeat("s", 200)+"/", 5) // 1,005 bytes
	key := dir + strings.Repeat("k", 1024-len(dir))
	e.put(key, "outside", nil)
	if b, err := os.ReadFile(e.path(key)); err != nil || string(b) != "outside" {
		t.Errorf("read of a 1,024-byte key: %q %v", b, errnoIn(err))
	}
	mine := dir + strings.Repeat("m", 1024-len(dir))
	if err := os.WriteFile(e.path(mine), []byte("mine"), 0o644); err != nil {
		t.Errorf("create of a 1,024-byte key: %v", errnoIn(err))
	}
	if b, ok := e.body(mine); !ok || b != "mine" {
		t.Errorf("create of a 1,024-byte key: bucket has %q %v", b, ok)
	}
	if err := os.Mkdir(e.path(dir+strings.Repeat("D", 1024-len(dir))), 0o755); !errors.Is(err, syscall.ENAMETOOLONG) {
		t.Errorf("mkdir with a 1,025-byte marker: %v", errnoIn(err))
	}
	if err := os.WriteFile(e.path(mine+"x"), nil, 0o644); !errors.Is(err, syscall.ENAMETOOLONG) {
		t.Errorf("create of a 1,025-byte key: %v", errnoIn(err))
	}
}

// errnoIn is the errno in err's chain (the paths here are too long to print).
func errnoIn(err error) error {
	var en syscall.Errno
	if errors.As(err, &en) {
		return en
	}
	return err
}

// TestPatientContextOutlastsInterrupt: lookup and getattr keep waiting for
// the server after an interrupt (the mkdir or rename the lookup belongs to
// must not fail with EINTR), and give up once the grace has passed.
func TestPatientContextOutlastsInterrupt(t *testing.T) {
	cancel := make(chan struct{})
	ctx, release := patient(&fuse.Context{Cancel: cancel})
	defer release()
	close(cancel)
	if ctx.Err() != nil {
		t.Fatal("patient context ended with the interrupt")
	}
	select {
	case <-ctx.Done():
	case <-time.After(30 * interruptGrace):
		t.Fatal("patient context outlived its grace")
	}
	ctx2, release2 := patient(&fuse.Context{Cancel: make(chan struct{})})
	release2()
	if ctx2.Err() == nil {
		t.Error("release did not end the context")
	}
}
