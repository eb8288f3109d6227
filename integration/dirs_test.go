package integration

// Directories as programs see them (fs/SEMANTICS.md 6 and 46): entry
// changes move the directory's mtime (find -newer, make), getdents64
// starts with "." and ".." carrying the right inode numbers, and the link
// count is 2 + subdirectories once listed, else 1.

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestDirectoryTimesDotsAndLinks(t *testing.T) {
	e := newEnv(t)
	e.putObject(t, "tree/a/f", []byte("x"), nil)
	e.putObject(t, "tree/b/", nil, nil)
	e.putObject(t, "tree/f", []byte("x"), nil)
	e.putObject(t, "other/", nil, nil)
	m := e.Mount(t)

	// find -newer: after the reference file, an entry created in tree/a,
	// one removed from other (the directories that changed, no others).
	ref := filepath.Join(t.TempDir(), "ref")
	must(t, os.WriteFile(ref, nil, 0o644))
	sh(t, m.Dir, "sh", "-c", "ls -la tree tree/a other tree/b >/dev/null && touch tree/a/new && mkdir other/sub && rmdir other/sub")
	got := strings.TrimSpace(sh(t, m.Dir, "sh", "-c", `find . -type d -newer "$0" | sort`, ref))
	if got != "./other\n./tree/a" {
		t.Errorf("find -type d -newer ref: %q, want ./other and ./tree/a", got)
	}
	sh(t, m.Dir, "mv", "tree/a/new", "tree/b/moved")
	got = strings.TrimSpace(sh(t, m.Dir, "sh", "-c", `find . -type d -newer "$0" | sort`, ref))
	if got != "./other\n./tree/a\n./tree/b" {
		t.Errorf("after mv, find -type d -newer ref: %q", got)
	}

	// getdents64 itself: ".", "..", then the real entries.
	for _, tc := range []struct{ dir, parent string }{{"tree", ""}, {"tree/a", "tree"}, {"", ""}} {
		ents := getdents64(t, m.Path(tc.dir))
		if len(ents) < 2 || ents[0].name != "." || ents[1].name != ".." {
			t.Fatalf("%q: getdents64 gives %v, want . and .. first", tc.dir, ents)
		}
		if ino := statIno(t, m.Path(tc.dir)); ents[0].ino != ino {
			t.Errorf("%q: . is inode %d, stat says %d", tc.dir, ents[0].ino, ino)
		}
		if ino := statIno(t, m.Path(tc.parent)); ents[1].ino != ino {
			t.Errorf("%q: .. is inode %d, stat of the parent says %d", tc.dir, ents[1].ino, ino)
		}
	}
	if names := getdents64(t, m.Path("tree")); len(names) != 5 { // . .. a b f
		t.Errorf("tree lists %v", names)
	}

	// Link counts: listed → 2 + subdirectories; "ls -a | tail -n +3" keeps
	// every real entry.
	sh(t, m.Dir, "ls", "-la", "tree")
	if n := strings.TrimSpace(sh(t, m.Dir, "stat", "-c", "%h", "tree")); n != "4" && n != "1" {
		t.Errorf("tree (2 subdirectories): link count %s, want 4 (or 1 when unknown)", n)
	}
	if out := sh(t, m.Dir, "sh", "-c", "ls -a tree | tail -n +3"); out != "a\nb\nf\n" {
		t.Errorf("ls -a | tail -n +3: %q", out)
	}
}

type dent struct {
	ino  uint64
	name string
}

// getdents64 lists dir with the raw system call (Go's os.ReadDir and
// libc's readdir users often drop "." and "..").
func getdents64(t *testing.T, dir string) []dent {
	t.Helper()
	fd, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	var out []dent
	buf := make([]byte, 16384)
	for {
		n, err := syscall.Getdents(fd, buf)
		if err != nil {
			t.Fatalf("getdents64 %s: %v", dir, err)
		}
		if n == 0 {
			return out
		}
		for b := buf[:n]; len(b) > 0; {
			reclen := int(b[16]) | int(b[17])<<8
			name := b[19:reclen]
			if i := strings.IndexByte(string(name), 0); i >= 0 {
				name = name[:i]
			}
			var ino uint64
			for i := 7; i >= 0; i-- {
				ino = ino<<8 | uint64(b[i])
			}
			out = append(out, dent{ino: ino, name: string(name)})
			b = b[reclen:]
		}
	}
}

func statIno(t *testing.T, p string) uint64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}
