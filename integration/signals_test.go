package integration

// Signals that a program handles and survives (SIGURG is what the Go
// runtime itself uses to preempt goroutines; shells get SIGCHLD, terminals
// SIGWINCH) interrupt a close() blocked in the upload. The kernel then sends
// FUSE_INTERRUPT; obsfs must not turn that into a failed close (EINTR): the
// program did nothing wrong and close is never retried.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestCloseSurvivesHarmlessSignals(t *testing.T) {
	e := newEnv(t)
	m := e.Mount(t)
	data := content("sig", 2*MiB)

	runtime.LockOSThread() // the writes run on this thread, which gets the signals
	defer runtime.UnlockOSThread()
	tid := syscall.Gettid()
	var stop atomic.Bool
	done := make(chan struct{})
	go func() { // SIGURG to the writing thread every 50µs: the Go runtime ignores it
		defer close(done)
		for !stop.Load() {
			_ = syscall.Tgkill(os.Getpid(), tid, syscall.SIGURG)
			time.Sleep(50 * time.Microsecond)
		}
	}()
	var failures []error
	for i := range 40 {
		if err := os.WriteFile(m.Path("f"+strconv.Itoa(i)), data, 0o644); err != nil {
			failures = append(failures, err)
		}
	}
	stop.Store(true)
	<-done
	if len(failures) > 0 {
		t.Errorf("%d of 40 writes of 2 MiB failed while the writer received harmless signals; first: %v", len(failures), failures[0])
	}
}

// TestNamespaceOpsSurviveTimerSignals runs testdata/sigops.c: 1,000 raw
// mkdir/rmdir/rename/symlink/unlink/open(O_CREAT)/chmod/setxattr calls under
// a 1 kHz setitimer whose SIGALRM handler has SA_RESTART, as a profiled
// program or a runtime with a timer does. A FUSE request answered EINTR is
// not restarted by the kernel, so every EINTR reaches the program, which
// (like most) does not retry it. None may: an operation with a server-side
// effect runs to completion once started. After every call the program
// compares the mount with a second mount of the same bucket that caches
// nothing: whatever a call returned, the mount must show what the bucket
// holds.
func TestNamespaceOpsSurviveTimerSignals(t *testing.T) {
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler (cc): .ci/run installs gcc")
	}
	prog := filepath.Join(t.TempDir(), "sigops")
	if out, err := exec.Command(cc, "-O2", "-Wall", "-o", prog, "testdata/sigops.c").CombinedOutput(); err != nil {
		t.Fatalf("cc sigops.c: %v\n%s", err, out)
	}
	e := newEnv(t)
	m := e.Mount(t)
	bucket := e.Mount(t, "stat_cache_expire=0")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute) // ~1 min alone; slow under a loaded make test
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, m.Dir, bucket.Dir, "1000", "1") // SIGOPS_TRACE=1 logs each call
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	t.Logf("sigops: %s\n%s", strings.TrimSpace(stderr.String()), out)
	if err != nil {
		t.Fatalf("sigops: %v", err)
	}
	var ops, eintr, disagree, diverged, alarms int
	last := string(out[bytes.LastIndex(bytes.TrimSpace(out), []byte("\n"))+1:])
	if _, err := fmt.Sscanf(last, "ops=%d eintr=%d disagree=%d diverged=%d alarms=%d",
		&ops, &eintr, &disagree, &diverged, &alarms); err != nil {
		t.Fatalf("sigops summary %q: %v", last, err)
	}
	if alarms < ops {
		// The timer must really have interrupted the calls, or the test
		// proves nothing.
		t.Fatalf("only %d SIGALRMs during %d operations", alarms, ops)
	}
	if eintr != 0 || disagree != 0 {
		t.Errorf("%d operations under a 1 kHz SA_RESTART timer: %d EINTR, mount and bucket disagreed after %d steps (%d divergences)",
			ops, eintr, disagree, diverged)
	}
}
