package integration

// The harness: an in-process emulator with one bucket, a 0600 passwd file,
// and bin/obsfs mounted in the foreground (-f) as a child process, so the
// test owns the process, its log and its exit status. t.Cleanup unmounts
// (fusermount3 -u, then umount, then umount -l) and waits for the process.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/obsfs/obsfs/obsclient"
	"github.com/obsfs/obsfs/obsclient/obstest"
	"github.com/obsfs/obsfs/obsclient/signer"
)

const (
	testBucket    = "itest-bucket"
	testAccessKey = "ITESTACCESSKEY0000001"
	testSecretKey = "itest/Secret+Key=0123456789abcdefghij"

	mountTimeout   = 20 * time.Second
	unmountTimeout = 20 * time.Second
	commandTimeout = 3 * time.Minute
)

// Env is one emulator with testBucket and a passwd file for it.
type Env struct {
	Srv    *obstest.Server // nil when the emulator runs as a process (outage_test.go)
	URL    string          // endpoint (an emulator process, versitygw); "" means Srv.URL
	Bucket string
	Passwd string // AK:SK, mode 0600

	client *obsclient.Bucket // made by the first Client call
}

// newEnv starts an emulator that lives as long as t.
func newEnv(t *testing.T) *Env {
	t.Helper()
	opts := obstest.Options{AccessKey: testAccessKey, SecretKey: testSecretKey, Buckets: []string{testBucket}}
	if os.Getenv("OBSFS_IT_EMULOG") != "" {
		opts.Logf = t.Logf
	}
	srv := obstest.NewTest(t, opts)
	return &Env{Srv: srv, Bucket: testBucket, Passwd: writePasswd(t, testAccessKey, testSecretKey, 0o600)}
}

// writePasswd writes an AK:SK passwd file with the given mode.
func writePasswd(t *testing.T, ak, sk string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "passwd-obsfs")
	if err := os.WriteFile(p, []byte(ak+":"+sk+"\n"), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// Options is the -o value that reaches this emulator, plus extra options.
func (e *Env) Options(extra ...string) string {
	o := []string{"url=" + e.endpoint(), "passwd_file=" + e.Passwd, "use_path_request_style"}
	return strings.Join(append(o, extra...), ",")
}

// endpoint is the emulator's URL.
func (e *Env) endpoint() string {
	if e.URL != "" {
		return e.URL
	}
	return e.Srv.URL
}

// Stats is a snapshot of the emulator's per-operation counters.
func (e *Env) Stats() obstest.Stats { return e.Srv.Stats() }

// Delta runs fn and returns the requests it caused, per operation.
func (e *Env) Delta(fn func()) obstest.Stats {
	before := e.Srv.Stats()
	fn()
	return statsSub(e.Srv.Stats(), before)
}

// statsSub returns a-b per operation, dropping operations without requests.
func statsSub(a, b obstest.Stats) obstest.Stats {
	out := obstest.Stats{}
	for op, x := range a {
		y := b[op]
		d := obstest.OpStats{Requests: x.Requests - y.Requests, Errors: x.Errors - y.Errors,
			BytesIn: x.BytesIn - y.BytesIn, BytesOut: x.BytesOut - y.BytesOut}
		if d.Requests != 0 {
			out[op] = d
		}
	}
	return out
}

// requests sums the request counts of the named operations.
func requests(s obstest.Stats, ops ...string) int64 {
	var n int64
	for _, op := range ops {
		n += s[op].Requests
	}
	return n
}

// formatStats renders s as "Op=N …" for failure messages.
func formatStats(s obstest.Stats) string {
	ops := make([]string, 0, len(s))
	for op := range s {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	var b strings.Builder
	for _, op := range ops {
		fmt.Fprintf(&b, "%s=%d ", op, s[op].Requests)
	}
	return strings.TrimSpace(b.String())
}

// Client returns an obsclient bucket handle on the emulator (the direct path).
func (e *Env) Client(t *testing.T) *obsclient.Bucket {
	t.Helper()
	if e.client != nil {
		return e.client
	}
	c, err := obsclient.New(obsclient.Config{
		Endpoint:    e.endpoint(),
		Credentials: signer.Credentials{AccessKey: testAccessKey, SecretKey: testSecretKey},
		Addressing:  obsclient.AddressingPath,
	})
	if err != nil {
		t.Fatalf("obsclient.New: %v", err)
	}
	b, err := c.Bucket(e.Bucket)
	if err != nil {
		t.Fatalf("obsclient Bucket: %v", err)
	}
	e.client = b
	return b
}

// Mount is bin/obsfs running in the foreground on Dir.
type Mount struct {
	Dir    string
	env    *Env
	t      *testing.T
	source string
	extra  []string

	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error // valid after exited is closed
	log     string
	mounted bool
}

// Mount mounts the whole bucket on a fresh t.TempDir().
func (e *Env) Mount(t *testing.T, extra ...string) *Mount {
	t.Helper()
	return e.MountSource(t, e.Bucket, extra...)
}

// MountSource mounts source ("bucket" or "bucket:/prefix") with extra options.
func (e *Env) MountSource(t *testing.T, source string, extra ...string) *Mount {
	t.Helper()
	requireFUSE(t)
	m := &Mount{Dir: t.TempDir(), env: e, t: t, source: source, extra: extra}
	m.log = filepath.Join(t.TempDir(), "obsfs.log")
	t.Cleanup(m.dumpLogOnFailure)
	t.Cleanup(m.Unmount)
	m.start()
	return m
}

// Path joins rel to the mount directory.
func (m *Mount) Path(rel ...string) string { return filepath.Join(append([]string{m.Dir}, rel...)...) }

// PID is the obsfs process id.
func (m *Mount) PID() int { return m.cmd.Process.Pid }

// start runs obsfs -f and waits until Dir is a FUSE mount.
func (m *Mount) start() {
	m.t.Helper()
	args := []string{m.source, m.Dir, "-o", m.env.Options(m.extra...), "-f"}
	if os.Getenv("OBSFS_IT_DEBUG") != "" {
		args = append(args, "-d")
	}
	logf, err := os.OpenFile(m.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		m.t.Fatal(err)
	}
	defer logf.Close()
	fmt.Fprintf(logf, "=== %s obsfs %s\n", time.Now().Format(time.RFC3339Nano), strings.Join(args, " "))
	m.cmd = exec.Command(obsfsBin(), args...)
	m.cmd.Stdout, m.cmd.Stderr = logf, logf
	// If the test binary dies (timeout, ^C), obsfs gets SIGTERM and unmounts.
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := m.cmd.Start(); err != nil {
		m.t.Fatalf("start obsfs: %v", err)
	}
	m.exited = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) {
		m.waitErr = cmd.Wait()
		close(done)
	}(m.cmd, m.exited)
	if err := waitMounted(m.Dir, m.exited, mountTimeout); err != nil {
		m.kill()
		m.t.Fatalf("mount %s on %s: %v\n%s", m.source, m.Dir, err, tail(m.log, 40))
	}
	m.mounted = true
}

// Unmount unmounts Dir and waits for obsfs to exit; it expects exit status 0.
func (m *Mount) Unmount() {
	m.t.Helper()
	if !m.mounted {
		return
	}
	m.mounted = false
	if err := unmount(m.Dir); err != nil {
		m.t.Errorf("unmount %s: %v", m.Dir, err)
	}
	select {
	case <-m.exited:
		if m.waitErr != nil {
			m.t.Errorf("obsfs exited with %v after unmount\n%s", m.waitErr, tail(m.log, 40))
		}
	case <-time.After(unmountTimeout):
		m.kill()
		m.t.Errorf("obsfs did not exit %v after unmount; killed\n%s", unmountTimeout, tail(m.log, 40))
	}
}

// Remount unmounts and mounts the same source on the same directory with a
// fresh process (so nothing survives but what the bucket holds).
func (m *Mount) Remount() {
	m.t.Helper()
	m.Unmount()
	m.start()
}

// kill ends this mount's own process and detaches the mountpoint.
func (m *Mount) kill() {
	if m.cmd != nil && m.cmd.Process != nil {
		_ = m.cmd.Process.Kill()
	}
	_ = exec.Command("umount", "-l", m.Dir).Run()
	select {
	case <-m.exited:
	case <-time.After(5 * time.Second):
	}
}

func (m *Mount) dumpLogOnFailure() {
	if m.t.Failed() {
		m.t.Logf("obsfs log (%s):\n%s", m.log, tail(m.log, 60))
	}
}

// unmount tries fusermount3 -u, then umount, then umount -l.
func unmount(dir string) error {
	var errs []error
	for _, argv := range [][]string{{"fusermount3", "-u", dir}, {"umount", dir}, {"umount", "-l", dir}} {
		out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
		if err == nil {
			return nil
		}
		errs = append(errs, fmt.Errorf("%s: %v: %s", strings.Join(argv, " "), err, bytes.TrimSpace(out)))
		if !isMountpoint(dir) {
			return nil
		}
	}
	return errors.Join(errs...)
}

// waitMounted polls until dir is a mountpoint, the process exits, or timeout.
func waitMounted(dir string, exited <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if isMountpoint(dir) {
			return nil
		}
		select {
		case <-exited:
			return errors.New("obsfs exited before the mount appeared")
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not mounted after %v", timeout)
		}
	}
}

// mountEntry is one line of /proc/self/mountinfo.
type mountEntry struct {
	Dir, FSType, Source, Options string
}

// findMount returns the mountinfo entry whose mountpoint is dir.
func findMount(dir string) (mountEntry, bool) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return mountEntry{}, false
	}
	var found mountEntry
	ok := false
	for _, line := range strings.Split(string(data), "\n") {
		pre, post, cut := strings.Cut(line, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !cut || len(f) < 6 || len(g) < 2 {
			continue
		}
		if unescapeMountinfo(f[4]) == dir {
			found, ok = mountEntry{Dir: dir, FSType: g[0], Source: unescapeMountinfo(g[1]), Options: f[5]}, true
		}
	}
	return found, ok // the last entry wins: it is the visible one
}

func isMountpoint(dir string) bool {
	e, ok := findMount(dir)
	return ok && strings.HasPrefix(e.FSType, "fuse")
}

// unescapeMountinfo decodes the \ooo escapes of mountinfo fields.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// daemonPIDs finds obsfs processes whose command line names dir (for mounts
// started in the background, whose pid the test never sees). dir is a
// unique t.TempDir(), so only this test's daemon matches.
func daemonPIDs(dir string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
		if len(args) > 0 && filepath.Base(args[0]) == "obsfs" && slices.Contains(args, dir) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// unmountDaemon unmounts a background mount and waits for its daemon to go.
func unmountDaemon(t *testing.T, dir string) {
	t.Helper()
	pids := daemonPIDs(dir)
	if isMountpoint(dir) {
		if err := unmount(dir); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	}
	deadline := time.Now().Add(unmountTimeout)
	for _, pid := range pids {
		for processAlive(pid) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if processAlive(pid) {
			t.Errorf("obsfs daemon %d still running %v after unmount; killing it", pid, unmountTimeout)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// processAlive reports whether pid exists and is not a zombie.
func processAlive(pid int) bool {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(raw), ") ")
	return !strings.HasPrefix(rest, "Z") && !strings.HasPrefix(rest, "X")
}

// result is the outcome of one command.
type result struct {
	Code           int
	Stdout, Stderr string
	Err            error // start failure or timeout
}

// runCmd runs argv in dir with env added, bounded by commandTimeout.
func runCmd(dir string, env []string, argv ...string) result {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.WaitDelay = 5 * time.Second
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	r := result{Stdout: so.String(), Stderr: se.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
	case err != nil:
		r.Code, r.Err = -1, err
	}
	if ctx.Err() != nil {
		r.Err = fmt.Errorf("timed out after %v", commandTimeout)
	}
	return r
}

// sh runs argv in dir and fails t unless it exits 0; it returns stdout.
func sh(t *testing.T, dir string, argv ...string) string {
	t.Helper()
	return shEnv(t, dir, nil, argv...)
}

// shEnv is sh with extra environment.
func shEnv(t *testing.T, dir string, env []string, argv ...string) string {
	t.Helper()
	r := runCmd(dir, env, argv...)
	if r.Err != nil || r.Code != 0 {
		t.Fatalf("%s (in %s): exit %d %v\nstdout: %s\nstderr: %s", strings.Join(argv, " "), dir, r.Code, r.Err, r.Stdout, r.Stderr)
	}
	return r.Stdout
}
