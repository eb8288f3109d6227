package transfer

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obsfs/obsfs/obsclient"
	"github.com/obsfs/obsfs/obsclient/obstest"
)

const testPart = 128 << 10

// hookClient wraps a Client to observe or disturb part uploads and
// completes.
type hookClient struct {
	Client
	inPart, maxInPart atomic.Int64
	beforePart        func(n int) // called inside UploadPart before sending
	afterComplete     func() error
}

func (h *hookClient) UploadPart(ctx context.Context, key, uploadID string, n int, body io.ReadSeeker, size int64) (obsclient.Part, error) {
	cur := h.inPart.Add(1)
	defer h.inPart.Add(-1)
	for {
		m := h.maxInPart.Load()
		if cur <= m || h.maxInPart.CompareAndSwap(m, cur) {
			break
		}
	}
	if h.beforePart != nil {
		h.beforePart(n)
	}
	return h.Client.UploadPart(ctx, key, uploadID, n, body, size)
}

func (h *hookClient) CompleteMultipartUpload(ctx context.Context, key, uploadID string, parts []obsclient.Part) (obsclient.PutResult, error) {
	res, err := h.Client.CompleteMultipartUpload(ctx, key, uploadID, parts)
	if err == nil && h.afterComplete != nil {
		return obsclient.PutResult{}, h.afterComplete()
	}
	return res, err
}

func newSpoolWith(t *testing.T, e *env, base *Base, data []byte) *Spool {
	t.Helper()
	s, err := NewSpool(t.TempDir(), base, e.b)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	if data != nil {
		_, err = s.WriteAt(data, 0)
		require.NoError(t, err)
	}
	return s
}

func TestCommitNewFiles(t *testing.T) {
	tests := []struct {
		name       string
		size       int64
		wantPut    int64
		wantParts  int64
		wantInitia int64
	}{
		{"empty", 0, 1, 0, 0},
		{"one byte", 1, 1, 0, 0},
		{"part size minus one", testPart - 1, 1, 0, 0},
		{"part size", testPart, 0, 1, 1},
		{"part size plus one", testPart + 1, 0, 2, 1},
		{"many parts", 9*testPart + 77, 0, 10, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			data := randBytes(uint64(tt.size), tt.size)
			s := newSpoolWith(t, e, nil, data)
			require.True(t, s.Dirty())
			u := NewUploader(e.b, UploaderConfig{PartSize: testPart, Concurrency: 4})
			res, err := u.Commit(context.Background(), "f", s, obsclient.WriteOptions{ContentType: "text/plain"})
			require.NoError(t, err)
			assert.True(t, bytes.Equal(data, e.body(t, "f")))
			assert.Equal(t, tt.wantPut, e.requests("PutObject"))
			assert.Equal(t, tt.wantParts, e.requests("UploadPart"))
			assert.Equal(t, tt.wantInitia, e.requests("InitiateMultipartUpload"))
			assert.Zero(t, e.stats()["UploadPart"].Errors+e.stats()["PutObject"].Errors)

			info, ok := e.srv.Object(testBucket, "f")
			require.True(t, ok)
			assert.Equal(t, trimQuotes(info.ETag), res.ETag)
			assert.Equal(t, "text/plain", info.Headers["Content-Type"])
			assert.False(t, s.Dirty())
			assert.Equal(t, &Base{Key: "f", ETag: res.ETag, Size: tt.size, VersionID: res.VersionID}, s.Base())

			// Nothing changed: a second commit sends nothing.
			e.reset()
			res2, err := u.Commit(context.Background(), "f", s, obsclient.WriteOptions{})
			require.NoError(t, err)
			assert.Equal(t, res.ETag, res2.ETag)
			assert.Zero(t, e.stats().Total().Requests)
		})
	}
}

func TestCommitPartsInParallel(t *testing.T) {
	e := newEnv(t)
	data := randBytes(9, 16*testPart)
	s := newSpoolWith(t, e, nil, data)
	release := make(chan struct{})
	var started atomic.Int64
	h := &hookClient{Client: e.b, beforePart: func(int) {
		if started.Add(1) == 4 {
			close(release) // the fourth concurrent part proves parallelism
		}
		<-release
	}}
	u := NewUploader(h, UploaderConfig{PartSize: testPart, Concurrency: 4})
	_, err := u.Commit(context.Background(), "par", s, obsclient.WriteOptions{})
	require.NoError(t, err)
	assert.Equal(t, int64(16), e.requests("UploadPart"))
	assert.Equal(t, int64(4), h.maxInPart.Load(), "bounded by Concurrency and reached")
	assert.Equal(t, data, e.body(t, "par"))
	st := u.Stats()
	assert.Equal(t, int64(1), st.Commits)
	assert.Equal(t, int64(16*testPart), st.BytesUploaded)
}

// TestCommitEditUsesCopy edits one part of a large object: only that part is
// downloaded and uploaded; the rest is copied on the server from the base.
func TestCommitEditUsesCopy(t *testing.T) {
	e := newEnv(t)
	data := randBytes(10, 10*testPart+1000)
	base := e.put(t, "big", data)
	s := newSpoolWith(t, e, base, nil)
	_, err := s.WriteAt([]byte("EDITED"), 3*testPart+100)
	require.NoError(t, err)
	want := append([]byte(nil), data...)
	copy(want[3*testPart+100:], "EDITED")

	e.reset()
	u := NewUploader(e.b, UploaderConfig{PartSize: testPart})
	res, err := u.Commit(context.Background(), "big", s, obsclient.WriteOptions{})
	require.NoError(t, err)
	assert.Equal(t, want, e.body(t, "big"))
	st := e.stats()
	assert.Equal(t, int64(1), st["UploadPart"].Requests)
	assert.Equal(t, int64(2), st["UploadPartCopy"].Requests, "parts before and after the edit, merged")
	assert.InDelta(t, testPart, st["UploadPart"].BytesIn, 4096, "uploaded ≈ one part")
	assert.InDelta(t, testPart, st["GetObject"].BytesOut, 4096, "downloaded ≈ the edited part's base bytes")

	// The committed object is the new base: a second edit copies from it.
	_, err = s.WriteAt([]byte("AGAIN"), 3*testPart+5000)
	require.NoError(t, err)
	copy(want[3*testPart+5000:], "AGAIN")
	e.reset()
	res2, err := u.Commit(context.Background(), "big", s, obsclient.WriteOptions{})
	require.NoError(t, err)
	assert.NotEqual(t, res.ETag, res2.ETag)
	assert.Equal(t, want, e.body(t, "big"))
	assert.Equal(t, int64(1), e.requests("UploadPart"))
	assert.Zero(t, e.requests("GetObject"), "the edited part's bytes are already local")
}

func TestCommitTruncateAndAppend(t *testing.T) {
	e := newEnv(t)
	data := randBytes(11, 6*testPart)
	base := e.put(t, "ta", data)
	s := newSpoolWith(t, e, base, nil)
	require.NoError(t, s.Truncate(4*testPart+10))
	require.NoError(t, s.Truncate(5*testPart))
	_, err := s.WriteAt([]byte("tail"), 5*testPart)
	require.NoError(t, err)
	want := append(append([]byte(nil), data[:4*testPart+10]...), make([]byte, testPart-10)...)
	want = append(want, "tail"...)

	u := NewUploader(e.b, UploaderConfig{PartSize: testPart})
	_, err = u.Commit(context.Background(), "ta", s, obsclient.WriteOptions{})
	require.NoError(t, err)
	assert.Equal(t, want, e.body(t, "ta"))
	assert.Equal(t, int64(1), e.requests("UploadPartCopy"), "the first four parts in one copy")
}

func TestCommitFailureKeepsSpool(t *testing.T) {
	tests := []struct {
		name  string
		base  bool
		fault obstest.Fault
	}{
		{"upload part fails", false, obstest.Fault{Op: "UploadPart", Kind: obstest.FaultStatus500, Count: -1}},
		{"upload part reset", false, obstest.Fault{Op: "UploadPart", Kind: obstest.FaultReset, Count: -1}},
		{"complete fails", false, obstest.Fault{Op: "CompleteMultipartUpload", Kind: obstest.FaultStatus500, Count: -1}},
		{"complete refused", false, obstest.Fault{Op: "CompleteMultipartUpload", Kind: obstest.FaultStatus, Status: 400, Code: "InvalidPart", Count: -1}},
		{"copy part fails", true, obstest.Fault{Op: "UploadPartCopy", Kind: obstest.FaultStatus500, Count: -1}},
		{"put fails", false, obstest.Fault{Op: "PutObject", Kind: obstest.FaultStatus500, Count: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			size := int64(5 * testPart)
			if tt.fault.Op == "PutObject" {
				size = testPart / 2
			}
			data := randBytes(12, size)
			var s *Spool
			if tt.base {
				base := e.put(t, "x", data)
				s = newSpoolWith(t, e, base, nil)
				_, err := s.WriteAt([]byte("new"), 2*testPart)
				require.NoError(t, err)
				copy(data[2*testPart:], "new")
			} else {
				s = newSpoolWith(t, e, nil, data)
			}
			before, hadBefore := e.srv.Object(testBucket, "x")
			require.NoError(t, e.srv.InjectFault(tt.fault))

			u := NewUploader(e.b, UploaderConfig{PartSize: testPart, Concurrency: 2})
			_, err := u.Commit(context.Background(), "x", s, obsclient.WriteOptions{})
			require.Error(t, err)
			assert.True(t, s.Dirty())
			assert.Empty(t, e.srv.Uploads(testBucket), "upload aborted")
			lu, err := e.b.ListMultipartUploads(context.Background(), obsclient.ListUploadsOptions{})
			require.NoError(t, err)
			assert.Empty(t, lu.Uploads)
			after, hasAfter := e.srv.Object(testBucket, "x")
			assert.Equal(t, hadBefore, hasAfter, "no object appeared or vanished")
			assert.Equal(t, before.ETag, after.ETag, "object unchanged")
			assert.Equal(t, int64(1), u.Stats().Failures)

			e.srv.ClearFaults()
			_, err = u.Commit(context.Background(), "x", s, obsclient.WriteOptions{})
			require.NoError(t, err)
			assert.Equal(t, data, e.body(t, "x"))
			assert.False(t, s.Dirty())
			assert.Empty(t, e.srv.Uploads(testBucket))
		})
	}
}

func TestCommitCancelledAborts(t *testing.T) {
	e := newEnv(t)
	data := randBytes(13, 8*testPart)
	s := newSpoolWith(t, e, nil, data)
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	h := &hookClient{Client: e.b, beforePart: func(int) { once.Do(cancel) }}
	u := NewUploader(h, UploaderConfig{PartSize: testPart, Concurrency: 2})
	_, err := u.Commit(ctx, "c", s, obsclient.WriteOptions{})
	require.Error(t, err)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, int64(1), e.requests("AbortMultipartUpload"))
	assert.Empty(t, e.srv.Uploads(testBucket))
	_, ok := e.srv.Object(testBucket, "c")
	assert.False(t, ok)
	assert.True(t, s.Dirty())
}

// TestCommitAmbiguousComplete: the complete took effect but its response
// was lost; Commit recognises the object by its upload id and succeeds.
func TestCommitAmbiguousComplete(t *testing.T) {
	e := newEnv(t)
	data := randBytes(14, 3*testPart)
	s := newSpoolWith(t, e, nil, data)
	h := &hookClient{Client: e.b, afterComplete: func() error {
		return &obsclient.Error{Op: "CompleteMultipartUpload", Err: io.ErrUnexpectedEOF}
	}}
	u := NewUploader(h, UploaderConfig{PartSize: testPart})
	res, err := u.Commit(context.Background(), "amb", s, obsclient.WriteOptions{})
	require.NoError(t, err)
	info, ok := e.srv.Object(testBucket, "amb")
	require.True(t, ok)
	assert.Equal(t, trimQuotes(info.ETag), res.ETag)
	assert.Equal(t, data, e.body(t, "amb"))
	assert.False(t, s.Dirty())
}

func TestCommitBaseChanged(t *testing.T) {
	e := newEnv(t)
	data := randBytes(15, 4*testPart)
	base := e.put(t, "bc", data)
	s := newSpoolWith(t, e, base, nil)
	_, err := s.WriteAt([]byte("z"), 0)
	require.NoError(t, err)
	e.put(t, "bc", randBytes(16, 4*testPart)) // changed behind our back
	u := NewUploader(e.b, UploaderConfig{PartSize: testPart})
	_, err = u.Commit(context.Background(), "bc", s, obsclient.WriteOptions{})
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrStale)
	assert.Empty(t, e.srv.Uploads(testBucket))
	assert.True(t, s.Dirty())
}

// TestCommitWriteDuringCommit: a write that lands while parts upload keeps
// the spool dirty, and the next commit stores it.
func TestCommitWriteDuringCommit(t *testing.T) {
	e := newEnv(t)
	data := randBytes(17, 4*testPart)
	s := newSpoolWith(t, e, nil, data)
	var once sync.Once
	h := &hookClient{Client: e.b, beforePart: func(int) {
		once.Do(func() {
			_, err := s.WriteAt([]byte("LATE"), 10)
			assert.NoError(t, err)
		})
	}}
	u := NewUploader(h, UploaderConfig{PartSize: testPart, Concurrency: 1})
	_, err := u.Commit(context.Background(), "w", s, obsclient.WriteOptions{})
	require.NoError(t, err)
	assert.True(t, s.Dirty(), "the late write is not known to be committed")
	copy(data[10:], "LATE")
	_, err = u.Commit(context.Background(), "w", s, obsclient.WriteOptions{})
	require.NoError(t, err)
	assert.False(t, s.Dirty())
	assert.Equal(t, data, e.body(t, "w"))
}

// TestCommitModel applies random writes and truncates to a spool over an
// existing object, committing now and then (sometimes under an injected
// failure, which must leave the object as it was), and compares the object
// with a byte-slice model after every successful commit.
func TestCommitModel(t *testing.T) {
	e := newEnv(t)
	data := randBytes(40, 7*testPart+999)
	base := e.put(t, "m", data)
	s := newSpoolWith(t, e, base, nil)
	u := NewUploader(e.b, UploaderConfig{PartSize: testPart, Concurrency: 3})
	model := append([]byte(nil), data...)
	committed := append([]byte(nil), data...)
	rng := rand.New(rand.NewPCG(41, 42))
	ctx := context.Background()
	for i := range 40 {
		var op spoolOp
		switch rng.IntN(5) {
		case 0:
			op = tr(rng.Int64N(10 * testPart))
		default:
			op = wr(rng.Int64N(int64(len(model))+testPart), string(randBytes(uint64(i), rng.Int64N(3*testPart/2)+1)))
		}
		applySpool(t, s, op)
		model = applyModel(model, op)
		if rng.IntN(3) > 0 {
			continue
		}
		failing := rng.IntN(4) == 0
		if failing {
			ops := []string{"UploadPart", "UploadPartCopy", "CompleteMultipartUpload", "PutObject", "GetObject"}
			require.NoError(t, e.srv.InjectFault(obstest.Fault{Op: ops[rng.IntN(len(ops))], Kind: obstest.FaultStatus500, Count: -1}))
		}
		_, err := u.Commit(ctx, "m", s, obsclient.WriteOptions{})
		e.srv.ClearFaults()
		if err != nil {
			require.True(t, failing, "step %d: %v", i, err)
			require.True(t, s.Dirty())
		} else {
			committed = append(committed[:0], model...)
		}
		require.Equal(t, committed, e.body(t, "m"), "step %d", i)
		require.Empty(t, e.srv.Uploads(testBucket), "step %d", i)
		require.Equal(t, model, spoolBytes(t, s), "step %d", i)
	}
	_, err := u.Commit(ctx, "m", s, obsclient.WriteOptions{})
	require.NoError(t, err)
	require.Equal(t, model, e.body(t, "m"))
	st := u.Stats()
	t.Logf("commits %d failures %d uploaded %d copied %d", st.Commits, st.Failures, st.BytesUploaded, st.BytesCopied)
	assert.Positive(t, st.BytesCopied)
}

// TestCommitVersionedBase: in a versioned bucket the base is pinned by
// version id too; copies come from that version even after the key moved on.
func TestCommitVersionedBase(t *testing.T) {
	e := newEnv(t)
	e.srv.SetVersioning(testBucket, "Enabled")
	data := randBytes(50, 4*testPart)
	info, err := e.srv.PutObject(testBucket, "v", data, obstest.ObjectInfo{})
	require.NoError(t, err)
	require.NotEmpty(t, info.VersionID)
	base := &Base{Key: "v", ETag: trimQuotes(info.ETag), Size: int64(len(data)), VersionID: info.VersionID}
	s := newSpoolWith(t, e, base, nil)
	_, err = s.WriteAt([]byte("v2"), testPart+1)
	require.NoError(t, err)
	copy(data[testPart+1:], "v2")

	u := NewUploader(e.b, UploaderConfig{PartSize: testPart})
	res, err := u.Commit(context.Background(), "v", s, obsclient.WriteOptions{})
	require.NoError(t, err)
	assert.NotEmpty(t, res.VersionID)
	assert.NotEqual(t, info.VersionID, res.VersionID)
	assert.Equal(t, res.VersionID, s.Base().VersionID)
	assert.Equal(t, data, e.body(t, "v"))
	assert.Equal(t, int64(2), e.requests("UploadPartCopy"))
	assert.Len(t, e.srv.Versions(testBucket, "v"), 2)
}
