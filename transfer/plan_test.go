package transfer

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const kib, mib, gib, tib = int64(1 << 10), int64(1 << 20), int64(1 << 30), int64(1 << 40)

func TestEffectivePartSize(t *testing.T) {
	tests := []struct {
		name             string
		configured, size int64
		want             int64
	}{
		{"default", 0, 100 * mib, DefaultPartSize},
		{"configured", 16 * mib, 100 * mib, 16 * mib},
		{"clamped up to minimum", 1 * kib, 10 * mib, MinPartSize},
		{"clamped down to maximum", 10 * gib, 10 * gib, MaxPartSize},
		{"exactly max parts", 8 * mib, 10000 * 8 * mib, 8 * mib},
		{"one byte over max parts grows by MiB", 8 * mib, 10000*8*mib + 1, 9 * mib},
		{"1 TiB", 8 * mib, tib, 105 * mib},
		{"max object", 8 * mib, MaxObjectSize, MaxPartSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, EffectivePartSize(tt.configured, tt.size))
		})
	}
}

func TestPlanUploadShape(t *testing.T) {
	const ps = 128 * kib
	tests := []struct {
		name      string
		size      int64
		wantKind  PlanKind
		wantParts int
		lastLen   int64
	}{
		{"empty", 0, PlanPut, 1, 0},
		{"one byte", 1, PlanPut, 1, 1},
		{"part size minus one", ps - 1, PlanPut, 1, ps - 1},
		{"part size", ps, PlanMultipart, 1, ps},
		{"part size plus one", ps + 1, PlanMultipart, 2, 1},
		{"several parts", 5*ps + 17, PlanMultipart, 6, 17},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := PlanUpload(PlanInput{Size: tt.size, PartSize: ps})
			require.NoError(t, err)
			assert.Equal(t, tt.wantKind, p.Kind)
			require.Len(t, p.Steps, tt.wantParts)
			assert.Equal(t, tt.lastLen, p.Steps[len(p.Steps)-1].Len)
			checkPlan(t, p, tt.size)
			up, cp := p.Bytes()
			assert.Equal(t, tt.size, up)
			assert.Zero(t, cp)
		})
	}
}

func TestPlanUploadHuge(t *testing.T) {
	for _, size := range []int64{10000 * 8 * mib, 10000*8*mib + 1, tib, 10 * tib, 48 * tib, MaxObjectSize} {
		p, err := PlanUpload(PlanInput{Size: size, PartSize: 8 * mib})
		require.NoError(t, err, "size %d", size)
		assert.LessOrEqual(t, len(p.Steps), MaxParts, "size %d", size)
		assert.LessOrEqual(t, p.PartSize, int64(MaxPartSize))
		checkPlan(t, p, size)
	}
	_, err := PlanUpload(PlanInput{Size: MaxObjectSize + 1})
	assert.ErrorIs(t, err, ErrTooLarge)
	_, err = PlanUpload(PlanInput{Size: 10, BaseSize: 11})
	assert.Error(t, err)
}

func TestPlanUploadCopies(t *testing.T) {
	const ps = 128 * kib
	type step struct {
		kind     StepKind
		off, len int64
	}
	tests := []struct {
		name  string
		in    PlanInput
		steps []step
	}{
		{
			name:  "no base uploads everything",
			in:    PlanInput{Size: 3 * ps},
			steps: []step{{StepUpload, 0, ps}, {StepUpload, ps, ps}, {StepUpload, 2 * ps, ps}},
		},
		{
			name:  "untouched base is one copy",
			in:    PlanInput{Size: 3 * ps, BaseSize: 3 * ps},
			steps: []step{{StepCopy, 0, 3 * ps}},
		},
		{
			name:  "edit in the middle part",
			in:    PlanInput{Size: 4 * ps, BaseSize: 4 * ps, Dirty: []Interval{{ps + 10, ps + 20}}},
			steps: []step{{StepCopy, 0, ps}, {StepUpload, ps, ps}, {StepCopy, 2 * ps, 2 * ps}},
		},
		{
			name:  "edit straddling a boundary dirties both parts",
			in:    PlanInput{Size: 4 * ps, BaseSize: 4 * ps, Dirty: []Interval{{2*ps - 1, 2*ps + 1}}},
			steps: []step{{StepCopy, 0, ps}, {StepUpload, ps, ps}, {StepUpload, 2 * ps, ps}, {StepCopy, 3 * ps, ps}},
		},
		{
			name:  "append after base",
			in:    PlanInput{Size: 3*ps + 5, BaseSize: 2 * ps, Dirty: []Interval{{2 * ps, 3*ps + 5}}},
			steps: []step{{StepCopy, 0, 2 * ps}, {StepUpload, 2 * ps, ps}, {StepUpload, 3 * ps, 5}},
		},
		{
			name:  "base ends inside a part: the whole base is copied, the rest uploaded",
			in:    PlanInput{Size: 3 * ps, BaseSize: 2*ps + 7},
			steps: []step{{StepCopy, 0, 2*ps + 7}, {StepUpload, 2*ps + 7, ps - 7}},
		},
		{
			name:  "short clean last part is copied",
			in:    PlanInput{Size: 2*ps + 5, BaseSize: 2*ps + 5, Dirty: []Interval{{0, 1}}},
			steps: []step{{StepUpload, 0, ps}, {StepCopy, ps, ps + 5}},
		},
		{
			name:  "base smaller than a part: single put",
			in:    PlanInput{Size: ps - 1, BaseSize: ps - 1},
			steps: []step{{StepPut, 0, ps - 1}},
		},
		{
			name:  "truncated base (BaseSize = Size) copies the prefix",
			in:    PlanInput{Size: 2 * ps, BaseSize: 2 * ps},
			steps: []step{{StepCopy, 0, 2 * ps}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.PartSize = ps
			p, err := PlanUpload(tt.in)
			require.NoError(t, err)
			var got []step
			for _, s := range p.Steps {
				got = append(got, step{s.Kind, s.Off, s.Len})
			}
			assert.Equal(t, tt.steps, got)
			checkPlan(t, p, tt.in.Size)
		})
	}
}

// TestPlanCopyMergeLimit checks that merged copy runs never exceed a part.
func TestPlanCopyMergeLimit(t *testing.T) {
	size := 12 * gib
	p, err := PlanUpload(PlanInput{Size: size, PartSize: 8 * mib, BaseSize: size})
	require.NoError(t, err)
	require.Len(t, p.Steps, 3)
	for _, s := range p.Steps {
		assert.Equal(t, StepCopy, s.Kind)
		assert.LessOrEqual(t, s.Len, int64(MaxPartSize))
	}
	checkPlan(t, p, size)
}

// checkPlan verifies the protocol limits and that the steps tile [0, size).
func checkPlan(t *testing.T, p Plan, size int64) {
	t.Helper()
	require.NotEmpty(t, p.Steps)
	require.LessOrEqual(t, len(p.Steps), MaxParts)
	var off int64
	for i, s := range p.Steps {
		require.Equal(t, off, s.Off, "step %d", i)
		require.LessOrEqual(t, s.Len, int64(MaxPartSize), "step %d", i)
		if p.Kind == PlanMultipart {
			require.Equal(t, i+1, s.Part)
			require.Positive(t, s.Len)
			if i < len(p.Steps)-1 {
				require.GreaterOrEqual(t, s.Len, int64(MinPartSize), "step %d", i)
			}
		}
		off += s.Len
	}
	require.Equal(t, size, off)
}

// With an S3 server's 5 MiB minimum part, growth of a 4 MiB base is not
// a copy of the base as a (too small) first part: the whole object is
// uploaded; a 6 MiB base is copied, and grid cells shorter than 5 MiB are
// never copied.
func TestPlanS3MinPartSize(t *testing.T) {
	grow := func(base, size, min int64) Plan {
		p, err := PlanUpload(PlanInput{Size: size, PartSize: 5 << 20, BaseSize: base,
			Dirty: []Interval{{Start: base, End: size}}, MinPartSize: min})
		require.NoError(t, err)
		return p
	}
	p := grow(4<<20, 4<<20+14, S3MinPartSize)
	assert.Equal(t, PlanPut, p.Kind, "%+v", p)
	p = grow(4<<20, 4<<20+14, 0)
	assert.Equal(t, PlanMultipart, p.Kind, "OBS copies a 4 MiB base: %+v", p)
	p = grow(6<<20, 6<<20+14, S3MinPartSize)
	require.Equal(t, PlanMultipart, p.Kind)
	assert.Equal(t, StepCopy, p.Steps[0].Kind)
	for _, st := range p.Steps[:len(p.Steps)-1] {
		assert.GreaterOrEqual(t, st.Len, int64(S3MinPartSize), "non-last part %+v", st)
	}
	// An edit in the middle of a 12 MiB object with a 100 KiB part size:
	// the grid is 5 MiB at least, so every non-last part is big enough.
	e, err := PlanUpload(PlanInput{Size: 12 << 20, PartSize: 100 << 10, BaseSize: 12 << 20,
		Dirty: []Interval{{Start: 6 << 20, End: 6<<20 + 1}}, MinPartSize: S3MinPartSize})
	require.NoError(t, err)
	for _, st := range e.Steps[:len(e.Steps)-1] {
		assert.GreaterOrEqual(t, st.Len, int64(S3MinPartSize), "non-last part %+v", st)
	}
}
