package integration

// FIFOs, sockets and device nodes through the built binary (fs/SEMANTICS.md
// 7): created with the usual tools, stored as s3fs stores them (an empty
// object whose mode metadata carries the type, rdev for devices), working
// locally, and shown with the right type after a remount.

import (
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestSpecialFilesEndToEnd(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mknod of devices needs root")
	}
	e := newEnv(t)
	// A FIFO as s3fs 1.9x writes it (mkfifo -m 600 under s3fs).
	e.putObject(t, "s3fs-fifo", nil, map[string]string{"mode": "4480", "uid": "0", "gid": "0", "mtime": "1700000000"})
	m := e.Mount(t)
	sh(t, m.Dir, "mkfifo", "-m", "640", "fifo")
	sh(t, m.Dir, "mknod", "-m", "600", "null", "c", "1", "3")
	sh(t, m.Dir, "mknod", "-m", "600", "loop", "b", "7", "9")
	l, err := net.Listen("unix", m.Path("sock"))
	if err != nil {
		t.Fatalf("bind a unix socket in the mount: %v", err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	go func() {
		if c, err := l.Accept(); err == nil {
			c.Write([]byte("hello\n"))
			c.Close()
		}
	}()
	// The kernel serves the I/O: a FIFO between two processes, a socket.
	out := sh(t, m.Dir, "sh", "-c", `(echo through > fifo &) ; cat fifo`)
	if out != "through\n" {
		t.Errorf("fifo carried %q", out)
	}
	c, err := net.Dial("unix", m.Path("sock"))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	buf := make([]byte, 6)
	if _, err := c.Read(buf); err != nil || string(buf) != "hello\n" {
		t.Errorf("socket read %q %v", buf, err)
	}
	c.Close()
	l.Close()

	wantType := map[string]uint32{"fifo": syscall.S_IFIFO, "null": syscall.S_IFCHR, "loop": syscall.S_IFBLK, "sock": syscall.S_IFSOCK}
	for name, typ := range wantType {
		info, ok := e.Srv.Object(e.Bucket, name)
		if !ok {
			t.Fatalf("no object for %s", name)
		}
		mode, err := strconv.ParseUint(info.Metadata["mode"], 10, 32)
		if err != nil || uint32(mode)&syscall.S_IFMT != typ || info.Size != 0 {
			t.Errorf("%s: object of %d bytes with mode %q, want empty with type %o", name, info.Size, info.Metadata["mode"], typ)
		}
	}
	if info, _ := e.Srv.Object(e.Bucket, "null"); info.Metadata["rdev"] != strconv.Itoa(1<<8|3) {
		t.Errorf("null: rdev metadata %q", info.Metadata["rdev"])
	}

	m.Remount()
	got := sh(t, m.Dir, "stat", "-c", "%n %F %a %t:%T", "fifo", "null", "loop", "sock", "s3fs-fifo")
	want := "fifo fifo 640 0:0\nnull character special file 600 1:3\nloop block special file 600 7:9\nsock socket 755 0:0\ns3fs-fifo fifo 600 0:0\n"
	if sockMode := lstatMode(t, m.Path("sock")) & 0o777; sockMode != 0o755 {
		want = strings.Replace(want, "sock socket 755", "sock socket "+strconv.FormatUint(uint64(sockMode), 8), 1)
	}
	if got != want {
		t.Errorf("after remount stat says\n%s\nwant\n%s", got, want)
	}
	// d_type: find -type takes the type from readdir.
	for typ, name := range map[string]string{"p": "fifo\ns3fs-fifo", "c": "null", "b": "loop", "s": "sock"} {
		if out := strings.TrimSpace(sh(t, m.Dir, "sh", "-c", "find . -mindepth 1 -type "+typ+" -printf '%P\\n' | sort")); out != name {
			t.Errorf("find -type %s: %q, want %q", typ, out, name)
		}
	}
	sh(t, m.Dir, "rm", "fifo", "null", "loop", "sock", "s3fs-fifo")
	if keys := e.Srv.Keys(e.Bucket, ""); len(keys) != 0 {
		t.Errorf("keys left: %v", keys)
	}
	if _, err := exec.LookPath("ln"); err == nil {
		sh(t, m.Dir, "touch", "f")
		if r := runCmd(m.Dir, nil, "ln", "f", "g"); r.Code == 0 {
			t.Errorf("a hard link succeeded")
		}
	}
}

func lstatMode(t *testing.T, p string) uint32 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st.Mode
}
