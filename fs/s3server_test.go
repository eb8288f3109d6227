package fs

import (
	"context"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/obsfs/obsfs/obsclient"
)

// fileBackedStore behaves like an S3 server that stores objects as files
// (versitygw's posix backend): a directory marker cannot be copied (400
// DirectoryObjectContainsData), and a marker cannot be deleted while the
// directory still holds a key.
type fileBackedStore struct {
	store
	keys func(prefix string) []string
	mu   sync.Mutex
	bad  []string // markers a batch tried to delete while not empty
}

func (s *fileBackedStore) CopyObject(ctx context.Context, dst string, src obsclient.CopySource, o obsclient.CopyOptions) (obsclient.PutResult, error) {
	if strings.HasSuffix(src.Key, "/") {
		return obsclient.PutResult{}, &obsclient.Error{Op: "CopyObject", Key: dst, StatusCode: 400, Code: "DirectoryObjectContainsData"}
	}
	return s.store.CopyObject(ctx, dst, src, o)
}

func (s *fileBackedStore) DeleteObjects(ctx context.Context, objs []obsclient.ObjectID) ([]obsclient.DeleteResult, error) {
	for i, o := range objs {
		if !strings.HasSuffix(o.Key, "/") {
			continue
		}
		later := func(k string) bool {
			return slices.ContainsFunc(objs[i+1:], func(x obsclient.ObjectID) bool { return x.Key == k })
		}
		for _, k := range s.keys(o.Key) {
			if k != o.Key && (later(k) || !slices.ContainsFunc(objs, func(x obsclient.ObjectID) bool { return x.Key == k })) {
				s.mu.Lock()
				s.bad = append(s.bad, o.Key)
				s.mu.Unlock()
				break
			}
		}
	}
	return s.store.DeleteObjects(ctx, objs)
}

// A directory renames on such a server: markers are made anew with their
// metadata, and keys are deleted deepest first.
func TestRenameDirOnFileBackedServer(t *testing.T) {
	e := newEnv(t)
	fb := &fileBackedStore{keys: func(prefix string) []string { return e.srv.Keys(testBucket, prefix) }}
	e.wrap = func(s store) store { fb.store = s; return fb }
	e.mount(Options{})
	for _, d := range []string{"d", "d/e", "d/empty"} {
		if err := os.Mkdir(e.path(d), 0o750); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(e.path("d/e/f"), []byte("data"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(e.path("d"), e.path("g")); err != nil {
		t.Fatalf("rename of a directory: %v", err)
	}
	if got := e.srv.Keys(testBucket, ""); !slices.Equal(got, []string{"g/", "g/e/", "g/e/f", "g/empty/"}) {
		t.Errorf("keys after rename: %q", got)
	}
	fb.mu.Lock()
	if len(fb.bad) > 0 {
		t.Errorf("markers deleted before their contents: %q", fb.bad)
	}
	fb.mu.Unlock()
	e.remount(Options{})
	for _, d := range []string{"g", "g/e", "g/empty"} {
		st, err := os.Stat(e.path(d))
		if err != nil || !st.IsDir() || st.Mode().Perm() != 0o750 {
			t.Errorf("%s after rename and remount: %v %v, want a 0750 directory", d, st, err)
		}
	}
	if b, err := os.ReadFile(e.path("g/e/f")); err != nil || string(b) != "data" {
		t.Errorf("g/e/f: %q %v", b, err)
	}
}

// noUsageStore is an S3 server that does not know OBS's ?storageinfo and
// answers it with something else (versitygw answers a listing).
type noUsageStore struct{ store }

func (noUsageStore) StorageInfo(context.Context) (obsclient.StorageInfo, error) {
	return obsclient.StorageInfo{}, &obsclient.Error{Op: "GetBucketStorageInfo", StatusCode: 200, Code: "MalformedResponse"}
}

// df works on a server without usage figures: no usage, unlimited capacity.
func TestStatfsWithoutStorageInfo(t *testing.T) {
	e := newEnv(t)
	e.wrap = func(s store) store { return noUsageStore{s} }
	e.mount(Options{})
	var st syscall.Statfs_t
	if err := syscall.Statfs(e.mnt, &st); err != nil {
		t.Fatalf("statfs on a server without ?storageinfo: %v", err)
	}
	if st.Blocks != unlimitedCap/statfsBsize || st.Bfree != st.Blocks || st.Namelen != 255 {
		t.Errorf("statfs: %+v", st)
	}
}
