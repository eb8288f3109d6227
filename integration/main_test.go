// Package integration holds the end-to-end tests of the built binaries:
// bin/obsfs mounts an emulated bucket (obsclient/obstest, in this process) as
// a subprocess, and ordinary programs — cp, tar, rsync, git, mv, rm, mount —
// run on the mount. Their results are compared byte for byte and mode for
// mode with the same workload applied to a local reference directory.
//
// The FUSE server is always a separate process (the built binary), so the
// test process never serves its own mount and cannot deadlock on it (see
// go-fuse fs/api.go, "Deadlocks"). The emulator runs in-process: it is plain
// HTTP, and its request counters are read directly.
//
// TestMain builds bin/obsfs and bin/obs-emulator once into a temporary
// directory, or uses ../bin when those binaries are newer than every source
// file (or $OBSFS_BIN_DIR when set). Tests that need a kernel mount skip with
// a reason when /dev/fuse is missing; everything else runs.
//
// Files by concept: harness (emulator, mounts, commands), tree (reference
// tree and comparison), copy (cp -a, tar, rsync), git, edit (in-place
// edits, appends, mv, rm -rf), programs (sqlite, concurrent cp, xattrs),
// remount, cli (errors, exit codes, background mode, SIGTERM), mountcmd
// (mount.fuse3), interop (s3fs metadata, defaults, prefix mounts), sdk
// (the Huawei SDK as second client), namespace (foreign keys, paging),
// consistency (two mounts), faults (injected server errors), requests
// (request counts), options (ro), model (random operations vs local).
//
// Environment:
//
//	OBSFS_BIN_DIR=dir        use these binaries instead of building
//	OBSFS_IT_DEBUG=1         run obsfs with -d (FUSE trace in the log shown on failure)
//	OBSFS_IT_EMULOG=1        log every emulator request with t.Logf
//	OBSFS_MODEL_SEED=n       replay a random-operation run; OBSFS_MODEL_OPS=n sets its length
package integration

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// binDir holds obsfs and obs-emulator for this run.
var binDir string

// fuseMissing is the reason mount tests skip ("" when /dev/fuse exists).
var fuseMissing string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if _, err := os.Stat("/dev/fuse"); err != nil {
		fuseMissing = "no /dev/fuse on this machine (" + err.Error() + "): FUSE mount tests skipped"
		fmt.Fprintln(os.Stderr, "integration:", fuseMissing)
	}
	dir, cleanup, err := binaries()
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration: cannot build the binaries:", err)
		return 1
	}
	defer cleanup()
	binDir = dir
	return m.Run()
}

// obsfsBin is the path of the built obsfs binary.
func obsfsBin() string { return filepath.Join(binDir, "obsfs") }

// emulatorBin is the path of the built obs-emulator binary.
func emulatorBin() string { return filepath.Join(binDir, "obs-emulator") }

// requireFUSE skips t when this machine cannot mount.
func requireFUSE(t testing.TB) {
	t.Helper()
	if fuseMissing != "" {
		t.Skip(fuseMissing)
	}
}

// binaries returns a directory with fresh obsfs and obs-emulator binaries.
func binaries() (dir string, cleanup func(), err error) {
	nop := func() {}
	if d := os.Getenv("OBSFS_BIN_DIR"); d != "" {
		return d, nop, nil
	}
	root, err := moduleRoot()
	if err != nil {
		return "", nop, err
	}
	if bin := filepath.Join(root, "bin"); binsFresh(root, bin) {
		return bin, nop, nil
	}
	tmp, err := os.MkdirTemp("", "obsfs-itest-bin-")
	if err != nil {
		return "", nop, err
	}
	cleanup = func() { _ = os.RemoveAll(tmp) }
	cmd := exec.Command("go", "build", "-o", tmp+string(filepath.Separator), "./cmd/obsfs", "./cmd/obs-emulator", "./cmd/obsfs-csi")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		cleanup()
		return "", nop, fmt.Errorf("go build ./cmd/obsfs ./cmd/obs-emulator: %v\n%s", err, out)
	}
	return tmp, cleanup, nil
}

// moduleRoot is the directory holding go.mod (the parent of integration/).
func moduleRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod above %s", wd)
		}
	}
}

// binsFresh reports whether bin/obsfs and bin/obs-emulator exist and are
// newer than every Go source, go.mod and go.sum of the module.
func binsFresh(root, bin string) bool {
	oldest := time.Time{}
	for _, name := range []string{"obsfs", "obs-emulator", "obsfs-csi"} {
		fi, err := os.Stat(filepath.Join(bin, name))
		if err != nil {
			return false
		}
		if oldest.IsZero() || fi.ModTime().Before(oldest) {
			oldest = fi.ModTime()
		}
	}
	stale := false
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if stale {
			return fs.SkipAll
		}
		if err != nil {
			return nil
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "bin" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !(strings.HasSuffix(p, ".go") || d.Name() == "go.mod" || d.Name() == "go.sum") {
			return nil
		}
		if strings.HasSuffix(p, "_test.go") {
			return nil
		}
		if fi, err := d.Info(); err == nil && fi.ModTime().After(oldest) {
			stale = true
		}
		return nil
	})
	return !stale
}
