package fs

import (
	"errors"
	"os"
	"os/exec"
	"strings"
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

// TestMountFlags: generic mount flags reach the kernel: /proc/mounts shows
// them and a noexec mount refuses execve with EACCES.
func TestMountFlags(t *testing.T) {
	bits, err := directMountFlags([]string{"noexec", "suid", "sync", "noatime"})
	if err != nil || bits != syscall.MS_NOEXEC|syscall.MS_NODEV|syscall.MS_SYNCHRONOUS|syscall.MS_NOATIME {
		t.Errorf("directMountFlags = %#x, %v", bits, err)
	}
	if bits, _ := directMountFlags([]string{"suid", "dev"}); bits != syscall.MS_SILENT {
		t.Errorf("suid,dev = %#x: zero would mean go-fuse's default nosuid,nodev", bits)
	}
	if _, err := directMountFlags([]string{"noexex"}); err == nil {
		t.Error("an unknown flag was accepted")
	}
	e := newEnv(t)
	e.put("run.sh", "#!/bin/sh\necho ran\n", map[string]string{"mode": "33261"}) // S_IFREG|0755
	e.flags = []string{"noexec", "nodev", "nosuid", "noatime", "dirsync"}
	e.mount(Options{})
	data, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		t.Fatal(err)
	}
	var opts string
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 3 && f[1] == e.mnt {
			opts = "," + f[3] + ","
		}
	}
	for _, want := range e.flags {
		if !strings.Contains(opts, ","+want+",") {
			t.Errorf("/proc/mounts options %q lack %s", opts, want)
		}
	}
	// The exec happens in sh, another process: a fork of this one whose
	// execve waits for this process's FUSE server would deadlock the Go
	// runtime (the forking thread cannot be stopped for a GC).
	out, err := exec.Command("sh", "-c", `"$1"`, "sh", e.path("run.sh")).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 126 || !strings.Contains(string(out), "Permission denied") {
		t.Errorf("exec on a noexec mount: %v %q, want exit 126 (EACCES)", err, out)
	}
}
