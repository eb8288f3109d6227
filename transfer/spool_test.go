package transfer

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obsfs/obsfs/obsclient"
)

// spoolOp is one mutation applied to a spool and to a byte-slice model.
type spoolOp struct {
	write    []byte // nil: truncate to off
	off      int64
	truncate bool
}

func wr(off int64, p string) spoolOp { return spoolOp{write: []byte(p), off: off} }
func tr(size int64) spoolOp          { return spoolOp{truncate: true, off: size} }

func applyModel(m []byte, op spoolOp) []byte {
	if op.truncate {
		if op.off <= int64(len(m)) {
			return m[:op.off]
		}
		return append(m, make([]byte, op.off-int64(len(m)))...)
	}
	if end := op.off + int64(len(op.write)); end > int64(len(m)) {
		m = append(m, make([]byte, end-int64(len(m)))...)
	}
	copy(m[op.off:], op.write)
	return m
}

func applySpool(t *testing.T, s *Spool, op spoolOp) {
	t.Helper()
	if op.truncate {
		require.NoError(t, s.Truncate(op.off))
		return
	}
	n, err := s.WriteAt(op.write, op.off)
	require.NoError(t, err)
	require.Equal(t, len(op.write), n)
}

func spoolBytes(t *testing.T, s *Spool) []byte {
	t.Helper()
	return readAllAt(t, func(p []byte, off int64) (int, error) { return s.ReadAt(context.Background(), p, off) }, s.Size(), 7777)
}

func TestSpoolSemantics(t *testing.T) {
	e := newEnv(t)
	baseData := []byte("0123456789abcdefghij") // 20 bytes
	tests := []struct {
		name    string
		base    bool
		ops     []spoolOp
		wantGet bool // whether reading the result needs the base
	}{
		{name: "new empty"},
		{name: "new write", ops: []spoolOp{wr(0, "hello")}},
		{name: "new sparse far past EOF", ops: []spoolOp{wr(0, "a"), wr(5<<20, "z")}},
		{name: "new write at offset leaves zero hole", ops: []spoolOp{wr(100, "x")}},
		{name: "new truncate up", ops: []spoolOp{wr(0, "abc"), tr(4096)}},
		{name: "new truncate down then up reads zeros", ops: []spoolOp{wr(0, "abcdefgh"), tr(2), tr(8)}},
		{name: "base untouched", base: true, wantGet: true},
		{name: "base overwrite middle", base: true, ops: []spoolOp{wr(5, "XYZ")}, wantGet: true},
		{name: "base append", base: true, ops: []spoolOp{wr(20, "tail")}, wantGet: true},
		{name: "base write past EOF", base: true, ops: []spoolOp{wr(30, "far")}, wantGet: true},
		{name: "base truncate down", base: true, ops: []spoolOp{tr(7)}, wantGet: true},
		{name: "base truncate down then up: gap is zeros", base: true, ops: []spoolOp{tr(7), tr(20)}, wantGet: true},
		{name: "base truncate to zero then up", base: true, ops: []spoolOp{tr(0), tr(10)}},
		{name: "base overwrite all", base: true, ops: []spoolOp{wr(0, "ABCDEFGHIJKLMNOPQRST")}},
		{name: "base truncate down, write past, read", base: true, ops: []spoolOp{tr(5), wr(10, "W")}, wantGet: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &countingSource{src: e.b}
			var base *Base
			model := []byte{}
			if tt.base {
				base = e.put(t, "sem", baseData)
				model = append([]byte(nil), baseData...)
			}
			s, err := NewSpool(t.TempDir(), base, src)
			require.NoError(t, err)
			defer s.Close()
			assert.Equal(t, !tt.base, s.Dirty(), "dirty before ops")
			for _, op := range tt.ops {
				applySpool(t, s, op)
				model = applyModel(model, op)
			}
			assert.Equal(t, int64(len(model)), s.Size())
			assert.Equal(t, model, spoolBytes(t, s))
			assert.Equal(t, tt.wantGet, src.gets.Load() > 0, "GETs: %d", src.gets.Load())
			assert.Equal(t, !tt.base || len(tt.ops) > 0, s.Dirty())
		})
	}
}

func TestSpoolReadEOF(t *testing.T) {
	s, err := NewSpool(t.TempDir(), nil, nil)
	require.NoError(t, err)
	defer s.Close()
	ctx := context.Background()
	p := make([]byte, 10)
	n, err := s.ReadAt(ctx, p, 0)
	assert.Equal(t, 0, n)
	assert.ErrorIs(t, err, io.EOF)

	_, err = s.WriteAt([]byte("abcdef"), 0)
	require.NoError(t, err)
	n, err = s.ReadAt(ctx, p, 2)
	assert.Equal(t, 4, n)
	assert.ErrorIs(t, err, io.EOF)
	assert.Equal(t, "cdef", string(p[:n]))
	n, err = s.ReadAt(ctx, p[:4], 2)
	assert.Equal(t, 4, n)
	assert.NoError(t, err)
	n, err = s.ReadAt(ctx, p, 6)
	assert.Equal(t, 0, n)
	assert.ErrorIs(t, err, io.EOF)
	_, err = s.ReadAt(ctx, p, -1)
	assert.Error(t, err)
	_, err = s.WriteAt(p, -1)
	assert.Error(t, err)
	assert.Error(t, s.Truncate(-1))
}

// TestSpoolReadThrough checks that base bytes are fetched once, with ranged
// GETs aligned to fetchAlign, and kept locally.
func TestSpoolReadThrough(t *testing.T) {
	e := newEnv(t)
	data := randBytes(1, 3*fetchAlign+100)
	base := e.put(t, "big", data)
	src := &countingSource{src: e.b}
	s, err := NewSpool(t.TempDir(), base, src)
	require.NoError(t, err)
	defer s.Close()
	ctx := context.Background()

	p := make([]byte, 10)
	_, err = s.ReadAt(ctx, p, fetchAlign+5)
	require.NoError(t, err)
	assert.Equal(t, data[fetchAlign+5:fetchAlign+15], p)
	assert.Equal(t, []obsclient.Range{{Start: fetchAlign, End: 2*fetchAlign - 1}}, src.takeRanges())

	// Same block again: local.
	_, err = s.ReadAt(ctx, p, fetchAlign+500)
	require.NoError(t, err)
	assert.Equal(t, int64(1), src.gets.Load())

	// A write inside a not-yet-fetched block is kept over the fetched bytes.
	_, err = s.WriteAt([]byte("LOCAL"), 3*fetchAlign+10)
	require.NoError(t, err)
	all := spoolBytes(t, s)
	want := append([]byte(nil), data...)
	copy(want[3*fetchAlign+10:], "LOCAL")
	assert.Equal(t, want, all)
	// The tail block is only 100 bytes: the fetch is clipped to the base.
	for _, r := range src.takeRanges() {
		assert.LessOrEqual(t, r.End, int64(len(data)-1))
	}
}

func TestSpoolBaseChanged(t *testing.T) {
	e := newEnv(t)
	base := e.put(t, "changing", randBytes(2, 2*fetchAlign))
	s, err := NewSpool(t.TempDir(), base, e.b)
	require.NoError(t, err)
	defer s.Close()
	ctx := context.Background()
	p := make([]byte, 100)
	_, err = s.ReadAt(ctx, p, 0)
	require.NoError(t, err)

	e.put(t, "changing", randBytes(3, 2*fetchAlign)) // new ETag
	_, err = s.ReadAt(ctx, p, 0)
	require.NoError(t, err, "local bytes stay readable")
	_, err = s.ReadAt(ctx, p, fetchAlign+1)
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrStale)
	assert.True(t, obsclient.IsPreconditionFailed(err), "%v", err)

	// Deleted base: also stale.
	_, err = e.b.DeleteObject(ctx, "changing", "")
	require.NoError(t, err)
	s2, err := NewSpool(t.TempDir(), base, e.b)
	require.NoError(t, err)
	defer s2.Close()
	_, err = s2.ReadAt(ctx, p, 0)
	assert.ErrorIs(t, err, ErrStale)
}

func TestSpoolFileIsPrivateAndUnlinked(t *testing.T) {
	dir := t.TempDir()
	s, err := NewSpool(dir, nil, nil)
	require.NoError(t, err)
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, ents, "spool file is unlinked")
	fi, err := s.f.Stat()
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	_, err = s.WriteAt([]byte("x"), 1<<30) // sparse: no 1 GiB of disk
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
	_, err = s.WriteAt([]byte("x"), 0)
	assert.ErrorIs(t, err, ErrClosed)
	_, err = s.ReadAt(context.Background(), make([]byte, 1), 0)
	assert.ErrorIs(t, err, ErrClosed)
	assert.ErrorIs(t, s.Truncate(0), ErrClosed)
}

// TestSpoolModel applies random writes and truncates to a spool over a
// base object and to a byte slice, comparing reads throughout.
func TestSpoolModel(t *testing.T) {
	e := newEnv(t)
	data := randBytes(4, 3*fetchAlign+12345)
	base := e.put(t, "model", data)
	rng := rand.New(rand.NewPCG(5, 6))
	ctx := context.Background()
	for round := range 5 {
		s, err := NewSpool(t.TempDir(), base, e.b)
		require.NoError(t, err)
		model := append([]byte(nil), data...)
		for i := range 30 {
			var op spoolOp
			switch rng.IntN(4) {
			case 0:
				op = tr(rng.Int64N(int64(len(data)) + fetchAlign))
			default:
				op = wr(rng.Int64N(int64(len(model))+1000), string(randBytes(uint64(i), rng.Int64N(5000)+1)))
			}
			applySpool(t, s, op)
			model = applyModel(model, op)
			off := rng.Int64N(int64(len(model)) + 1)
			p := make([]byte, rng.IntN(300000))
			n, err := s.ReadAt(ctx, p, off)
			if err != nil {
				require.ErrorIs(t, err, io.EOF)
			}
			want := model[off:min(off+int64(len(p)), int64(len(model)))]
			require.True(t, bytes.Equal(want, p[:n]), "round %d op %d", round, i)
		}
		require.Equal(t, model, spoolBytes(t, s), "round %d", round)
		require.NoError(t, s.Close())
	}
}

func TestSpoolConcurrent(t *testing.T) {
	e := newEnv(t)
	const chunk = 64 << 10
	data := randBytes(7, 8*chunk)
	base := e.put(t, "conc", data)
	s, err := NewSpool(t.TempDir(), base, e.b)
	require.NoError(t, err)
	defer s.Close()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, err := s.WriteAt(bytes.Repeat([]byte{byte(g)}, chunk/2), int64(g)*chunk)
			assert.NoError(t, err)
		}()
		go func() {
			defer wg.Done()
			p := make([]byte, chunk)
			_, err := s.ReadAt(context.Background(), p, int64(g)*chunk)
			if !errors.Is(err, io.EOF) {
				assert.NoError(t, err)
			}
		}()
	}
	wg.Wait()
	want := append([]byte(nil), data...)
	for g := range 8 {
		copy(want[g*chunk:], bytes.Repeat([]byte{byte(g)}, chunk/2))
	}
	assert.Equal(t, want, spoolBytes(t, s))
}
