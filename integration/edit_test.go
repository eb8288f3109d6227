package integration

// Changing files and trees in place: an O_RDWR write in the middle of a
// file, truncate, mv of files and directories, rm -rf.

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
)

func TestEditInPlace(t *testing.T) {
	e := newEnv(t)
	m := e.Mount(t)
	want := content("edit.bin", 5*MiB+3)
	must(t, os.WriteFile(m.Path("edit.bin"), want, 0o644))

	patch := []byte("<<patched in the middle>>")
	off := int64(2*MiB + 12345)
	f, err := os.OpenFile(m.Path("edit.bin"), os.O_RDWR, 0)
	must(t, err)
	if _, err := f.WriteAt(patch, off); err != nil {
		t.Fatalf("pwrite: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("close after an in-place write: %v", err)
	}
	copy(want[off:], patch)

	checkFile(t, m.Path("edit.bin"), want, "after the edit")
	if got, _ := e.getObject(t, "edit.bin"); !bytes.Equal(got, want) {
		t.Errorf("object on the server after close differs from the edited file (len %d, want %d)", len(got), len(want))
	}
	m.Remount()
	checkFile(t, m.Path("edit.bin"), want, "after remount")

	// Extend past EOF with a hole, then truncate back below the patch.
	f, err = os.OpenFile(m.Path("edit.bin"), os.O_RDWR, 0)
	must(t, err)
	_, err = f.WriteAt([]byte("tail"), int64(len(want))+1000)
	must(t, err)
	must(t, f.Close())
	want = append(append(want, make([]byte, 1000)...), "tail"...)
	checkFile(t, m.Path("edit.bin"), want, "after writing past EOF")
	must(t, os.Truncate(m.Path("edit.bin"), MiB+1))
	want = want[:MiB+1]
	checkFile(t, m.Path("edit.bin"), want, "after truncate")
	m.Remount()
	checkFile(t, m.Path("edit.bin"), want, "after truncate and remount")
}

// checkFile fails t unless path holds exactly want.
func checkFile(t *testing.T, path string, want []byte, when string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("%s: read %s: %v", when, path, err)
		return
	}
	if !bytes.Equal(got, want) {
		n := 0
		for n < min(len(got), len(want)) && got[n] == want[n] {
			n++
		}
		t.Errorf("%s: %s differs from byte %d (len %d, want %d)", when, path, n, len(got), len(want))
	}
}

func TestMv(t *testing.T) {
	e := newEnv(t)
	m := e.Mount(t)
	ref := newRef(t)
	sh(t, "", "cp", "-a", ref, m.Path("t"))
	local := filepath.Join(t.TempDir(), "t")
	sh(t, "", "cp", "-a", ref, local)

	moves := [][2]string{
		{"a/top.txt", "renamed top.txt"},          // file to another directory, new name
		{"plus+sign.txt", "a/b/c/plus+moved.txt"}, // into a deep directory
		{"one-byte", "run.sh"},                    // over an existing file
		{"a/b", "moved-b"},                        // directory with subdirectories
		{"empty-dir", "a/empty-moved"},            // empty directory
		{"links/rel", "links/rel2"},               // symlink
		{"dir with space+plus%", "ünï dir"},       // awkward names
		{"big.bin", "private/big.bin"},            // multi-MiB file
	}
	for _, mv := range moves {
		sh(t, "", "mv", filepath.Join(m.Path("t"), mv[0]), filepath.Join(m.Path("t"), mv[1]))
		sh(t, "", "mv", filepath.Join(local, mv[0]), filepath.Join(local, mv[1]))
	}
	// mv keeps file mtimes; directory mtimes change with their entries.
	o := cmpOpts{FileMtime: true, Owner: true}
	compareTrees(t, local, m.Path("t"), o)
	m.Remount()
	compareTrees(t, local, m.Path("t"), o)
	if keys := e.keys(t, "t/a/b/"); len(keys) != 0 {
		t.Errorf("keys left under the moved directory t/a/b/: %q", keys)
	}
}

func TestRmRf(t *testing.T) {
	e := newEnv(t)
	m := e.Mount(t)
	ref := newRef(t)
	sh(t, "", "cp", "-a", ref, m.Path("t"))
	must(t, os.WriteFile(m.Path("keep.txt"), []byte("keep"), 0o644))

	sh(t, "", "rm", "-rf", m.Path("t"))
	if _, err := os.Lstat(m.Path("t")); !os.IsNotExist(err) {
		t.Errorf("after rm -rf: lstat = %v, want ENOENT", err)
	}
	if keys := e.keys(t, "t/"); len(keys) != 0 {
		t.Errorf("after rm -rf keys remain under t/: %q", keys)
	}
	m.Remount()
	names := readDirNames(t, m.Dir)
	if slices.Contains(names, "t") || !slices.Contains(names, "keep.txt") {
		t.Errorf("root after rm -rf and remount lists %q, want keep.txt and no t", names)
	}
}

// readDirNames lists a directory's names.
func readDirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("readdir %s: %v", dir, err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// TestAppend: >> and O_APPEND writes extend the file, and an append to a
// large committed file uploads about the new bytes, not the whole file.
func TestAppend(t *testing.T) {
	e := newEnv(t)
	m := e.Mount(t)
	want := content("log", 4*MiB)
	must(t, os.WriteFile(m.Path("app.log"), want, 0o644))

	line := []byte("one more line\n")
	st := e.Delta(func() {
		f, err := os.OpenFile(m.Path("app.log"), os.O_WRONLY|os.O_APPEND, 0)
		must(t, err)
		_, err = f.Write(line)
		must(t, err)
		must(t, f.Close())
	})
	want = append(want, line...)
	sent := st.Total().BytesIn
	t.Logf("append of %d bytes to a 4 MiB file: %s, %d bytes sent", len(line), formatStats(st), sent)
	if sent > MiB {
		t.Errorf("append of %d bytes to a 4 MiB object sent %d bytes: the whole file was re-uploaded", len(line), sent)
	}
	sh(t, "", "sh", "-c", `printf 'shell append\n' >> "$1"`, "sh", m.Path("app.log"))
	want = append(want, "shell append\n"...)
	checkFile(t, m.Path("app.log"), want, "after appends")
	m.Remount()
	checkFile(t, m.Path("app.log"), want, "after appends and remount")
}

// TestEditorSaveAndLinks: sed -i (write a temporary, rename it over the
// original) works; hard links are refused with ENOTSUP, symlinks work.
func TestEditorSaveAndLinks(t *testing.T) {
	e := newEnv(t)
	m := e.Mount(t)
	must(t, os.WriteFile(m.Path("conf"), []byte("colour=red\nsize=1\n"), 0o640))
	sh(t, "", "sed", "-i", "s/red/blue/", m.Path("conf"))
	checkFile(t, m.Path("conf"), []byte("colour=blue\nsize=1\n"), "after sed -i")
	if fi, err := os.Stat(m.Path("conf")); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("after sed -i: %v, %v; want mode 0640 kept", fi, err)
	}
	if names := readDirNames(t, m.Dir); len(names) != 1 {
		t.Errorf("sed -i left temporaries: %q", names)
	}
	if err := os.Link(m.Path("conf"), m.Path("hard")); !errors.Is(err, syscall.ENOTSUP) && !errors.Is(err, syscall.EPERM) {
		t.Errorf("link: %v, want ENOTSUP", err)
	}
	sh(t, "", "ln", "-s", "conf", m.Path("soft"))
	checkFile(t, m.Path("soft"), []byte("colour=blue\nsize=1\n"), "through a symlink")
	sh(t, "", "df", m.Dir)
}
