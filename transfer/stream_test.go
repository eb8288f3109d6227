package transfer

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obsfs/obsfs/obsclient"
	"github.com/obsfs/obsfs/obsclient/obstest"
)

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// writeSeq appends data to s in writes of n bytes.
func writeSeq(t *testing.T, s *Spool, data []byte, n int) {
	t.Helper()
	for off := 0; off < len(data); off += n {
		_, err := s.WriteAt(data[off:min(off+n, len(data))], s.Size())
		require.NoError(t, err)
	}
}

// TestStreamSequential: full parts are uploaded while the file is written;
// Commit uploads only the tail and completes.
func TestStreamSequential(t *testing.T) {
	e := newEnv(t)
	u := NewUploader(e.b, UploaderConfig{PartSize: testPart, Concurrency: 3})
	s := newSpoolWith(t, e, nil, nil)
	opts := obsclient.WriteOptions{ContentType: "video/mp4", Metadata: map[string]string{"k": "v"}}
	require.NoError(t, u.Stream(context.Background(), "s", s, opts))
	const parts = 10
	data := randBytes(20, parts*testPart+1000)
	writeSeq(t, s, data, 32<<10)
	require.True(t, s.Streaming())
	waitFor(t, "the full parts", func() bool { return e.srv.Stats()["UploadPart"].Requests == parts })
	mid := e.stats()
	assert.Equal(t, int64(1), mid["InitiateMultipartUpload"].Requests)
	assert.Equal(t, int64(parts*testPart), mid["UploadPart"].BytesIn, "uploaded before Commit")
	assert.Zero(t, mid["CompleteMultipartUpload"].Requests)

	e.reset()
	_, err := u.Commit(context.Background(), "s", s, opts)
	require.NoError(t, err)
	st := e.stats()
	assert.Equal(t, int64(1), st["UploadPart"].Requests, "only the tail")
	assert.Equal(t, int64(1000), st["UploadPart"].BytesIn)
	assert.Equal(t, int64(1), st["CompleteMultipartUpload"].Requests)
	assert.Equal(t, data, e.body(t, "s"))
	info, _ := e.srv.Object(testBucket, "s")
	assert.Equal(t, "video/mp4", info.Headers["Content-Type"])
	assert.Equal(t, "v", info.Metadata["k"])
	assert.False(t, s.Dirty())
	assert.Empty(t, e.srv.Uploads(testBucket))

	// After the commit the file goes on as an ordinary spool: growing it
	// copies the object and uploads the new bytes.
	more := randBytes(21, 5000)
	writeSeq(t, s, more, 4096)
	e.reset()
	_, err = u.Commit(context.Background(), "s", s, opts)
	require.NoError(t, err)
	assert.Equal(t, append(data, more...), e.body(t, "s"))
	assert.Equal(t, int64(len(more)), e.stats()["UploadPart"].BytesIn)
}

// TestStreamMetadataMayDiffer: with the opt-in, a metadata change (say
// mtime) does not abandon the streamed parts; the object keeps the
// metadata the stream was started with.
func TestStreamMetadataMayDiffer(t *testing.T) {
	e := newEnv(t)
	u := NewUploader(e.b, UploaderConfig{PartSize: testPart})
	s := newSpoolWith(t, e, nil, nil)
	require.NoError(t, u.Stream(context.Background(), "m", s, obsclient.WriteOptions{ContentType: "a/b", Metadata: map[string]string{"mtime": "1"}}))
	data := randBytes(26, 4*testPart+3)
	writeSeq(t, s, data, 1<<16)
	waitFor(t, "parts", func() bool { return e.srv.Stats()["UploadPart"].Requests == 4 })
	e.reset()
	_, err := u.CommitWith(context.Background(), "m", s, obsclient.WriteOptions{ContentType: "a/b", Metadata: map[string]string{"mtime": "2"}},
		CommitOptions{StreamMetadataMayDiffer: true})
	require.NoError(t, err)
	assert.Equal(t, int64(1), e.requests("UploadPart"), "the tail only")
	assert.Zero(t, e.requests("AbortMultipartUpload"))
	assert.Equal(t, data, e.body(t, "m"))
	info, _ := e.srv.Object(testBucket, "m")
	assert.Equal(t, "1", info.Metadata["mtime"])
}

// TestStreamBoundedInFlight: parts in flight never exceed Concurrency nor
// the byte cap, and writes never wait for them.
func TestStreamBoundedInFlight(t *testing.T) {
	e := newEnv(t)
	release := make(chan struct{})
	h := &hookClient{Client: e.b, beforePart: func(int) { <-release }}
	u := NewUploader(h, UploaderConfig{PartSize: testPart, Concurrency: 4, StreamMaxInFlight: 2 * testPart})
	s := newSpoolWith(t, e, nil, nil)
	require.NoError(t, u.Stream(context.Background(), "b", s, obsclient.WriteOptions{}))
	data := randBytes(22, 12*testPart)
	writeSeq(t, s, data, 64<<10) // does not block although no part can finish
	waitFor(t, "two parts in flight", func() bool { return h.inPart.Load() == 2 })
	time.Sleep(20 * time.Millisecond)
	assert.Equal(t, int64(2), h.inPart.Load(), "byte cap of two parts")
	close(release)
	_, err := u.Commit(context.Background(), "b", s, obsclient.WriteOptions{})
	require.NoError(t, err)
	assert.Equal(t, data, e.body(t, "b"))
	assert.LessOrEqual(t, h.maxInPart.Load(), int64(4))
	assert.Empty(t, e.srv.Uploads(testBucket))
}

// TestStreamFallback: an out-of-order write into an uploaded range, a
// truncate below it, or other commit options abandon the stream; Commit
// re-plans from the spool and loses nothing.
func TestStreamFallback(t *testing.T) {
	tests := []struct {
		name    string
		disturb func(t *testing.T, s *Spool, model []byte) []byte
		opts    obsclient.WriteOptions
	}{
		{"write into an uploaded part", func(t *testing.T, s *Spool, m []byte) []byte {
			op := wr(10, "rewritten")
			applySpool(t, s, op)
			return applyModel(m, op)
		}, obsclient.WriteOptions{}},
		{"truncate below the uploaded range", func(t *testing.T, s *Spool, m []byte) []byte {
			op := tr(testPart + 5)
			applySpool(t, s, op)
			m = applyModel(m, op)
			op = wr(int64(len(m)), string(randBytes(5, 3*testPart)))
			applySpool(t, s, op)
			return applyModel(m, op)
		}, obsclient.WriteOptions{}},
		{"options changed", func(t *testing.T, s *Spool, m []byte) []byte { return m },
			obsclient.WriteOptions{ContentType: "text/changed"}},
		{"metadata changed", func(t *testing.T, s *Spool, m []byte) []byte { return m },
			obsclient.WriteOptions{Metadata: map[string]string{"mtime": "2"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			u := NewUploader(e.b, UploaderConfig{PartSize: testPart, Concurrency: 2})
			s := newSpoolWith(t, e, nil, nil)
			require.NoError(t, u.Stream(context.Background(), "o", s, obsclient.WriteOptions{}))
			model := randBytes(23, 6*testPart+77)
			writeSeq(t, s, model, 50000)
			waitFor(t, "parts", func() bool { return e.srv.Stats()["UploadPart"].Requests >= 3 })
			model = tt.disturb(t, s, model)
			writeSeq(t, s, []byte("end"), 3)
			model = append(model, "end"...)
			_, err := u.Commit(context.Background(), "o", s, tt.opts)
			require.NoError(t, err)
			assert.Equal(t, model, e.body(t, "o"))
			assert.Empty(t, e.srv.Uploads(testBucket))
			assert.Equal(t, int64(1), e.requests("AbortMultipartUpload"))
			if tt.opts.Metadata != nil {
				info, _ := e.srv.Object(testBucket, "o")
				assert.Equal(t, "2", info.Metadata["mtime"])
			}
			if tt.opts.ContentType != "" {
				info, _ := e.srv.Object(testBucket, "o")
				assert.Equal(t, tt.opts.ContentType, info.Headers["Content-Type"])
			}
		})
	}
}

// TestStreamFailures: a failed background part or a failed complete makes
// Commit fail (upload aborted, spool kept); the retry succeeds.
func TestStreamFailures(t *testing.T) {
	tests := []struct {
		name  string
		fault obstest.Fault
	}{
		{"part fails", obstest.Fault{Op: "UploadPart", Kind: obstest.FaultStatus500, Count: -1}},
		{"part reset", obstest.Fault{Op: "UploadPart", Kind: obstest.FaultReset, Count: -1}},
		{"initiate fails", obstest.Fault{Op: "InitiateMultipartUpload", Kind: obstest.FaultStatus500, Count: -1}},
		{"complete fails", obstest.Fault{Op: "CompleteMultipartUpload", Kind: obstest.FaultStatus500, Count: -1}},
		{"complete refused", obstest.Fault{Op: "CompleteMultipartUpload", Kind: obstest.FaultStatus, Status: 400, Code: "InvalidPart", Count: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			u := NewUploader(e.b, UploaderConfig{PartSize: testPart, Concurrency: 2})
			s := newSpoolWith(t, e, nil, nil)
			require.NoError(t, u.Stream(context.Background(), "x", s, obsclient.WriteOptions{}))
			require.NoError(t, e.srv.InjectFault(tt.fault))
			model := randBytes(24, 5*testPart+10)
			writeSeq(t, s, model, 40000)
			_, err := u.Commit(context.Background(), "x", s, obsclient.WriteOptions{})
			require.Error(t, err)
			e.srv.ClearFaults()
			assert.True(t, s.Dirty())
			assert.Empty(t, e.srv.Uploads(testBucket))
			_, ok := e.srv.Object(testBucket, "x")
			assert.False(t, ok)
			assert.Equal(t, model, spoolBytes(t, s))
			_, err = u.Commit(context.Background(), "x", s, obsclient.WriteOptions{})
			require.NoError(t, err)
			assert.Equal(t, model, e.body(t, "x"))
			assert.Empty(t, e.srv.Uploads(testBucket))
		})
	}
}

func TestStreamCloseAborts(t *testing.T) {
	e := newEnv(t)
	u := NewUploader(e.b, UploaderConfig{PartSize: testPart})
	s, err := NewSpool(t.TempDir(), nil, e.b)
	require.NoError(t, err)
	require.NoError(t, u.Stream(context.Background(), "c", s, obsclient.WriteOptions{}))
	writeSeq(t, s, randBytes(25, 4*testPart), 1<<16)
	waitFor(t, "an upload", func() bool { return len(e.srv.Uploads(testBucket)) == 1 })
	require.NoError(t, s.Close())
	assert.Empty(t, e.srv.Uploads(testBucket))
	assert.ErrorIs(t, u.Stream(context.Background(), "c", s, obsclient.WriteOptions{}), ErrClosed)

	// Not streamable: a spool that still shadows base bytes.
	s2 := newSpoolWith(t, e, e.put(t, "b", []byte("base")), nil)
	assert.ErrorIs(t, u.Stream(context.Background(), "b", s2, obsclient.WriteOptions{}), ErrNotStreamable)
	require.NoError(t, s2.Truncate(0)) // O_TRUNC
	require.NoError(t, u.Stream(context.Background(), "b", s2, obsclient.WriteOptions{}))
	assert.ErrorIs(t, u.Stream(context.Background(), "b", s2, obsclient.WriteOptions{}), ErrNotStreamable)
}

// TestWriteModel: random operations on several files (streamed new files,
// appendable files, edits of existing objects), committed now and then
// while the emulator injects 503 SlowDown, connection resets and truncated
// responses into uploads, appends and completes. Every object ends equal
// to its model and no multipart upload is left behind.
func TestWriteModel(t *testing.T) {
	steps := 300
	if testing.Short() {
		steps = 120
	}
	for _, seed := range []uint64{1, 2, 3} {
		e := newEnv(t)
		u := NewUploader(e.b, UploaderConfig{PartSize: testPart, Concurrency: 3})
		rng := rand.New(rand.NewPCG(seed, 99))
		ctx := context.Background()
		type file struct {
			key       string
			s         *Spool
			model     []byte
			committed []byte
		}
		var files []*file
		for i := range 4 {
			f := &file{key: string(rune('a' + i))}
			switch i {
			case 0: // new file, streamed
				f.s = newSpoolWith(t, e, nil, nil)
				require.NoError(t, u.Stream(ctx, f.key, f.s, obsclient.WriteOptions{}))
			case 1: // new file created appendable
				f.s = newSpoolWith(t, e, nil, nil)
				f.s.SetAppendable(true)
			case 2: // existing appendable object
				f.model = randBytes(seed+10, 3000)
				f.s = newSpoolWith(t, e, e.putAppendable(t, f.key, f.model), nil)
			case 3: // existing normal object
				f.model = randBytes(seed+20, 3*testPart+5)
				f.s = newSpoolWith(t, e, e.put(t, f.key, f.model), nil)
			}
			f.committed = append([]byte(nil), f.model...)
			files = append(files, f)
		}
		kinds := []obstest.FaultKind{obstest.FaultSlowDown, obstest.FaultReset, obstest.FaultTruncate, obstest.FaultResetAfter, obstest.FaultError200}
		ops := []string{"UploadPart", "AppendObject", "CompleteMultipartUpload", "HeadObject"}
		fault := func(rng *rand.Rand, count int) obstest.Fault {
			f := obstest.Fault{Op: ops[rng.IntN(len(ops))], Kind: kinds[rng.IntN(len(kinds))], Count: count}
			if f.Kind == obstest.FaultError200 {
				f.Op = "CompleteMultipartUpload" // where OBS does that
			}
			return f
		}
		for i := range steps {
			f := files[rng.IntN(len(files))]
			var op spoolOp
			r := rng.IntN(10)
			if f.key == "b" || f.key == "c" {
				r = rng.IntN(40) // mostly appends: keep the append path busy
			}
			if f.key == "b" && r >= 5 && r < 8 {
				r = 10 // b only grows: it stays appendable throughout
			}
			switch {
			case r < 5 || r >= 10: // append
				op = wr(int64(len(f.model)), string(randBytes(uint64(i), rng.Int64N(testPart/2)+1)))
			case r < 7:
				op = wr(rng.Int64N(int64(len(f.model))+1), string(randBytes(uint64(i), rng.Int64N(testPart/4)+1)))
			case r < 8:
				op = tr(rng.Int64N(int64(len(f.model)) + testPart))
			default:
				op = tr(int64(len(f.model)) + rng.Int64N(100)) // grow a little
			}
			if f.key == "a" && rng.IntN(8) == 0 { // reopened with O_TRUNC: stream again
				op = tr(0)
			}
			applySpool(t, f.s, op)
			f.model = applyModel(f.model, op)
			if f.key == "a" && len(f.model) == 0 {
				if err := u.Stream(ctx, f.key, f.s, obsclient.WriteOptions{}); err != nil {
					require.ErrorIs(t, err, ErrNotStreamable)
				}
			}
			if rng.IntN(20) == 0 { // a fault for whatever runs next, background parts included
				require.NoError(t, e.srv.InjectFault(fault(rng, 1)))
			}
			if rng.IntN(4) > 0 {
				continue
			}
			if rng.IntN(2) == 0 {
				require.NoError(t, e.srv.InjectFault(fault(rng, 1+rng.IntN(2))))
			}
			_, err := u.Commit(ctx, f.key, f.s, obsclient.WriteOptions{})
			e.srv.ClearFaults()
			if err == nil {
				f.committed = append(f.committed[:0], f.model...)
				requireBytes(t, f.committed, e.body(t, f.key), "seed %d step %d key %s", seed, i, f.key)
			} else {
				require.NotErrorIs(t, err, ErrAppendConflict, "seed %d step %d", seed, i)
				require.True(t, f.s.Dirty())
			}
			// Only a healthy stream of a may have an upload in progress; a
			// broken or failed one is being aborted.
			if !files[0].s.Streaming() {
				waitFor(t, fmt.Sprintf("abandoned streams aborted (seed %d step %d)", seed, i), func() bool { return len(e.srv.Uploads(testBucket)) == 0 })
			}
			for _, up := range e.srv.Uploads(testBucket) {
				require.Equal(t, "a", up.Key, "seed %d step %d", seed, i)
			}
		}
		for _, f := range files {
			_, err := u.Commit(ctx, f.key, f.s, obsclient.WriteOptions{})
			require.NoError(t, err)
			requireBytes(t, f.model, e.body(t, f.key), "seed %d key %s", seed, f.key)
		}
		require.Empty(t, e.srv.Uploads(testBucket))
		info, _ := e.srv.Object(testBucket, "b")
		require.True(t, info.Appendable, "seed %d: b only grew", seed)
		st := u.Stats()
		t.Logf("seed %d: commits %d failures %d appends %d parts %d copy parts %d uploaded %d copied %d",
			seed, st.Commits, st.Failures, st.Appends, st.Parts, st.CopyParts, st.BytesUploaded, st.BytesCopied)
	}
}

// requireBytes compares contents (nil equals empty), reporting the first
// difference rather than both slices.
func requireBytes(t *testing.T, want, got []byte, format string, args ...any) {
	t.Helper()
	if bytes.Equal(want, got) {
		return
	}
	i := 0
	for i < min(len(want), len(got)) && want[i] == got[i] {
		i++
	}
	require.Failf(t, "contents differ", "want %d bytes, got %d, first difference at %d: %v", len(want), len(got), i, fmt.Sprintf(format, args...))
}
