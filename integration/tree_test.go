package integration

// A generated reference tree, and a comparison of two trees that reports
// every difference in content, type, permission bits, symlink target,
// ownership and (optionally) mtime.

import (
	"bytes"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// treeEntry describes one path of the generated tree.
type treeEntry struct {
	Path   string
	Kind   byte // 'f' file, 'd' directory, 'l' symlink
	Mode   os.FileMode
	Size   int    // files
	Target string // symlinks
	Owner  [2]int // uid, gid when not {0, 0} (the tests run as root)
}

// MiB is 1<<20 bytes.
const MiB = 1 << 20

// refTree is the generated tree: nested and empty directories, empty, tiny
// and multi-MiB files, awkward names, relative and dangling symlinks, and a
// spread of modes.
var refTree = []treeEntry{
	{Path: "a", Kind: 'd', Mode: 0o755},
	{Path: "a/b", Kind: 'd', Mode: 0o755},
	{Path: "a/b/c", Kind: 'd', Mode: 0o750},
	{Path: "a/b/c/deep.txt", Kind: 'f', Mode: 0o644, Size: 1234, Owner: [2]int{1234, 5678}},
	{Path: "a/b/sibling.bin", Kind: 'f', Mode: 0o640, Size: 65536 + 7},
	{Path: "a/top.txt", Kind: 'f', Mode: 0o644, Size: 100},
	{Path: "empty-dir", Kind: 'd', Mode: 0o755},
	{Path: "private", Kind: 'd', Mode: 0o700, Owner: [2]int{42, 43}},
	{Path: "private/secret", Kind: 'f', Mode: 0o600, Size: 42},
	{Path: "empty-file", Kind: 'f', Mode: 0o644, Size: 0},
	{Path: "one-byte", Kind: 'f', Mode: 0o600, Size: 1},
	{Path: "big.bin", Kind: 'f', Mode: 0o644, Size: 3*MiB + 17},
	{Path: "run.sh", Kind: 'f', Mode: 0o755, Size: 300},
	{Path: "readonly.txt", Kind: 'f', Mode: 0o444, Size: 10},
	{Path: "name with spaces.txt", Kind: 'f', Mode: 0o644, Size: 11},
	{Path: "ünïcødé-日本語.txt", Kind: 'f', Mode: 0o644, Size: 12},
	{Path: "plus+sign.txt", Kind: 'f', Mode: 0o644, Size: 13},
	{Path: "percent%20and%.txt", Kind: 'f', Mode: 0o644, Size: 14},
	{Path: "odd #&=;,~'!@$.txt", Kind: 'f', Mode: 0o644, Size: 15},
	{Path: "dir with space+plus%", Kind: 'd', Mode: 0o755},
	{Path: "dir with space+plus%/inner file", Kind: 'f', Mode: 0o644, Size: 16},
	{Path: "links", Kind: 'd', Mode: 0o755},
	{Path: "links/rel", Kind: 'l', Target: "../a/b/c/deep.txt"},
	{Path: "links/dangling", Kind: 'l', Target: "does/not/exist", Owner: [2]int{7, 8}},
	{Path: "links/dirlink", Kind: 'l', Target: "../a"},
	{Path: "links/abs", Kind: 'l', Target: "/etc/hostname"},
}

// content returns deterministic bytes for path.
func content(path string, size int) []byte {
	var seed uint64
	for _, c := range []byte(path) {
		seed = seed*131 + uint64(c)
	}
	r := rand.New(rand.NewPCG(seed, uint64(size)))
	b := make([]byte, size)
	for i := 0; i+8 <= size; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	for i := size &^ 7; i < size; i++ {
		b[i] = byte(r.Uint32())
	}
	return b
}

// treeTime is a distinct mtime per entry, with a fractional part.
func treeTime(i int) time.Time {
	return time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC).Add(time.Duration(i) * (time.Hour + 1234567*time.Nanosecond))
}

// makeTree writes refTree under root (created). Directory modes and all
// mtimes are set after the content, deepest first, so they stick.
func makeTree(t *testing.T, root string) {
	t.Helper()
	must(t, os.MkdirAll(root, 0o755))
	for _, e := range refTree {
		p := filepath.Join(root, e.Path)
		switch e.Kind {
		case 'd':
			must(t, os.Mkdir(p, 0o755))
		case 'f':
			must(t, os.WriteFile(p, content(e.Path, e.Size), 0o644))
		case 'l':
			must(t, os.Symlink(e.Target, p))
		}
	}
	for i := len(refTree) - 1; i >= 0; i-- {
		e := refTree[i]
		p := filepath.Join(root, e.Path)
		if e.Owner != [2]int{} {
			must(t, os.Lchown(p, e.Owner[0], e.Owner[1]))
		}
		if e.Kind != 'l' {
			must(t, os.Chmod(p, e.Mode))
		}
		ts := treeTime(i)
		must(t, lutimes(p, ts))
	}
}

// lutimes sets atime and mtime of p without following a symlink.
func lutimes(p string, ts time.Time) error {
	tv := []unix.Timespec{unix.NsecToTimespec(ts.UnixNano()), unix.NsecToTimespec(ts.UnixNano())}
	return unix.UtimesNanoAt(unix.AT_FDCWD, p, tv, unix.AT_SYMLINK_NOFOLLOW)
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// cmpOpts choose what compareTrees checks beyond names, types, permission
// bits, sizes, bytes and symlink targets.
type cmpOpts struct {
	FileMtime bool // regular files, to the second
	DirMtime  bool // directories other than the roots, to the second
	Owner     bool // uid and gid
}

// node is what compareTrees reads of one path.
type node struct {
	kind   byte
	perm   os.FileMode
	size   int64
	target string
	mtime  int64
	uid    uint32
	gid    uint32
}

// scanTree lists every path under root (relative, root itself as ".").
func scanTree(root string) (map[string]node, error) {
	out := map[string]node{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		n := node{perm: fi.Mode() & (os.ModePerm | os.ModeSetuid | os.ModeSetgid | os.ModeSticky), size: fi.Size(), mtime: fi.ModTime().Unix()}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			n.uid, n.gid = st.Uid, st.Gid
		}
		switch {
		case fi.Mode().IsDir():
			n.kind, n.size = 'd', 0
		case fi.Mode()&os.ModeSymlink != 0:
			n.kind, n.perm = 'l', 0
			if n.target, err = os.Readlink(p); err != nil {
				return err
			}
		case fi.Mode().IsRegular():
			n.kind = 'f'
		default:
			n.kind = '?'
		}
		out[rel] = n
		return nil
	})
	return out, err
}

// compareTrees fails t with every difference between want and got.
func compareTrees(t *testing.T, want, got string, o cmpOpts) {
	t.Helper()
	if diffs := diffTrees(want, got, o); len(diffs) > 0 {
		if len(diffs) > 40 {
			diffs = append(diffs[:40], fmt.Sprintf("… and %d more", len(diffs)-40))
		}
		t.Errorf("tree %s differs from reference %s:\n  %s", got, want, strings.Join(diffs, "\n  "))
	}
}

// diffTrees returns one line per difference.
func diffTrees(want, got string, o cmpOpts) []string {
	w, err := scanTree(want)
	if err != nil {
		return []string{"scan reference: " + err.Error()}
	}
	g, err := scanTree(got)
	if err != nil {
		return []string{"scan " + got + ": " + err.Error()}
	}
	var diffs []string
	for _, rel := range sortedKeys(w) {
		gn, ok := g[rel]
		if !ok {
			diffs = append(diffs, fmt.Sprintf("%q: missing", rel))
			continue
		}
		diffs = append(diffs, diffNode(rel, w[rel], gn, want, got, o)...)
	}
	for _, rel := range sortedKeys(g) {
		if _, ok := w[rel]; !ok {
			diffs = append(diffs, fmt.Sprintf("%q: unexpected (%c)", rel, g[rel].kind))
		}
	}
	return diffs
}

func diffNode(rel string, w, g node, want, got string, o cmpOpts) []string {
	var d []string
	add := func(format string, args ...any) { d = append(d, fmt.Sprintf("%q: ", rel)+fmt.Sprintf(format, args...)) }
	if w.kind != g.kind {
		add("type %c, want %c", g.kind, w.kind)
		return d
	}
	if w.perm != g.perm && w.kind != 'l' {
		add("mode %#o, want %#o", g.perm, w.perm)
	}
	if w.target != g.target {
		add("symlink target %q, want %q", g.target, w.target)
	}
	if o.Owner && (w.uid != g.uid || w.gid != g.gid) {
		add("owner %d:%d, want %d:%d", g.uid, g.gid, w.uid, w.gid)
	}
	if w.mtime != g.mtime && ((w.kind == 'f' && o.FileMtime) || (w.kind == 'd' && o.DirMtime && rel != ".")) {
		add("mtime %s, want %s", time.Unix(g.mtime, 0).UTC().Format(time.RFC3339), time.Unix(w.mtime, 0).UTC().Format(time.RFC3339))
	}
	if w.kind == 'f' {
		if w.size != g.size {
			add("size %d, want %d", g.size, w.size)
		} else if msg := diffContent(filepath.Join(want, rel), filepath.Join(got, rel)); msg != "" {
			add("%s", msg)
		}
	}
	return d
}

// diffContent compares two files' bytes; "" when equal.
func diffContent(want, got string) string {
	a, err := os.ReadFile(want)
	if err != nil {
		return "read reference: " + err.Error()
	}
	b, err := os.ReadFile(got)
	if err != nil {
		return "read: " + err.Error()
	}
	if bytes.Equal(a, b) {
		return ""
	}
	n := min(len(a), len(b))
	i := 0
	for i < n && a[i] == b[i] {
		i++
	}
	return fmt.Sprintf("content differs from byte %d (len %d, want %d)", i, len(b), len(a))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
