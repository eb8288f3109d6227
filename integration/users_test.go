package integration

// Real unprivileged accounts for the tests that check what other users of
// an allow_other mount can do: created once (no home, no group of their
// own) and entered with setpriv, without supplementary groups.

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// ensureUser creates the account name if it is missing and returns its
// uid and gid; it skips t where that cannot be done (not root, no
// useradd or setpriv).
func ensureUser(t *testing.T, name string) (uid, gid int) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create and switch to an unprivileged account")
	}
	for _, tool := range []string{"useradd", "setpriv"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (passwd, util-linux)", tool)
		}
	}
	if runCmd("/", nil, "id", "-u", name).Code != 0 {
		r := runCmd("/", nil, "useradd", "-M", "-N", name)
		if r.Code != 0 && r.Code != 9 { // 9: exists (a concurrent test made it)
			t.Fatalf("useradd %s: exit %d %s", name, r.Code, r.Stderr)
		}
	}
	id := func(flag string) int {
		n, err := strconv.Atoi(strings.TrimSpace(sh(t, "/", "id", flag, name)))
		must(t, err)
		return n
	}
	return id("-u"), id("-g")
}

// asUser runs argv as uid:gid with no supplementary groups.
func asUser(uid, gid int, env []string, argv ...string) result {
	pre := []string{"setpriv", "--reuid=" + strconv.Itoa(uid), "--regid=" + strconv.Itoa(gid), "--clear-groups", "--"}
	return runCmd("/", env, append(pre, argv...)...)
}

// openToOthers lets other users traverse the directories above a
// t.TempDir()-based mount point (t.TempDir's root is 0700).
func openToOthers(t *testing.T, dir string) {
	t.Helper()
	must(t, os.Chmod(filepath.Dir(dir), 0o755))
}
