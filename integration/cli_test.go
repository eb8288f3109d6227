package integration

// The command line of the built binary: every mount failure exits non-zero
// with exactly one line on stderr naming the cause; --help and --version.
// These run obsfs in its default (background) mode, as a user would. Exit
// codes are the ones --help documents: 2 bad option, 3 credentials,
// 4 mountpoint, 5 endpoint unreachable, 6 access denied, 7 no such bucket.

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	addr := l.Addr().String()
	must(t, l.Close())
	return addr
}

// oneLine fails t unless stderr has exactly one non-empty line matching cause.
func oneLine(t *testing.T, r result, cause string) {
	t.Helper()
	var lines []string
	for _, l := range strings.Split(r.Stderr, "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 {
		t.Errorf("stderr has %d non-empty lines, want 1:\n%s", len(lines), r.Stderr)
	}
	if !regexp.MustCompile("(?i)" + cause).MatchString(r.Stderr) {
		t.Errorf("stderr does not name the cause (/%s/): %q", cause, r.Stderr)
	}
}

func TestCLIErrors(t *testing.T) {
	requireFUSE(t) // failures past option parsing reach the mount stage
	e := newEnv(t)
	badMode := writePasswd(t, testAccessKey, testSecretKey, 0o644)
	wrongSK := writePasswd(t, testAccessKey, "not-the-secret", 0o600)
	dead := "http://" + closedPort(t)
	base := func(extra ...string) string { return e.Options(extra...) }
	swap := func(old, new string) string { return strings.Replace(e.Options(), old, new, 1) }

	cases := []struct {
		name   string
		source string
		mnt    string // "" = a fresh empty directory
		opts   string
		cause  string // regexp the stderr line must match
		code   int    // exit code documented in --help
	}{
		{name: "unknown option", opts: base("no_such_option=1"), cause: "no_such_option", code: 2},
		{name: "malformed value", opts: base("multipart_size=lots"), cause: "multipart_size", code: 2},
		{name: "malformed uid", opts: base("uid=root-ish"), cause: `\buid\b`, code: 2},
		{name: "missing passwd file", opts: swap(e.Passwd, "/nonexistent/passwd-obsfs"), cause: "/nonexistent/passwd-obsfs", code: 3},
		{name: "passwd file mode 0644", opts: swap(e.Passwd, badMode), cause: `0?644|permission|mode`, code: 3},
		{name: "wrong secret key", opts: swap(e.Passwd, wrongSK), cause: `403|signature|denied|forbidden|credential|secret`, code: 6},
		{name: "missing bucket", source: "no-such-bucket", opts: base(), cause: `no-such-bucket|NoSuchBucket|404|not exist|not found`, code: 7},
		{name: "unreachable endpoint", opts: swap(e.Srv.URL, dead), cause: regexp.QuoteMeta(strings.TrimPrefix(dead, "http://")) + `|refused|connect|unreachable`, code: 5},
		{name: "mountpoint missing", mnt: "/nonexistent/mnt-obsfs", opts: base(), cause: "/nonexistent/mnt-obsfs", code: 4},
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			mnt := c.mnt
			if mnt == "" {
				mnt = t.TempDir()
			}
			src := c.source
			if src == "" {
				src = e.Bucket
			}
			start := time.Now()
			r := runCmd("", nil, obsfsBin(), src, mnt, "-o", c.opts)
			if isMountpoint(mnt) {
				unmountDaemon(t, mnt)
				t.Fatalf("mounted although it should have failed (exit %d)", r.Code)
			}
			if r.Err != nil || r.Code != c.code {
				t.Errorf("exit %d (%v), want %d; stderr: %q", r.Code, r.Err, c.code, r.Stderr)
			}
			t.Logf("exit %d after %v: %s", r.Code, time.Since(start).Round(time.Millisecond), strings.TrimSpace(r.Stderr))
			oneLine(t, r, c.cause)
		})
	}
}

func TestCLINonEmptyMountpoint(t *testing.T) {
	requireFUSE(t)
	e := newEnv(t)
	mnt := t.TempDir()
	must(t, os.WriteFile(filepath.Join(mnt, "underneath"), []byte("x"), 0o644))

	r := runCmd("", nil, obsfsBin(), e.Bucket, mnt, "-o", e.Options())
	if isMountpoint(mnt) {
		unmountDaemon(t, mnt)
		t.Fatalf("mounted over a non-empty directory without nonempty (exit %d)", r.Code)
	}
	if r.Code != 4 {
		t.Errorf("exit %d over a non-empty directory without nonempty, want 4", r.Code)
	}
	oneLine(t, r, `nonempty|not empty`)

	r = runCmd("", nil, obsfsBin(), e.Bucket, mnt, "-o", e.Options("nonempty"))
	t.Cleanup(func() { unmountDaemon(t, mnt) })
	if r.Code != 0 || !isMountpoint(mnt) {
		t.Fatalf("with nonempty: exit %d, mounted %v; stderr: %s", r.Code, isMountpoint(mnt), r.Stderr)
	}
	if out := withoutLogNote(r.Stdout + r.Stderr); strings.TrimSpace(out) != "" {
		t.Errorf("a successful background mount printed: %q %q", r.Stdout, r.Stderr)
	}
	if _, err := os.Stat(filepath.Join(mnt, "underneath")); !os.IsNotExist(err) {
		t.Errorf("the file under the mount shows through: %v", err)
	}
}

// TestBackgroundMountLifecycle checks the default mode: the parent exits 0
// once the mount is up, the daemon serves it, and unmounting ends the daemon.
func TestBackgroundMountLifecycle(t *testing.T) {
	requireFUSE(t)
	e := newEnv(t)
	mnt := t.TempDir()
	logfile := filepath.Join(t.TempDir(), "obsfs.log")
	start := time.Now()
	r := runCmd("", nil, obsfsBin(), e.Bucket, mnt, "-o", e.Options("logfile="+logfile, "dbglevel=debug"))
	t.Cleanup(func() { unmountDaemon(t, mnt) })
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	// runCmd waits up to 5 s (WaitDelay) for stdout/stderr to close: a
	// daemon that keeps the parent's stdio open shows up as that delay.
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("the background mount returned after %v: the daemon keeps the caller's stdout/stderr open", d)
	}
	if !isMountpoint(mnt) {
		t.Fatalf("parent exited 0 before the mount was up")
	}
	if me, _ := findMount(mnt); me.FSType != "fuse.obsfs" {
		t.Errorf("mount type %q (source %q), want fuse.obsfs", me.FSType, me.Source)
	}
	must(t, os.WriteFile(filepath.Join(mnt, "f"), []byte("daemon"), 0o644))
	if got, _ := e.getObject(t, "f"); string(got) != "daemon" {
		t.Errorf("object f = %q after close", got)
	}
	pids := daemonPIDs(mnt)
	if len(pids) != 1 {
		t.Fatalf("found %d obsfs daemons for %s, want 1", len(pids), mnt)
	}
	unmountDaemon(t, mnt)
	if data, err := os.ReadFile(logfile); err != nil || !strings.Contains(string(data), "mounted") {
		t.Errorf("logfile= %s after a mount and unmount: %v, %q", logfile, err, tailString(string(data), 300))
	}
}

// tailString keeps the last n bytes of s.
func tailString(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// TestSIGTERMUnmounts: SIGTERM to the server unmounts and exits 0.
func TestSIGTERMUnmounts(t *testing.T) {
	e := newEnv(t)
	m := e.Mount(t)
	must(t, os.WriteFile(m.Path("closed"), []byte("closed"), 0o644))
	terminate(t, m)
	if got, _ := e.getObject(t, "closed"); string(got) != "closed" {
		t.Errorf("object closed = %q", got)
	}
}

// TestSIGTERMFlushesOpenFile: a file still open for writing when obsfs gets
// SIGTERM is uploaded before obsfs detaches the mount (checked before the
// file is closed, so the close cannot be what uploads it).
func TestSIGTERMFlushesOpenFile(t *testing.T) {
	e := newEnv(t)
	m := e.Mount(t)
	f, err := os.Create(m.Path("open-at-term"))
	must(t, err)
	want := content("open-at-term", 300_000)
	_, err = f.Write(want)
	must(t, err)
	must(t, m.cmd.Process.Signal(syscall.SIGTERM))
	for deadline := time.Now().Add(unmountTimeout); isMountpoint(m.Dir) && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if got, ok := e.headObject(t, "open-at-term"); !ok || got.Size != int64(len(want)) {
		t.Errorf("file open at SIGTERM, after the mount went away: object exists %v with %d bytes, want %d", ok, got.Size, len(want))
	}
	_ = f.Close() // the mount is detached; obsfs may now exit
	waitTerminated(t, m)
}

// terminate sends SIGTERM to m's process and expects a clean exit and unmount.
func terminate(t *testing.T, m *Mount) {
	t.Helper()
	must(t, m.cmd.Process.Signal(syscall.SIGTERM))
	waitTerminated(t, m)
}

// waitTerminated waits for m's process to exit 0 on its own, unmounted.
func waitTerminated(t *testing.T, m *Mount) {
	t.Helper()
	select {
	case <-m.exited:
	case <-time.After(unmountTimeout):
		t.Fatalf("obsfs still running %v after SIGTERM", unmountTimeout)
	}
	m.mounted = false
	if m.waitErr != nil {
		t.Errorf("obsfs exit after SIGTERM: %v", m.waitErr)
	}
	if isMountpoint(m.Dir) {
		t.Errorf("still mounted after obsfs exited on SIGTERM")
		_ = unmount(m.Dir)
	}
}

func TestCLIHelpVersion(t *testing.T) {
	r := runCmd("", nil, obsfsBin(), "--help")
	if r.Code != 0 {
		t.Errorf("--help exit %d: %s", r.Code, r.Stderr)
	}
	help := r.Stdout + r.Stderr
	for _, opt := range []string{"url", "passwd_file", "use_path_request_style", "uid", "gid", "umask", "ro",
		"nonempty", "stat_cache_expire", "multipart_size", "parallel_count", "cache_size", "use_cache",
		"retries", "logfile", "dbglevel"} {
		if !regexp.MustCompile(`\b` + opt + `\b`).MatchString(help) {
			t.Errorf("--help does not list %s", opt)
		}
	}
	r = runCmd("", nil, obsfsBin(), "--version")
	if r.Code != 0 {
		t.Errorf("--version exit %d: %s", r.Code, r.Stderr)
	}
	if v := strings.TrimSpace(r.Stdout + r.Stderr); !strings.Contains(v, "obsfs") || strings.Count(v, "\n") > 2 {
		t.Errorf("--version printed %q, want a short line naming obsfs", v)
	}
}

// withoutLogNote drops the line a background mount prints when the
// machine has no syslog socket (it says where the log goes instead).
func withoutLogNote(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(l, "obsfs: no syslog socket") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}
