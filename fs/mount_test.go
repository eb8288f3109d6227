package fs

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/obsfs/obsfs/obsclient"
	"github.com/obsfs/obsfs/obsclient/obstest"
	"github.com/obsfs/obsfs/obsclient/signer"
	"github.com/obsfs/obsfs/transfer"
)

const (
	testAK     = "AKfsTEST"
	testSK     = "SKfsTEST/secret"
	testBucket = "obsfs-fs-test"
	testPFS    = "obsfs-fs-pfs"
)

// env is an emulator, a client bucket on it, and (after mount) a mount.
type env struct {
	t      *testing.T
	srv    *obstest.Server
	bucket string
	b      *obsclient.Bucket
	f      *FS
	mnt    string
	server *fuse.Server
	// wrap, when set, wraps the bucket seen by the mount (counting, faults).
	wrap func(store) store
	// extra mount options for the next mount.
	extra []string
	// flags are generic mount flags (MountConfig.Flags) for the next mount.
	flags []string
}

// newEnv starts an emulator with a plain and a PFS bucket.
func newEnv(t *testing.T) *env {
	t.Helper()
	srv := obstest.NewTest(t, obstest.Options{AccessKey: testAK, SecretKey: testSK,
		Buckets: []string{testBucket}, FSBuckets: []string{testPFS}})
	e := &env{t: t, srv: srv, bucket: testBucket}
	e.b = e.newBucket(testBucket)
	return e
}

func (e *env) newBucket(name string) *obsclient.Bucket {
	addr := e.srv.Addr()
	c, err := obsclient.New(obsclient.Config{
		Endpoint:       e.srv.URL,
		Credentials:    signer.Credentials{AccessKey: testAK, SecretKey: testSK},
		RetryBaseDelay: time.Millisecond,
		Retries:        2,
		Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	b, err := c.Bucket(name)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

// mount mounts the bucket with o (Logger defaults to the test log).
func (e *env) mount(o Options) string {
	e.t.Helper()
	if o.Logger == nil {
		o.Logger = zaptest.NewLogger(e.t, zaptest.Level(zap.WarnLevel))
	}
	if o.CacheDir == "" {
		o.CacheDir = e.t.TempDir()
	}
	if o.RetryBudget == 0 {
		// Tests inject failures and expect them at once; the budget has
		// tests of its own (TestCommitRidesOutOutage).
		o.RetryBudget = -1
	}
	f, err := New(e.b, o)
	if err != nil {
		e.t.Fatal(err)
	}
	if f.disk != nil { // runs after the unmount below: writes finish before CacheDir is removed
		e.t.Cleanup(f.disk.Close)
	}
	if e.wrap != nil {
		f.st = e.wrap(f.st)
		f.up = transfer.NewUploader(f.st, transfer.UploaderConfig{PartSize: f.opts.MultipartSize, Concurrency: f.opts.ParallelCount})
	}
	mnt := e.t.TempDir()
	e.t.Cleanup(f.stopRetries) // after the unmount (cleanups run last-first): no retry logs after the test
	server, err := f.Mount(mnt, MountConfig{FsName: "obsfs:" + e.bucket, Debug: os.Getenv("OBSFS_FUSE_DEBUG") != "", ExtraOptions: e.extra, Flags: e.flags})
	if err != nil {
		e.t.Fatalf("mount: %v", err)
	}
	if err := server.WaitMount(); err != nil {
		e.t.Fatal(err)
	}
	e.f, e.mnt, e.server = f, mnt, server
	e.t.Cleanup(func() { unmount(e.t, server) })
	return mnt
}

func unmount(t *testing.T, server *fuse.Server) {
	for i := 0; i < 50; i++ {
		if err := server.Unmount(); err == nil {
			return
		} else if i == 49 {
			t.Errorf("unmount: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// remount unmounts and mounts again with o.
func (e *env) remount(o Options) string {
	e.t.Helper()
	unmount(e.t, e.server)
	return e.mount(o)
}

// path returns the mounted path of rel.
func (e *env) path(rel string) string { return filepath.Join(e.mnt, rel) }

// put stores an object directly (bypassing the mount).
func (e *env) put(key, body string, md map[string]string) {
	e.t.Helper()
	if _, err := e.srv.PutObject(e.bucket, key, []byte(body), obstest.ObjectInfo{Metadata: md}); err != nil {
		e.t.Fatal(err)
	}
}

// body returns an object's content from the server ("" and false if absent).
func (e *env) body(key string) (string, bool) {
	if _, ok := e.srv.Object(e.bucket, key); !ok {
		return "", false
	}
	b, err := e.srv.ObjectBody(e.bucket, key)
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b), true
}

func readDirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("ReadDir %s: %v", dir, err)
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() {
			n += "/"
		}
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func TestMountSmoke(t *testing.T) {
	e := newEnv(t)
	e.mount(Options{})
	if err := os.Mkdir(e.path("d"), 0755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.path("d/f.txt"), []byte("hello"), 0644); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(e.path("d/f.txt"))
	if err != nil || string(got) != "hello" {
		t.Fatalf("ReadFile = %q, %v", got, err)
	}
	if b, ok := e.body("d/f.txt"); !ok || b != "hello" {
		t.Fatalf("object = %q %v", b, ok)
	}
	if _, ok := e.srv.Object(e.bucket, "d/"); !ok {
		t.Fatal("no marker for d/")
	}
	if names := readDirNames(t, e.path("d")); len(names) != 1 || names[0] != "f.txt" {
		t.Fatalf("ls d = %v", names)
	}
	if names := readDirNames(t, e.mnt); len(names) != 1 || names[0] != "d/" {
		t.Fatalf("ls / = %v", names)
	}
}
