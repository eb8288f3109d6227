package integration

// Mount options whose effect only a kernel mount shows.

import (
	"errors"
	"os"
	"syscall"
	"testing"
)

func TestReadOnlyMount(t *testing.T) {
	e := newEnv(t)
	e.putObject(t, "r.txt", []byte("read me"), nil)
	m := e.Mount(t, "ro")
	checkFile(t, m.Path("r.txt"), []byte("read me"), "ro mount")
	writes := e.Delta(func() {
		for name, op := range map[string]func() error{
			"create":    func() error { return os.WriteFile(m.Path("new"), []byte("x"), 0o644) },
			"overwrite": func() error { return os.WriteFile(m.Path("r.txt"), []byte("x"), 0o644) },
			"mkdir":     func() error { return os.Mkdir(m.Path("d"), 0o755) },
			"remove":    func() error { return os.Remove(m.Path("r.txt")) },
			"chmod":     func() error { return os.Chmod(m.Path("r.txt"), 0o600) },
			"rename":    func() error { return os.Rename(m.Path("r.txt"), m.Path("s.txt")) },
		} {
			if err := op(); !errors.Is(err, syscall.EROFS) {
				t.Errorf("%s on a ro mount: %v, want EROFS", name, err)
			}
		}
	})
	if n := requests(writes, "PutObject", "DeleteObject", "CopyObject", "SetObjectMetadata", "InitiateMultipartUpload"); n != 0 {
		t.Errorf("ro mount sent %d modifying requests: %s", n, formatStats(writes))
	}
	checkFile(t, m.Path("r.txt"), []byte("read me"), "ro mount after refused writes")
}
