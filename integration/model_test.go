package integration

// The random-operation model test: the same seeded sequence of file system
// calls is applied to the mount and to a local directory. Every call must
// give the same result (success or the same errno) on both, and the trees
// must match — contents, types, modes, symlink targets — every few steps,
// at the end, and after remounts. Names come from a small pool so calls
// collide: overwrites, EEXIST, ENOTEMPTY, EISDIR, renames over things.
//
// OBSFS_MODEL_SEED=N replays a run; OBSFS_MODEL_OPS=N changes its length.

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// modelNames is the pool of names: few enough to collide often.
var modelNames = []string{"a", "b", "c d", "e+f", "ü"}

// modelOp is one call, applied to a root directory.
type modelOp struct {
	desc  string
	apply func(root string) error
}

// modelGen draws operations from the current state of the local tree.
type modelGen struct {
	rng   *rand.Rand
	local string
}

func TestRandomOpsMatchLocal(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("OBSFS_MODEL_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	nops := 300
	if s := os.Getenv("OBSFS_MODEL_OPS"); s != "" {
		nops, _ = strconv.Atoi(s)
	}
	t.Logf("seed %d (replay with OBSFS_MODEL_SEED=%d)", seed, seed)

	e := newEnv(t)
	m := e.Mount(t)
	local := filepath.Join(t.TempDir(), "model")
	must(t, os.Mkdir(local, 0o755))
	g := &modelGen{rng: rand.New(rand.NewPCG(seed, 7)), local: local}
	var history []string
	outcomes := map[string]int{}
	o := cmpOpts{Owner: true}
	for i := range nops {
		if i > 0 && i%100 == 0 {
			m.Remount()
			history = append(history, "-- remount")
		}
		op := g.next()
		history = append(history, op.desc)
		want, got := op.apply(local), op.apply(m.Dir)
		outcomes[outcome(want)]++
		if errnoOf(want) != errnoOf(got) {
			t.Fatalf("op %d %s: mount says %v, local says %v (seed %d)\nlast ops:\n  %s",
				i, op.desc, got, want, seed, strings.Join(lastN(history, 15), "\n  "))
		}
		if i%25 == 24 {
			if d := diffTrees(local, m.Dir, o); len(d) > 0 {
				t.Fatalf("after op %d the trees differ (seed %d):\n  %s\nlast ops:\n  %s",
					i, seed, strings.Join(lastN(d, 20), "\n  "), strings.Join(lastN(history, 25), "\n  "))
			}
		}
	}
	t.Logf("outcomes of %d ops: %v", nops, outcomes)
	compareTrees(t, local, m.Dir, o)
	m.Remount()
	compareTrees(t, local, m.Dir, o)
}

// outcome names a result for the summary: "ok" or the errno's name.
func outcome(err error) string {
	if en := errnoOf(err); en != 0 {
		return en.Error()
	}
	return "ok"
}

// errnoOf reduces an error to its errno (0 for nil, -1 for a non-errno).
func errnoOf(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	var en syscall.Errno
	if errors.As(err, &en) {
		return en
	}
	return ^syscall.Errno(0)
}

func lastN(s []string, n int) []string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// dirs lists the directories of the local tree ("." included).
func (g *modelGen) dirs() []string {
	out := []string{"."}
	_ = filepath.WalkDir(g.local, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && p != g.local {
			rel, _ := filepath.Rel(g.local, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

// path draws a path: an existing directory (depth < 3) plus a pool name.
func (g *modelGen) path() string {
	var ds []string
	for _, d := range g.dirs() {
		if strings.Count(d, "/") < 2 {
			ds = append(ds, d)
		}
	}
	return filepath.Join(ds[g.rng.IntN(len(ds))], modelNames[g.rng.IntN(len(modelNames))])
}

// data draws file content: mostly small, sometimes past a part boundary.
func (g *modelGen) data() []byte {
	n := g.rng.IntN(5000)
	if g.rng.IntN(20) == 0 {
		n = 1*MiB + g.rng.IntN(MiB)
	}
	return content(strconv.Itoa(g.rng.Int()), n)
}

func (g *modelGen) perm() os.FileMode {
	return []os.FileMode{0o600, 0o640, 0o644, 0o700, 0o755}[g.rng.IntN(5)]
}

// next draws one operation.
func (g *modelGen) next() modelOp {
	p := g.path()
	switch g.rng.IntN(12) {
	case 0, 1:
		data, perm := g.data(), g.perm()
		return modelOp{fmt.Sprintf("write %q (%d bytes, %v)", p, len(data), perm), func(r string) error {
			return os.WriteFile(filepath.Join(r, p), data, perm)
		}}
	case 2:
		off, data := int64(g.rng.IntN(8000)), content(strconv.Itoa(g.rng.Int()), 1+g.rng.IntN(3000))
		return modelOp{fmt.Sprintf("pwrite %q at %d (%d bytes)", p, off, len(data)), func(r string) error {
			return pwrite(filepath.Join(r, p), off, data)
		}}
	case 3:
		size := int64(g.rng.IntN(6000))
		return modelOp{fmt.Sprintf("truncate %q to %d", p, size), func(r string) error { return syscall.Truncate(filepath.Join(r, p), size) }}
	case 4:
		data := content(strconv.Itoa(g.rng.Int()), g.rng.IntN(200))
		return modelOp{fmt.Sprintf("append %q (%d bytes)", p, len(data)), func(r string) error { return appendFile(filepath.Join(r, p), data) }}
	case 5:
		return modelOp{fmt.Sprintf("unlink %q", p), func(r string) error { return syscall.Unlink(filepath.Join(r, p)) }}
	case 6:
		return modelOp{fmt.Sprintf("rmdir %q", p), func(r string) error { return syscall.Rmdir(filepath.Join(r, p)) }}
	case 7, 8:
		perm := g.perm() | 0o700
		return modelOp{fmt.Sprintf("mkdir %q %v", p, perm), func(r string) error { return syscall.Mkdir(filepath.Join(r, p), uint32(perm)) }}
	case 9:
		q := g.path()
		return modelOp{fmt.Sprintf("rename %q -> %q", p, q), func(r string) error { return syscall.Rename(filepath.Join(r, p), filepath.Join(r, q)) }}
	case 10:
		perm := g.perm()
		return modelOp{fmt.Sprintf("chmod %q %v", p, perm), func(r string) error { return os.Chmod(filepath.Join(r, p), perm) }}
	default:
		target := modelNames[g.rng.IntN(len(modelNames))]
		return modelOp{fmt.Sprintf("symlink %q -> %q", p, target), func(r string) error { return syscall.Symlink(target, filepath.Join(r, p)) }}
	}
}

// pwrite writes data at off of an existing file.
func pwrite(p string, off int64, data []byte) error {
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteAt(data, off)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// appendFile appends with O_APPEND, creating the file 0644 if needed.
func appendFile(p string, data []byte) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
