package integration

// The comparison the workload tests rely on must itself catch differences:
// a comparer that always agrees would make every workload test pass.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCompareTreesCatchesDifferences(t *testing.T) {
	ref := newRef(t)
	mutations := map[string]func(dir string) error{
		"content":     func(d string) error { return os.WriteFile(filepath.Join(d, "a/top.txt"), content("x", 100), 0o644) },
		"mode":        func(d string) error { return os.Chmod(filepath.Join(d, "one-byte"), 0o644) },
		"dir mode":    func(d string) error { return os.Chmod(filepath.Join(d, "private"), 0o755) },
		"mtime":       func(d string) error { return lutimes(filepath.Join(d, "run.sh"), time.Unix(1e9, 0)) },
		"missing":     func(d string) error { return os.Remove(filepath.Join(d, "empty-file")) },
		"extra":       func(d string) error { return os.WriteFile(filepath.Join(d, "extra"), nil, 0o644) },
		"link target": func(d string) error { return relink(filepath.Join(d, "links/rel"), "elsewhere") },
		"type":        func(d string) error { return replaceWithDir(filepath.Join(d, "empty-file")) },
		"owner":       func(d string) error { return os.Lchown(filepath.Join(d, "a/top.txt"), 4242, 4242) },
	}
	for name, mutate := range mutations {
		t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
			got := filepath.Join(t.TempDir(), "copy")
			sh(t, "", "cp", "-a", ref, got)
			if d := diffTrees(ref, got, preserveAll); len(d) != 0 {
				t.Fatalf("identical copies differ: %q", d)
			}
			must(t, mutate(got))
			if d := diffTrees(ref, got, preserveAll); len(d) == 0 {
				t.Errorf("mutation %q not detected", name)
			}
		})
	}
}

func relink(p, target string) error {
	if err := os.Remove(p); err != nil {
		return err
	}
	return os.Symlink(target, p)
}

func replaceWithDir(p string) error {
	if err := os.Remove(p); err != nil {
		return err
	}
	return os.Mkdir(p, 0o755)
}
