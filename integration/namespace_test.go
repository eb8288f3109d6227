package integration

// How keys written by other tools appear as a tree (fs/SEMANTICS.md 1-4):
// implicit directories, a directory shadowing a file, keys that cannot be
// paths hidden, and listings past one LIST page.

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestForeignKeysAsTree(t *testing.T) {
	e := newEnv(t)
	for _, k := range []string{
		"imp/sub/f.txt",      // implicit imp/ and imp/sub/
		"shadow", "shadow/x", // directory shadows the file
		"bad//key", "dot/./x", // empty and "." segments: hidden
		"ok/" + strings.Repeat("n", 255), // longest legal name
		"ok/" + strings.Repeat("l", 256), // too long: hidden
		"marker/",                        // explicit empty directory
		"sp ace/plus+/pct%41",            // escaping in keys
	} {
		e.putObject(t, k, []byte(k), nil)
	}
	m := e.Mount(t)
	got := strings.Split(strings.TrimSpace(sh(t, m.Dir, "find", ".", "-mindepth", "1")), "\n")
	slices.Sort(got)
	want := []string{"./bad", "./dot", "./imp", "./imp/sub", "./imp/sub/f.txt", "./marker", "./ok",
		"./ok/" + strings.Repeat("n", 255), "./shadow", "./shadow/x", "./sp ace", "./sp ace/plus+", "./sp ace/plus+/pct%41"}
	if !slices.Equal(got, want) {
		t.Errorf("find over foreign keys:\n got %q\nwant %q", got, want)
	}
	checkFile(t, m.Path("sp ace/plus+/pct%41"), []byte("sp ace/plus+/pct%41"), "escaped key")
	if a := lstatAttrs(t, m.Path("shadow")); !a.Mode.IsDir() {
		t.Errorf("shadow: mode %v, want a directory", a.Mode)
	}
}

func TestListingPastOnePage(t *testing.T) {
	e := newEnv(t)
	const n = 2345
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("big/f%05d", i)
	}
	e.putMany(t, keys)
	m := e.Mount(t)
	names := readDirNames(t, m.Path("big")) // sorted by os.ReadDir
	if len(names) != n {
		t.Fatalf("readdir of %d objects returned %d names", n, len(names))
	}
	for i, name := range names {
		if want := fmt.Sprintf("f%05d", i); name != want {
			t.Fatalf("name %d is %q, want %q", i, name, want)
		}
	}
	out := sh(t, "", "sh", "-c", `ls -1 "$1" | wc -l`, "sh", m.Path("big"))
	if strings.TrimSpace(out) != fmt.Sprint(n) {
		t.Errorf("ls -1 | wc -l = %s, want %d", strings.TrimSpace(out), n)
	}
}

// TestLongNamesRefusedEndToEnd: a name the mount could not list (over 255
// bytes) or a key over OBS's 1,024 bytes is refused with ENAMETOOLONG by
// the shell tools, nothing reaches the bucket, and the directory stays
// removable with rm -rf. On a prefix mount the prefix counts toward the
// 1,024 bytes, and a key of exactly 1,024 bytes is a file like any other.
func TestLongNamesRefusedEndToEnd(t *testing.T) {
	e := newEnv(t)
	m := e.MountSource(t, e.Bucket+":/pre")
	long := strings.Repeat("a", 256)
	sh(t, m.Dir, "mkdir", "d")
	sh(t, m.Dir, "touch", "d/f")
	before := e.Stats()
	for _, argv := range [][]string{
		{"touch", "d/" + long},
		{"mkdir", "d/" + long},
		{"ln", "-s", "t", "d/" + long},
		{"mv", "d/f", "d/" + long},
		{"ln", "d/f", "d/" + long},
		{"mkfifo", "d/" + long},
		{"stat", "d/" + long},
	} {
		r := runCmd(m.Dir, nil, argv...)
		if r.Code == 0 || !strings.Contains(r.Stderr, "File name too long") {
			t.Errorf("%s of a 256-byte name: exit %d, stderr %q; want \"File name too long\"", argv[0], r.Code, tailString(r.Stderr, 80))
		}
	}
	delta := statsSub(e.Stats(), before)
	if n := requests(delta, "PutObject", "CopyObject", "DeleteObject", "DeleteObjects", "InitiateMultipartUpload"); n != 0 {
		t.Errorf("refused names sent %d changing requests: %s", n, formatStats(delta))
	}
	if got := e.keys(t, "pre/d/"); !slices.Equal(got, []string{"pre/d/", "pre/d/f"}) {
		t.Errorf("bucket under pre/d/: %q", got)
	}
	sh(t, m.Dir, "rm", "-rf", "d")
	if got := e.keys(t, "pre/d"); len(got) != 0 {
		t.Errorf("after rm -rf d the bucket holds %q", got)
	}

	// "pre/" + 1,020 bytes = a key of exactly 1,024 bytes.
	dir := strings.Repeat(strings.Repeat("s", 200)+"/", 5) // 1,005 bytes
	sh(t, m.Dir, "mkdir", "-p", dir)
	name := dir + strings.Repeat("k", 1020-len(dir))
	sh(t, m.Dir, "sh", "-c", `echo 1024 > "$1"`, "sh", name)
	if body, _ := e.getObject(t, "pre/"+name); string(body) != "1024\n" {
		t.Errorf("1,024-byte key holds %q", body)
	}
	if got := strings.TrimSpace(sh(t, m.Dir, "ls", dir)); got != strings.Repeat("k", 1020-len(dir)) {
		t.Errorf("ls of the directory holding a 1,024-byte key: %q", got)
	}
	if r := runCmd(m.Dir, nil, "touch", name+"x"); r.Code == 0 || !strings.Contains(r.Stderr, "File name too long") {
		t.Errorf("touch of a 1,025-byte key: exit %d, stderr %q", r.Code, tailString(r.Stderr, 80))
	}
}
