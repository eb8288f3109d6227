package integration

// The mount as a shared, well-behaved system service (issue 11): uid=/gid=
// never hand a root-owned file to another user, mount flags (noexec, …) are
// real, secrets never reach the daemon's command line, environment or log,
// a second mount on a live mount point is refused, a failing fusermount3
// explains itself, and the daemon is called obsfs in ps.
//
// The unprivileged account is obsfscli, created here if missing
// (useradd -M -N), and commands run as it with setpriv.

import (
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
)

const cliUser = "obsfscli"

// TestUIDOptionOnlyDefaultsOwner: uid=/gid= give an owner to objects
// without uid/gid metadata; an object whose metadata says root, mode 0600,
// stays root's and another user cannot read or append to it.
func TestUIDOptionOnlyDefaultsOwner(t *testing.T) {
	uid, gid := ensureUser(t, cliUser)
	e := newEnv(t)
	e.putObject(t, "root-secret", []byte("root only\n"), map[string]string{"uid": "0", "gid": "0", "mode": "33152"}) // S_IFREG|0600
	e.putObject(t, "plain", []byte("no owner metadata\n"), nil)
	ids := "uid=" + strconv.Itoa(uid) + ",gid=" + strconv.Itoa(gid)
	m := e.Mount(t, ids, "allow_other")
	openToOthers(t, m.Dir)

	var st syscall.Stat_t
	must(t, syscall.Stat(m.Path("root-secret"), &st))
	if st.Uid != 0 || st.Gid != 0 || st.Mode&0o777 != 0o600 {
		t.Errorf("root-secret (metadata uid 0 gid 0 mode 0600) shows uid %d gid %d mode %o with -o %s", st.Uid, st.Gid, st.Mode&0o777, ids)
	}
	if r := asUser(uid, gid, nil, "cat", m.Path("root-secret")); r.Code == 0 {
		t.Errorf("user %d read root's 0600 file: %q", uid, r.Stdout)
	}
	if r := asUser(uid, gid, nil, "sh", "-c", "echo more >> "+m.Path("root-secret")); r.Code == 0 {
		t.Errorf("user %d appended to root's 0600 file", uid)
	}
	if got, _ := e.getObject(t, "root-secret"); string(got) != "root only\n" {
		t.Errorf("root-secret = %q in the bucket", got)
	}

	// The object without metadata belongs to uid=: that user reads and appends.
	must(t, syscall.Stat(m.Path("plain"), &st))
	if int(st.Uid) != uid || int(st.Gid) != gid {
		t.Errorf("plain (no metadata) shows uid %d gid %d, want %d %d", st.Uid, st.Gid, uid, gid)
	}
	if r := asUser(uid, gid, nil, "cat", m.Path("plain")); r.Code != 0 || r.Stdout != "no owner metadata\n" {
		t.Errorf("user %d reading its file: exit %d %q %s", uid, r.Code, r.Stdout, r.Stderr)
	}
	if r := asUser(uid, gid, nil, "sh", "-c", "echo more >> "+m.Path("plain")); r.Code != 0 {
		t.Errorf("user %d appending to its file: exit %d %s", uid, r.Code, r.Stderr)
	}
	if got, _ := e.getObject(t, "plain"); string(got) != "no owner metadata\nmore\n" {
		t.Errorf("plain = %q after the append", got)
	}
}

// procMountOptions returns the options /proc/self/mounts shows for dir.
func procMountOptions(t *testing.T, dir string) []string {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mounts")
	must(t, err)
	var opts []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) >= 4 && unescapeMountinfo(f[1]) == dir {
			opts = strings.Split(f[3], ",") // the last entry is the visible one
		}
	}
	return opts
}

// checkNoexec: the flags are in /proc/mounts and executing a script fails
// with EACCES.
func checkNoexec(t *testing.T, dir string, want ...string) {
	t.Helper()
	opts := procMountOptions(t, dir)
	for _, w := range want {
		if !slicesContains(opts, w) {
			t.Errorf("/proc/mounts options of %s are %v: no %s", dir, opts, w)
		}
	}
	script := filepath.Join(dir, "run.sh")
	must(t, os.WriteFile(script, []byte("#!/bin/sh\necho ran\n"), 0o755))
	out, err := exec.Command(script).CombinedOutput()
	if !errors.Is(err, syscall.EACCES) {
		t.Errorf("executing a script on a noexec mount: %v %q, want EACCES", err, out)
	}
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestMountFlagsHonoured: noexec and friends become real mount flags, on
// the command line and through mount.fuse3 (the fstab path).
func TestMountFlagsHonoured(t *testing.T) {
	requireFUSE(t)
	e := newEnv(t)
	t.Run("command line", func(t *testing.T) {
		m := e.Mount(t, "noexec", "nosuid", "nodev", "noatime", "dirsync")
		checkNoexec(t, m.Dir, "noexec", "nosuid", "nodev", "noatime", "dirsync")
	})
	t.Run("sync", func(t *testing.T) {
		m := e.Mount(t, "sync")
		if opts := procMountOptions(t, m.Dir); !slicesContains(opts, "sync") {
			t.Errorf("/proc/mounts options %v: no sync", opts)
		}
		must(t, os.WriteFile(m.Path("s"), []byte("synchronous"), 0o644))
		if got, _ := e.getObject(t, "s"); string(got) != "synchronous" {
			t.Errorf("object s = %q", got)
		}
	})
	t.Run("mount.fuse3", func(t *testing.T) {
		helper, err := exec.LookPath("mount.fuse3")
		if err != nil {
			if helper = "/sbin/mount.fuse3"; !fileExists(helper) {
				t.Skip("mount.fuse3 is not installed (package fuse3)")
			}
		}
		pathDir := t.TempDir()
		must(t, os.Symlink(obsfsBin(), filepath.Join(pathDir, "obsfs")))
		mnt := t.TempDir()
		t.Cleanup(func() { unmountDaemon(t, mnt) })
		shEnv(t, "", []string{"PATH=" + pathDir + ":" + systemPath}, helper, e.Bucket, mnt, "-o", "rw,noexec,nosuid,"+e.Options("_netdev"), "-t", "fuse.obsfs")
		checkNoexec(t, mnt, "noexec", "nosuid")
	})
	t.Run("unknown flag refused", func(t *testing.T) {
		r := runCmd("", nil, obsfsBin(), e.Bucket, t.TempDir(), "-o", e.Options("noexex"))
		if r.Code != 2 || !strings.Contains(r.Stderr, "did you mean 'noexec'") {
			t.Errorf("-o noexex: exit %d %q, want 2 and a suggestion", r.Code, r.Stderr)
		}
	})
}

// forwardProxy is an HTTP proxy that wants Basic user:pw; it counts the
// requests that carried them.
func forwardProxy(t *testing.T, user, pw string) (addr string, authed *atomic.Int64) {
	authed = &atomic.Int64{}
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pw))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Proxy-Authorization") != want {
			http.Error(w, "proxy auth", http.StatusProxyAuthRequired)
			return
		}
		authed.Add(1)
		r.Header.Del("Proxy-Authorization")
		r.RequestURI = ""
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), authed
}

// TestDaemonKeepsSecrets: a background mount with a proxy password and
// credentials from the environment: neither reaches the daemon's
// /proc/PID/cmdline, /proc/PID/environ or its log; the daemon is "obsfs"
// in ps and pgrep finds it.
func TestDaemonKeepsSecrets(t *testing.T) {
	requireFUSE(t)
	e := newEnv(t)
	const proxyPW = "Pr0xyPassw0rdSecret"
	proxy, authed := forwardProxy(t, "puser", proxyPW)
	mnt := t.TempDir()
	logfile := filepath.Join(t.TempDir(), "obsfs.log")
	opts := "url=" + e.Srv.URL + ",use_path_request_style,proxy=http://puser:" + proxyPW + "@" + proxy + ",logfile=" + logfile + ",dbglevel=debug"
	// HTTP_PROXY with a password too (Go never proxies loopback, so it is
	// only checked to stay out of /proc/PID/environ).
	env := []string{"OBS_ACCESS_KEY_ID=" + testAccessKey, "OBS_SECRET_ACCESS_KEY=" + testSecretKey, "HOME=" + t.TempDir(),
		"HTTP_PROXY=http://puser:" + proxyPW + "@" + proxy}
	r := runCmd("", env, obsfsBin(), e.Bucket, mnt, "-o", opts)
	t.Cleanup(func() { unmountDaemon(t, mnt) })
	if r.Code != 0 {
		t.Fatalf("background mount: exit %d %s", r.Code, r.Stderr)
	}
	must(t, os.WriteFile(filepath.Join(mnt, "f"), []byte("via proxy"), 0o644))
	if authed.Load() == 0 {
		t.Errorf("no request went through the authenticated proxy")
	}
	pids := daemonPIDs(mnt)
	if len(pids) != 1 {
		t.Fatalf("daemons for %s: %v, want 1", mnt, pids)
	}
	pid := strconv.Itoa(pids[0])
	cmdline, err := os.ReadFile("/proc/" + pid + "/cmdline")
	must(t, err)
	if strings.Contains(string(cmdline), proxyPW) {
		t.Errorf("the proxy password is in /proc/%s/cmdline: %q", pid, cmdline)
	}
	environ, err := os.ReadFile("/proc/" + pid + "/environ")
	must(t, err)
	for _, s := range []string{testSecretKey, testAccessKey, "OBS_SECRET_ACCESS_KEY", proxyPW} {
		if strings.Contains(string(environ), s) {
			t.Errorf("/proc/%s/environ still holds %q", pid, s)
		}
	}
	comm, err := os.ReadFile("/proc/" + pid + "/comm")
	must(t, err)
	if strings.TrimSpace(string(comm)) != "obsfs" {
		t.Errorf("the daemon's comm is %q, want obsfs", comm)
	}
	if out, _ := exec.Command("pgrep", "-x", "obsfs").Output(); !slicesContains(strings.Fields(string(out)), pid) {
		t.Errorf("pgrep -x obsfs = %q, does not list the daemon %s", out, pid)
	}
	unmountDaemon(t, mnt)
	if data, _ := os.ReadFile(logfile); strings.Contains(string(data), proxyPW) || strings.Contains(string(data), testSecretKey) {
		t.Errorf("the log holds a secret:\n%s", data)
	}
}

// TestEndpointPasswordRedacted: an endpoint URL with user:pass@ is refused
// without repeating the password (OBS takes none there).
func TestEndpointPasswordRedacted(t *testing.T) {
	requireFUSE(t)
	e := newEnv(t)
	const pw = "EndpointPassw0rdSecret"
	withPW := strings.Replace(e.Srv.URL, "http://", "http://user:"+pw+"@", 1)
	r := runCmd("", nil, obsfsBin(), e.Bucket, t.TempDir(), "-o", strings.Replace(e.Options(), e.Srv.URL, withPW, 1))
	if r.Code != 2 || strings.Contains(r.Stderr, pw) || !strings.Contains(r.Stderr, "user:xxxxx@") {
		t.Errorf("url= with a password: exit %d %q, want 2, the URL redacted", r.Code, r.Stderr)
	}
	r = runCmd("", []string{"OBS_ENDPOINT=" + withPW}, obsfsBin(), e.Bucket, t.TempDir(), "-o", "passwd_file="+e.Passwd+",use_path_request_style")
	if r.Code != 2 || strings.Contains(r.Stderr, pw) {
		t.Errorf("OBS_ENDPOINT with a password: exit %d %q, want 2 without the password", r.Code, r.Stderr)
	}
}

// TestSecondMountRefused: mounting on a live obsfs mount point fails with
// exit 4 instead of stacking a second mount.
func TestSecondMountRefused(t *testing.T) {
	requireFUSE(t)
	e := newEnv(t)
	m := e.Mount(t)
	for _, extra := range []string{"", "nonempty"} {
		r := runCmd("", nil, obsfsBin(), e.Bucket, m.Dir, "-o", e.Options(extra))
		if r.Code == 0 { // stacked: unmount the top mount and end its daemon
			for _, pid := range daemonPIDs(m.Dir) {
				if pid != m.PID() {
					_ = unmount(m.Dir)
					_ = syscall.Kill(pid, syscall.SIGTERM)
				}
			}
		}
		if r.Code != 4 || !strings.Contains(r.Stderr, "already mounted (obsfs:"+e.Bucket+")") {
			t.Errorf("second mount (-o …%s): exit %d %q, want 4 and \"already mounted (obsfs:%s)\"", extra, r.Code, r.Stderr, e.Bucket)
		}
	}
	if _, err := os.ReadDir(m.Dir); err != nil {
		t.Errorf("the first mount after the refused second: %v", err)
	}
}

// TestFusermountErrorShown: a mount that fusermount3 refuses (an
// unprivileged user, /dev/fuse not open to it or a mount point it cannot
// write) reports fusermount3's own words, not its exit code.
func TestFusermountErrorShown(t *testing.T) {
	requireFUSE(t)
	if _, err := exec.LookPath("fusermount3"); err != nil {
		t.Skip("fusermount3 is not installed (package fuse3)")
	}
	uid, gid := ensureUser(t, cliUser)
	e := newEnv(t)
	passwd := filepath.Join(t.TempDir(), "passwd")
	must(t, os.WriteFile(passwd, []byte(testAccessKey+":"+testSecretKey+"\n"), 0o600))
	must(t, os.Chown(passwd, uid, gid))
	openToOthers(t, passwd)
	mnt := t.TempDir() // root's, 0755: the user cannot write it
	openToOthers(t, mnt)
	opts := strings.Replace(e.Options(), e.Passwd, passwd, 1)
	r := asUser(uid, gid, []string{"HOME=/nonexistent"}, obsfsBin(), e.Bucket, mnt, "-o", opts)
	if isMountpoint(mnt) {
		unmountDaemon(t, mnt)
	}
	if r.Code != 8 || !strings.Contains(r.Stderr, "fusermount3: ") || strings.Contains(r.Stderr, "exited with code") {
		t.Errorf("unprivileged mount: exit %d %q, want 8 with fusermount3's own message", r.Code, r.Stderr)
	}
	oneLine(t, r, "fusermount3: ")
}

// TestBackgroundLogWithoutSyslog: with no syslog socket and no logfile=,
// the background mount says where its log goes, and the log is there.
func TestBackgroundLogWithoutSyslog(t *testing.T) {
	requireFUSE(t)
	if fileExists("/dev/log") {
		t.Skip("this machine has a syslog socket (/dev/log)")
	}
	if os.Geteuid() != 0 {
		t.Skip("the fallback file of a non-root user is under its home directory")
	}
	e := newEnv(t)
	mnt := t.TempDir()
	r := runCmd("", nil, obsfsBin(), e.Bucket, mnt, "-o", e.Options())
	t.Cleanup(func() { unmountDaemon(t, mnt) })
	const note = "obsfs: no syslog socket (/dev/log): logging to /var/log/obsfs.log"
	if r.Code != 0 || strings.TrimSpace(r.Stderr) != note {
		t.Fatalf("background mount without syslog: exit %d, stderr %q, want the line %q", r.Code, r.Stderr, note)
	}
	unmountDaemon(t, mnt)
	if data, err := os.ReadFile("/var/log/obsfs.log"); err != nil || !strings.Contains(string(data), `"mountpoint": "`+mnt+`"`) {
		t.Errorf("/var/log/obsfs.log has no line for this mount: %v", err)
	}
}

// TestS3fsOptionsMount: an s3fs-style option list mounts and works; tmpdir=
// holds the spool of a file being written.
func TestS3fsOptionsMount(t *testing.T) {
	requireFUSE(t)
	e := newEnv(t)
	spool := t.TempDir()
	m := e.Mount(t, "sigv4", "endpoint=cn-north-4", "enable_noobj_cache", "default_permissions", "kernel_cache",
		"big_writes", "complement_stat", "use_xattr", "max_background=32", "nomultipart", "tmpdir="+spool)
	f, err := os.Create(m.Path("spooled"))
	must(t, err)
	_, err = f.WriteString("s3fs options")
	must(t, err)
	inSpool := false
	fds, _ := os.ReadDir("/proc/" + strconv.Itoa(m.PID()) + "/fd")
	for _, fd := range fds {
		if target, _ := os.Readlink("/proc/" + strconv.Itoa(m.PID()) + "/fd/" + fd.Name()); strings.HasPrefix(target, spool+"/") {
			inSpool = true
		}
	}
	must(t, f.Close())
	if !inSpool {
		t.Errorf("no spool file of obsfs under tmpdir=%s while writing", spool)
	}
	if got, _ := e.getObject(t, "spooled"); string(got) != "s3fs options" {
		t.Errorf("object spooled = %q", got)
	}
}
