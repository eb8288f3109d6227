package integration

// The bucket format is shared with s3fs and Huawei's obsfs: attributes in
// the custom metadata mode/uid/gid/mtime. Objects planted directly show
// those attributes through the mount; objects without them get the mount's
// defaults; a prefix mount maps paths under the prefix.

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestS3fsStyleObjects(t *testing.T) {
	e := newEnv(t)
	const mtime = 1500000000
	meta := func(mode uint32, uid, gid int) map[string]string {
		return map[string]string{"mode": strconv.FormatUint(uint64(mode), 10), "uid": strconv.Itoa(uid),
			"gid": strconv.Itoa(gid), "mtime": strconv.Itoa(mtime) + ".25"}
	}
	e.putObject(t, "s3fs/file", []byte("s3fs file body"), meta(syscall.S_IFREG|0o640, 1234, 5678))
	e.putObject(t, "s3fs/dir/", nil, meta(syscall.S_IFDIR|0o750, 1001, 1002))
	e.putObject(t, "s3fs/link", []byte("dir/target"), meta(syscall.S_IFLNK|0o777, 1003, 1004))
	e.putObject(t, "s3fs/dir/inner", []byte("inner"), map[string]string{"mode": "33261", "mtime": "1600000000"}) // 0100755, no uid/gid
	m := e.Mount(t)

	check := func(rel string, mode os.FileMode, uid, gid uint32, mt int64) {
		t.Helper()
		a := lstatAttrs(t, m.Path(rel))
		if a.Mode != mode || a.UID != uid || a.GID != gid || a.Mtime != mt {
			t.Errorf("%s: mode %v uid %d gid %d mtime %d, want %v %d %d %d", rel, a.Mode, a.UID, a.GID, a.Mtime, mode, uid, gid, mt)
		}
	}
	check("s3fs/file", 0o640, 1234, 5678, mtime)
	check("s3fs/dir", os.ModeDir|0o750, 1001, 1002, mtime)
	check("s3fs/link", os.ModeSymlink|0o777, 1003, 1004, mtime)
	if a := lstatAttrs(t, m.Path("s3fs/dir/inner")); a.Mode != 0o755 || a.Mtime != 1600000000 {
		t.Errorf("s3fs/dir/inner: mode %v mtime %d, want -rwxr-xr-x 1600000000", a.Mode, a.Mtime)
	}
	if tgt, err := os.Readlink(m.Path("s3fs/link")); err != nil || tgt != "dir/target" {
		t.Errorf("readlink s3fs/link = %q, %v", tgt, err)
	}
	checkFile(t, m.Path("s3fs/file"), []byte("s3fs file body"), "s3fs-style file")

	// And the other way: what obsfs writes carries the same metadata keys.
	must(t, os.WriteFile(m.Path("mine"), []byte("mine"), 0o644))
	must(t, os.Chmod(m.Path("mine"), 0o604))
	must(t, os.Chown(m.Path("mine"), 77, 88))
	must(t, os.Chtimes(m.Path("mine"), time.Unix(1700000000, 0), time.Unix(1700000000, 0)))
	must(t, os.Symlink("some/target", m.Path("mylink")))
	must(t, os.Mkdir(m.Path("mydir"), 0o711))
	wantMeta := map[string]map[string]string{
		"mine":   {"mode": strconv.Itoa(syscall.S_IFREG | 0o604), "uid": "77", "gid": "88", "mtime": "1700000000"},
		"mylink": {"mode": strconv.Itoa(syscall.S_IFLNK | 0o777)},
		"mydir/": {"mode": strconv.Itoa(syscall.S_IFDIR | 0o711)},
	}
	for key, want := range wantMeta {
		info, ok := e.headObject(t, key)
		if !ok {
			t.Errorf("object %q missing", key)
			continue
		}
		for k, v := range want {
			got := info.Metadata[k]
			if k == "mtime" {
				got, _, _ = strings.Cut(got, ".")
			}
			if got != v {
				t.Errorf("object %q metadata %s = %q, want %q (all: %v)", key, k, info.Metadata[k], v, info.Metadata)
			}
		}
	}
	if body, _ := e.getObject(t, "mylink"); string(body) != "some/target" {
		t.Errorf("symlink object body %q, want the target", body)
	}
}

func TestDefaultsForPlainObjects(t *testing.T) {
	e := newEnv(t)
	e.putObject(t, "plain/obj", []byte("no metadata"), nil)
	m := e.Mount(t, "uid=4321", "gid=8765", "umask=0027")
	a := lstatAttrs(t, m.Path("plain/obj"))
	if a.UID != 4321 || a.GID != 8765 {
		t.Errorf("plain object: uid %d gid %d, want the mount's 4321 8765", a.UID, a.GID)
	}
	if a.Mode&0o027 != 0 || !a.Mode.IsRegular() {
		t.Errorf("plain object: mode %v has bits of umask 0027 (or is not a file)", a.Mode)
	}
	if d := lstatAttrs(t, m.Path("plain")); !d.Mode.IsDir() || d.Mode&0o027 != 0 {
		t.Errorf("implicit directory plain: mode %v", d.Mode)
	}
	checkFile(t, m.Path("plain/obj"), []byte("no metadata"), "plain object")
}

func TestPrefixMount(t *testing.T) {
	e := newEnv(t)
	e.putObject(t, "outside", []byte("x"), nil)
	e.putObject(t, "pre/fix/inside", []byte("inside"), nil)
	m := e.MountSource(t, e.Bucket+":/pre/fix")
	if names := readDirNames(t, m.Dir); len(names) != 1 || names[0] != "inside" {
		t.Errorf("prefix mount lists %q, want [inside]", names)
	}
	must(t, os.WriteFile(m.Path("new"), []byte("new"), 0o644))
	if got, _ := e.getObject(t, "pre/fix/new"); string(got) != "new" {
		t.Errorf("object pre/fix/new = %q", got)
	}
	if _, ok := e.headObject(t, "new"); ok {
		t.Errorf("a file written under a prefix mount landed at the bucket root")
	}
}
