package fs

// Outages seen through a mount (SEMANTICS.md tenets 18, 19, 23): the
// commit path rides out transient failures within the retry budget, a
// commit that still failed is retried in the background, a rename that
// failed part-way leaves this mount agreeing with the bucket, a replaced
// object's ESTALE ends at the next open, and a metadata name no request
// can carry is refused at setxattr.

import (
	"encoding/json"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/obsfs/obsfs/obsclient/obstest"
)

// TestCommitRidesOutOutage: ten SlowDowns in a row (more than the
// client's three retries, ~1 s of backoff before) do not fail close.
func TestCommitRidesOutOutage(t *testing.T) {
	e := newEnv(t)
	e.mount(Options{RetryBudget: time.Minute})
	for _, f := range []obstest.Fault{
		{Op: "PutObject", KeyPrefix: "f", Kind: obstest.FaultSlowDown, Count: 10},
		{Op: "PutObject", KeyPrefix: "f", Kind: obstest.FaultReset, Count: 6},
	} {
		if err := e.srv.InjectFault(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(e.path("f"), []byte("through the blip"), 0o644); err != nil {
		t.Fatalf("close during a blip: %v", err)
	}
	if b, ok := e.body("f"); !ok || b != "through the blip" {
		t.Fatalf("object = %q %v", b, ok)
	}
}

// statsDocT reads the stats control file.
func statsDocT(t *testing.T, e *env) statsDoc {
	t.Helper()
	var d statsDoc
	if err := json.Unmarshal([]byte(mustRead(t, e.path(".obsfs/stats"))), &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestFailedCommitRetriedInBackground: a file whose close failed is
// committed in the background once the server recovers, without another
// close, fsync or unmount; the stats file lists it until then.
func TestFailedCommitRetriedInBackground(t *testing.T) {
	e := newEnv(t)
	e.mount(Options{ControlDir: ".obsfs"}) // no retry budget (test default): close fails at once
	if err := e.srv.InjectFault(obstest.Fault{Op: "PutObject", KeyPrefix: "bg", Kind: obstest.FaultStatus500, Count: -1}); err != nil {
		t.Fatal(err)
	}
	err := os.WriteFile(e.path("bg"), []byte("keep me"), 0o644)
	wantErrno(t, "close with failing PUT", err, syscall.EIO)
	d := statsDocT(t, e)
	if len(d.FailedCommits) != 1 || d.FailedCommits[0].Path != "bg" || d.FailedCommits[0].Attempts < 1 ||
		!strings.Contains(d.FailedCommits[0].LastError, "500") || d.FailedCommits[0].NextRetry.IsZero() {
		t.Fatalf("failed_commits = %+v", d.FailedCommits)
	}
	e.srv.ClearFaults()
	deadline := time.Now().Add(2 * time.Minute) // the first retry is due after ~5 s
	for {
		if b, ok := e.body("bg"); ok {
			if b != "keep me" {
				t.Fatalf("object = %q", b)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the failed commit was not retried in the background")
		}
		time.Sleep(100 * time.Millisecond)
	}
	for start := time.Now(); len(statsDocT(t, e).FailedCommits) != 0; time.Sleep(50 * time.Millisecond) {
		if time.Since(start) > time.Minute {
			t.Fatalf("failed_commits still lists the committed file: %+v", statsDocT(t, e).FailedCommits)
		}
	}
}

// TestRenameDeleteFailedAgrees: a rename whose copy landed but whose
// delete failed reports the error, and then stat agrees with the listing:
// both names exist in the bucket, so both stat (no cached ENOENT of the
// target), and the target reads the data (no ESTALE).
func TestRenameDeleteFailedAgrees(t *testing.T) {
	e := newEnv(t)
	e.put("src", "moving", nil)
	e.mount(Options{StatCacheTTL: time.Hour})
	if _, err := os.Stat(e.path("dst")); !os.IsNotExist(err) {
		t.Fatalf("stat dst before: %v", err) // a cached negative entry now
	}
	if err := e.srv.InjectFault(obstest.Fault{Op: "DeleteObject", KeyPrefix: "src", Kind: obstest.FaultStatus, Status: 403, Code: "AccessDenied", Count: -1}); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(e.path("src"), e.path("dst")); err == nil {
		t.Fatal("rename succeeded although the delete failed")
	}
	e.srv.ClearFaults()
	if _, ok := e.body("dst"); !ok {
		t.Fatal("setup: the copy did not land")
	}
	names := strings.Join(readDirNames(t, e.mnt), " ")
	for _, n := range []string{"src", "dst"} {
		if !strings.Contains(names, n) {
			t.Fatalf("ls = %q, want %s", names, n)
		}
		if got := mustRead(t, e.path(n)); got != "moving" {
			t.Fatalf("%s = %q", n, got)
		}
	}
}

// TestStaleEndsAtNextOpen: after another client replaced a file, the read
// that meets the changed ETag fails with ESTALE (no mixing of versions),
// and the next open sees the new object, although the TTL has not passed.
func TestStaleEndsAtNextOpen(t *testing.T) {
	e := newEnv(t)
	old := strings.Repeat("o", 32<<20)
	e.put("f", old, nil)
	e.mount(Options{StatCacheTTL: time.Hour})
	fh, err := os.Open(e.path("f"))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	if _, err := fh.ReadAt(buf, 0); err != nil {
		t.Fatal(err)
	}
	fh.Close()
	e.put("f", strings.Repeat("n", 32<<20), nil) // another client
	read := func() error {
		fh, err := os.Open(e.path("f"))
		if err != nil {
			return err
		}
		defer fh.Close()
		_, err = fh.ReadAt(buf, 30<<20) // far beyond any readahead of the first read
		return err
	}
	wantErrno(t, "read of the replaced object", read(), syscall.ESTALE)
	if err := read(); err != nil {
		t.Fatalf("the next open still fails: %v", err)
	}
	if buf[0] != 'n' {
		t.Fatalf("read %q, want the new object", buf[:1])
	}
}

// TestSetxattrInvalidNameEINVAL: a user xattr name that is not an HTTP
// token is refused at once, also on a file with unsaved data, and the
// file's commit is not poisoned by it.
func TestSetxattrInvalidNameEINVAL(t *testing.T) {
	e := newEnv(t)
	e.mount(Options{})
	fh, err := os.Create(e.path("x"))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if _, err := fh.Write([]byte("data")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"user.a b", "user.a:b", "user.a\"b"} {
		wantErrno(t, "setxattr "+name, syscall.Setxattr(e.path("x"), name, []byte("v"), 0), syscall.EINVAL)
	}
	if err := syscall.Setxattr(e.path("x"), "user.ok-name_1", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	if err := fh.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if b, ok := e.body("x"); !ok || b != "data" {
		t.Fatalf("object = %q %v", b, ok)
	}
}

// TestAppendNormalObjectConflictESTALE: two writers keep a small normal
// object open with O_APPEND and fsync their lines (a logger on each of two
// mounts); when the other writer's line landed since this one last
// committed, the fsync fails with ESTALE instead of overwriting it with the
// local copy (tenet 39), and the object keeps the other writer's line.
func TestAppendNormalObjectConflictESTALE(t *testing.T) {
	e := newEnv(t)
	e.put("log", "a\n", nil)
	e.mount(Options{StatCacheTTL: time.Hour})
	fh, err := os.OpenFile(e.path("log"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if _, err := fh.Write([]byte("c\n")); err != nil {
		t.Fatal(err)
	}
	if err := fh.Sync(); err != nil {
		t.Fatal(err)
	}
	mine, _ := e.body("log")
	e.put("log", mine+"b\n", nil) // the other mount's append
	if _, err := fh.Write([]byte("d\n")); err != nil {
		t.Fatal(err)
	}
	wantErrno(t, "fsync of a conflicting append", fh.Sync(), syscall.ESTALE)
	if b, _ := e.body("log"); b != "a\nc\nb\n" {
		t.Fatalf("object = %q: the other writer's line was overwritten", b)
	}
}
