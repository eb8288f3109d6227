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
// respects the protocol's part limits.
//
// Growth without edits has cheaper plans: appends of the new bytes when
// the object can take them (PlanAppend), and for a normal base of at least
// MinPartSize a multipart upload that copies the whole base first (copy
// parts of up to MaxPartSize, off the grid) and uploads only the new bytes.
// StreamPartSize gives the part sizes of streaming uploads (stream.go),
// whose final size is unknown while they run.

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
	DefaultPartSize = 16 << 20 // multipart_size default (the CLI reads it)
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
	// PlanAppend appends the bytes [BaseSize, Size) to an appendable object
	// (or creates one at position 0), in chunks of at most MaxPartSize.
	PlanAppend
)

func (k PlanKind) String() string {
	switch k {
	case PlanPut:
		return "put"
	case PlanMultipart:
		return "multipart"
	case PlanAppend:
		return "append"
	}
	return fmt.Sprintf("PlanKind(%d)", int(k))
}

// StepKind says what one request of a plan does.
type StepKind int

const (
	StepPut    StepKind = iota // PUT the bytes [Off, Off+Len) of the spool as the object
	StepUpload                 // UploadPart the spool's bytes [Off, Off+Len)
	StepCopy                   // UploadPartCopy the base object's bytes [Off, Off+Len)
	StepAppend                 // AppendObject the spool's bytes [Off, Off+Len) at position Off
)

func (k StepKind) String() string {
	switch k {
	case StepPut:
		return "put"
	case StepUpload:
		return "upload"
	case StepCopy:
		return "copy"
	case StepAppend:
		return "append"
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
	// Appendable says the object can be extended with appends at BaseSize:
	// the base is an appendable object exactly BaseSize long, or (BaseSize
	// 0) a new object to be created appendable. When every dirty byte lies
	// at or past BaseSize the plan is then a PlanAppend.
	Appendable bool
	// MinPartSize is the server's smallest non-last part; 0 means
	// MinPartSize (OBS's 100 KB). S3 servers need 5 MiB (S3MinPartSize).
	MinPartSize int64
}

// S3MinPartSize is the smallest non-last part of S3 and of the servers
// that follow it (versitygw, MinIO, Ceph RGW).
const S3MinPartSize = 5 << 20

// minPart is the smallest non-last part of this plan.
func (in PlanInput) minPart() int64 {
	return max(in.MinPartSize, MinPartSize)
}

// appendOnly reports whether every dirty byte lies at or past BaseSize and
// the content does not shrink below it.
func (in PlanInput) appendOnly() bool {
	for _, iv := range in.Dirty {
		if iv.Start < in.BaseSize {
			return false
		}
	}
	return in.Size >= in.BaseSize
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
	if in.Appendable && in.appendOnly() {
		return planAppend(in), nil
	}
	if in.BaseSize >= in.minPart() && in.Size > in.BaseSize && in.appendOnly() {
		if p, ok := planCopyFirst(in); ok {
			return p, nil
		}
	}
	ps := max(EffectivePartSize(in.PartSize, in.Size), min(in.minPart(), MaxPartSize))
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

// planAppend sends the bytes past the base as appends of at most
// MaxPartSize each. A new empty object is one empty append (it creates the
// object); an unchanged length needs no request at all.
func planAppend(in PlanInput) Plan {
	p := Plan{Kind: PlanAppend}
	if in.Size == 0 && in.BaseSize == 0 {
		p.Steps = []Step{{Kind: StepAppend}}
		return p
	}
	for off := in.BaseSize; off < in.Size; off += MaxPartSize {
		p.Steps = append(p.Steps, Step{Kind: StepAppend, Off: off, Len: min(MaxPartSize, in.Size-off)})
	}
	return p
}

// planCopyFirst plans the growth of a normal base object of at least
// MinPartSize with no change below its end: the whole base is copied on the
// server (in as few equal copy parts as MaxPartSize allows; they need not
// lie on the part grid), then the new bytes are uploaded in parts starting
// at the base's end. ok is false when the parts would not fit MaxParts.
func planCopyFirst(in PlanInput) (Plan, bool) {
	k := ceilDiv(in.BaseSize, MaxPartSize)
	chunk := ceilDiv(in.BaseSize, k)
	delta := in.Size - in.BaseSize
	ps := max(partSizeFor(in.PartSize, delta, MaxParts-int(k)), in.minPart())
	if ps > MaxPartSize || ceilDiv(delta, ps) > MaxParts-k {
		return Plan{}, false
	}
	p := Plan{Kind: PlanMultipart, PartSize: ps}
	for off := int64(0); off < in.BaseSize; off += chunk {
		p.Steps = append(p.Steps, Step{Kind: StepCopy, Part: len(p.Steps) + 1, Off: off, Len: min(chunk, in.BaseSize-off)})
	}
	for off := in.BaseSize; off < in.Size; off += ps {
		p.Steps = append(p.Steps, Step{Kind: StepUpload, Part: len(p.Steps) + 1, Off: off, Len: min(ps, in.Size-off)})
	}
	return p, true
}

// partSizeFor is EffectivePartSize for size bytes in at most parts parts;
// it may exceed MaxPartSize when they cannot fit.
func partSizeFor(configured, size int64, parts int) int64 {
	ps := configured
	if ps <= 0 {
		ps = DefaultPartSize
	}
	ps = min(max(ps, MinPartSize), MaxPartSize)
	if parts <= 0 {
		return MaxPartSize + 1
	}
	if need := ceilDiv(size, int64(parts)); need > ps {
		ps = ceilDiv(need, partSizeAlign) * partSizeAlign
	}
	return ps
}

// streamPartsPerDoubling is how many parts a streaming upload sends before
// its part size doubles.
const streamPartsPerDoubling = 1000

// StreamPartSize returns the size of part n (1-based) of a streaming
// upload, whose final size is unknown while it runs: the configured part
// size (clamped like EffectivePartSize), doubled every 1000 parts, at most
// MaxPartSize. With 8 MiB parts, 10,000 parts hold about 7.8 TiB; a file
// still growing past what the remaining parts can hold is re-planned by
// Commit.
func StreamPartSize(configured int64, n int) int64 {
	ps := configured
	if ps <= 0 {
		ps = DefaultPartSize
	}
	ps = min(max(ps, MinPartSize), MaxPartSize)
	for d := (n - 1) / streamPartsPerDoubling; d > 0 && ps < MaxPartSize; d-- {
		ps *= 2
	}
	return min(ps, MaxPartSize)
}

// copyable reports whether the grid cell [off, off+n) can be copied from
// the base object.
func copyable(in PlanInput, dirty *Ranges, off, n int64) bool {
	last := off+n == in.Size
	return off+n <= in.BaseSize && !dirty.Overlaps(off, off+n) && (n >= in.minPart() || last)
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
