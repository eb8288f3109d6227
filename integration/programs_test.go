package integration

// More unmodified programs: sqlite (random writes, fsync, journal and WAL
// files, locks, shared mmap), several copies running at once, extended
// attributes through setfattr/getfattr.

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// sqliteScript creates a table and fills it in several transactions.
const sqliteScript = `
CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, blob BLOB);
BEGIN; WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<3000)
  INSERT INTO t SELECT x, 'name ' || x, randomblob(300) FROM c; COMMIT;
UPDATE t SET name = 'changed ' || id WHERE id % 7 = 0;
DELETE FROM t WHERE id % 11 = 0;
CREATE INDEX t_name ON t(name);
VACUUM;
`

func TestSQLite(t *testing.T) {
	if _, err := exec.LookPath("sqlite3"); err != nil {
		t.Skip("sqlite3 is not installed")
	}
	e := newEnv(t)
	m := e.Mount(t)
	local := t.TempDir()
	const query = "SELECT count(*), sum(name LIKE 'changed%'), sum(length(blob)) FROM t;"
	for _, mode := range []string{"delete", "wal"} {
		t.Run(mode, func(t *testing.T) {
			name := "db-" + mode + ".sqlite"
			db, ref := m.Path(name), filepath.Join(local, name)
			script := "PRAGMA journal_mode=" + mode + ";" + sqliteScript
			sh(t, "", "sqlite3", ref, script)
			sh(t, "", "sqlite3", db, script)
			want := sh(t, "", "sqlite3", ref, query)
			check := func(when string) {
				t.Helper()
				if out := strings.TrimSpace(sh(t, "", "sqlite3", db, "PRAGMA integrity_check;")); out != "ok" {
					t.Errorf("%s: integrity_check says %q", when, out)
				}
				if got := sh(t, "", "sqlite3", db, query); got != want {
					t.Errorf("%s: %s = %q, the same script on a local file gives %q", when, query, got, want)
				}
			}
			check("mounted")
			m.Remount()
			check("after remount")
		})
	}
}

// TestConcurrentCopies runs four cp -a into the mount at once.
func TestConcurrentCopies(t *testing.T) {
	e := newEnv(t)
	m := e.Mount(t)
	ref := newRef(t)
	var wg sync.WaitGroup
	results := make([]result, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = runCmd("", nil, "cp", "-a", ref, m.Path(fmt.Sprintf("p%d", i)))
		}()
	}
	wg.Wait()
	for i, r := range results {
		if r.Code != 0 || r.Err != nil {
			t.Errorf("cp -a #%d: exit %d %v: %s", i, r.Code, r.Err, r.Stderr)
		}
	}
	m.Remount()
	for i := range results {
		compareTrees(t, ref, m.Path(fmt.Sprintf("p%d", i)), preserveAll)
	}
}

// TestXattrTools: setfattr/getfattr on user.* reach the object's metadata.
func TestXattrTools(t *testing.T) {
	if _, err := exec.LookPath("setfattr"); err != nil {
		t.Skip("setfattr is not installed (package attr)")
	}
	e := newEnv(t)
	m := e.Mount(t)
	f := m.Path("tagged")
	sh(t, "", "sh", "-c", `echo data > "$1"`, "sh", f)
	sh(t, "", "setfattr", "-n", "user.color", "-v", "blue", f)
	if info, ok := e.headObject(t, "tagged"); !ok || info.Metadata["color"] != "blue" {
		t.Errorf("object metadata after setfattr user.color=blue: %v", info.Metadata)
	}
	m.Remount()
	if out := sh(t, "", "getfattr", "--only-values", "-n", "user.color", f); out != "blue" {
		t.Errorf("getfattr user.color after remount = %q, want blue", out)
	}
	sh(t, "", "setfattr", "-x", "user.color", f)
	if info, _ := e.headObject(t, "tagged"); info.Metadata["color"] != "" {
		t.Errorf("metadata color after setfattr -x: %q", info.Metadata["color"])
	}
	if out := sh(t, "", "cat", f); out != "data\n" {
		t.Errorf("content after xattr changes: %q", out)
	}
}
