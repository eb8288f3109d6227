package transfer

// ranges.go: a set of byte offsets kept as sorted, disjoint, non-adjacent
// half-open intervals. The spool uses two of them: which bytes are present
// in the local file, and which differ from the base object (dirty).

import "sort"

// Interval is the half-open byte range [Start, End).
type Interval struct {
	Start, End int64
}

// Len is the number of bytes in the interval.
func (iv Interval) Len() int64 { return iv.End - iv.Start }

// Ranges is a set of byte offsets. The zero value is empty and ready to use.
// It is not safe for concurrent use.
//
// INVARIANT: ivs is sorted by Start; every interval is non-empty; intervals
// neither overlap nor touch (ivs[i].End < ivs[i+1].Start).
type Ranges struct {
	ivs []Interval
}

// first returns the index of the first interval whose End >= off, i.e. the
// first that overlaps or touches [off, …).
func (r *Ranges) first(off int64) int {
	return sort.Search(len(r.ivs), func(i int) bool { return r.ivs[i].End >= off })
}

// Add inserts [start, end), merging with overlapping or adjacent intervals.
func (r *Ranges) Add(start, end int64) {
	if start >= end {
		return
	}
	i := r.first(start)
	j := i
	for j < len(r.ivs) && r.ivs[j].Start <= end {
		start = min(start, r.ivs[j].Start)
		end = max(end, r.ivs[j].End)
		j++
	}
	r.ivs = append(r.ivs[:i], append([]Interval{{start, end}}, r.ivs[j:]...)...)
}

// Remove deletes [start, end) from the set.
func (r *Ranges) Remove(start, end int64) {
	if start >= end {
		return
	}
	i := sort.Search(len(r.ivs), func(i int) bool { return r.ivs[i].End > start })
	var keep []Interval
	j := i
	for j < len(r.ivs) && r.ivs[j].Start < end {
		iv := r.ivs[j]
		if iv.Start < start {
			keep = append(keep, Interval{iv.Start, start})
		}
		if iv.End > end {
			keep = append(keep, Interval{end, iv.End})
		}
		j++
	}
	r.ivs = append(r.ivs[:i], append(keep, r.ivs[j:]...)...)
}

// Contains reports whether every byte of [start, end) is in the set. An empty
// range is always contained.
func (r *Ranges) Contains(start, end int64) bool {
	if start >= end {
		return true
	}
	i := sort.Search(len(r.ivs), func(i int) bool { return r.ivs[i].End > start })
	return i < len(r.ivs) && r.ivs[i].Start <= start && r.ivs[i].End >= end
}

// Overlaps reports whether any byte of [start, end) is in the set.
func (r *Ranges) Overlaps(start, end int64) bool {
	if start >= end {
		return false
	}
	i := sort.Search(len(r.ivs), func(i int) bool { return r.ivs[i].End > start })
	return i < len(r.ivs) && r.ivs[i].Start < end
}

// Missing returns the parts of [start, end) not in the set, in order.
func (r *Ranges) Missing(start, end int64) []Interval {
	var out []Interval
	pos := start
	i := sort.Search(len(r.ivs), func(i int) bool { return r.ivs[i].End > start })
	for ; i < len(r.ivs) && pos < end && r.ivs[i].Start < end; i++ {
		if r.ivs[i].Start > pos {
			out = append(out, Interval{pos, r.ivs[i].Start})
		}
		pos = max(pos, r.ivs[i].End)
	}
	if pos < end {
		out = append(out, Interval{pos, end})
	}
	return out
}

// Intervals returns a copy of the set's intervals, in order.
func (r *Ranges) Intervals() []Interval {
	return append([]Interval(nil), r.ivs...)
}

// Total is the number of bytes in the set.
func (r *Ranges) Total() int64 {
	var n int64
	for _, iv := range r.ivs {
		n += iv.Len()
	}
	return n
}

// Empty reports whether the set holds no byte.
func (r *Ranges) Empty() bool { return len(r.ivs) == 0 }

// Clear empties the set.
func (r *Ranges) Clear() { r.ivs = nil }

// Clone returns an independent copy.
func (r *Ranges) Clone() Ranges { return Ranges{ivs: r.Intervals()} }
