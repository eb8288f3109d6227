package integration

// cp -a, tar and rsync -a into and out of the mount, compared with the
// reference tree byte for byte, mode for mode, owner and mtime.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// preserveAll is what cp -a, tar -p and rsync -a promise to keep.
var preserveAll = cmpOpts{FileMtime: true, DirMtime: true, Owner: true}

// newRef writes the reference tree into a fresh local directory.
func newRef(t *testing.T) string {
	t.Helper()
	ref := filepath.Join(t.TempDir(), "ref")
	makeTree(t, ref)
	return ref
}

func TestCpA(t *testing.T) {
	e := newEnv(t)
	m := e.Mount(t)
	ref := newRef(t)

	sh(t, "", "cp", "-a", ref, m.Path("copy"))
	compareTrees(t, ref, m.Path("copy"), preserveAll)

	m.Remount() // nothing from caches: what the bucket holds
	compareTrees(t, ref, m.Path("copy"), preserveAll)

	back := filepath.Join(t.TempDir(), "back")
	sh(t, "", "cp", "-a", m.Path("copy"), back)
	compareTrees(t, ref, back, preserveAll)
}

func TestTarRoundTrip(t *testing.T) {
	e := newEnv(t)
	m := e.Mount(t)
	ref := newRef(t)
	tmp := t.TempDir()

	archive := filepath.Join(tmp, "ref.tar")
	sh(t, "", "tar", "-C", ref, "-cf", archive, ".")
	must(t, os.Mkdir(m.Path("x"), 0o755))
	sh(t, "", "tar", "-C", m.Path("x"), "-xpf", archive)
	compareTrees(t, ref, m.Path("x"), preserveAll)

	m.Remount()
	back := filepath.Join(tmp, "back.tar")
	sh(t, "", "tar", "-C", m.Path("x"), "-cf", back, ".")
	out := filepath.Join(tmp, "out")
	must(t, os.Mkdir(out, 0o755))
	sh(t, "", "tar", "-C", out, "-xpf", back)
	compareTrees(t, ref, out, preserveAll)
}

func TestRsyncTwiceTransfersNothing(t *testing.T) {
	e := newEnv(t)
	m := e.Mount(t)
	ref := newRef(t)

	sh(t, "", "rsync", "-a", ref+"/", m.Path("r")+"/")
	compareTrees(t, ref, m.Path("r"), preserveAll)

	if out := sh(t, "", "rsync", "-a", "--itemize-changes", ref+"/", m.Path("r")+"/"); strings.TrimSpace(out) != "" {
		t.Errorf("second rsync -a transferred or changed something:\n%s", out)
	}
	m.Remount()
	if out := sh(t, "", "rsync", "-a", "--itemize-changes", ref+"/", m.Path("r")+"/"); strings.TrimSpace(out) != "" {
		t.Errorf("rsync -a after remount transferred or changed something:\n%s", out)
	}
	compareTrees(t, ref, m.Path("r"), preserveAll)
}
