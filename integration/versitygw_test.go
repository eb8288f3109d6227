package integration

// The versitygw tier: the mount against an S3 server we did not write.
// versitygw (github.com/versity/versitygw, the S3 gateway with a posix
// backend) serves a temporary directory on 127.0.0.1; obsfs mounts it with
// signature=v4 and path-style requests, and ordinary programs run on it as
// on the emulator: cp -a, tar, rsync, a directory rename, appends (versitygw
// has no OBS append API), user.* xattrs, a multipart upload, df, and a remount
// that compares everything byte for byte. The tier skips, saying why, only
// when the versitygw binary is not installed (.ci/run installs it:
// go install github.com/versity/versitygw/cmd/versitygw@v1.8.0).

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	vgwAccessKey = "VGWACCESSKEY00000001"
	vgwSecretKey = "vgw/Secret+Key=0123456789abcdefghijk"
	vgwBucket    = "vgw-bucket"
	vgwRegion    = "us-east-1" // versitygw's default region
	vgwInstall   = "go install github.com/versity/versitygw/cmd/versitygw@v1.8.0"
)

// versitygwBin finds the versitygw binary: $VERSITYGW, PATH, GOBIN, then
// GOPATH/bin (where go install puts it). It returns "" and the reason when
// there is none.
func versitygwBin() (string, string) {
	if p := os.Getenv("VERSITYGW"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", "$VERSITYGW: " + err.Error()
		}
		return p, ""
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, ""
	}
	var dirs []string
	if out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output(); err == nil {
		lines := strings.Split(string(out), "\n") // GOBIN's line may be empty
		if len(lines) > 0 && strings.TrimSpace(lines[0]) != "" {
			dirs = append(dirs, strings.TrimSpace(lines[0]))
		}
		if len(lines) > 1 {
			for _, gp := range filepath.SplitList(strings.TrimSpace(lines[1])) {
				dirs = append(dirs, filepath.Join(gp, "bin"))
			}
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, "go", "bin"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, "versitygw")
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, ""
		}
	}
	return "", "versitygw is not installed (looked in $VERSITYGW, PATH, GOBIN and GOPATH/bin: " +
		strings.Join(dirs, ", ") + "); install it with `" + vgwInstall + "` (.ci/run does)"
}

// versitygw is one running gateway serving a posix directory.
type versitygw struct {
	URL  string
	Root string // the posix backend's directory; vgwBucket is a directory in it
	log  string
	cmd  *exec.Cmd
	done chan struct{}
}

// startVersitygw runs versitygw on a free loopback port with a fresh
// backend directory holding vgwBucket; it stops when t ends. t skips when
// versitygw is not installed.
func startVersitygw(t *testing.T) *versitygw {
	t.Helper()
	requireFUSE(t)
	bin, reason := versitygwBin()
	if bin == "" {
		t.Skip(reason)
	}
	v := &versitygw{Root: filepath.Join(t.TempDir(), "gwroot"), log: filepath.Join(t.TempDir(), "versitygw.log")}
	must(t, os.MkdirAll(filepath.Join(v.Root, vgwBucket), 0o755))
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ { // a free port may be taken before versitygw binds it
		addr := closedPort(t)
		if lastErr = v.start(bin, addr); lastErr == nil {
			v.URL = "http://" + addr
			break
		}
	}
	if lastErr != nil {
		t.Fatalf("start versitygw: %v\n%s", lastErr, tail(v.log, 30))
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("versitygw log (%s):\n%s", v.log, tail(v.log, 40))
		}
		v.stop()
	})
	return v
}

// start runs versitygw on addr and waits until it accepts connections.
func (v *versitygw) start(bin, addr string) error {
	logf, err := os.OpenFile(v.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	v.cmd = exec.Command(bin, "--access", vgwAccessKey, "--secret", vgwSecretKey, "--region", vgwRegion,
		"--port", addr, "--quiet", "posix", v.Root)
	v.cmd.Stdout, v.cmd.Stderr = logf, logf
	v.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := v.cmd.Start(); err != nil {
		return err
	}
	v.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(v.cmd, v.done)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		select {
		case <-v.done:
			return &exec.ExitError{ProcessState: v.cmd.ProcessState}
		case <-time.After(50 * time.Millisecond):
		}
	}
	v.stop()
	return os.ErrDeadlineExceeded
}

// stop ends this test's versitygw process.
func (v *versitygw) stop() {
	if v.cmd == nil || v.cmd.Process == nil {
		return
	}
	_ = v.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-v.done:
	case <-time.After(10 * time.Second):
		_ = v.cmd.Process.Kill()
		<-v.done
	}
}

// Env is an Env whose mounts reach this versitygw (no emulator: Srv is
// nil, so request counters are not available).
func (v *versitygw) Env(t *testing.T) *Env {
	return &Env{Bucket: vgwBucket, Passwd: writePasswd(t, vgwAccessKey, vgwSecretKey, 0o600), URL: v.URL}
}

// vgwOptions are the mount options an S3 server needs.
var vgwOptions = []string{"signature=v4", "region=" + vgwRegion}

// TestVersitygw runs the everyday workloads on a mount of versitygw and
// compares the results after a remount byte for byte.
func TestVersitygw(t *testing.T) {
	start := time.Now()
	v := startVersitygw(t)
	e := v.Env(t)
	// multipart_size=5: the 17 MiB file below is a 4-part upload.
	m := e.Mount(t, append(vgwOptions, "multipart_size=5")...)
	ref := newRef(t)
	tmp := t.TempDir()

	t.Run("cp -a", func(t *testing.T) {
		sh(t, "", "cp", "-a", ref, m.Path("cpa"))
		compareTrees(t, ref, m.Path("cpa"), preserveAll)
	})
	t.Run("tar", func(t *testing.T) {
		archive := filepath.Join(tmp, "ref.tar")
		sh(t, "", "tar", "-C", ref, "-cf", archive, ".")
		must(t, os.Mkdir(m.Path("tarx"), 0o755))
		sh(t, "", "tar", "-C", m.Path("tarx"), "-xpf", archive)
		compareTrees(t, ref, m.Path("tarx"), preserveAll)
	})
	t.Run("rsync", func(t *testing.T) {
		sh(t, "", "rsync", "-a", ref+"/", m.Path("rs")+"/")
		compareTrees(t, ref, m.Path("rs"), preserveAll)
		if out := sh(t, "", "rsync", "-a", "--itemize-changes", ref+"/", m.Path("rs")+"/"); strings.TrimSpace(out) != "" {
			t.Errorf("second rsync -a transferred or changed something:\n%s", out)
		}
	})
	t.Run("rename a directory", func(t *testing.T) {
		sh(t, "", "mv", m.Path("cpa"), m.Path("moved"))
		compareTrees(t, ref, m.Path("moved"), preserveAll)
		if _, err := os.Lstat(m.Path("cpa")); !os.IsNotExist(err) {
			t.Errorf("lstat of the old name after mv: %v, want ENOENT", err)
		}
		// A nested directory renamed within the tree, and an empty one.
		sh(t, "", "mv", m.Path("rs", "a", "b"), m.Path("rs", "b2"))
		sh(t, "", "mv", m.Path("rs", "empty-dir"), m.Path("rs", "empty2"))
		checkFile(t, m.Path("rs", "b2", "c", "deep.txt"), content("a/b/c/deep.txt", 1234), "after mv of a nested directory")
	})

	appendWant := map[string][]byte{}
	t.Run("append", func(t *testing.T) {
		// A 4 MiB file grows by O_APPEND writes (no append API here: the
		// growth is copied or uploaded), and files created by >> take the
		// append path's fallback.
		big := content("log", 4*MiB)
		must(t, os.WriteFile(m.Path("app.log"), big, 0o644))
		f, err := os.OpenFile(m.Path("app.log"), os.O_WRONLY|os.O_APPEND, 0)
		must(t, err)
		_, err = f.Write([]byte("one more line\n"))
		must(t, err)
		must(t, f.Close())
		sh(t, "", "sh", "-c", `printf 'shell append\n' >> "$1"`, "sh", m.Path("app.log"))
		appendWant["app.log"] = append(big, "one more line\nshell append\n"...)
		for i := 0; i < 3; i++ {
			sh(t, "", "sh", "-c", `echo "line $2" >> "$1"`, "sh", m.Path("new.log"), string(rune('a'+i)))
		}
		appendWant["new.log"] = []byte("line a\nline b\nline c\n")
		for name, want := range appendWant {
			checkFile(t, m.Path(name), want, "after appends")
		}
	})
	t.Run("xattrs", func(t *testing.T) {
		if _, err := exec.LookPath("setfattr"); err != nil {
			t.Skip("setfattr is not installed (package attr)")
		}
		f := m.Path("tagged")
		sh(t, "", "sh", "-c", `echo data > "$1"`, "sh", f)
		sh(t, "", "setfattr", "-n", "user.color", "-v", "blue", f)
		sh(t, "", "setfattr", "-n", "user.shape", "-v", "round", f)
		sh(t, "", "setfattr", "-x", "user.shape", f)
		if out := sh(t, "", "getfattr", "--only-values", "-n", "user.color", f); out != "blue" {
			t.Errorf("getfattr user.color = %q, want blue", out)
		}
	})
	bigWant := content("multipart.bin", 17*MiB+123)
	t.Run("multipart", func(t *testing.T) {
		src := filepath.Join(tmp, "multipart.bin")
		must(t, os.WriteFile(src, bigWant, 0o644))
		sh(t, "", "cp", src, m.Path("multipart.bin"))
		checkFile(t, m.Path("multipart.bin"), bigWant, "after cp")
		// The server's ETag of a multipart object is "<md5 of part md5s>-<parts>".
		if etag := xattrValue(t, m.Path("multipart.bin"), "user.obs.etag"); !strings.HasSuffix(etag, "-4") {
			t.Errorf("ETag %q: want a 4-part multipart upload (multipart_size=5, 17 MiB)", etag)
		}
	})

	t.Run("df", func(t *testing.T) {
		var st syscall.Statfs_t
		if err := syscall.Statfs(m.Dir, &st); err != nil || st.Blocks == 0 {
			t.Errorf("statfs on a versitygw mount: %+v %v", st, err)
		}
	})

	m.Remount() // nothing from caches: what versitygw holds
	t.Run("after remount", func(t *testing.T) {
		compareTrees(t, ref, m.Path("moved"), preserveAll)
		compareTrees(t, ref, m.Path("tarx"), preserveAll)
		for _, old := range []string{"cpa", "rs/a/b", "rs/empty-dir"} {
			if _, err := os.Lstat(m.Path(old)); !os.IsNotExist(err) {
				t.Errorf("lstat %s after mv and remount: %v, want ENOENT", old, err)
			}
		}
		checkFile(t, m.Path("rs", "b2", "sibling.bin"), content("a/b/sibling.bin", 65536+7), "after mv and remount")
		if st, err := os.Stat(m.Path("rs", "empty2")); err != nil || !st.IsDir() {
			t.Errorf("renamed empty directory after remount: %v", err)
		}
		for name, want := range appendWant {
			checkFile(t, m.Path(name), want, "after appends and remount")
		}
		checkFile(t, m.Path("multipart.bin"), bigWant, "after remount")
		if _, err := exec.LookPath("getfattr"); err == nil {
			if out := sh(t, "", "getfattr", "--only-values", "-n", "user.color", m.Path("tagged")); out != "blue" {
				t.Errorf("getfattr user.color after remount = %q, want blue", out)
			}
			if r := runCmd("", nil, "getfattr", "--only-values", "-n", "user.shape", m.Path("tagged")); r.Code == 0 {
				t.Errorf("user.shape survived setfattr -x and a remount: %q", r.Stdout)
			}
		}
		back := filepath.Join(tmp, "back")
		sh(t, "", "cp", "-a", m.Path("moved"), back)
		compareTrees(t, ref, back, preserveAll)
	})
	t.Logf("versitygw tier took %v", time.Since(start).Round(time.Millisecond))
}

// xattrValue reads one extended attribute of p.
func xattrValue(t *testing.T, p, name string) string {
	t.Helper()
	buf := make([]byte, 4096)
	n, err := syscall.Getxattr(p, name, buf)
	if err != nil {
		t.Fatalf("getxattr %s %s: %v", p, name, err)
	}
	return string(bytes.TrimRight(buf[:n], "\x00"))
}

// TestVersitygwRefusals: a mount the server refuses says why in one line,
// by the server's own error (region, secret key, access key), not "check
// the credentials" for everything.
func TestVersitygwRefusals(t *testing.T) {
	v := startVersitygw(t)
	e := v.Env(t)
	wrongSK := writePasswd(t, vgwAccessKey, "not-the-secret", 0o600)
	wrongAK := writePasswd(t, "NOSUCHACCESSKEY00001", vgwSecretKey, 0o600)
	cases := []struct {
		name, opts, cause string
	}{
		{"wrong region", e.Options("signature=v4", "region=cn-north-4"), `region "cn-north-4".*AuthorizationHeaderMalformed.*set region=`},
		{"wrong secret key", strings.Replace(e.Options(vgwOptions...), e.Passwd, wrongSK, 1), `SignatureDoesNotMatch.*secret key`},
		{"unknown access key", strings.Replace(e.Options(vgwOptions...), e.Passwd, wrongAK, 1), `does not know the access key`},
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			mnt := t.TempDir()
			r := runCmd("", nil, obsfsBin(), vgwBucket, mnt, "-o", c.opts)
			if isMountpoint(mnt) {
				unmountDaemon(t, mnt)
				t.Fatalf("mounted although it should have failed (exit %d)", r.Code)
			}
			if r.Code != 6 {
				t.Errorf("exit %d (%v), want 6; stderr: %q", r.Code, r.Err, r.Stderr)
			}
			oneLine(t, r, c.cause)
		})
	}
}
