package integration

// Control files under shell redirections, end to end with the built binary
// (issue 10 item 6; fs/SEMANTICS.md 34).

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/obsfs/obsfs/obsclient"
)

func TestControlFileShellWrites(t *testing.T) {
	e := newEnv(t)
	m := e.Mount(t)
	b := e.Client(t)
	ctx := context.Background()
	encryption := func() string {
		enc, err := b.GetEncryption(ctx)
		if err != nil {
			return "none"
		}
		return enc.SSEAlgorithm
	}
	for _, shell := range []string{"bash", "dash"} {
		if _, err := exec.LookPath(shell); err != nil {
			t.Logf("%s not installed", shell)
			continue
		}
		run := func(script string) result {
			return runCmd("/", []string{"M=" + m.Dir}, shell, "-c", script)
		}
		// dash's builtins print "I/O error" for any write error.
		failed := func(r result) bool {
			if shell == "dash" {
				return r.Code != 0 && strings.Contains(r.Stderr, "error")
			}
			return r.Code != 0 && strings.Contains(r.Stderr, "Invalid argument")
		}
		var r result
		d := e.Delta(func() { r = run(`echo '{"SSEAlgorithm":"kms"}' > "$M/.obsfs/encryption"`) })
		if r.Code != 0 || encryption() != "kms" {
			t.Fatalf("%s: set kms: %d %s (now %s)", shell, r.Code, r.Stderr, encryption())
		}
		if s, del := requests(d, "SetBucketEncryption"), requests(d, "DeleteBucketEncryption"); s != 1 || del != 0 {
			t.Fatalf("%s: echo > encryption sent %s; want one Set, no Delete", shell, formatStats(d))
		}
		d = e.Delta(func() { r = run(`echo '{"SSEAlgorithm":"bogus"}' > "$M/.obsfs/encryption"`) })
		if !failed(r) {
			t.Fatalf("%s: bogus encryption: exit %d, stderr %q; want a write error", shell, r.Code, r.Stderr)
		}
		if got := encryption(); got != "kms" || requests(d, "DeleteBucketEncryption") != 0 {
			t.Fatalf("%s: after the bogus write encryption is %q (%s), want kms kept", shell, got, formatStats(d))
		}
		if r := run(`: > "$M/.obsfs/encryption"`); r.Code != 0 || encryption() != "kms" {
			t.Fatalf("%s: truncating open: %d %s, encryption %s", shell, r.Code, r.Stderr, encryption())
		}
		if r := run(`echo Enabled > "$M/.obsfs/versioning"`); r.Code != 0 {
			t.Fatalf("%s: versioning: %d %s", shell, r.Code, r.Stderr)
		}
		if r := run(`echo Bogus > "$M/.obsfs/versioning"`); !failed(r) {
			t.Fatalf("%s: echo Bogus > versioning: exit %d, stderr %q", shell, r.Code, r.Stderr)
		}
		if v, err := b.GetVersioning(ctx); err != nil || v != obsclient.VersioningEnabled {
			t.Fatalf("%s: versioning after Bogus: %q %v", shell, v, err)
		}
		if r := run(`rm "$M/.obsfs/encryption"`); r.Code != 0 || encryption() != "none" {
			t.Fatalf("%s: rm encryption: %d %s", shell, r.Code, r.Stderr)
		}
	}
}
