package fs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/obsfs/obsfs/obsclient"
	"github.com/obsfs/obsfs/obsclient/obstest"
)

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0644); err != nil {
		t.Fatalf("WriteFile %s: %v", path, err)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("ReadFile %s: %v", path, err)
	}
	return string(b)
}

func wantErrno(t *testing.T, what string, err error, want syscall.Errno) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got %v, want %v", what, err, want)
	}
}

func TestDirShadowsFile(t *testing.T) {
	e := newEnv(t)
	e.put("a", "i am a file", nil)
	e.put("a/x", "inside", nil)
	e.mount(Options{})
	if got := readDirNames(t, e.mnt); strings.Join(got, " ") != "a/" {
		t.Fatalf("ls = %v", got)
	}
	fi, err := os.Stat(e.path("a"))
	if err != nil || !fi.IsDir() {
		t.Fatalf("stat a: %v %v", fi, err)
	}
	if got := mustRead(t, e.path("a/x")); got != "inside" {
		t.Fatalf("a/x = %q", got)
	}
}

func TestImplicitDirs(t *testing.T) {
	e := newEnv(t)
	e.put("imp/sub/f", "data", nil)
	e.mount(Options{Umask: 022, UID: 42, GID: 43})
	fi, err := os.Stat(e.path("imp"))
	if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0755 {
		t.Fatalf("stat imp: %v %v", fi, err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if st.Uid != 42 || st.Gid != 43 {
		t.Fatalf("owner %d:%d", st.Uid, st.Gid)
	}
	if got := readDirNames(t, e.path("imp")); strings.Join(got, " ") != "sub/" {
		t.Fatalf("ls imp = %v", got)
	}
	// Removing the last file keeps the (formerly implicit) directory.
	if err := os.Remove(e.path("imp/sub/f")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(e.path("imp/sub")); err != nil || !fi.IsDir() {
		t.Fatalf("imp/sub after rm: %v", err)
	}
	if _, ok := e.srv.Object(e.bucket, "imp/sub/"); !ok {
		t.Fatal("no marker written for imp/sub/")
	}
}

func TestHiddenKeys(t *testing.T) {
	e := newEnv(t)
	for _, k := range []string{"ok", "bad//x", "./dot", "../up", "d/../e", "nul\x00x", strings.Repeat("l", 256), "d/fine"} {
		e.put(k, "x", nil)
	}
	e.mount(Options{})
	if got := strings.Join(readDirNames(t, e.mnt), " "); got != "bad/ d/ ok" {
		t.Fatalf("ls / = %q", got)
	}
	if got := strings.Join(readDirNames(t, e.path("bad")), " "); got != "" {
		t.Fatalf("ls bad = %q", got)
	}
	if got := strings.Join(readDirNames(t, e.path("d")), " "); got != "fine" {
		t.Fatalf("ls d = %q", got)
	}
}

func TestSubPrefixMount(t *testing.T) {
	e := newEnv(t)
	e.put("p/q/f", "in prefix", nil)
	e.put("other", "outside", nil)
	e.mount(Options{Prefix: "/p/"})
	if got := strings.Join(readDirNames(t, e.mnt), " "); got != "q/" {
		t.Fatalf("ls = %q", got)
	}
	if got := mustRead(t, e.path("q/f")); got != "in prefix" {
		t.Fatalf("q/f = %q", got)
	}
	mustWrite(t, e.path("new"), "n")
	if b, ok := e.body("p/new"); !ok || b != "n" {
		t.Fatalf("p/new = %q %v", b, ok)
	}
}

func TestRenameDirCopyFailureLosesNothing(t *testing.T) {
	e := newEnv(t)
	e.mount(Options{ParallelCount: 4})
	if err := os.MkdirAll(e.path("src/sub"), 0755); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for i := 0; i < 10; i++ {
		rel := fmt.Sprintf("src/f%d", i)
		if i%3 == 0 {
			rel = fmt.Sprintf("src/sub/g%d", i)
		}
		mustWrite(t, e.path(rel), rel)
		want[rel] = rel
	}
	if err := e.srv.InjectFault(obstest.Fault{Op: "CopyObject", KeyPrefix: "dst/f5", Kind: obstest.FaultStatus500, Count: -1}); err != nil {
		t.Fatal(err)
	}
	err := os.Rename(e.path("src"), e.path("dst"))
	wantErrno(t, "rename with failing copy", err, syscall.EIO)
	for k, v := range want {
		if b, ok := e.body(k); !ok || b != v {
			t.Fatalf("source %s lost: %q %v", k, b, ok)
		}
	}
	if keys := e.srv.Keys(e.bucket, "dst/"); len(keys) != 0 {
		t.Fatalf("copies left behind: %v", keys)
	}
	e.srv.ClearFaults()
	if err := os.Rename(e.path("src"), e.path("dst")); err != nil {
		t.Fatalf("rename after clearing: %v", err)
	}
	for k, v := range want {
		nk := "dst" + strings.TrimPrefix(k, "src")
		if got := mustRead(t, e.path(nk)); got != v {
			t.Fatalf("%s = %q", nk, got)
		}
	}
	if keys := e.srv.Keys(e.bucket, "src/"); len(keys) != 0 {
		t.Fatalf("sources left: %v", keys)
	}
	if _, err := os.Stat(e.path("src")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("src still visible: %v", err)
	}
}

func TestFailedUploadKeepsDataForRetry(t *testing.T) {
	e := newEnv(t)
	e.mount(Options{})
	if err := e.srv.InjectFault(obstest.Fault{Op: "PutObject", KeyPrefix: "f", Kind: obstest.FaultStatus500, Count: -1}); err != nil {
		t.Fatal(err)
	}
	fh, err := os.Create(e.path("f"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fh.Write([]byte("precious")); err != nil {
		t.Fatal(err)
	}
	wantErrno(t, "close with failing PUT", fh.Close(), syscall.EIO)
	if _, ok := e.srv.Object(e.bucket, "f"); ok {
		t.Fatal("object visible after failed upload")
	}
	if got := strings.Join(readDirNames(t, e.mnt), " "); got != "f" {
		t.Fatalf("uncommitted file not listed: %q", got)
	}
	e.srv.ClearFaults()
	fh, err = os.OpenFile(e.path("f"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := fh.Sync(); err != nil {
		t.Fatalf("fsync after clearing: %v", err)
	}
	if b, ok := e.body("f"); !ok || b != "precious" {
		t.Fatalf("object after retry = %q %v", b, ok)
	}
	if err := fh.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestQuotaENOSPC(t *testing.T) {
	e := newEnv(t)
	e.srv.SetQuota(e.bucket, 10)
	e.mount(Options{})
	err := os.WriteFile(e.path("big"), bytes.Repeat([]byte("x"), 100), 0644)
	wantErrno(t, "write over quota", err, syscall.ENOSPC)
}

func TestNotEmpty(t *testing.T) {
	e := newEnv(t)
	e.put("imp/x", "x", nil)
	e.mount(Options{})
	if err := os.Mkdir(e.path("d"), 0755); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, e.path("d/f"), "f")
	wantErrno(t, "rmdir d", os.Remove(e.path("d")), syscall.ENOTEMPTY)
	wantErrno(t, "rmdir imp", syscall.Rmdir(e.path("imp")), syscall.ENOTEMPTY)
	if err := os.Mkdir(e.path("e"), 0755); err != nil {
		t.Fatal(err)
	}
	wantErrno(t, "rename e over d", syscall.Rename(e.path("e"), e.path("d")), syscall.ENOTEMPTY)
	if err := os.Remove(e.path("d/f")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(e.path("d")); err != nil {
		t.Fatalf("rmdir emptied d: %v", err)
	}
	if keys := e.srv.Keys(e.bucket, "d"); len(keys) != 0 {
		t.Fatalf("keys left: %v", keys)
	}
}

func TestRenameRules(t *testing.T) {
	e := newEnv(t)
	e.mount(Options{})
	mustWrite(t, e.path("a"), "A")
	mustWrite(t, e.path("b"), "B")
	if err := os.Mkdir(e.path("d"), 0755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(e.path("empty"), 0755); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, e.path("d/x"), "X")
	wantErrno(t, "noreplace", unix.Renameat2(unix.AT_FDCWD, e.path("a"), unix.AT_FDCWD, e.path("b"), unix.RENAME_NOREPLACE), syscall.EEXIST)
	err := unix.Renameat2(unix.AT_FDCWD, e.path("a"), unix.AT_FDCWD, e.path("b"), unix.RENAME_EXCHANGE)
	if !errors.Is(err, syscall.ENOTSUP) && !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("exchange: %v", err)
	}
	wantErrno(t, "dir over file", os.Rename(e.path("empty"), e.path("a")), syscall.ENOTDIR)
	wantErrno(t, "file over dir", syscall.Rename(e.path("a"), e.path("empty")), syscall.EISDIR)
	// File over file replaces it.
	if err := os.Rename(e.path("a"), e.path("b")); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, e.path("b")); got != "A" {
		t.Fatalf("b = %q", got)
	}
	if _, ok := e.srv.Object(e.bucket, "a"); ok {
		t.Fatal("a still on server")
	}
	// Dir over empty dir replaces it.
	if err := syscall.Rename(e.path("d"), e.path("empty")); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, e.path("empty/x")); got != "X" {
		t.Fatalf("empty/x = %q", got)
	}
	if got := strings.Join(readDirNames(t, e.mnt), " "); got != "b empty/" {
		t.Fatalf("ls = %q", got)
	}
}

func TestRenameOnPFS(t *testing.T) {
	e := newEnv(t)
	e.bucket = testPFS
	e.b = e.newBucket(testPFS)
	e.mount(Options{})
	if err := os.Mkdir(e.path("d"), 0755); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, e.path("d/f"), "pfs")
	e.srv.ResetStats()
	if err := os.Rename(e.path("d"), e.path("e")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(e.path("e/f"), e.path("e/g")); err != nil {
		t.Fatal(err)
	}
	st := e.srv.Stats()
	if st["RenameObject"].Requests != 2 || st["CopyObject"].Requests != 0 {
		t.Fatalf("stats %+v", st)
	}
	if got := mustRead(t, e.path("e/g")); got != "pfs" {
		t.Fatalf("e/g = %q", got)
	}
}

func TestSymlinks(t *testing.T) {
	e := newEnv(t)
	e.mount(Options{})
	if err := os.Symlink("../some/target", e.path("l")); err != nil {
		t.Fatal(err)
	}
	check := func() {
		t.Helper()
		if got, err := os.Readlink(e.path("l")); err != nil || got != "../some/target" {
			t.Fatalf("readlink = %q %v", got, err)
		}
		fi, err := os.Lstat(e.path("l"))
		if err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Fatalf("lstat: %v %v", fi, err)
		}
	}
	check()
	if b, _ := e.body("l"); b != "../some/target" {
		t.Fatalf("body %q", b)
	}
	info, _ := e.srv.Object(e.bucket, "l")
	if info.Metadata["mode"] != fmt.Sprint(syscall.S_IFLNK|0777) {
		t.Fatalf("metadata %v", info.Metadata)
	}
	e.remount(Options{})
	check()
}

func TestAttrsPersistAcrossRemount(t *testing.T) {
	e := newEnv(t)
	e.mount(Options{})
	mustWrite(t, e.path("f"), "x")
	if err := os.Mkdir(e.path("d"), 0700); err != nil {
		t.Fatal(err)
	}
	mt := time.Unix(1500000000, 123456789)
	for _, p := range []string{e.path("f"), e.path("d")} {
		if err := os.Chmod(p, 0640); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, 1234, 5678); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	e.remount(Options{})
	for _, p := range []string{"f", "d"} {
		fi, err := os.Stat(e.path(p))
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode().Perm() != 0640 || st.Uid != 1234 || st.Gid != 5678 || !fi.ModTime().Equal(mt) {
			t.Fatalf("%s: mode %v owner %d:%d mtime %v", p, fi.Mode(), st.Uid, st.Gid, fi.ModTime())
		}
	}
	info, _ := e.srv.Object(e.bucket, "f")
	if info.Metadata["uid"] != "1234" || info.Metadata["mtime"] != "1500000000.123456789" {
		t.Fatalf("metadata %v", info.Metadata)
	}
}

func TestS3fsStyleObject(t *testing.T) {
	e := newEnv(t)
	e.put("s3f", "abc", map[string]string{"mode": "33216", "uid": "1001", "gid": "1002", "mtime": "1600000000"})
	e.put("s3d/", "", map[string]string{"mode": "16832", "uid": "7", "gid": "8", "mtime": "1600000001"})
	e.mount(Options{})
	fi, err := os.Stat(e.path("s3f"))
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if fi.Mode() != 0700 || st.Uid != 1001 || st.Gid != 1002 || fi.ModTime().Unix() != 1600000000 || fi.Size() != 3 {
		t.Fatalf("s3f: %v %d:%d %v", fi.Mode(), st.Uid, st.Gid, fi.ModTime())
	}
	fi, err = os.Stat(e.path("s3d"))
	if err != nil {
		t.Fatal(err)
	}
	st = fi.Sys().(*syscall.Stat_t)
	if fi.Mode() != os.ModeDir|0700 || st.Uid != 7 || fi.ModTime().Unix() != 1600000001 {
		t.Fatalf("s3d: %v %d %v", fi.Mode(), st.Uid, fi.ModTime())
	}
}

func TestStatfs(t *testing.T) {
	e := newEnv(t)
	e.put("f", strings.Repeat("x", 8192), nil)
	e.mount(Options{})
	var st syscall.Statfs_t
	if err := syscall.Statfs(e.mnt, &st); err != nil {
		t.Fatal(err)
	}
	if st.Bsize != 4096 || st.Blocks != unlimitedCap/4096 || st.Blocks-st.Bfree != 2 || st.Namelen != 255 {
		t.Fatalf("unlimited: %+v", st)
	}
	e.srv.SetQuota(e.bucket, 1<<20)
	e.remount(Options{})
	if err := syscall.Statfs(e.mnt, &st); err != nil {
		t.Fatal(err)
	}
	if st.Blocks != 256 || st.Bavail != 254 {
		t.Fatalf("quota: %+v", st)
	}
}

func TestXattrs(t *testing.T) {
	e := newEnv(t)
	e.mount(Options{})
	p := e.path("f")
	mustWrite(t, p, "x")
	if err := unix.Setxattr(p, "user.Color", []byte("blue"), 0); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, err := unix.Getxattr(p, "user.color", buf)
	if err != nil || string(buf[:n]) != "blue" {
		t.Fatalf("getxattr = %q %v", buf[:n], err)
	}
	lbuf := make([]byte, 4096)
	n, err = unix.Listxattr(p, lbuf)
	// user.<name> first, then the reserved user.obs.* names (xattr_obs.go).
	if err != nil || !strings.HasPrefix(string(lbuf[:n]), "user.color\x00user.obs.") {
		t.Fatalf("listxattr = %q %v", lbuf[:max(n, 0)], err)
	}
	info, _ := e.srv.Object(e.bucket, "f")
	if info.Metadata["color"] != "blue" || info.Metadata["mode"] == "" {
		t.Fatalf("metadata %v", info.Metadata)
	}
	wantErrno(t, "create existing", unix.Setxattr(p, "user.color", []byte("x"), unix.XATTR_CREATE), syscall.EEXIST)
	wantErrno(t, "replace missing", unix.Setxattr(p, "user.none", []byte("x"), unix.XATTR_REPLACE), syscall.ENODATA)
	wantErrno(t, "posix key", unix.Setxattr(p, "user.mode", []byte("1"), 0), syscall.EPERM)
	wantErrno(t, "too large", unix.Setxattr(p, "user.big", bytes.Repeat([]byte("v"), 9000), 0), syscall.E2BIG)
	_, err = unix.Getxattr(p, "user.mode", buf)
	wantErrno(t, "get posix key", err, syscall.ENODATA)
	e.remount(Options{})
	p = e.path("f")
	n, err = unix.Getxattr(p, "user.color", buf)
	if err != nil || string(buf[:max(n, 0)]) != "blue" {
		t.Fatalf("after remount getxattr = %q %v", buf[:max(n, 0)], err)
	}
	if err := unix.Removexattr(p, "user.color"); err != nil {
		t.Fatal(err)
	}
	_, err = unix.Getxattr(p, "user.color", buf)
	wantErrno(t, "removed", err, syscall.ENODATA)
	if info, _ := e.srv.Object(e.bucket, "f"); info.Metadata["color"] != "" {
		t.Fatalf("metadata after remove %v", info.Metadata)
	}
}

func TestReadOnlyMount(t *testing.T) {
	e := newEnv(t)
	e.put("f", "ro", nil)
	e.extra = []string{"ro"} // what cmd/obsfs adds for -o ro
	e.mount(Options{ReadOnly: true})
	if got := mustRead(t, e.path("f")); got != "ro" {
		t.Fatalf("f = %q", got)
	}
	wantErrno(t, "create", os.WriteFile(e.path("g"), nil, 0644), syscall.EROFS)
	wantErrno(t, "write", os.WriteFile(e.path("f"), nil, 0644), syscall.EROFS)
	wantErrno(t, "mkdir", os.Mkdir(e.path("d"), 0755), syscall.EROFS)
	wantErrno(t, "unlink", os.Remove(e.path("f")), syscall.EROFS)
	wantErrno(t, "chmod", os.Chmod(e.path("f"), 0600), syscall.EROFS)
	wantErrno(t, "setxattr", unix.Setxattr(e.path("f"), "user.a", []byte("b"), 0), syscall.EROFS)
}

func TestLocalCreateListedBeforeCommit(t *testing.T) {
	e := newEnv(t)
	e.mount(Options{})
	fh, err := os.Create(e.path("pending"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fh.Write([]byte("p")); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(readDirNames(t, e.mnt), " "); got != "pending" {
		t.Fatalf("ls = %q", got)
	}
	if _, ok := e.srv.Object(e.bucket, "pending"); ok {
		t.Fatal("committed before close")
	}
	if err := e.f.Flush(context.Background()); err != nil {
		t.Fatalf("FS.Flush: %v", err)
	}
	if b, _ := e.body("pending"); b != "p" {
		t.Fatalf("after FS.Flush body %q", b)
	}
	if err := fh.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestCloseToOpenAndPinnedReads(t *testing.T) {
	e := newEnv(t)
	e.mount(Options{StatCacheTTL: 50 * time.Millisecond})
	mustWrite(t, e.path("f"), "v1")
	e.put("f", "version two", nil)
	time.Sleep(100 * time.Millisecond)
	if got := mustRead(t, e.path("f")); got != "version two" {
		t.Fatalf("after remote change: %q", got)
	}
	// A handle reads the version it opened, or fails: never a mix.
	e.put("g", "first version", nil)
	fh, err := os.Open(e.path("g"))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	e.put("g", "second version!", nil)
	_, err = fh.Read(make([]byte, 100))
	wantErrno(t, "read of replaced object", err, syscall.ESTALE)
}

func TestWritePatterns(t *testing.T) {
	e := newEnv(t)
	e.mount(Options{MultipartSize: 128 << 10, ParallelCount: 3})
	rnd := rand.New(rand.NewSource(1))
	big := make([]byte, 700<<10+17)
	rnd.Read(big)
	model := append([]byte(nil), big...)
	p := e.path("big")
	if err := os.WriteFile(p, big, 0644); err != nil {
		t.Fatal(err)
	}
	if info, _ := e.srv.Object(e.bucket, "big"); info.UploadID == "" || info.Size != int64(len(big)) {
		t.Fatalf("not a multipart object: %+v", info)
	}
	check := func(what string) {
		t.Helper()
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, model) {
			t.Fatalf("%s: mount content differs (len %d want %d)", what, len(got), len(model))
		}
		if b, _ := e.body("big"); b != string(model) {
			t.Fatalf("%s: object differs (len %d want %d)", what, len(b), len(model))
		}
	}
	check("multipart")
	// Random writes into the existing object.
	fh, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		off := rnd.Intn(len(model) + 1000)
		buf := make([]byte, 1+rnd.Intn(5000))
		rnd.Read(buf)
		if _, err := fh.WriteAt(buf, int64(off)); err != nil {
			t.Fatal(err)
		}
		if end := off + len(buf); end > len(model) {
			model = append(model, make([]byte, end-len(model))...)
		}
		copy(model[off:], buf)
	}
	if err := fh.Close(); err != nil {
		t.Fatal(err)
	}
	check("random writes")
	// Truncate down, then up (sparse tail of zeros).
	if err := os.Truncate(p, 1000); err != nil {
		t.Fatal(err)
	}
	model = model[:1000]
	check("truncate down")
	if err := os.Truncate(p, 5000); err != nil {
		t.Fatal(err)
	}
	model = append(model, make([]byte, 4000)...)
	check("truncate up")
	// O_APPEND on an existing object.
	fh, err = os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fh.Write([]byte("tail")); err != nil {
		t.Fatal(err)
	}
	if err := fh.Close(); err != nil {
		t.Fatal(err)
	}
	model = append(model, "tail"...)
	check("append")
	// O_TRUNC rewrite.
	if err := os.WriteFile(p, []byte("short"), 0644); err != nil {
		t.Fatal(err)
	}
	model = []byte("short")
	check("O_TRUNC")
	// Sparse new file: a write far past EOF.
	sp := e.path("sparse")
	fh, err = os.Create(sp)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fh.WriteAt([]byte("end"), 300<<10); err != nil {
		t.Fatal(err)
	}
	if err := fh.Close(); err != nil {
		t.Fatal(err)
	}
	if b, _ := e.body("sparse"); len(b) != 300<<10+3 || strings.Trim(b[:300<<10], "\x00") != "" || b[300<<10:] != "end" {
		t.Fatalf("sparse object wrong (len %d)", len(b))
	}
}

// headCounter counts HEADs and the most in flight at once.
type headCounter struct {
	store
	mu                sync.Mutex
	n, inFlight, peak int
}

func (h *headCounter) HeadObject(ctx context.Context, key string, o obsclient.GetOptions) (obsclient.ObjectInfo, error) {
	h.mu.Lock()
	h.n++
	h.inFlight++
	h.peak = max(h.peak, h.inFlight)
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		h.inFlight--
		h.mu.Unlock()
	}()
	time.Sleep(2 * time.Millisecond) // a server farther away than loopback
	return h.store.HeadObject(ctx, key, o)
}

func TestListingManyEntriesConcurrentHeads(t *testing.T) {
	e := newEnv(t)
	const n = 2100 // three listing pages
	for i := 0; i < n; i++ {
		e.put(fmt.Sprintf("many/f%05d", i), "x", map[string]string{"mode": "33152"}) // 0600
	}
	hc := &headCounter{}
	e.wrap = func(s store) store { hc.store = s; return hc }
	e.mount(Options{})
	e.srv.ResetStats()
	start := time.Now()
	ents, err := os.ReadDir(e.path("many"))
	if err != nil || len(ents) != n {
		t.Fatalf("ReadDir: %d entries, %v", len(ents), err)
	}
	for _, de := range ents { // ls -l: stat every entry
		fi, err := os.Lstat(filepath.Join(e.path("many"), de.Name()))
		if err != nil || fi.Mode() != 0600 {
			t.Fatalf("lstat %s: %v %v", de.Name(), fi, err)
		}
	}
	el := time.Since(start)
	st := e.srv.Stats()
	if st["ListObjects"].Requests > 4 {
		t.Fatalf("%d LIST requests", st["ListObjects"].Requests)
	}
	hc.mu.Lock()
	defer hc.mu.Unlock()
	if hc.n > n+10 || hc.peak < 4 {
		t.Fatalf("%d HEADs, at most %d in flight", hc.n, hc.peak)
	}
	t.Logf("ls -l of %d entries: %v, %d HEAD (peak %d in flight), %d LIST", n, el, hc.n, hc.peak, st["ListObjects"].Requests)
}

func TestRenameOpenFiles(t *testing.T) {
	e := newEnv(t)
	e.mount(Options{MultipartSize: 128 << 10})
	big := bytes.Repeat([]byte("0123456789abcdef"), 20<<10) // 320 KiB: multipart with copies
	if err := os.MkdirAll(e.path("d"), 0755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.path("d/f"), big, 0644); err != nil {
		t.Fatal(err)
	}
	fh, err := os.OpenFile(e.path("d/f"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fh.WriteAt([]byte("XY"), 10); err != nil {
		t.Fatal(err)
	}
	// Rename the open, dirty file; then its directory.
	if err := os.Rename(e.path("d/f"), e.path("d/g")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(e.path("d"), e.path("e")); err != nil {
		t.Fatal(err)
	}
	if _, err := fh.WriteAt([]byte("Z"), 300<<10); err != nil {
		t.Fatal(err)
	}
	if err := fh.Close(); err != nil {
		t.Fatalf("close after renames: %v", err)
	}
	want := append([]byte(nil), big...)
	copy(want[10:], "XY")
	want[300<<10] = 'Z'
	if b, ok := e.body("e/g"); !ok || b != string(want) {
		t.Fatalf("e/g wrong (len %d, ok %v)", len(b), ok)
	}
	if keys := e.srv.Keys(e.bucket, ""); strings.Join(keys, " ") != "e/ e/g" {
		t.Fatalf("keys %v", keys)
	}
}

func TestRenamePendingFileOverExisting(t *testing.T) {
	e := newEnv(t)
	e.mount(Options{})
	mustWrite(t, e.path("old"), "old content")
	fh, err := os.Create(e.path("tmp"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fh.Write([]byte("new content")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(e.path("tmp"), e.path("old")); err != nil {
		t.Fatal(err)
	}
	if err := fh.Close(); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, e.path("old")); got != "new content" {
		t.Fatalf("old = %q", got)
	}
	if keys := e.srv.Keys(e.bucket, ""); strings.Join(keys, " ") != "old" {
		t.Fatalf("keys %v", keys)
	}
}

func TestChmodWhileWriting(t *testing.T) {
	e := newEnv(t)
	e.mount(Options{})
	fh, err := os.Create(e.path("f"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fh.Write([]byte("data")); err != nil {
		t.Fatal(err)
	}
	if err := fh.Chmod(0600); err != nil {
		t.Fatal(err)
	}
	if err := unix.Fsetxattr(int(fh.Fd()), "user.k", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	e.srv.ResetStats()
	if err := fh.Close(); err != nil {
		t.Fatal(err)
	}
	info, ok := e.srv.Object(e.bucket, "f")
	if !ok || info.Metadata["mode"] != fmt.Sprint(syscall.S_IFREG|0600) || info.Metadata["k"] != "v" {
		t.Fatalf("object %+v", info)
	}
	if st := e.srv.Stats(); st["PutObject"].Requests != 1 || st["SetObjectMetadata"].Requests != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestReadStreaming(t *testing.T) {
	e := newEnv(t)
	data := make([]byte, 5<<20+3)
	rand.New(rand.NewSource(2)).Read(data)
	if _, err := e.srv.PutObject(e.bucket, "big", data, obstest.ObjectInfo{}); err != nil {
		t.Fatal(err)
	}
	e.mount(Options{CacheSize: 64 << 20})
	e.srv.ResetStats()
	got, err := os.ReadFile(e.path("big"))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadFile: %d bytes, %v", len(got), err)
	}
	if gets := e.srv.Stats()["GetObject"].Requests; gets > 8 {
		t.Fatalf("sequential read of 5 MiB took %d GETs", gets)
	}
	e.srv.ResetStats()
	if got, err := os.ReadFile(e.path("big")); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("second ReadFile: %d bytes, %v", len(got), err)
	}
	if gets := e.srv.Stats()["GetObject"].Requests; gets != 0 {
		t.Fatalf("cached re-read took %d GETs", gets)
	}
	// Random preads, and a truncated body that the handle retries.
	fh, err := os.Open(e.path("big"))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if err := e.srv.InjectFault(obstest.Fault{Op: "GetObject", Kind: obstest.FaultTruncate, After: 1000}); err != nil {
		t.Fatal(err)
	}
	rnd := rand.New(rand.NewSource(3))
	for i := 0; i < 30; i++ {
		off := rnd.Int63n(int64(len(data)))
		buf := make([]byte, 1+rnd.Intn(200000))
		n, err := fh.ReadAt(buf, off)
		if err != nil && !(errors.Is(err, io.EOF) && off+int64(n) == int64(len(data))) {
			t.Fatalf("ReadAt %d: %v", off, err)
		}
		if !bytes.Equal(buf[:n], data[off:off+int64(n)]) {
			t.Fatalf("ReadAt %d: data differs", off)
		}
	}
}

func TestFsyncDirectory(t *testing.T) {
	e := newEnv(t)
	e.mount(Options{})
	if err := os.Mkdir(e.path("d"), 0755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{e.mnt, e.path("d")} {
		fh, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := fh.Sync(); err != nil {
			t.Fatalf("fsync %s: %v", p, err)
		}
		fh.Close()
	}
}

func TestChmodKeepsContentTypeAndClass(t *testing.T) {
	e := newEnv(t)
	if _, err := e.srv.PutObject(e.bucket, "page.html", []byte("<p>"), obstest.ObjectInfo{
		Headers: map[string]string{"Content-Type": "text/html"}, StorageClass: "WARM"}); err != nil {
		t.Fatal(err)
	}
	e.mount(Options{StorageClass: "COLD"})
	if err := os.Chmod(e.path("page.html"), 0600); err != nil {
		t.Fatal(err)
	}
	info, _ := e.srv.Object(e.bucket, "page.html")
	if info.Headers["Content-Type"] != "text/html" || info.StorageClass != "WARM" || info.Metadata["mode"] != fmt.Sprint(syscall.S_IFREG|0600) {
		t.Fatalf("after chmod: %+v", info)
	}
}

func TestListingCache(t *testing.T) {
	e := newEnv(t)
	e.put("d/a", "a", nil)
	const ttl = 2 * time.Second // long enough for a loaded machine to stay within it
	e.mount(Options{StatCacheTTL: ttl})
	if got := strings.Join(readDirNames(t, e.path("d")), " "); got != "a" {
		t.Fatalf("ls = %q", got)
	}
	e.srv.ResetStats()
	e.put("d/remote", "r", nil)
	if got := strings.Join(readDirNames(t, e.path("d")), " "); got != "a" {
		t.Fatalf("cached ls = %q", got)
	}
	if n := e.srv.Stats()["ListObjects"].Requests; n != 0 {
		t.Fatalf("cached ls cost %d LISTs", n)
	}
	mustWrite(t, e.path("d/local"), "l") // own changes show at once
	if got := strings.Join(readDirNames(t, e.path("d")), " "); got != "a local remote" {
		t.Fatalf("ls after local create = %q", got)
	}
	e.put("d/remote2", "r", nil)
	time.Sleep(ttl + 200*time.Millisecond) // others' changes within the TTL
	if got := strings.Join(readDirNames(t, e.path("d")), " "); got != "a local remote remote2" {
		t.Fatalf("ls after TTL = %q", got)
	}
}

func TestDeletedDirectoryStaysDeleted(t *testing.T) {
	e := newEnv(t)
	e.mount(Options{})
	if err := os.Mkdir(e.path("d"), 0755); err != nil {
		t.Fatal(err)
	}
	dfd, err := unix.Open(e.path("d"), unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dfd)
	if err := os.Remove(e.path("d")); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Openat(dfd, "x", unix.O_CREAT|unix.O_WRONLY, 0644)
	if err == nil {
		unix.Close(fd)
		t.Fatal("created a file in a removed directory")
	}
	if keys := e.srv.Keys(e.bucket, ""); len(keys) != 0 {
		t.Fatalf("keys %v", keys)
	}
}

// TestTruncateRightAfterClose: truncate(2) of a path just closed commits
// before it returns, although the kernel may still be about to send the
// RELEASE of the writer (it does so after close(2) returned). Left to that
// release, the truncate landed late or never.
func TestTruncateRightAfterClose(t *testing.T) {
	e := newEnv(t)
	e.mount(Options{})
	p := e.path("f")
	data := bytes.Repeat([]byte("0123456789"), 200)
	for i := range 100 {
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(p, 1000); err != nil {
			t.Fatal(err)
		}
		if b, _ := e.body("f"); b != string(data[:1000]) {
			t.Fatalf("round %d: object holds %d bytes right after truncate(2) returned, want 1000", i, len(b))
		}
	}
}
