package transfer

import (
	"bytes"
	"context"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/obsfs/obsfs/obsclient"
	"github.com/obsfs/obsfs/obsclient/obstest"
)

func frame(t *testing.T, es ...jEntry) []byte {
	t.Helper()
	var out []byte
	for _, e := range es {
		b, err := encodeEntry(e)
		require.NoError(t, err)
		out = append(out, b...)
	}
	return out
}

// TestJournalFormatTornAndCorrupt: a record cut anywhere, or with a byte
// flipped anywhere, replays to a prefix of its entries (never a panic, never
// an entry that was not written), and says why it stopped.
func TestJournalFormatTornAndCorrupt(t *testing.T) {
	es := []jEntry{
		{Op: "state", Bucket: "b", Key: "k", Base: &Base{Key: "k", ETag: "e", Size: 10}, Size: 10, BaseLen: 10},
		{Op: "write", Off: 2, End: 4},
		{Op: "trunc", Size: 20},
		{Op: "describe", Key: "k2", Meta: map[string]string{"mode": "33188"}},
		{Op: "upload", Key: "k2", UploadID: "u1"},
	}
	raw := frame(t, es...)
	got, bad := decodeEntries(raw)
	require.Empty(t, bad)
	require.Len(t, got, len(es))
	rec, used, rbad := replay(got)
	require.Empty(t, rbad)
	require.Equal(t, len(es), used)
	require.Equal(t, "k2", rec.Key)
	require.Equal(t, int64(20), rec.Size)
	require.Equal(t, []Interval{{2, 4}, {10, 20}}, rec.Dirty.Intervals())
	require.True(t, rec.Changed)
	require.Equal(t, map[string]string{"u1": "k2"}, rec.Uploads)

	for cut := 0; cut < len(raw); cut++ { // torn tail
		got, bad := decodeEntries(raw[:cut])
		require.Less(t, len(got), len(es))
		if bad == "" { // cut at an entry boundary
			require.Len(t, frame(t, es[:len(got)]...), cut)
		}
		for i := range got {
			require.Equal(t, es[i].Op, got[i].Op)
		}
	}
	for pos := 0; pos < len(raw); pos++ { // one corrupt byte
		c := bytes.Clone(raw)
		c[pos] ^= 0x5a
		got, bad := decodeEntries(c)
		require.NotEmpty(t, bad, "flip at %d", pos)
		require.Less(t, len(got), len(es))
		_, _, _ = replay(got)
	}
	// Oversized and zero lengths, garbage.
	huge := make([]byte, 8)
	binary.LittleEndian.PutUint32(huge, maxJournalEntry+1)
	_, bad = decodeEntries(huge)
	require.Contains(t, bad, "oversized")
	_, bad = decodeEntries(make([]byte, 16))
	require.NotEmpty(t, bad)
	r := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		g := make([]byte, r.IntN(200))
		for i := range g {
			g[i] = byte(r.UintN(256))
		}
		es, _ := decodeEntries(g)
		_, _, _ = replay(es)
	}
	// Entries that decode but make no sense end the replay.
	for _, badEs := range [][]jEntry{
		{{Op: "write", Off: 0, End: 1}},
		{{Op: "state", Size: -1}},
		{{Op: "state", Size: 5, BaseLen: 6}},
		{{Op: "state", Size: 5, Dirty: []Interval{{3, 9}}}},
		{{Op: "state", Size: 5}, {Op: "write", Off: 4, End: 2}},
		{{Op: "state", Size: 5}, {Op: "bogus"}},
	} {
		_, used, rbad := replay(badEs)
		require.NotEmpty(t, rbad, "%+v", badEs)
		require.Less(t, used, len(badEs))
	}
}

// crash abandons a journaled spool the way kill -9 does: its files stay
// as they are, nothing more is written.
func crash(s *Spool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.jf != nil {
		_ = s.jf.Close()
	}
	_ = s.f.Close()
	s.closed = true
}

func newTestJournal(t *testing.T, dir string) (*Journal, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zap.InfoLevel)
	j, err := OpenJournal(JournalConfig{Dir: dir, Bucket: testBucket, Logger: zap.New(core)})
	require.NoError(t, err)
	return j, logs
}

func recoverCfg(e *env, u *Uploader, now time.Time) RecoverConfig {
	return RecoverConfig{Client: e.b, Uploader: u, Now: func() time.Time { return now },
		Options: func(meta map[string]string, ct string) obsclient.WriteOptions {
			return obsclient.WriteOptions{Metadata: meta, ContentType: ct}
		}}
}

// TestJournalRecover: data written to journaled spools and never
// committed (a new file, an edit of an existing object, a file whose
// streaming upload was under way, a failed commit) is committed by Recover
// byte-exact with its metadata; no multipart upload is left; an object
// changed meanwhile is kept and ours goes beside it.
func TestJournalRecover(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	dir := t.TempDir()
	j, logs := newTestJournal(t, dir)
	u := NewUploader(e.b, UploaderConfig{PartSize: MinPartSize})
	r := rand.New(rand.NewPCG(3, 4))
	rnd := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.UintN(256))
		}
		return b
	}

	// 1. A new file, written, never closed.
	s1, err := j.NewSpool(nil, e.b)
	require.NoError(t, err)
	s1.Describe("new.bin", map[string]string{"mode": "33188"}, "application/x-test")
	d1 := rnd(300 << 10)
	_, err = s1.WriteAt(d1, 0)
	require.NoError(t, err)

	// 2. An edit in the middle of an existing object.
	old := rnd(3 * MinPartSize)
	b2 := e.put(t, "edit.bin", old)
	s2, err := j.NewSpool(b2, e.b)
	require.NoError(t, err)
	s2.Describe("edit.bin", nil, "")
	patch := rnd(1000)
	_, err = s2.WriteAt(patch, MinPartSize+17)
	require.NoError(t, err)
	want2 := bytes.Clone(old)
	copy(want2[MinPartSize+17:], patch)
	require.NoError(t, s2.Truncate(int64(len(want2))-5))
	want2 = want2[:len(want2)-5]

	// 3. A file streaming its parts when the process died.
	s3, err := j.NewSpool(nil, e.b)
	require.NoError(t, err)
	s3.Describe("stream.bin", nil, "")
	require.NoError(t, u.Stream(ctx, "stream.bin", s3, obsclient.WriteOptions{}))
	d3 := rnd(4 * MinPartSize)
	_, err = s3.WriteAt(d3, 0)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(e.srv.Uploads(testBucket)) == 1 }, 30*time.Second, 10*time.Millisecond)

	// 4. A failed commit (the server refuses the upload).
	s4, err := j.NewSpool(nil, e.b)
	require.NoError(t, err)
	s4.Describe("failed.bin", map[string]string{"mtime": "1"}, "")
	d4 := rnd(1234)
	_, err = s4.WriteAt(d4, 0)
	require.NoError(t, err)
	require.NoError(t, e.srv.InjectFault(obstest.Fault{Op: "PutObject", KeyPrefix: "failed.bin", Count: -1, Kind: obstest.FaultStatus, Status: 403, Code: "AccessDenied"}))
	_, err = u.Commit(ctx, "failed.bin", s4, obsclient.WriteOptions{Metadata: map[string]string{"mtime": "2"}})
	require.Error(t, err)
	e.srv.ClearFaults()

	// 5. A new file whose key another client created meanwhile.
	s5, err := j.NewSpool(nil, e.b)
	require.NoError(t, err)
	s5.Describe("conflict.txt", nil, "")
	_, err = s5.WriteAt([]byte("ours"), 0)
	require.NoError(t, err)

	// 6. A file committed, then closed: nothing to recover.
	s6, err := j.NewSpool(nil, e.b)
	require.NoError(t, err)
	s6.Describe("done.txt", nil, "")
	_, err = s6.WriteAt([]byte("done"), 0)
	require.NoError(t, err)
	_, err = u.Commit(ctx, "done.txt", s6, obsclient.WriteOptions{})
	require.NoError(t, err)
	require.NoError(t, s6.Close())

	for _, s := range []*Spool{s1, s2, s3, s4, s5} {
		crash(s)
	}
	e.srv.ClearFaults()
	_, err = e.srv.PutObject(testBucket, "conflict.txt", []byte("theirs"), obstest.ObjectInfo{})
	require.NoError(t, err)
	e.put(t, "done.txt", []byte("changed by another client"))

	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	res, err := j.Recover(ctx, recoverCfg(e, u, now))
	require.NoError(t, err)
	require.Equal(t, 4, res.Committed, "%+v", res)
	require.Equal(t, 1, res.Conflicts)
	require.GreaterOrEqual(t, res.Aborted, 1)

	require.Equal(t, d1, e.body(t, "new.bin"))
	info, ok := e.srv.Object(testBucket, "new.bin")
	require.True(t, ok)
	require.Equal(t, "33188", info.Metadata["mode"])
	require.Equal(t, "application/x-test", info.Headers["Content-Type"])
	require.Equal(t, want2, e.body(t, "edit.bin"))
	require.Equal(t, d3, e.body(t, "stream.bin"))
	require.Equal(t, d4, e.body(t, "failed.bin"))
	info, _ = e.srv.Object(testBucket, "failed.bin")
	require.Equal(t, "2", info.Metadata["mtime"], "the metadata of the failed commit")
	require.Equal(t, []byte("theirs"), e.body(t, "conflict.txt"))
	require.Equal(t, []byte("ours"), e.body(t, "conflict.txt"+RecoveredSuffix+"20260102T030405Z"))
	require.Equal(t, []byte("changed by another client"), e.body(t, "done.txt"))
	require.Empty(t, e.srv.Uploads(testBucket), "no multipart upload left")
	left, _ := os.ReadDir(dir)
	require.Empty(t, left, "journal directory emptied")
	require.NotZero(t, logs.FilterMessageSnippet("recovery: committed").Len())
	require.NotZero(t, logs.FilterMessageSnippet("keeping ours beside it").Len())

	// A second recovery has nothing to do.
	res, err = j.Recover(ctx, recoverCfg(e, u, now))
	require.NoError(t, err)
	require.Equal(t, RecoverResult{}, res)
}

// TestJournalRecoverCorrupt: a garbage record is renamed .corrupt with a
// log line; a torn tail is dropped with a log line and the rest is
// committed; a record of another bucket is left alone; a failing server
// keeps the record for the next mount.
func TestJournalRecoverCorrupt(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	dir := t.TempDir()
	j, logs := newTestJournal(t, dir)
	u := NewUploader(e.b, UploaderConfig{})

	require.NoError(t, os.WriteFile(filepath.Join(dir, "bad"+journalExt), []byte("garbage that is no journal"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bad"+dataExt), []byte("x"), 0o600))

	s, err := j.NewSpool(nil, e.b)
	require.NoError(t, err)
	s.Describe("torn.txt", nil, "")
	_, err = s.WriteAt([]byte("hello"), 0)
	require.NoError(t, err)
	_, err = s.WriteAt([]byte(" world"), 5)
	require.NoError(t, err)
	jp := s.journalPath()
	crash(s)
	raw, err := os.ReadFile(jp)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(jp, raw[:len(raw)-3], 0o600)) // the last write entry torn

	other, err := OpenJournal(JournalConfig{Dir: dir, Bucket: "another-bucket"})
	require.NoError(t, err)
	so, err := other.NewSpool(nil, e.b)
	require.NoError(t, err)
	so.Describe("foreign.txt", nil, "")
	_, err = so.WriteAt([]byte("not yours"), 0)
	require.NoError(t, err)
	crash(so)

	res, err := j.Recover(ctx, recoverCfg(e, u, time.Now()))
	require.NoError(t, err)
	require.Equal(t, 1, res.Corrupt)
	require.Equal(t, 1, res.Foreign)
	require.Equal(t, 1, res.Committed)
	// The torn entry's bytes are in the data file but the record does not
	// say so: the committed file is the record's size, its known prefix.
	require.Equal(t, []byte("hello"), e.body(t, "torn.txt"))
	require.Equal(t, 1, logs.FilterMessageSnippet("unreadable write journal").Len())
	require.Equal(t, 1, logs.FilterMessageSnippet("torn or corrupt tail").Len())
	_, err = os.Stat(filepath.Join(dir, "bad"+journalExt+corruptExt))
	require.NoError(t, err)
	_, ok := e.srv.Object(testBucket, "foreign.txt")
	require.False(t, ok)

	// A server that fails keeps the record.
	s2, err := j.NewSpool(nil, e.b)
	require.NoError(t, err)
	s2.Describe("later.txt", nil, "")
	_, err = s2.WriteAt([]byte("later"), 0)
	require.NoError(t, err)
	crash(s2)
	require.NoError(t, e.srv.InjectFault(obstest.Fault{Op: "PutObject", Count: -1, Kind: obstest.FaultStatus, Status: 403, Code: "AccessDenied"}))
	res, err = j.Recover(ctx, recoverCfg(e, u, time.Now()))
	require.Error(t, err)
	require.Equal(t, 1, res.Failed)
	e.srv.ClearFaults()
	res, err = j.Recover(ctx, recoverCfg(e, u, time.Now()))
	require.NoError(t, err)
	require.Equal(t, 1, res.Committed)
	require.Equal(t, []byte("later"), e.body(t, "later.txt"))
}

// TestJournalCleanAndForget: a committed (clean) spool has no record, a
// forgotten (deleted) one has no files, a closed one leaves nothing.
func TestJournalCleanAndForget(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	j, _ := newTestJournal(t, dir)
	u := NewUploader(e.b, UploaderConfig{})
	names := func() []string {
		ents, _ := os.ReadDir(dir)
		var out []string
		for _, e := range ents {
			out = append(out, filepath.Ext(e.Name()))
		}
		return out
	}
	s, err := j.NewSpool(nil, e.b)
	require.NoError(t, err)
	require.Equal(t, []string{dataExt}, names())
	s.Describe("a", nil, "")
	require.ElementsMatch(t, []string{dataExt, journalExt}, names(), "a new file is dirty from the start")
	_, err = u.Commit(context.Background(), "a", s, obsclient.WriteOptions{})
	require.NoError(t, err)
	require.Equal(t, []string{dataExt}, names(), "clean: no record")
	_, err = s.WriteAt([]byte("x"), 0)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{dataExt, journalExt}, names())
	s.Forget()
	require.Empty(t, names())
	_, err = s.WriteAt([]byte("y"), 1)
	require.NoError(t, err)
	require.Empty(t, names(), "no journal after Forget")
	require.NoError(t, s.Close())

	// At exit: spools with nothing to commit are swept, records stay.
	clean, err := j.NewSpool(&Base{Key: "c", ETag: "e", Size: 0}, e.b)
	require.NoError(t, err)
	clean.Describe("c", nil, "")
	dirty, err := j.NewSpool(nil, e.b)
	require.NoError(t, err)
	dirty.Describe("d", nil, "")
	require.ElementsMatch(t, []string{dataExt, dataExt, journalExt}, names())
	crash(clean)
	crash(dirty)
	require.False(t, j.Sweep(), "a record is left")
	require.ElementsMatch(t, []string{dataExt, journalExt}, names())
	require.NoError(t, os.Remove(dirty.journalPath()))
	require.True(t, j.Sweep())
	require.Empty(t, names())
}

// TestJournalRecoverLeavesNoUpload: an upload that recovery itself starts
// is journaled: when it can be neither completed nor aborted (as if the
// recovering process died), the next recovery aborts it and commits.
func TestJournalRecoverLeavesNoUpload(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	dir := t.TempDir()
	j, _ := newTestJournal(t, dir)
	u := NewUploader(e.b, UploaderConfig{PartSize: MinPartSize})
	s, err := j.NewSpool(nil, e.b)
	require.NoError(t, err)
	s.Describe("multi.bin", nil, "")
	data := bytes.Repeat([]byte("m"), 3*MinPartSize+7)
	_, err = s.WriteAt(data, 0)
	require.NoError(t, err)
	crash(s)

	for _, op := range []string{"CompleteMultipartUpload", "AbortMultipartUpload"} {
		require.NoError(t, e.srv.InjectFault(obstest.Fault{Op: op, Count: -1, Kind: obstest.FaultStatus, Status: 403, Code: "AccessDenied"}))
	}
	res, err := j.Recover(ctx, recoverCfg(e, u, time.Now()))
	require.Error(t, err)
	require.Equal(t, 1, res.Failed)
	require.Len(t, e.srv.Uploads(testBucket), 1, "the upload recovery could not clean up")
	e.srv.ClearFaults()

	res, err = j.Recover(ctx, recoverCfg(e, u, time.Now()))
	require.NoError(t, err)
	require.Equal(t, 1, res.Committed)
	require.Equal(t, 1, res.Aborted)
	require.Empty(t, e.srv.Uploads(testBucket))
	require.Equal(t, data, e.body(t, "multi.bin"))
	left, _ := os.ReadDir(dir)
	require.Empty(t, left)
}

// TestJournalRecoverConflictingEdit: an edit of an object another client
// replaced meanwhile goes beside it whole when every base byte had been
// read into the spool; with base bytes never fetched it cannot be rebuilt,
// and its local bytes are kept under DIR/recovered with a log line.
func TestJournalRecoverConflictingEdit(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	dir := t.TempDir()
	j, logs := newTestJournal(t, dir)
	u := NewUploader(e.b, UploaderConfig{})
	old := bytes.Repeat([]byte("o"), 3<<20)

	full, err := j.NewSpool(e.put(t, "full.bin", old), e.b)
	require.NoError(t, err)
	full.Describe("full.bin", nil, "")
	_, err = full.WriteAt([]byte("NEW"), 10)
	require.NoError(t, err)
	buf := make([]byte, len(old))
	_, err = full.ReadAt(ctx, buf, 0) // fetches every base byte
	require.NoError(t, err)
	want := bytes.Clone(old)
	copy(want[10:], "NEW")

	part, err := j.NewSpool(e.put(t, "part.bin", old), e.b)
	require.NoError(t, err)
	part.Describe("part.bin", nil, "")
	_, err = part.WriteAt([]byte("PART"), 5)
	require.NoError(t, err)

	crash(full)
	crash(part)
	e.put(t, "full.bin", []byte("theirs"))
	e.put(t, "part.bin", []byte("theirs"))

	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	res, err := j.Recover(ctx, recoverCfg(e, u, now))
	require.NoError(t, err)
	require.Equal(t, 1, res.Conflicts, "%+v", res)
	require.Equal(t, 1, res.Stranded)
	require.Equal(t, []byte("theirs"), e.body(t, "full.bin"))
	require.Equal(t, want, e.body(t, "full.bin"+RecoveredSuffix+"20260506T070809Z"))
	require.Equal(t, []byte("theirs"), e.body(t, "part.bin"))
	kept, err := filepath.Glob(filepath.Join(dir, "recovered", "*-part.bin"))
	require.NoError(t, err)
	require.Len(t, kept, 1)
	got, err := os.ReadFile(kept[0])
	require.NoError(t, err)
	require.Equal(t, []byte("PART"), got[5:9])
	require.Equal(t, 1, logs.FilterMessageSnippet("local bytes kept").Len())
}

// TestJournalCompacts: a record of many writes is rewritten as one state
// once it grows past compactAt, and still recovers the file.
func TestJournalCompacts(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	j, _ := newTestJournal(t, dir)
	s, err := j.NewSpool(nil, e.b)
	require.NoError(t, err)
	s.Describe("many.bin", nil, "")
	want := make([]byte, 0, 1<<20)
	for i := 0; len(want) < 1<<20; i++ {
		p := []byte{byte(i), byte(i >> 8), byte(i >> 16), 7}
		_, err := s.WriteAt(p, int64(len(want)))
		require.NoError(t, err)
		want = append(want, p...)
	}
	st, err := os.Stat(s.journalPath())
	require.NoError(t, err)
	require.Less(t, st.Size(), int64(compactAt+1024), "compacted")
	crash(s)
	res, err := j.Recover(context.Background(), recoverCfg(e, NewUploader(e.b, UploaderConfig{}), time.Now()))
	require.NoError(t, err)
	require.Equal(t, 1, res.Committed)
	require.Equal(t, want, e.body(t, "many.bin"))
}
