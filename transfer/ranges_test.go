package transfer

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type rangeOp struct {
	add        bool
	start, end int64
}

func TestRangesAddRemove(t *testing.T) {
	tests := []struct {
		name string
		ops  []rangeOp
		want []Interval
	}{
		{"empty", nil, nil},
		{"one", []rangeOp{{true, 0, 10}}, []Interval{{0, 10}}},
		{"empty add ignored", []rangeOp{{true, 5, 5}, {true, 7, 3}}, nil},
		{"disjoint sorted", []rangeOp{{true, 20, 30}, {true, 0, 10}}, []Interval{{0, 10}, {20, 30}}},
		{"adjacent merge", []rangeOp{{true, 0, 10}, {true, 10, 20}}, []Interval{{0, 20}}},
		{"overlap merge", []rangeOp{{true, 0, 10}, {true, 5, 15}}, []Interval{{0, 15}}},
		{"bridge", []rangeOp{{true, 0, 10}, {true, 20, 30}, {true, 40, 50}, {true, 10, 40}}, []Interval{{0, 50}}},
		{"inside", []rangeOp{{true, 0, 100}, {true, 10, 20}}, []Interval{{0, 100}}},
		{"cover", []rangeOp{{true, 10, 20}, {true, 30, 40}, {true, 0, 100}}, []Interval{{0, 100}}},
		{"remove middle", []rangeOp{{true, 0, 100}, {false, 40, 60}}, []Interval{{0, 40}, {60, 100}}},
		{"remove head", []rangeOp{{true, 0, 100}, {false, 0, 60}}, []Interval{{60, 100}}},
		{"remove tail", []rangeOp{{true, 0, 100}, {false, 60, 200}}, []Interval{{0, 60}}},
		{"remove across", []rangeOp{{true, 0, 10}, {true, 20, 30}, {true, 40, 50}, {false, 5, 45}}, []Interval{{0, 5}, {45, 50}}},
		{"remove all", []rangeOp{{true, 0, 10}, {true, 20, 30}, {false, 0, 30}}, nil},
		{"remove touching only", []rangeOp{{true, 10, 20}, {false, 0, 10}, {false, 20, 30}}, []Interval{{10, 20}}},
		{"remove from empty", []rangeOp{{false, 0, 10}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Ranges
			for _, op := range tt.ops {
				if op.add {
					r.Add(op.start, op.end)
				} else {
					r.Remove(op.start, op.end)
				}
			}
			assert.Equal(t, tt.want, r.Intervals())
		})
	}
}

func TestRangesQueries(t *testing.T) {
	var r Ranges
	r.Add(10, 20)
	r.Add(30, 40)
	tests := []struct {
		start, end int64
		contains   bool
		overlaps   bool
		missing    []Interval
	}{
		{0, 10, false, false, []Interval{{0, 10}}},
		{10, 20, true, true, nil},
		{12, 18, true, true, nil},
		{15, 25, false, true, []Interval{{20, 25}}},
		{20, 30, false, false, []Interval{{20, 30}}},
		{5, 45, false, true, []Interval{{5, 10}, {20, 30}, {40, 45}}},
		{35, 35, true, false, nil},
		{39, 41, false, true, []Interval{{40, 41}}},
		{50, 60, false, false, []Interval{{50, 60}}},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.contains, r.Contains(tt.start, tt.end), "Contains(%d,%d)", tt.start, tt.end)
		assert.Equal(t, tt.overlaps, r.Overlaps(tt.start, tt.end), "Overlaps(%d,%d)", tt.start, tt.end)
		assert.Equal(t, tt.missing, r.Missing(tt.start, tt.end), "Missing(%d,%d)", tt.start, tt.end)
	}
	assert.Equal(t, int64(20), r.Total())
	c := r.Clone()
	c.Clear()
	assert.True(t, c.Empty())
	assert.False(t, r.Empty())
}

// TestRangesModel checks Ranges against a bitmap under random operations.
func TestRangesModel(t *testing.T) {
	const n = 200
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 50 {
		var r Ranges
		var model [n]bool
		for range 40 {
			a, b := rng.Int64N(n), rng.Int64N(n)
			if a > b {
				a, b = b, a
			}
			add := rng.IntN(3) > 0
			if add {
				r.Add(a, b)
			} else {
				r.Remove(a, b)
			}
			for i := a; i < b; i++ {
				model[i] = add
			}
			checkRangesInvariant(t, &r)
			require.Equal(t, modelIntervals(model[:]), r.Intervals(), "round %d", round)
		}
	}
}

func modelIntervals(m []bool) []Interval {
	var out []Interval
	for i := 0; i < len(m); i++ {
		if !m[i] {
			continue
		}
		j := i
		for j < len(m) && m[j] {
			j++
		}
		out = append(out, Interval{int64(i), int64(j)})
		i = j
	}
	return out
}

func checkRangesInvariant(t *testing.T, r *Ranges) {
	t.Helper()
	for i, iv := range r.ivs {
		require.Less(t, iv.Start, iv.End)
		if i > 0 {
			require.Less(t, r.ivs[i-1].End, iv.Start)
		}
	}
}
