package fs

import (
	"net"
	"os"
	"strconv"
	"syscall"
	"testing"

	"github.com/obsfs/obsfs/obsclient"
)

// TestSpecialFileAttrs: s3fs keeps FIFOs, sockets and devices as empty
// objects whose mode metadata carries the type; the device number goes in
// `rdev` (s3fs ignores it).
func TestSpecialFileAttrs(t *testing.T) {
	d := attrDefaults{Umask: 022}
	chr := uint32(syscall.S_IFCHR | 0o620)
	for _, tc := range []struct {
		md       map[string]string
		dir      bool
		wantMode uint32
		wantRdev uint32
	}{
		{map[string]string{"mode": "4480"}, false, syscall.S_IFIFO | 0o600, 0}, // s3fs mkfifo, mode 0600
		{map[string]string{"mode": strconv.Itoa(syscall.S_IFSOCK | 0o755)}, false, syscall.S_IFSOCK | 0o755, 0},
		{map[string]string{"mode": strconv.Itoa(int(chr)), "rdev": "1025"}, false, chr, 1025},
		{map[string]string{"mode": strconv.Itoa(syscall.S_IFBLK | 0o660), "rdev": "2049"}, false, syscall.S_IFBLK | 0o660, 2049},
		{map[string]string{"mode": "4480"}, true, syscall.S_IFDIR | 0o600, 0}, // a directory key stays a directory
		{map[string]string{"rdev": "junk", "mode": "33188"}, false, syscall.S_IFREG | 0o644, 0},
	} {
		a := attrFromInfo(obsclient.ObjectInfo{Metadata: tc.md}, tc.dir, d)
		if a.Mode != tc.wantMode || a.Rdev != tc.wantRdev {
			t.Errorf("%v dir=%v: mode %o rdev %d, want %o %d", tc.md, tc.dir, a.Mode, a.Rdev, tc.wantMode, tc.wantRdev)
		}
		if _, ok := a.User["rdev"]; ok {
			t.Errorf("%v: rdev shown as user metadata", tc.md)
		}
	}
	a := objAttr{Mode: chr, Rdev: 1025}
	if md := a.metadata(); md["rdev"] != "1025" || md["mode"] != strconv.Itoa(int(chr)) {
		t.Errorf("device metadata %v", md)
	}
	a = objAttr{Mode: syscall.S_IFIFO | 0o644}
	if md := a.metadata(); md["rdev"] != "" || md["mode"] != strconv.Itoa(syscall.S_IFIFO|0o644) {
		t.Errorf("fifo metadata %v", md)
	}
	if !isPosixKey("RDEV") {
		t.Error("rdev is not reserved")
	}
}

func mkdev(major, minor uint32) uint32 { return major<<8 | minor }

// TestSpecialFiles: mkfifo, mknod of devices and bind of a unix socket
// create s3fs-style objects; the kernel does FIFO and socket I/O; types
// and device numbers survive a remount and show in d_type.
func TestSpecialFiles(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mknod of devices needs root")
	}
	e := newEnv(t)
	e.put("s3fs-fifo", "", map[string]string{"mode": "4480", "uid": "0", "gid": "0", "mtime": "1600000000"})
	e.mount(Options{})
	if err := syscall.Mkfifo(e.path("fifo"), 0o640); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
	if err := syscall.Mknod(e.path("chr"), syscall.S_IFCHR|0o600, int(mkdev(1, 3))); err != nil {
		t.Fatalf("mknod chr: %v", err)
	}
	if err := syscall.Mknod(e.path("blk"), syscall.S_IFBLK|0o600, int(mkdev(7, 9))); err != nil {
		t.Fatalf("mknod blk: %v", err)
	}
	l, err := net.Listen("unix", e.path("sock"))
	if err != nil {
		t.Fatalf("bind unix socket: %v", err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false) // the node outlives the listener
	defer l.Close()

	// The kernel serves FIFO and socket I/O locally.
	fifo, err := os.OpenFile(e.path("fifo"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fifo.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := fifo.Read(buf); err != nil || string(buf) != "ping" {
		t.Fatalf("fifo read %q %v", buf, err)
	}
	fifo.Close()
	go func() {
		if c, err := l.Accept(); err == nil {
			c.Write([]byte("pong"))
			c.Close()
		}
	}()
	c, err := net.Dial("unix", e.path("sock"))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	if _, err := c.Read(buf); err != nil || string(buf) != "pong" {
		t.Fatalf("socket read %q %v", buf, err)
	}
	c.Close()

	want := map[string]struct {
		typ  uint32
		perm uint32
		rdev uint32
	}{
		"fifo":      {syscall.S_IFIFO, 0o640, 0},
		"chr":       {syscall.S_IFCHR, 0o600, mkdev(1, 3)},
		"blk":       {syscall.S_IFBLK, 0o600, mkdev(7, 9)},
		"sock":      {syscall.S_IFSOCK, 0, 0},
		"s3fs-fifo": {syscall.S_IFIFO, 0o600, 0},
	}
	check := func(when string) {
		t.Helper()
		for name, w := range want {
			var st syscall.Stat_t
			if err := syscall.Lstat(e.path(name), &st); err != nil {
				t.Fatalf("%s: lstat %s: %v", when, name, err)
			}
			if st.Mode&syscall.S_IFMT != w.typ || name != "sock" && st.Mode&07777 != w.perm || uint32(st.Rdev) != w.rdev {
				t.Errorf("%s: %s mode %o rdev %d, want type %o perm %o rdev %d", when, name, st.Mode, st.Rdev, w.typ, w.perm, w.rdev)
			}
		}
		for _, de := range getdents(t, e.mnt) {
			if w, ok := want[de.name]; ok && de.typ != uint8(w.typ>>12) {
				t.Errorf("%s: d_type of %s = %d, want %d", when, de.name, de.typ, w.typ>>12)
			}
		}
	}
	check("after create")
	for name, w := range want {
		if name == "s3fs-fifo" {
			continue
		}
		info, ok := e.srv.Object(e.bucket, name)
		if !ok {
			t.Fatalf("no object %s", name)
		}
		if info.Size != 0 {
			t.Errorf("%s: object of %d bytes, want empty", name, info.Size)
		}
		m, _ := strconv.ParseUint(info.Metadata["mode"], 10, 32)
		if uint32(m)&syscall.S_IFMT != w.typ {
			t.Errorf("%s: mode metadata %q lacks the type %o", name, info.Metadata["mode"], w.typ)
		}
		if w.rdev != 0 && info.Metadata["rdev"] != strconv.Itoa(int(w.rdev)) {
			t.Errorf("%s: rdev metadata %q, want %d", name, info.Metadata["rdev"], w.rdev)
		}
	}
	// chmod keeps the type and the device number; rename and unlink work.
	if err := os.Chmod(e.path("chr"), 0o644); err != nil {
		t.Fatal(err)
	}
	want["chr"] = struct{ typ, perm, rdev uint32 }{syscall.S_IFCHR, 0o644, mkdev(1, 3)}
	if err := os.Rename(e.path("blk"), e.path("blk2")); err != nil {
		t.Fatal(err)
	}
	want["blk2"] = want["blk"]
	delete(want, "blk")
	l.Close()
	e.remount(Options{})
	check("after remount")
	for name := range want {
		if err := os.Remove(e.path(name)); err != nil {
			t.Fatalf("unlink %s: %v", name, err)
		}
	}
	if keys := e.srv.Keys(e.bucket, ""); len(keys) != 0 {
		t.Fatalf("keys left: %v", keys)
	}
}

// TestHardLinkUnsupported: link(2) stays ENOTSUP.
func TestHardLinkUnsupported(t *testing.T) {
	e := newEnv(t)
	e.mount(Options{})
	if err := os.WriteFile(e.path("f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(e.path("f"), e.path("g")); !errorsIsErrno(err, syscall.ENOTSUP) {
		t.Fatalf("link: %v, want ENOTSUP", err)
	}
}

func errorsIsErrno(err error, en syscall.Errno) bool {
	le, ok := err.(*os.LinkError)
	return ok && le.Err == en
}

// dirent is one record of getdents64.
type dirent struct {
	ino  uint64
	typ  uint8
	name string
}

// getdents lists dir with getdents64 itself (no libc or Go filtering of
// "." and "..").
func getdents(t *testing.T, dir string) []dirent {
	t.Helper()
	fd, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	var out []dirent
	buf := make([]byte, 8192)
	for {
		n, err := syscall.Getdents(fd, buf)
		if err != nil {
			t.Fatalf("getdents %s: %v", dir, err)
		}
		if n == 0 {
			return out
		}
		for b := buf[:n]; len(b) > 0; {
			reclen := int(b[16]) | int(b[17])<<8
			rec := b[:reclen]
			name := rec[19:]
			for i, c := range name {
				if c == 0 {
					name = name[:i]
					break
				}
			}
			var ino uint64
			for i := 7; i >= 0; i-- {
				ino = ino<<8 | uint64(rec[i])
			}
			out = append(out, dirent{ino: ino, typ: rec[18], name: string(name)})
			b = b[reclen:]
		}
	}
}
