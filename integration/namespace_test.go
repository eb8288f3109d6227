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
