package transfer

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type planStep struct {
	kind     StepKind
	off, len int64
}

func planSteps(p Plan) []planStep {
	var got []planStep
	for _, s := range p.Steps {
		got = append(got, planStep{s.Kind, s.Off, s.Len})
	}
	return got
}

// TestPlanAppendToNormalBase covers growth of a normal base: a base of at
// least MinPartSize is copied whole (copy parts off the grid), the delta
// uploaded; smaller bases are rewritten as before.
func TestPlanAppendToNormalBase(t *testing.T) {
	const ps = 8 * mib
	tests := []struct {
		name     string
		base     int64
		delta    int64
		dirty    []Interval // default: [base, base+delta)
		wantKind PlanKind
		steps    []planStep
	}{
		{"no base, small", 0, 10, nil, PlanPut, []planStep{{StepPut, 0, 10}}},
		{"99 KiB base: rewrite with one put", 99 * kib, 1, nil, PlanPut, []planStep{{StepPut, 0, 99*kib + 1}}},
		{"100 KiB base: copy + 1 byte", MinPartSize, 1, nil, PlanMultipart,
			[]planStep{{StepCopy, 0, MinPartSize}, {StepUpload, MinPartSize, 1}}},
		{"100 KiB base: copy + 2.5 parts", MinPartSize, 2*ps + ps/2, nil, PlanMultipart,
			[]planStep{{StepCopy, 0, MinPartSize}, {StepUpload, MinPartSize, ps}, {StepUpload, MinPartSize + ps, ps}, {StepUpload, MinPartSize + 2*ps, ps / 2}}},
		{"base off the grid", 3*ps + 7, 5, nil, PlanMultipart,
			[]planStep{{StepCopy, 0, 3*ps + 7}, {StepUpload, 3*ps + 7, 5}}},
		{"5 GiB base is one copy part", MaxPartSize, 5, nil, PlanMultipart,
			[]planStep{{StepCopy, 0, MaxPartSize}, {StepUpload, MaxPartSize, 5}}},
		{"5 GiB+1 base is two copy parts", MaxPartSize + 1, 5, nil, PlanMultipart,
			[]planStep{{StepCopy, 0, MaxPartSize/2 + 1}, {StepCopy, MaxPartSize/2 + 1, MaxPartSize / 2}, {StepUpload, MaxPartSize + 1, 5}}},
		{"hole past the base (truncate up, write later)", MinPartSize, 100, []Interval{{MinPartSize, MinPartSize + 100}}, PlanMultipart,
			[]planStep{{StepCopy, 0, MinPartSize}, {StepUpload, MinPartSize, 100}}},
		{"edit below the base end: grid plan", 3 * ps, 10, []Interval{{ps, ps + 1}, {3 * ps, 3*ps + 10}}, PlanMultipart,
			[]planStep{{StepCopy, 0, ps}, {StepUpload, ps, ps}, {StepCopy, 2 * ps, ps}, {StepUpload, 3 * ps, 10}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := PlanInput{Size: tt.base + tt.delta, PartSize: ps, BaseSize: tt.base, Dirty: tt.dirty}
			if in.Dirty == nil && tt.delta > 0 {
				in.Dirty = []Interval{{tt.base, tt.base + tt.delta}}
			}
			p, err := PlanUpload(in)
			require.NoError(t, err)
			assert.Equal(t, tt.wantKind, p.Kind)
			assert.Equal(t, tt.steps, planSteps(p))
			checkPlan(t, p, in.Size)
			up, cp := p.Bytes()
			if p.Kind == PlanMultipart && tt.base >= MinPartSize && len(tt.dirty) == 0 {
				assert.Equal(t, tt.delta, up)
				assert.Equal(t, tt.base, cp)
			}
		})
	}
}

// TestPlanCopyFirstHuge checks the part limit when the delta is huge.
func TestPlanCopyFirstHuge(t *testing.T) {
	for _, base := range []int64{MinPartSize, 3 * MaxPartSize, 20 * tib} {
		size := min(base+20*tib, MaxObjectSize)
		p, err := PlanUpload(PlanInput{Size: size, PartSize: 8 * mib, BaseSize: base, Dirty: []Interval{{base, size}}})
		require.NoError(t, err)
		checkPlan(t, p, size)
		_, cp := p.Bytes()
		assert.Equal(t, base, cp, "base %d", base)
	}
}

func TestPlanAppendable(t *testing.T) {
	tests := []struct {
		name     string
		in       PlanInput
		wantKind PlanKind
		steps    []planStep
	}{
		{"new empty appendable object", PlanInput{Size: 0, Appendable: true}, PlanAppend, []planStep{{StepAppend, 0, 0}}},
		{"new appendable object", PlanInput{Size: 10, Appendable: true, Dirty: []Interval{{0, 10}}}, PlanAppend, []planStep{{StepAppend, 0, 10}}},
		{"append a few bytes", PlanInput{Size: 110, BaseSize: 100, Appendable: true, Dirty: []Interval{{100, 110}}}, PlanAppend, []planStep{{StepAppend, 100, 10}}},
		{"append to a 99 KiB base", PlanInput{Size: 99*kib + 1, BaseSize: 99 * kib, Appendable: true, Dirty: []Interval{{99 * kib, 99*kib + 1}}}, PlanAppend, []planStep{{StepAppend, 99 * kib, 1}}},
		{"nothing new", PlanInput{Size: 100, BaseSize: 100, Appendable: true}, PlanAppend, nil},
		{"appends of at most 5 GiB", PlanInput{Size: 100 + MaxPartSize + 1, BaseSize: 100, Appendable: true, Dirty: []Interval{{100, 100 + MaxPartSize + 1}}}, PlanAppend,
			[]planStep{{StepAppend, 100, MaxPartSize}, {StepAppend, 100 + MaxPartSize, 1}}},
		{"edit of old bytes: rewrite", PlanInput{Size: 110, BaseSize: 100, Appendable: true, Dirty: []Interval{{5, 6}, {100, 110}}}, PlanPut, []planStep{{StepPut, 0, 110}}},
		{"truncated below the base (BaseSize shrank) still appends past it", PlanInput{Size: 60, BaseSize: 50, Dirty: []Interval{{50, 60}}}, PlanPut, []planStep{{StepPut, 0, 60}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := PlanUpload(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.wantKind, p.Kind)
			assert.Equal(t, tt.steps, planSteps(p))
		})
	}
}

func TestStreamPartSize(t *testing.T) {
	assert.Equal(t, 8*mib, StreamPartSize(8*mib, 1))
	assert.Equal(t, 8*mib, StreamPartSize(8*mib, 1000))
	assert.Equal(t, 16*mib, StreamPartSize(8*mib, 1001))
	assert.Equal(t, 4*gib, StreamPartSize(8*mib, 10000))
	assert.Equal(t, int64(MinPartSize), StreamPartSize(1, 1))
	assert.Equal(t, int64(MaxPartSize), StreamPartSize(3*gib, 1001))
	var total int64
	for n := 1; n <= MaxParts; n++ {
		total += StreamPartSize(8*mib, n)
	}
	assert.Greater(t, total, 7*tib) // 7.8 TiB
}
