package integration

// Two obsfs processes on one bucket (fs/SEMANTICS.md 13-14): what one closes
// the other sees once its TTL has passed, and a file replaced underneath an
// open reader never yields a mix of two versions.

import (
	"bytes"
	"io"
	"os"
	"testing"
	"time"
)

// ttlWait outlasts a 1 s stat_cache_expire with room for a loaded machine.
const ttlWait = 1500 * time.Millisecond

func TestCloseToOpenAcrossMounts(t *testing.T) {
	e := newEnv(t)
	a := e.Mount(t)
	b := e.Mount(t, "stat_cache_expire=1")

	must(t, os.WriteFile(a.Path("shared.txt"), []byte("version one"), 0o644))
	checkFile(t, b.Path("shared.txt"), []byte("version one"), "B after A closed a new file")

	must(t, os.WriteFile(a.Path("shared.txt"), []byte("version two, longer"), 0o644))
	time.Sleep(ttlWait) // B's TTL
	checkFile(t, b.Path("shared.txt"), []byte("version two, longer"), "B after A replaced the file and B's TTL passed")

	must(t, os.Remove(a.Path("shared.txt")))
	time.Sleep(ttlWait)
	if _, err := os.Stat(b.Path("shared.txt")); !os.IsNotExist(err) {
		t.Errorf("B after A removed the file and B's TTL passed: stat = %v, want ENOENT", err)
	}
	must(t, os.Mkdir(b.Path("from-b"), 0o755))
	must(t, os.WriteFile(b.Path("from-b", "f"), []byte("b"), 0o644))
	time.Sleep(ttlWait) // A's default TTL is longer, but A never looked: no stale entry
	checkFile(t, a.Path("from-b", "f"), []byte("b"), "A reading what B created")
}

func TestNoTornReads(t *testing.T) {
	e := newEnv(t)
	const size = 8 * MiB
	old := bytes.Repeat([]byte("O"), size)
	e.putObject(t, "torn.bin", old, nil)
	m := e.Mount(t, "stat_cache_expire=1")

	f, err := os.Open(m.Path("torn.bin"))
	must(t, err)
	defer f.Close()
	head := make([]byte, 64<<10)
	_, err = io.ReadFull(f, head)
	must(t, err)
	e.putObject(t, "torn.bin", bytes.Repeat([]byte("N"), size), nil) // replaced underneath

	rest, err := io.ReadAll(f)
	got := append(head, rest...)
	switch {
	case err != nil:
		t.Logf("reading on after the replacement failed (allowed): %v after %d bytes", err, len(got))
		if bytes.ContainsRune(got, 'N') {
			t.Errorf("bytes of the new version were returned before the failure")
		}
	case !bytes.Equal(got, old):
		t.Errorf("read %d bytes mixing versions (first new byte at %d); want the old version whole or an error",
			len(got), bytes.IndexByte(got, 'N'))
	}
	if n := mustReopen(t, m.Path("torn.bin")); n != 'N' {
		t.Errorf("a new open after the replacement reads %q, want the new version", n)
	}
}

// mustReopen opens p afresh until it reads the new version or 5 s (the
// mount's 1 s TTL and then some) have passed, and returns the first byte.
func mustReopen(t *testing.T, p string) byte {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, err := os.ReadFile(p)
		if err == nil && len(b) > 0 && (b[0] == 'N' || time.Now().After(deadline)) {
			return b[0]
		}
		if err != nil && time.Now().After(deadline) {
			t.Fatalf("reopen: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
