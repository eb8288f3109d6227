package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVerdictProtocol(t *testing.T) {
	var b bytes.Buffer
	writeVerdict(&b, nil)
	assert.Equal(t, "ok\n", b.String())
	b.Reset()
	writeVerdict(&b, failf(exitNoBucket, "bucket %q\ndoes not exist\n", "x"))
	assert.Equal(t, "7 bucket \"x\"; does not exist\n", b.String())

	code, msg, ok := parseVerdict(strings.TrimSuffix(b.String(), "\n"))
	assert.True(t, ok)
	assert.Equal(t, exitNoBucket, code)
	assert.Equal(t, `bucket "x"; does not exist`, msg)
	for _, bad := range []string{"", "ok", "0 fine", "x y", "7", "300 big"} {
		_, _, ok := parseVerdict(bad)
		assert.False(t, ok, bad)
	}
	assert.Equal(t, exitFailure, exitCode(errors.New("plain")))
}

// startChild runs sh -c script with the pipe's write end as fd 3, as
// startDaemon does.
func startChild(t *testing.T, script string) (*exec.Cmd, *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	cmd := exec.Command("sh", "-c", script)
	cmd.ExtraFiles = []*os.File{w}
	require.NoError(t, cmd.Start())
	w.Close()
	t.Cleanup(func() { r.Close(); _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd, r
}

func TestRelayVerdict(t *testing.T) {
	var stderr bytes.Buffer
	cmd, r := startChild(t, `echo ok >&3; sleep 5`)
	assert.Equal(t, exitOK, relayVerdict(cmd, r, 5*time.Second, &stderr), "ok must not wait for the child to exit")
	assert.Empty(t, stderr.String())

	cmd, r = startChild(t, `echo "4 mountpoint /x does not exist" >&3; exit 4`)
	assert.Equal(t, exitMountpoint, relayVerdict(cmd, r, 5*time.Second, &stderr))
	assert.Equal(t, "obsfs: mountpoint /x does not exist\n", stderr.String())

	stderr.Reset()
	cmd, r = startChild(t, `exit 9`)
	assert.Equal(t, exitFailure, relayVerdict(cmd, r, 5*time.Second, &stderr))
	assert.Equal(t, "obsfs: the background process exited before mounting (exit status 9); see syslog or the logfile\n", stderr.String())

	stderr.Reset()
	cmd, r = startChild(t, `sleep 10`)
	assert.Equal(t, exitFailure, relayVerdict(cmd, r, 200*time.Millisecond, &stderr))
	assert.Contains(t, stderr.String(), "did not report within 200ms")
}

// canMount reports whether this test may make real FUSE mounts.
func canMount(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for FUSE mounts")
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skip("no /dev/fuse")
	}
	if _, err := exec.LookPath("fusermount3"); err != nil {
		t.Skip("no fusermount3 (package fuse3)")
	}
}

// isMounted reports whether dir is a FUSE mount of type fuse.obsfs.
func isMounted(dir string) bool {
	data, _ := os.ReadFile("/proc/self/mounts")
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 2 && f[1] == dir && f[2] == "fuse.obsfs" {
			return true
		}
	}
	return false
}

// pidsServing finds processes whose command line names dir.
func pidsServing(dir string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		raw, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if strings.Contains(string(raw), "\x00"+dir+"\x00") && !isZombie(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func isZombie(pid int) bool {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	_, rest, _ := strings.Cut(string(raw), ") ")
	return strings.HasPrefix(rest, "Z") || strings.HasPrefix(rest, "X")
}

// TestDaemonMountLifecycle mounts for real in the background (the child is
// this test binary acting as obsfs, so the FUSE server is another process),
// writes through the mount, and stops the daemon with SIGTERM.
func TestDaemonMountLifecycle(t *testing.T) {
	canMount(t)
	e := newStartupEnv(t)
	t.Setenv("OBSFS_TEST_AS_MAIN", "1")
	t.Setenv("HOME", e.env["HOME"])
	logfile := filepath.Join(t.TempDir(), "obsfs.log")
	t.Cleanup(func() {
		if isMounted(e.mnt) {
			_ = exec.Command("fusermount3", "-u", "-z", e.mnt).Run()
		}
		for _, pid := range pidsServing(e.mnt) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		if t.Failed() {
			log, _ := os.ReadFile(logfile)
			t.Logf("obsfs log:\n%s", log)
		}
	})

	var out, errOut bytes.Buffer
	code := run([]string{"bkt1", e.mnt, "-o", e.opts("logfile="+logfile, "dbglevel=debug")}, os.Getenv, &out, &errOut)
	require.Equal(t, exitOK, code, errOut.String())
	assert.Empty(t, out.String()+errOut.String(), "a successful mount prints nothing")
	require.True(t, isMounted(e.mnt), "the parent returned before the mount was live")
	pids := pidsServing(e.mnt)
	require.Len(t, pids, 1)

	require.NoError(t, os.WriteFile(filepath.Join(e.mnt, "hello"), []byte("daemon"), 0o644))
	body, err := e.srv.ObjectBody("bkt1", "hello")
	require.NoError(t, err)
	assert.Equal(t, "daemon", string(body))

	require.NoError(t, syscall.Kill(pids[0], syscall.SIGTERM))
	deadline := time.Now().Add(15 * time.Second)
	for (isMounted(e.mnt) || !isZombie(pids[0])) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	assert.False(t, isMounted(e.mnt), "still mounted after SIGTERM")
	assert.True(t, isZombie(pids[0]), "daemon still running after SIGTERM")
	log, err := os.ReadFile(logfile)
	require.NoError(t, err)
	assert.Contains(t, string(log), "mounted")
	assert.Contains(t, string(log), "signal: flushing, then unmounting")
	assert.NotContains(t, string(log), "SKTEST", "the secret key reached the log")
}

func TestStrayDaemonMarker(t *testing.T) {
	var out, errOut bytes.Buffer
	env := envOf(map[string]string{daemonEnv: "99", "OBS_ENDPOINT": "h"})
	assert.Equal(t, exitUsage, run([]string{"bkt", "/mnt"}, env, &out, &errOut))
	assert.Equal(t, "obsfs: OBSFS_DAEMON_FD=99 is not a pipe from a parent obsfs; unset it\n", errOut.String())
}

// TestRelayNotes: notes are printed once the mount is live, and dropped on
// a failure (which stays one line).
func TestRelayNotes(t *testing.T) {
	var stderr bytes.Buffer
	cmd, r := startChild(t, `echo "note logging to /var/log/obsfs.log" >&3; echo ok >&3; sleep 5`)
	assert.Equal(t, exitOK, relayVerdict(cmd, r, 5*time.Second, &stderr))
	assert.Equal(t, "obsfs: logging to /var/log/obsfs.log\n", stderr.String())
	stderr.Reset()
	cmd, r = startChild(t, `echo "note logging to x" >&3; echo "7 bucket gone" >&3; exit 7`)
	assert.Equal(t, exitNoBucket, relayVerdict(cmd, r, 5*time.Second, &stderr))
	assert.Equal(t, "obsfs: bucket gone\n", stderr.String())
}
