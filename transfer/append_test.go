package transfer

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obsfs/obsfs/obsclient"
	"github.com/obsfs/obsfs/obsclient/obstest"
)

// putAppendable seeds an appendable object and returns its base, filled as
// fs fills it from ObjectInfo.
func (e *env) putAppendable(t *testing.T, key string, data []byte) *Base {
	t.Helper()
	_, err := e.srv.PutObject(testBucket, key, data, obstest.ObjectInfo{Appendable: true})
	require.NoError(t, err)
	return e.headBase(t, key)
}

func (e *env) headBase(t *testing.T, key string) *Base {
	t.Helper()
	info, err := e.b.HeadObject(context.Background(), key, obsclient.GetOptions{})
	require.NoError(t, err)
	return &Base{Key: key, ETag: info.ETag, Size: info.Size, VersionID: info.VersionID,
		Appendable: info.Appendable, NextAppendPosition: info.NextAppendPosition}
}

func appendTo(t *testing.T, s *Spool, p []byte) {
	t.Helper()
	_, err := s.WriteAt(p, s.Size())
	require.NoError(t, err)
}

// TestAppendManyCommits: 1,000 small appends each committed cost the
// appended bytes, not the file.
func TestAppendManyCommits(t *testing.T) {
	e := newEnv(t)
	n := 1000
	if testing.Short() {
		n = 200
	}
	model := randBytes(1, 200<<10) // a 200 KiB appendable object
	s := newSpoolWith(t, e, e.putAppendable(t, "log", model), nil)
	u := NewUploader(e.b, UploaderConfig{PartSize: testPart})
	e.reset()
	var appended, rewrite int64 // rewrite: what PUTting the file every commit would send
	for i := range n {
		p := randBytes(uint64(i), int64(1+i%97))
		appendTo(t, s, p)
		model = append(model, p...)
		appended += int64(len(p))
		rewrite += int64(len(model))
		_, err := u.Commit(context.Background(), "log", s, obsclient.WriteOptions{})
		require.NoError(t, err, "commit %d", i)
		require.False(t, s.Dirty())
	}
	st := e.stats()
	assert.Equal(t, int64(n), st["AppendObject"].Requests)
	assert.Equal(t, appended, st["AppendObject"].BytesIn, "exactly the appended bytes are sent")
	assert.Equal(t, appended, st.Total().BytesIn, "and nothing else")
	assert.Zero(t, st["GetObject"].Requests+st["PutObject"].Requests+st["UploadPart"].Requests+st["UploadPartCopy"].Requests)
	assert.Equal(t, int64(n), st["HeadObject"].Requests, "one HEAD per commit for the new ETag")
	assert.Equal(t, model, e.body(t, "log"))
	t.Logf("%d commits appended %d bytes to a %d-byte object; %d bytes sent in total (rewrites would send %d)",
		n, appended, len(model), st.Total().BytesIn, rewrite)
	b := s.Base()
	assert.True(t, b.Appendable)
	assert.Equal(t, int64(len(model)), b.Size)

	// Reads of old bytes still work through the re-pinned base.
	buf := make([]byte, 1000)
	_, err := s.ReadAt(context.Background(), buf, 1000)
	require.NoError(t, err)
	assert.Equal(t, model[1000:2000], buf)
}

func TestAppendConflict(t *testing.T) {
	e := newEnv(t)
	base := e.putAppendable(t, "c", []byte("start;"))
	s := newSpoolWith(t, e, base, nil)
	appendTo(t, s, []byte("ours;"))
	// Another writer appends first.
	_, err := e.b.AppendObject(context.Background(), "c", base.Size, bytes.NewReader([]byte("theirs;")), 7, obsclient.WriteOptions{})
	require.NoError(t, err)

	u := NewUploader(e.b, UploaderConfig{PartSize: testPart})
	_, err = u.Commit(context.Background(), "c", s, obsclient.WriteOptions{})
	require.ErrorIs(t, err, ErrAppendConflict)
	assert.True(t, obsclient.IsCode(err, "PositionNotEqualToLength"), "server error kept: %v", err)
	assert.Equal(t, "start;theirs;", string(e.body(t, "c")), "nothing of ours written")
	assert.True(t, s.Dirty())
	assert.Equal(t, base, s.Base())

	// Same length appended by the other writer with our exact bytes is
	// indistinguishable from our own landed append: adopted, not duplicated.
	s2 := newSpoolWith(t, e, e.headBase(t, "c"), nil)
	appendTo(t, s2, []byte("same;more"))
	_, err = e.b.AppendObject(context.Background(), "c", int64(len("start;theirs;")), bytes.NewReader([]byte("same;")), 5, obsclient.WriteOptions{})
	require.NoError(t, err)
	_, err = u.Commit(context.Background(), "c", s2, obsclient.WriteOptions{})
	require.NoError(t, err)
	assert.Equal(t, "start;theirs;same;more", string(e.body(t, "c")))
}

func TestAppendableOptIn(t *testing.T) {
	e := newEnv(t)
	u := NewUploader(e.b, UploaderConfig{PartSize: testPart})
	opts := obsclient.WriteOptions{ContentType: "text/x-log", Metadata: map[string]string{"owner": "me"}, ACL: "public-read"}
	for _, first := range []string{"", "first line\n"} {
		key := "new-" + first
		s := newSpoolWith(t, e, nil, nil)
		s.SetAppendable(true)
		appendTo(t, s, []byte(first))
		e.reset()
		_, err := u.Commit(context.Background(), key, s, opts)
		require.NoError(t, err)
		assert.Equal(t, int64(1), e.requests("AppendObject"))
		assert.Zero(t, e.requests("PutObject"))
		info, ok := e.srv.Object(testBucket, key)
		require.True(t, ok)
		assert.True(t, info.Appendable)
		assert.Equal(t, "text/x-log", info.Headers["Content-Type"])
		assert.Equal(t, "me", info.Metadata["owner"])
		assert.True(t, s.Base().Appendable)

		model := []byte(first)
		for i := range 3 {
			p := randBytes(uint64(i), 300)
			appendTo(t, s, p)
			model = append(model, p...)
			_, err := u.Commit(context.Background(), key, s, opts)
			require.NoError(t, err)
		}
		assert.Equal(t, model, e.body(t, key))
		assert.Equal(t, int64(4), e.requests("AppendObject"))
		info, _ = e.srv.Object(testBucket, key)
		assert.Equal(t, "text/x-log", info.Headers["Content-Type"], "options of the creating append stay")

		// An edit of old bytes rewrites the object (now normal).
		_, err = s.WriteAt([]byte("X"), 0)
		require.NoError(t, err)
		model[0] = 'X'
		_, err = u.Commit(context.Background(), key, s, opts)
		require.NoError(t, err)
		assert.Equal(t, model, e.body(t, key))
		info, _ = e.srv.Object(testBucket, key)
		assert.False(t, info.Appendable)
		assert.False(t, s.Base().Appendable)
	}
}

// TestAppendFaults: failures of AppendObject, ambiguous or not, never
// append the same bytes twice; a failed commit leaves the spool dirty and
// the next one completes the object.
func TestAppendFaults(t *testing.T) {
	faults := []obstest.Fault{
		{Kind: obstest.FaultStatus500},
		{Kind: obstest.FaultStatus500, Count: 5}, // past the retries: the commit fails
		{Kind: obstest.FaultSlowDown},
		{Kind: obstest.FaultReset},
		{Kind: obstest.FaultReset, Count: 5},
		{Kind: obstest.FaultResetAfter}, // landed, answer lost
		{Kind: obstest.FaultResetAfter, Count: 5},
		{Kind: obstest.FaultTruncate},
		{Kind: obstest.FaultError200},
	}
	for _, f := range faults {
		t.Run(string(f.Kind), func(t *testing.T) {
			e := newEnv(t)
			model := randBytes(3, 1000)
			s := newSpoolWith(t, e, e.putAppendable(t, "f", model), nil)
			u := NewUploader(e.b, UploaderConfig{PartSize: testPart})
			for i := range 3 {
				p := randBytes(uint64(10+i), 5000)
				appendTo(t, s, p)
				model = append(model, p...)
				f.Op = "AppendObject"
				require.NoError(t, e.srv.InjectFault(f))
				_, err := u.Commit(context.Background(), "f", s, obsclient.WriteOptions{})
				e.srv.ClearFaults()
				if err != nil {
					assert.True(t, s.Dirty())
					_, err = u.Commit(context.Background(), "f", s, obsclient.WriteOptions{})
				}
				require.NoError(t, err)
				require.Equal(t, model, e.body(t, "f"), "commit %d", i)
				require.False(t, s.Dirty())
			}
		})
	}
}

// TestAppendLandedButHeadFailed: the append lands, its answer is lost and
// the HEADs that would confirm it fail too; the next commit finds our bytes
// on the server and adopts them instead of appending them again.
func TestAppendLandedButHeadFailed(t *testing.T) {
	e := newEnv(t)
	s := newSpoolWith(t, e, e.putAppendable(t, "h", []byte("0123456789")), nil)
	u := NewUploader(e.b, UploaderConfig{PartSize: testPart})
	appendTo(t, s, []byte("abcdef"))
	require.NoError(t, e.srv.InjectFault(obstest.Fault{Op: "AppendObject", Kind: obstest.FaultResetAfter, Count: -1}))
	require.NoError(t, e.srv.InjectFault(obstest.Fault{Op: "HeadObject", Kind: obstest.FaultStatus500, Count: -1}))
	_, err := u.Commit(context.Background(), "h", s, obsclient.WriteOptions{})
	require.Error(t, err)
	e.srv.ClearFaults()
	assert.Equal(t, "0123456789abcdef", string(e.body(t, "h")))
	assert.True(t, s.Dirty())
	e.reset()
	_, err = u.Commit(context.Background(), "h", s, obsclient.WriteOptions{})
	require.NoError(t, err)
	assert.Equal(t, "0123456789abcdef", string(e.body(t, "h")), "not appended twice")
	assert.False(t, s.Dirty())
	appendTo(t, s, []byte("!"))
	_, err = u.Commit(context.Background(), "h", s, obsclient.WriteOptions{})
	require.NoError(t, err)
	assert.Equal(t, "0123456789abcdef!", string(e.body(t, "h")))
}

// TestAppendNotAppendable: an object that refuses appends (10,000 appends,
// COLD) is rewritten by the normal plan.
func TestAppendNotAppendable(t *testing.T) {
	e := newEnv(t)
	u := NewUploader(e.b, UploaderConfig{PartSize: testPart})
	model := randBytes(4, 3*testPart)
	s := newSpoolWith(t, e, e.putAppendable(t, "n", model), nil)
	appendTo(t, s, []byte("more"))
	model = append(model, "more"...)
	require.NoError(t, e.srv.InjectFault(obstest.Fault{Op: "AppendObject", Kind: obstest.FaultStatus, Status: 409, Code: "ObjectNotAppendable"}))
	e.reset()
	_, err := u.Commit(context.Background(), "n", s, obsclient.WriteOptions{})
	require.NoError(t, err)
	assert.Equal(t, model, e.body(t, "n"))
	info, _ := e.srv.Object(testBucket, "n")
	assert.False(t, info.Appendable)
	assert.Equal(t, int64(1), e.requests("UploadPartCopy"), "the old bytes copied on the server")

	// A COLD appendable object really refuses appends.
	_, err = e.srv.PutObject(testBucket, "cold", []byte("old"), obstest.ObjectInfo{Appendable: true, StorageClass: "COLD"})
	require.NoError(t, err)
	s2 := newSpoolWith(t, e, e.headBase(t, "cold"), nil)
	require.True(t, s2.Base().Appendable)
	appendTo(t, s2, []byte("new"))
	_, err = u.Commit(context.Background(), "cold", s2, obsclient.WriteOptions{})
	if err != nil {
		t.Logf("cold rewrite: %v", err) // reading a COLD base needs a restore
		assert.NotErrorIs(t, err, ErrAppendConflict)
	} else {
		assert.Equal(t, "oldnew", string(e.body(t, "cold")))
	}
}

// TestAppendToNormalObject: growing a normal object of ≥ 100 KB copies it
// on the server and uploads only the new bytes.
func TestAppendToNormalObject(t *testing.T) {
	e := newEnv(t)
	u := NewUploader(e.b, UploaderConfig{PartSize: 8 << 20})
	model := randBytes(5, 300<<10)
	s := newSpoolWith(t, e, e.put(t, "normal", model), nil)
	delta := randBytes(6, 50<<10)
	appendTo(t, s, delta)
	model = append(model, delta...)
	e.reset()
	_, err := u.Commit(context.Background(), "normal", s, obsclient.WriteOptions{})
	require.NoError(t, err)
	st := e.stats()
	assert.Equal(t, int64(1), st["UploadPartCopy"].Requests)
	assert.Equal(t, int64(1), st["UploadPart"].Requests)
	assert.Equal(t, int64(len(delta)), st["UploadPart"].BytesIn)
	assert.Zero(t, st["GetObject"].Requests)
	assert.Zero(t, st["PutObject"].Requests)
	assert.Equal(t, model, e.body(t, "normal"))

	// Below 100 KB: fetch and PUT.
	small := randBytes(7, 99<<10)
	s2 := newSpoolWith(t, e, e.put(t, "small", small), nil)
	appendTo(t, s2, []byte("x"))
	e.reset()
	_, err = u.Commit(context.Background(), "small", s2, obsclient.WriteOptions{})
	require.NoError(t, err)
	assert.Equal(t, int64(1), e.requests("PutObject"))
	assert.Equal(t, append(small, 'x'), e.body(t, "small"))
}

// appendHook wraps a client, calling before inside every AppendObject.
type appendHook struct {
	*obsclient.Bucket
	before func()
}

func (h *appendHook) AppendObject(ctx context.Context, key string, position int64, body io.ReadSeeker, size int64, o obsclient.WriteOptions) (obsclient.AppendResult, error) {
	if h.before != nil {
		h.before()
	}
	return h.Bucket.AppendObject(ctx, key, position, body, size, o)
}

// TestAppendWriteDuringCommit: bytes written while an append runs stay
// dirty and go with the next commit, still as an append.
func TestAppendWriteDuringCommit(t *testing.T) {
	e := newEnv(t)
	model := []byte("base;")
	s := newSpoolWith(t, e, e.putAppendable(t, "w", model), nil)
	var during []byte
	h := &appendHook{Bucket: e.b}
	h.before = func() {
		h.before = nil
		during = []byte("during;")
		_, err := s.WriteAt(during, s.Size())
		require.NoError(t, err)
	}
	u := NewUploader(h, UploaderConfig{PartSize: testPart})
	appendTo(t, s, []byte("one;"))
	_, err := u.Commit(context.Background(), "w", s, obsclient.WriteOptions{})
	require.NoError(t, err)
	assert.Equal(t, "base;one;", string(e.body(t, "w")))
	assert.True(t, s.Dirty())
	assert.Equal(t, int64(len("base;one;")), s.Base().Size)
	e.reset()
	_, err = u.Commit(context.Background(), "w", s, obsclient.WriteOptions{})
	require.NoError(t, err)
	assert.Equal(t, "base;one;during;", string(e.body(t, "w")))
	assert.False(t, s.Dirty())
	assert.Equal(t, int64(1), e.requests("AppendObject"), "still an append")
}

// A parallel file system bucket has no append API (405 FsNotSupport): an
// appendable spool falls back to a normal upload instead of failing.
func TestAppendableOptInOnPFSFallsBack(t *testing.T) {
	e := newEnvWith(t, obstest.Options{FSBuckets: []string{testBucket}})
	u := NewUploader(e.b, UploaderConfig{PartSize: testPart})
	s := newSpoolWith(t, e, nil, nil)
	s.SetAppendable(true)
	appendTo(t, s, []byte("first;"))
	_, err := u.Commit(context.Background(), "log", s, obsclient.WriteOptions{})
	require.NoError(t, err)
	appendTo(t, s, []byte("second;"))
	_, err = u.Commit(context.Background(), "log", s, obsclient.WriteOptions{})
	require.NoError(t, err)
	assert.Equal(t, "first;second;", string(e.body(t, "log")))
	info, ok := e.srv.Object(testBucket, "log")
	require.True(t, ok)
	assert.False(t, info.Appendable)

	// The uploader remembers that this server has no append API: a second
	// new appendable file is uploaded without a refused append first.
	e.reset()
	s2 := newSpoolWith(t, e, nil, nil)
	s2.SetAppendable(true)
	appendTo(t, s2, []byte("other;"))
	_, err = u.Commit(context.Background(), "log2", s2, obsclient.WriteOptions{})
	require.NoError(t, err)
	assert.Equal(t, "other;", string(e.body(t, "log2")))
	assert.Zero(t, e.requests("AppendObject"), "no append request once the server refused the API")
}
