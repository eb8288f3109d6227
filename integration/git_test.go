package integration

// git init/add/commit/log/fsck inside the mount: lock files, O_EXCL
// creates, renames over existing files, mmap of the index and packs.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// gitEnv isolates git from the machine's configuration.
func gitEnv(t *testing.T) []string {
	home := t.TempDir()
	return []string{
		"HOME=" + home, "XDG_CONFIG_HOME=" + home, "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=it", "GIT_AUTHOR_EMAIL=it@example.com",
		"GIT_COMMITTER_NAME=it", "GIT_COMMITTER_EMAIL=it@example.com",
		"GIT_AUTHOR_DATE=2024-01-02T03:04:05Z", "GIT_COMMITTER_DATE=2024-01-02T03:04:05Z",
	}
}

func TestGit(t *testing.T) {
	e := newEnv(t)
	m := e.Mount(t)
	ref := newRef(t)
	env := gitEnv(t)
	repo := m.Path("repo")
	git := func(args ...string) string {
		t.Helper()
		return shEnv(t, "", env, append([]string{"git", "-C", repo}, args...)...)
	}

	shEnv(t, "", env, "git", "init", "-q", "-b", "main", repo)
	sh(t, "", "cp", "-a", ref+"/.", repo+"/")
	git("add", "-A")
	git("commit", "-q", "-m", "first")
	must(t, os.WriteFile(filepath.Join(repo, "a", "top.txt"), []byte("changed\n"), 0o644))
	must(t, os.Remove(filepath.Join(repo, "one-byte")))
	git("commit", "-q", "-a", "-m", "second")
	git("gc", "-q") // packs: mmap and rename of large files

	check := func(when string) {
		t.Helper()
		if n := len(strings.Fields(git("log", "--format=%H"))); n != 2 {
			t.Errorf("%s: git log shows %d commits, want 2", when, n)
		}
		git("fsck", "--full", "--strict", "--no-progress")
		if st := git("status", "--porcelain"); strings.TrimSpace(st) != "" {
			t.Errorf("%s: git status not clean:\n%s", when, st)
		}
	}
	check("mounted")
	m.Remount()
	check("after remount")

	clone := filepath.Join(t.TempDir(), "clone")
	shEnv(t, "", env, "git", "clone", "-q", repo, clone)
	if got, err := os.ReadFile(filepath.Join(clone, "a", "top.txt")); err != nil || string(got) != "changed\n" {
		t.Errorf("clone of the mounted repo: a/top.txt = %q, %v", got, err)
	}
}
