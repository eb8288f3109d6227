package fs

import (
	"os"
	"sort"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hanwen/go-fuse/v2/posixtest"
)

// posixSkip lists the posixtest cases obsfs does not pass, and why.
var posixSkip = map[string]string{
	// Hard links are not supported: link(2) returns ENOTSUP (SEMANTICS.md).
	"Link":             "hard links not supported",
	"LinkUnlinkRename": "hard links not supported",
	// POSIX locks are not forwarded to obsfs (no EnableLocks): the kernel
	// keeps them, per machine, with process-owned semantics. This case
	// expects two descriptors of one process to conflict, as the OFD-style
	// locks of go-fuse's loopback do.
	"FcntlFlockLocksFile": "file locks are local to the kernel, process-owned",
	// O_TMPFILE: no NodeTmpfiler; the kernel gets EOPNOTSUPP (the case
	// would skip itself).
	"Tmpfile": "O_TMPFILE not supported",
	// All metadata of an object is limited to 8 KB by OBS; a larger value
	// gets E2BIG (the case would skip itself).
	"XAttrLarge": "xattrs limited to 8 KB of object metadata",
}

// TestPosix runs go-fuse's posixtest suite, each case on a fresh mount of
// an empty bucket.
func TestPosix(t *testing.T) {
	names := make([]string, 0, len(posixtest.All))
	for n := range posixtest.All {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		fn := posixtest.All[name]
		t.Run(name, func(t *testing.T) {
			if why, ok := posixSkip[name]; ok && os.Getenv("POSIX_NOSKIP") == "" {
				t.Skip(why)
			}
			e := newEnv(t)
			mnt := e.mount(Options{})
			fn(t, mnt)
		})
	}
}

// posixUnderSignals are the posixtest cases that change the tree, run again
// while the process gets SIGURG (what Go's runtime sends to preempt
// goroutines) every 100µs: posixtest calls the syscall package, which does
// not retry EINTR, so an interrupted mkdir, rename or close fails the case.
var posixUnderSignals = []string{"AppendWrite", "FileBasic", "MkdirRmdir", "OpenSymlinkRace",
	"RenameOverwriteDestExist", "RenameOverwriteDestNoExist", "SymlinkReadlink", "TruncateFile", "XAttr"}

// TestPosixUnderSignals runs posixUnderSignals under a SIGURG storm.
func TestPosixUnderSignals(t *testing.T) {
	for _, name := range posixUnderSignals {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			mnt := e.mount(Options{})
			var stop atomic.Bool
			done := make(chan struct{})
			go func() {
				defer close(done)
				for !stop.Load() {
					_ = syscall.Kill(os.Getpid(), syscall.SIGURG)
					time.Sleep(100 * time.Microsecond)
				}
			}()
			defer func() { stop.Store(true); <-done }()
			posixtest.All[name](t, mnt)
		})
	}
}
