package transfer

// plan.go: the upload planner, a pure function from "what the spool holds"
// to "which requests commit it".
//
// A file smaller than the part size goes in one PUT. Anything else is a
// multipart upload over a fixed grid of parts (the part size, grown so the
// grid never exceeds MaxParts). A grid cell that lies wholly in the part of
// the base object still visible and holds no dirty byte is copied on the
// server (UploadPartCopy) instead of being downloaded and uploaded again;
// runs of such cells become one copy part (up to MaxPartSize). Cells are
// part-aligned and at least MinPartSize long except the last, so every copy
// respects the protocol's part limits. The plan is a list of typed steps so
// later kinds (append, streaming parts uploaded while the file is written)
// slot in beside these.

import (
	"errors"
	"fmt"
)

// Protocol limits (PROTOCOL.md §6).
const (
	MinPartSize     = 100 << 10 // smallest non-last part (100 KB on the server; 100 KiB here)
	MaxPartSize     = 5 << 30   // largest part and largest single PUT
	MaxParts        = 10000     // parts per multipart upload
	MaxObjectSize   = MaxParts * MaxPartSize
	DefaultPartSize = 8 << 20 // multipart_size default
)

// partSizeAlign is the granularity part sizes grow by when a file needs
// more than MaxParts parts of the configured size.
const partSizeAlign = 1 << 20

// ErrTooLarge reports a file larger than a multipart upload can hold
// (fs maps it to EFBIG).
var ErrTooLarge = errors.New("transfer: file exceeds the maximum object size")

// PlanKind says how an object is written.
type PlanKind int

const (
	PlanPut       PlanKind = iota // one PUT of the whole object
	PlanMultipart                 // initiate, parts (uploaded or copied), complete
)

func (k PlanKind) String() string {
	switch k {
	case PlanPut:
		return "put"
	case PlanMultipart:
		return "multipart"
	}
	return fmt.Sprintf("PlanKind(%d)", int(k))
}

// StepKind says what one request of a plan does.
type StepKind int

const (
	StepPut    StepKind = iota // PUT the bytes [Off, Off+Len) of the spool as the object
	StepUpload                 // UploadPart the spool's bytes [Off, Off+Len)
	StepCopy                   // UploadPartCopy the base object's bytes [Off, Off+Len)
)

func (k StepKind) String() string {
	switch k {
	case StepPut:
		return "put"
	case StepUpload:
		return "upload"
	case StepCopy:
		return "copy"
	}
	return fmt.Sprintf("StepKind(%d)", int(k))
}

// Step is one request of a plan. Part is the part number (1-based) for
// multipart steps and 0 for StepPut.
type Step struct {
	Kind     StepKind
	Part     int
	Off, Len int64
}

// Plan is the list of requests that write an object.
type Plan struct {
	Kind     PlanKind
	PartSize int64 // grid size for multipart plans
	Steps    []Step
}

// Bytes returns how many bytes the plan uploads and copies.
func (p Plan) Bytes() (uploaded, copied int64) {
	for _, s := range p.Steps {
		if s.Kind == StepCopy {
			copied += s.Len
		} else {
			uploaded += s.Len
		}
	}
	return uploaded, copied
}

// PlanInput describes the content to commit.
type PlanInput struct {
	Size     int64 // logical size of the new object
	PartSize int64 // configured part size; 0 means DefaultPartSize
	// BaseSize is the length of the prefix of the content that may still be
	// taken from the base object (bytes not in Dirty); 0 when there is no
	// base. Never more than Size.
	BaseSize int64
	// Dirty lists the ranges that differ from the base object.
	Dirty []Interval
}

// EffectivePartSize returns the part size used for an object of the given
// size: the configured one clamped to [MinPartSize, MaxPartSize], grown (in
// MiB steps) so the object needs at most MaxParts parts.
func EffectivePartSize(configured, size int64) int64 {
	ps := configured
	if ps <= 0 {
		ps = DefaultPartSize
	}
	ps = min(max(ps, MinPartSize), MaxPartSize)
	if need := ceilDiv(size, MaxParts); need > ps {
		ps = min(ceilDiv(need, partSizeAlign)*partSizeAlign, MaxPartSize)
	}
	return ps
}

// PlanUpload decides the requests that commit the described content.
func PlanUpload(in PlanInput) (Plan, error) {
	if in.Size < 0 || in.BaseSize < 0 || in.BaseSize > in.Size {
		return Plan{}, fmt.Errorf("transfer: bad plan input: size %d, base %d", in.Size, in.BaseSize)
	}
	if in.Size > MaxObjectSize {
		return Plan{}, fmt.Errorf("%w: %d bytes", ErrTooLarge, in.Size)
	}
	ps := EffectivePartSize(in.PartSize, in.Size)
	if in.Size < ps {
		return Plan{Kind: PlanPut, Steps: []Step{{Kind: StepPut, Off: 0, Len: in.Size}}}, nil
	}
	var dirty Ranges
	for _, iv := range in.Dirty {
		dirty.Add(iv.Start, iv.End)
	}
	p := Plan{Kind: PlanMultipart, PartSize: ps}
	for off := int64(0); off < in.Size; off += ps {
		n := min(ps, in.Size-off)
		kind := StepUpload
		if copyable(in, &dirty, off, n) {
			kind = StepCopy
		}
		p.Steps = appendCell(p.Steps, kind, off, n)
	}
	return p, nil
}

// copyable reports whether the grid cell [off, off+n) can be copied from
// the base object.
func copyable(in PlanInput, dirty *Ranges, off, n int64) bool {
	last := off+n == in.Size
	return off+n <= in.BaseSize && !dirty.Overlaps(off, off+n) && (n >= MinPartSize || last)
}

// appendCell adds a grid cell to the steps, merging it into the previous
// copy step when both are copies and the result fits in one part.
func appendCell(steps []Step, kind StepKind, off, n int64) []Step {
	if k := len(steps) - 1; kind == StepCopy && k >= 0 && steps[k].Kind == StepCopy && steps[k].Len+n <= MaxPartSize {
		steps[k].Len += n
		return steps
	}
	return append(steps, Step{Kind: kind, Part: len(steps) + 1, Off: off, Len: n})
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }
