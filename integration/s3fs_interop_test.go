package integration

// Special files are readable by s3fs on the same bucket, and s3fs's are
// readable here (fs/SEMANTICS.md 7). Runs when s3fs is installed (Debian:
// apt-get install s3fs); s3fs signs with V4 for the emulator's region.

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestS3fsSeesSpecialFiles(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mknod of devices needs root")
	}
	if _, err := exec.LookPath("s3fs"); err != nil {
		t.Skip("s3fs not installed")
	}
	e := newEnv(t)
	m := e.Mount(t, "stat_cache_expire=0")
	sh(t, m.Dir, "mkfifo", "-m", "640", "fifo")
	sh(t, m.Dir, "mknod", "-m", "600", "null", "c", "1", "3")
	sh(t, m.Dir, "python3", "-c", "import socket; socket.socket(socket.AF_UNIX).bind('sock')")

	dir := t.TempDir()
	pw := filepath.Join(t.TempDir(), "passwd-s3fs")
	must(t, os.WriteFile(pw, []byte(e.Bucket+":"+testAccessKey+":"+testSecretKey+"\n"), 0o600))
	sh(t, "", "s3fs", e.Bucket, dir, "-o", "passwd_file="+pw+",url="+e.Srv.URL+",use_path_request_style,endpoint=cn-north-4,sigv4,stat_cache_expire=1")
	t.Cleanup(func() {
		for i := 0; i < 50 && isMountpoint(dir); i++ {
			_ = exec.Command("fusermount3", "-u", dir).Run()
			time.Sleep(100 * time.Millisecond)
		}
	})
	if !isMountpoint(dir) {
		t.Fatal("s3fs did not mount")
	}
	got := sh(t, dir, "stat", "-c", "%n %F %a", "fifo", "null", "sock")
	want := "fifo fifo 640\nnull character special file 600\nsock socket "
	if !strings.HasPrefix(got, want) {
		t.Errorf("s3fs shows\n%s\nwant\n%s…", got, want)
	}
	// And the other way: what s3fs creates, obsfs shows.
	sh(t, dir, "mkfifo", "-m", "600", "s3fifo")
	sh(t, dir, "mknod", "-m", "644", "s3chr", "c", "1", "5")
	if got := sh(t, m.Dir, "stat", "-c", "%n %F %a", "s3fifo", "s3chr"); got != "s3fifo fifo 600\ns3chr character special file 644\n" {
		t.Errorf("obsfs shows s3fs's special files as\n%s", got)
	}
}
