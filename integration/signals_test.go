package integration

// Signals that a program handles and survives (SIGURG is what the Go
// runtime itself uses to preempt goroutines; shells get SIGCHLD, terminals
// SIGWINCH) interrupt a close() blocked in the upload. The kernel then sends
// FUSE_INTERRUPT; obsfs must not turn that into a failed close (EINTR): the
// program did nothing wrong and close is never retried.

import (
	"os"
	"runtime"
	"strconv"
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
