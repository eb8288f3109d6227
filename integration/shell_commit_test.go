package integration

// Shell redirections against the built binary (fs/SEMANTICS.md 18): bash
// and dash open the target, dup2() it onto stdout and close the original
// before writing. Each form must be exactly one PUT of the final content
// and one version in a versioned bucket, new file or overwrite.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func TestShellRedirectionsOneCommit(t *testing.T) {
	e := newEnv(t)
	e.Srv.SetVersioning(e.Bucket, "Enabled")
	m := e.Mount(t)
	src := filepath.Join(t.TempDir(), "src")
	must(t, os.WriteFile(src, []byte("from cat\n"), 0o644))
	forms := []struct{ name, cmd, want string }{
		{"echo", `echo x > "$F"`, "x\n"},
		{"printf", `printf '%s-%s\n' a b > "$F"`, "a-b\n"},
		{"cmd", `cat "$SRC" > "$F"`, "from cat\n"},
		{"colon", `: > "$F"`, ""},
	}
	writeOps := []string{"PutObject", "AppendObject", "CopyObject", "InitiateMultipartUpload", "SetObjectMetadata", "DeleteObject"}
	for _, shell := range []string{"bash", "dash"} {
		if _, err := exec.LookPath(shell); err != nil {
			t.Errorf("%s not installed", shell)
			continue
		}
		for _, fm := range forms {
			for _, existing := range []bool{false, true} {
				key := fmt.Sprintf("%s-%s-%v", shell, fm.name, existing)
				if existing {
					e.putObject(t, key, []byte("old content\n"), nil)
				}
				before := len(e.Srv.Versions(e.Bucket, key))
				d := e.Delta(func() {
					shEnv(t, "", []string{"F=" + m.Path(key), "SRC=" + src}, shell, "-c", fm.cmd)
					if fm.want != "" {
						// The close of the written descriptor waited for the commit.
						if b, err := e.Srv.ObjectBody(e.Bucket, key); err != nil || string(b) != fm.want {
							t.Errorf("%s: when the shell returned the object was %q (%v), want %q", key, b, err, fm.want)
						}
					}
					waitObjectBody(t, e, key, fm.want)
					e.Srv.SettledStats()
				})
				t.Logf("%s -c '%s' (%s): %s", shell, fm.cmd, map[bool]string{false: "new file", true: "overwrite"}[existing], formatStats(d))
				if n := requests(d, writeOps...); n != 1 || d["PutObject"].Requests != 1 {
					t.Errorf("%s: %s, want exactly one write request, a PutObject", key, formatStats(d))
				}
				if v := len(e.Srv.Versions(e.Bucket, key)) - before; v != 1 {
					t.Errorf("%s: %d new versions, want 1", key, v)
				}
			}
		}
	}
	// The count the issue measured: `echo x > new` was HEAD, LIST and two
	// PUTs; now the lookup miss (HEAD and LIST, issue 13) and one PUT.
	d := e.Delta(func() {
		shEnv(t, "", []string{"F=" + m.Path("new")}, "bash", "-c", `echo x > "$F"`)
		e.Srv.SettledStats()
	})
	t.Logf("echo x > new: %s", formatStats(d))
	if d["PutObject"].Requests != 1 || requests(d, "HeadObject", "ListObjects") > 2 {
		t.Errorf("echo x > new: %s, want one PUT after at most a HEAD and a LIST", formatStats(d))
	}
}

// waitObjectBody waits until key holds want: a file nobody wrote to is
// committed at the release that follows its last close.
func waitObjectBody(t *testing.T, e *Env, key, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, err := e.Srv.ObjectBody(e.Bucket, key)
		if err == nil && string(b) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: object %q (%v), want %q", key, b, err, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
