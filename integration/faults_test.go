package integration

// Server failures seen through the built binary (fs/SEMANTICS.md 18-21):
// transient errors are retried away; a persistent one fails close (so cp
// exits non-zero), leaves no partial object, keeps the data, and the
// unmount commits it once the server is healthy again.

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/obsfs/obsfs/obsclient/obstest"
)

func TestTransientServerErrorsAreRetried(t *testing.T) {
	e := newEnv(t)
	m := e.Mount(t)
	src := filepath.Join(t.TempDir(), "src")
	want := content("retry", 200_000)
	must(t, os.WriteFile(src, want, 0o644))
	must(t, e.Srv.InjectFault(obstest.Fault{Op: "PutObject", Count: 2, Kind: obstest.FaultStatus500}))
	sh(t, "", "cp", src, m.Path("retried"))
	if got, _ := e.getObject(t, "retried"); string(got) != string(want) {
		t.Errorf("object after two injected 500s: %d bytes, want %d", len(got), len(want))
	}
	big := content("bigread", 6*MiB)
	e.putObject(t, "big", big, nil)
	for _, kind := range []obstest.FaultKind{obstest.FaultReset, obstest.FaultTruncate, obstest.FaultSlowDown, obstest.FaultStatus500} {
		t.Run(string(kind), func(t *testing.T) {
			must(t, e.Srv.InjectFault(obstest.Fault{Op: "GetObject", Count: 2, Kind: kind}))
			m.Remount() // cold: the reads reach the server
			checkFile(t, m.Path("retried"), want, "small file read through injected "+string(kind))
			checkFile(t, m.Path("big"), big, "6 MiB file read through injected "+string(kind))
			if left := e.Srv.Faults(); len(left) != 0 {
				t.Errorf("injected faults not all hit (the reads did not reach the server?): %+v", left)
			}
			e.Srv.ClearFaults()
		})
	}
}

func TestFailedUploadSurfacesAndIsKept(t *testing.T) {
	e := newEnv(t)
	m := e.Mount(t, "retries=1", "retry_budget=0") // fail at once: the budget has its own test (outage_test.go)
	src := filepath.Join(t.TempDir(), "src")
	want := content("kept", 300_000)
	must(t, os.WriteFile(src, want, 0o644))

	for _, op := range []string{"PutObject", "UploadPart", "CompleteMultipartUpload", "InitiateMultipartUpload", "AppendObject"} {
		must(t, e.Srv.InjectFault(obstest.Fault{Op: op, Count: -1, Kind: obstest.FaultStatus500}))
	}
	r := runCmd("", nil, "cp", src, m.Path("kept"))
	if r.Code == 0 {
		t.Errorf("cp succeeded although every upload failed (close must report EIO)")
	} else {
		t.Logf("cp failed as it should: %s", firstLine(r.Stderr))
	}
	if _, ok := e.headObject(t, "kept"); ok {
		t.Errorf("an object is visible after a failed upload")
	}
	if fi, err := os.Stat(m.Path("kept")); err != nil || fi.Size() != int64(len(want)) {
		t.Errorf("the file whose upload failed: stat %v, %v; want it kept with %d bytes", fi, err, len(want))
	}
	e.Srv.ClearFaults()
	m.Unmount() // commits what is pending
	if got, ok := e.headObject(t, "kept"); !ok || got.Size != int64(len(want)) {
		t.Errorf("after the server recovered and the mount was unmounted: object exists %v, %d bytes; want %d", ok, got.Size, len(want))
	} else if body, _ := e.getObject(t, "kept"); string(body) != string(want) {
		t.Errorf("committed object differs from the data written")
	}
}

func firstLine(s string) string {
	for i, c := range s {
		if c == '\n' {
			return s[:i]
		}
	}
	return s
}
