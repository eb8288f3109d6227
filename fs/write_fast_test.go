package fs

// Mounted tests of the write fast paths (appends, server-side growth,
// streaming), asserting with the emulator's request counters.

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/obsfs/obsfs/obsclient"
	"github.com/obsfs/obsfs/obsclient/obstest"
	"github.com/obsfs/obsfs/transfer"
)

// waitStats polls the emulator's counters until cond holds (or fails the
// test after a generous deadline: the condition, not the time, is asserted).
func waitStats(t *testing.T, srv *obstest.Server, what string, cond func(obstest.Stats) bool) obstest.Stats {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		s := srv.Stats()
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: counters never settled: %+v", what, s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestAppendCreatedWithOAppend(t *testing.T) {
	e := newEnv(t)
	e.mount(Options{})
	p := e.path("log")
	var model strings.Builder
	appended := int64(0)
	for i := 0; i < 50; i++ {
		f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0644)
		if err != nil {
			t.Fatal(err)
		}
		line := fmt.Sprintf("a %d\n", i)
		if _, err := f.WriteString(line); err != nil {
			t.Fatal(err)
		}
		if i%2 == 1 {
			if err := f.Sync(); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		model.WriteString(line)
		if i == 0 {
			e.srv.ResetStats() // creation done: count the appends only
		} else {
			appended += int64(len(line))
		}
	}
	info, ok := e.srv.Object(e.bucket, "log")
	if !ok || !info.Appendable {
		t.Fatalf("object: %+v %v, want appendable", info, ok)
	}
	if got, _ := e.body("log"); got != model.String() {
		t.Fatalf("content %q, want %q", got, model.String())
	}
	s := e.srv.Stats()
	t.Logf("AppendObject: %d requests, %d bytes in (appended %d, file %d); HEAD %d, total requests %d, bytes in %d",
		s["AppendObject"].Requests, s["AppendObject"].BytesIn, appended, model.Len(), s["HeadObject"].Requests,
		s.Total().Requests, s.Total().BytesIn)
	if s["AppendObject"].BytesIn != appended || s["AppendObject"].Requests != 49 {
		t.Errorf("AppendObject %+v, want 49 requests and %d bytes", s["AppendObject"], appended)
	}
	for _, op := range []string{"PutObject", "UploadPart", "InitiateMultipartUpload", "CopyObject"} {
		if s[op].Requests != 0 {
			t.Errorf("%s: %d requests after creation", op, s[op].Requests)
		}
	}
	// The mode survives; mtime tracks the appends (LastModified).
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm() != 0644 || fi.Size() != int64(model.Len()) {
		t.Fatalf("stat: %v %v", fi, err)
	}
}

func TestGrowNormalObjectCopiesOnServer(t *testing.T) {
	e := newEnv(t)
	old := bytes.Repeat([]byte("0123456789abcdef"), 200<<10/16) // 200 KiB
	e.put("big", string(old), nil)
	e.mount(Options{MultipartSize: 128 << 10})
	e.srv.ResetStats()
	delta := bytes.Repeat([]byte("z"), 5000)
	f, err := os.OpenFile(e.path("big"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(delta); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	s := e.srv.Stats()
	t.Logf("UploadPartCopy %+v, UploadPart %+v", s["UploadPartCopy"], s["UploadPart"])
	if s["UploadPartCopy"].Requests != 1 || s["UploadPart"].Requests != 1 || s["UploadPart"].BytesIn != int64(len(delta)) {
		t.Errorf("got copy %+v part %+v, want 1 copy and 1 part of %d bytes", s["UploadPartCopy"], s["UploadPart"], len(delta))
	}
	if s["PutObject"].Requests != 0 || s["GetObject"].Requests != 0 {
		t.Errorf("PutObject %d GetObject %d, want none", s["PutObject"].Requests, s["GetObject"].Requests)
	}
	if got, _ := e.body("big"); got != string(old)+string(delta) {
		t.Fatal("content differs")
	}
}

func TestStreamingUploadBeforeClose(t *testing.T) {
	e := newEnv(t)
	const ps = 128 << 10
	e.mount(Options{MultipartSize: ps})
	rng := rand.New(rand.NewSource(1))
	data := make([]byte, 4*ps+3000)
	rng.Read(data)
	p := e.path("stream.bin")
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0640)
	if err != nil {
		t.Fatal(err)
	}
	head := 4 * ps // all but the last (partial) part
	for off := 0; off < head; off += 32 << 10 {
		if _, err := f.Write(data[off : off+32<<10]); err != nil {
			t.Fatal(err)
		}
	}
	// Parts upload in the background while the file is still open.
	s := waitStats(t, e.srv, "streamed parts", func(s obstest.Stats) bool { return s["UploadPart"].Requests >= 3 })
	if s["CompleteMultipartUpload"].Requests != 0 || s["PutObject"].Requests != 0 {
		t.Fatalf("committed before close: %+v", s)
	}
	before := s["UploadPart"].Requests
	if _, err := f.Write(data[head:]); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	s = e.srv.Stats()
	t.Logf("UploadPart before close %d, total %+v; SetObjectMetadata %d", before, s["UploadPart"], s["SetObjectMetadata"].Requests)
	if s["UploadPart"].BytesIn != int64(len(data)) || s["PutObject"].Requests != 0 || s["AbortMultipartUpload"].Requests != 0 {
		t.Errorf("uploaded %+v (want %d bytes once), put %d, abort %d", s["UploadPart"], len(data),
			s["PutObject"].Requests, s["AbortMultipartUpload"].Requests)
	}
	if got, _ := e.body("stream.bin"); got != string(data) {
		t.Fatal("content differs")
	}
	local, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := e.srv.Object(e.bucket, "stream.bin")
	a := attrFromInfo(obsclient.ObjectInfo{Size: info.Size, Metadata: info.Metadata, LastModified: info.LastModified}, false, attrDefaults{})
	if a.Mode != syscall.S_IFREG|0640 || !a.Mtime.Equal(local.ModTime()) {
		t.Errorf("object attrs mode %o mtime %v, want %o %v", a.Mode, a.Mtime, syscall.S_IFREG|0640, local.ModTime())
	}
	if len(e.srv.Uploads(e.bucket)) != 0 {
		t.Error("orphaned uploads")
	}

	// O_TRUNC of the existing object streams the same way.
	e.srv.ResetStats()
	f, err = os.OpenFile(p, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	rng.Read(data)
	if _, err := f.Write(data[:head]); err != nil {
		t.Fatal(err)
	}
	waitStats(t, e.srv, "streamed parts after O_TRUNC", func(s obstest.Stats) bool { return s["UploadPart"].Requests >= 3 })
	if _, err := f.Write(data[head:]); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	s = e.srv.Stats()
	if s["UploadPart"].BytesIn != int64(len(data)) || s["UploadPartCopy"].Requests != 0 || s["PutObject"].Requests != 0 {
		t.Errorf("O_TRUNC rewrite: %+v", s)
	}
	if got, _ := e.body("stream.bin"); got != string(data) {
		t.Fatal("content differs after O_TRUNC rewrite")
	}
	if got, err := os.ReadFile(p); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back through the mount: %v", err)
	}
}

func TestAppendConflictESTALE(t *testing.T) {
	e := newEnv(t)
	e.mount(Options{})
	p := e.path("shared")
	if err := appendFile(p, "ours1"); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString("ours2"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.b.AppendObject(context.Background(), "shared", 5, strings.NewReader("theirs"), 6, obsclient.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	wantErrno(t, "fsync after a foreign append", f.Sync(), syscall.ESTALE)
	wantErrno(t, "close after a foreign append", f.Close(), syscall.ESTALE)
	if got, _ := e.body("shared"); got != "ours1theirs" {
		t.Fatalf("object %q, want the other writer's bytes intact", got)
	}
}

func appendFile(p, s string) error {
	f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(s); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func TestQuotaDuringStreamENOSPC(t *testing.T) {
	e := newEnv(t)
	e.srv.SetQuota(e.bucket, 300<<10)
	e.mount(Options{MultipartSize: 128 << 10})
	f, err := os.Create(e.path("big"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(bytes.Repeat([]byte("q"), 600<<10)); err != nil {
		t.Fatal(err)
	}
	wantErrno(t, "close over quota", f.Close(), syscall.ENOSPC)
	if _, ok := e.srv.Object(e.bucket, "big"); ok {
		t.Error("partial object visible")
	}
	if u := e.srv.Uploads(e.bucket); len(u) != 0 {
		t.Errorf("orphaned uploads: %+v", u)
	}
}

func TestRandomOpsModel(t *testing.T) { runModel(t, false) }

func TestRandomOpsModelFaults(t *testing.T) { runModel(t, true) }

// runModel drives random operations through the mount and a local
// reference directory and compares them after every close; with faults the
// emulator fails uploads, appends and completes now and then.
func runModel(t *testing.T, faults bool) {
	e := newEnv(t)
	e.mount(Options{MultipartSize: transfer.MinPartSize})
	ref := t.TempDir()
	seed := int64(7)
	if faults {
		seed = 11
	}
	if v, err := strconv.ParseInt(os.Getenv("OBSFS_MODEL_SEED"), 10, 64); err == nil {
		seed = v // explore other runs
	}
	rng := rand.New(rand.NewSource(seed))
	names := []string{"f0", "f1", "f2", "f3"}
	size := func(p string) int64 {
		fi, err := os.Stat(p)
		if err != nil {
			return -1
		}
		return fi.Size()
	}
	randBytes := func(n int) []byte {
		b := make([]byte, n)
		rng.Read(b)
		return b
	}
	randLen := func() int {
		if rng.Intn(6) == 0 {
			return 100<<10 + rng.Intn(250<<10) // multipart territory
		}
		return 1 + rng.Intn(8<<10)
	}
	injected := 0
	kinds := []obstest.FaultKind{obstest.FaultSlowDown, obstest.FaultReset, obstest.FaultTruncate, obstest.FaultResetAfter}
	ops := []string{"UploadPart", "AppendObject", "CompleteMultipartUpload"}
	const nOps = 300
	for i := 0; i < nOps; i++ {
		if faults && rng.Intn(8) == 0 {
			f := obstest.Fault{Op: ops[rng.Intn(len(ops))], Kind: kinds[rng.Intn(len(kinds))], Count: 1 + rng.Intn(3)}
			if f.Op == "UploadPart" && f.Kind == obstest.FaultResetAfter {
				f.Kind = obstest.FaultReset
			}
			if err := e.srv.InjectFault(f); err != nil {
				t.Fatal(err)
			}
			injected++
		}
		name := names[rng.Intn(len(names))]
		mp, rp := e.path(name), filepath.Join(ref, name)
		cur := size(rp)
		op := rng.Intn(8)
		var merr error
		switch op {
		case 0, 1: // write at a random offset (maybe past the end)
			off := int64(0)
			if cur > 0 {
				off = rng.Int63n(cur + 1000)
			}
			data := randBytes(randLen())
			merr = writeAt(mp, data, off, os.O_RDWR|os.O_CREATE)
			if err := writeAt(rp, data, off, os.O_RDWR|os.O_CREATE); err != nil {
				t.Fatal(err)
			}
		case 2, 3: // append
			data := randBytes(randLen())
			merr = writeAt(mp, data, -1, os.O_APPEND|os.O_CREATE|os.O_WRONLY)
			if err := writeAt(rp, data, -1, os.O_APPEND|os.O_CREATE|os.O_WRONLY); err != nil {
				t.Fatal(err)
			}
		case 4: // truncate up or down
			if cur < 0 {
				continue
			}
			// ftruncate on a handle: committed at its close. (A truncate(2)
			// whose immediate commit fails leaves the kernel's size stale.)
			ns := rng.Int63n(cur*3/2 + 2000)
			merr = ftruncate(mp, ns)
			if err := os.Truncate(rp, ns); err != nil {
				t.Fatal(err)
			}
		case 5: // overwrite (O_TRUNC), written sequentially: may stream
			data := randBytes(randLen() * (1 + rng.Intn(2)))
			merr = writeSeq(mp, data)
			if err := os.WriteFile(rp, data, 0644); err != nil {
				t.Fatal(err)
			}
		case 6: // rename over another name
			if cur < 0 {
				continue
			}
			to := names[rng.Intn(len(names))]
			if to == name {
				continue
			}
			merr = os.Rename(mp, e.path(to))
			if merr == nil { // a failed rename changed nothing
				if err := os.Rename(rp, filepath.Join(ref, to)); err != nil {
					t.Fatal(err)
				}
			}
			name, mp, rp = to, e.path(to), filepath.Join(ref, to)
		case 7: // a sequential rewrite while another file is read concurrently
			other := names[(rng.Intn(len(names)-1)+1+indexOf(names, name))%len(names)]
			data := randBytes(randLen())
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := 0; k < 3; k++ {
					compareFile(t, e.path(other), filepath.Join(ref, other), "concurrent read")
				}
			}()
			merr = writeSeq(mp, data)
			wg.Wait()
			if err := os.WriteFile(rp, data, 0644); err != nil {
				t.Fatal(err)
			}
		}
		if merr != nil && !faults {
			t.Fatalf("op %d (%d on %s): %v", i, op, name, merr)
		}
		compareFile(t, mp, rp, fmt.Sprintf("op %d (%d on %s, err %v)", i, op, name, merr))
	}
	// Settle: no more faults, commit everything, compare the server.
	e.srv.ClearFaults()
	for _, name := range names {
		mp := e.path(name)
		f, err := os.OpenFile(mp, os.O_RDWR, 0)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			t.Fatalf("final fsync %s: %v", name, err)
		}
		f.Close()
	}
	for _, name := range names {
		want, err := os.ReadFile(filepath.Join(ref, name))
		got, ok := e.body(name)
		if os.IsNotExist(err) {
			if ok {
				t.Errorf("%s: on the server, not in the reference", name)
			}
			continue
		}
		if !ok || got != string(want) {
			t.Errorf("%s: server object (%d bytes, present %v) differs from the reference (%d bytes)", name, len(got), ok, len(want))
		}
	}
	// Orphans: a failed commit aborted its upload, and streams end with
	// their commit or the spool.
	waitStats(t, e.srv, "uploads drained", func(obstest.Stats) bool { return len(e.srv.Uploads(e.bucket)) == 0 })
	s := e.srv.Stats()
	t.Logf("%d fault rules; requests: put %d, part %d (%d B), copy %d, append %d (%d B), complete %d, abort %d, errors %d",
		injected, s["PutObject"].Requests, s["UploadPart"].Requests, s["UploadPart"].BytesIn, s["UploadPartCopy"].Requests,
		s["AppendObject"].Requests, s["AppendObject"].BytesIn, s["CompleteMultipartUpload"].Requests,
		s["AbortMultipartUpload"].Requests, s.Total().Errors)
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// writeAt writes data at off (off < 0: as opened, e.g. O_APPEND) and closes.
func writeAt(p string, data []byte, off int64, flags int) error {
	f, err := os.OpenFile(p, flags, 0644)
	if err != nil {
		return err
	}
	if off >= 0 {
		_, err = f.WriteAt(data, off)
	} else {
		_, err = f.Write(data)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func ftruncate(p string, size int64) error {
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	err = f.Truncate(size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeSeq overwrites p (O_TRUNC) in 32 KiB writes.
func writeSeq(p string, data []byte) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0644)
	if err != nil {
		return err
	}
	for off := 0; off < len(data) && err == nil; off += 32 << 10 {
		_, err = f.Write(data[off:min(off+32<<10, len(data))])
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func compareFile(t *testing.T, mp, rp, what string) {
	t.Helper()
	want, rerr := os.ReadFile(rp)
	got, merr := os.ReadFile(mp)
	if os.IsNotExist(rerr) {
		if !os.IsNotExist(merr) {
			t.Errorf("%s: %s exists on the mount only", what, filepath.Base(mp))
		}
		return
	}
	if merr != nil {
		t.Errorf("%s: read %s: %v", what, filepath.Base(mp), merr)
		return
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: %s differs: %d bytes, want %d", what, filepath.Base(mp), len(got), len(want))
	}
}

func TestAppendableMetadataChangeRewrites(t *testing.T) {
	e := newEnv(t)
	e.mount(Options{})
	p := e.path("app")
	if err := appendFile(p, "x"); err != nil {
		t.Fatal(err)
	}
	if info, _ := e.srv.Object(e.bucket, "app"); !info.Appendable || info.Metadata[metaMtime] != "" || info.Metadata[metaMode] != "33188" {
		t.Fatalf("created: %+v, want appendable with mode and without times", info)
	}
	// A chmod while unsaved data is pending cannot ride on an append.
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("y"); err != nil {
		t.Fatal(err)
	}
	if err := f.Chmod(0600); err != nil {
		t.Fatal(err)
	}
	e.srv.ResetStats()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	info, _ := e.srv.Object(e.bucket, "app")
	if info.Appendable || info.Metadata[metaMode] != "33152" || e.srv.Stats()["AppendObject"].Requests != 0 {
		t.Fatalf("after chmod+write: %+v, want a rewritten normal object with mode 0600", info)
	}
	if got, _ := e.body("app"); got != "xy" {
		t.Fatalf("content %q", got)
	}
}

func TestAppendOnPFSStaysNormal(t *testing.T) {
	e := newEnv(t)
	e.bucket = testPFS
	e.b = e.newBucket(testPFS)
	e.mount(Options{})
	p := e.path("log")
	for _, s := range []string{"one\n", "two\n"} {
		if err := appendFile(p, s); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := e.body("log"); got != "one\ntwo\n" {
		t.Fatalf("content %q", got)
	}
	if n := e.srv.Stats()["AppendObject"].Requests; n != 0 {
		t.Errorf("%d AppendObject requests on a parallel file system", n)
	}
}

func TestStreamMetadataRefreshRetried(t *testing.T) {
	e := newEnv(t)
	const ps = 128 << 10
	e.mount(Options{MultipartSize: ps})
	data := bytes.Repeat([]byte("s"), 3*ps+10)
	p := e.path("s.bin")
	if err := e.srv.InjectFault(obstest.Fault{Op: "SetObjectMetadata", Kind: obstest.FaultStatus500, Count: 3}); err != nil {
		t.Fatal(err)
	}
	wantErrno(t, "close with a failing metadata refresh", writeSeq(p, data), syscall.EIO)
	if got, _ := e.body("s.bin"); got != string(data) {
		t.Fatal("data not committed")
	}
	e.srv.ResetStats()
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	s := e.srv.Stats()
	if s["SetObjectMetadata"].Requests != 1 || s["UploadPart"].Requests+s["PutObject"].Requests != 0 {
		t.Errorf("retry: %+v, want one metadata REPLACE and no data", s)
	}
	local, _ := os.Stat(p)
	info, _ := e.srv.Object(e.bucket, "s.bin")
	a := attrFromInfo(obsclient.ObjectInfo{Size: info.Size, Metadata: info.Metadata}, false, attrDefaults{})
	if !a.Mtime.Equal(local.ModTime()) {
		t.Errorf("object mtime %v, want %v", a.Mtime, local.ModTime())
	}
}
