package transfer

// spool.go: the local source of truth for one file open for writing.
//
// A Spool is a sparse, unlinked temp file plus bookkeeping. Its logical
// content is: for every byte below baseLen that is not present locally, the
// base object's byte; every other byte is in the local file (zeros where
// nothing was written: holes, truncate-then-extend gaps). Base bytes are
// fetched on demand with ranged GETs pinned by If-Match to the base ETag, so
// a spool never mixes two versions of the object: a change on the server
// makes the fetch fail with ErrStale.
//
// Two interval sets drive reads and uploads: present (bytes the local file
// holds authoritatively) and dirty (bytes that differ from the base, which
// the upload planner must upload rather than copy on the server).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// Base is the object a spool shadows.
type Base struct {
	Key       string
	ETag      string
	Size      int64
	VersionID string
	// Appendable and NextAppendPosition come from ObjectInfo (fs fills
	// them when it opens an existing object). An appendable base grown
	// only past its end is committed by appending the new bytes.
	Appendable         bool
	NextAppendPosition int64
}

const (
	// fetchAlign rounds read-through fetches out to this granularity, so
	// small reads of a large base do not issue tiny GETs.
	fetchAlign = 1 << 20
	// maxFetch bounds one read-through GET (and its buffer).
	maxFetch = 8 << 20
)

// ErrClosed is returned by a Spool used after Close.
var ErrClosed = errors.New("transfer: spool closed")

// Spool holds the content of a file open for writing. It is safe for
// concurrent use.
//
// LOCK ORDERING: commitMu before mu. mu is never held across network I/O;
// it is held across local file I/O (pread/pwrite), which keeps the file and
// the bookkeeping in step.
type Spool struct {
	src ObjectSource
	f   *os.File

	commitMu sync.Mutex // serializes commits of this spool

	mu sync.Mutex
	// GUARDED_BY(mu):
	base    *Base  // object shadowed; nil for a new file
	gen     uint64 // bumped when base changes; a fetch of an older base is discarded
	size    int64  // logical size
	baseLen int64  // INVARIANT: 0 <= baseLen <= size; baseLen <= base.Size
	present Ranges // INVARIANT: within [0, size); bytes [baseLen, size) are local whether listed or not
	dirty   Ranges // INVARIANT: within [0, size); bytes differing from base
	changed bool   // something to commit since the last commit
	mods    uint64 // bumped by every mutation (commit detects writes made while it ran)
	lowSize int64  // smallest size since the last beginCommit
	touched Ranges // bytes dirtied since the last snapshot (within dirty)
	closed  bool
	// appendable asks for a new file to be created as an appendable
	// object (SetAppendable).
	appendable bool
	// stream is the streaming upload attached by Uploader.Stream, if any.
	stream *stream

	// Crash journal (journal.go); jr is nil for an unjournaled spool.
	// GUARDED_BY(mu):
	jr       *Journal
	jid      string   // file name stem in the journal directory
	jf       *os.File // the record; nil until there is something to commit
	jnew     bool     // record created since the directory was last fsync'd
	jsize    int64    // bytes in the record (compaction)
	jbroken  bool     // journaling failed: no record any more
	jkey     string
	jmeta    map[string]string
	jctype   string
	juploads map[string]string // multipart uploads in progress: id → key
	// reclaim frees local disk on ENOSPC (SetReclaim); may be nil.
	reclaim func(need int64) int64
}

// SetAppendable opts a new file into being created as an OBS appendable
// object: its first commit is AppendObject at position 0 (the commit's
// WriteOptions apply then only) and every later commit appends the bytes
// written since, as long as the file only grows. fs calls it right after
// NewSpool(dir, nil, src) for files created with O_APPEND. It has no effect
// on a spool whose base exists (an appendable base is appended to anyway).
func (s *Spool) SetAppendable(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.appendable = on
	if s.jf != nil {
		s.jAppendLocked(s.stateLocked())
	}
}

// NewSpool creates a spool in dir. base is the object the file starts as
// (nil for a new file, which is then dirty: committing creates the object
// even when empty); src fetches base bytes not yet local.
func NewSpool(dir string, base *Base, src ObjectSource) (*Spool, error) {
	f, err := os.CreateTemp(dir, ".obsfs-spool-*") // mode 0600
	if err != nil {
		return nil, fmt.Errorf("transfer: create spool: %w", err)
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, fmt.Errorf("transfer: unlink spool: %w", err)
	}
	return newSpoolFile(f, base, src), nil
}

// newSpoolFile builds a spool over an empty local file.
func newSpoolFile(f *os.File, base *Base, src ObjectSource) *Spool {
	s := &Spool{src: src, f: f, changed: base == nil}
	if base != nil {
		b := *base
		s.base = &b
		s.size, s.baseLen, s.lowSize = b.Size, b.Size, b.Size
	}
	return s
}

// Size is the logical size of the file.
func (s *Spool) Size() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.size
}

// Dirty reports whether there is anything to upload since the last commit.
func (s *Spool) Dirty() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// Base returns a copy of the object the spool shadows (after a commit, the
// committed object), or nil for a new file never committed.
func (s *Spool) Base() *Base {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.base == nil {
		return nil
	}
	b := *s.base
	return &b
}

// WriteAt writes p at off, extending the file (with a zero-filled hole when
// off is past the end) as needed.
func (s *Spool) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("transfer: negative offset %d", off)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, ErrClosed
	}
	n, err := s.writeFileLocked(p, off)
	if err != nil && off+int64(n) > s.size {
		// A failed write (ENOSPC) is reported as not done at all (FUSE
		// has no short write with an error): bytes it left past the end
		// are dropped, so they never show up, e.g. after a truncate up.
		// Bytes it overwrote within the file did change and stay dirty.
		n = int(max(0, s.size-off))
		if terr := s.f.Truncate(s.size); terr != nil {
			return 0, errors.Join(err, terr)
		}
	}
	if n > 0 {
		end := off + int64(n)
		from := min(off, s.size) // a hole [size, off) becomes local zeros
		s.present.Add(from, end)
		s.dirty.Add(from, end)
		s.touched.Add(from, end)
		s.size = max(s.size, end)
		s.touchLocked()
		s.jNoteLocked(jEntry{Op: "write", Off: off, End: end})
		s.streamWroteLocked(off, end)
	}
	return n, err
}

// Truncate sets the logical size. Bytes past a shrink are forgotten: growing
// again exposes zeros, never the base object's old bytes.
func (s *Spool) Truncate(size int64) error {
	if size < 0 {
		return fmt.Errorf("transfer: negative size %d", size)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if size == s.size {
		return nil
	}
	if err := s.f.Truncate(size); err != nil {
		return err
	}
	if size < s.size {
		s.present.Remove(size, s.size)
		s.dirty.Remove(size, s.size)
		s.touched.Remove(size, s.size)
		s.baseLen = min(s.baseLen, size)
		s.lowSize = min(s.lowSize, size)
	} else {
		s.present.Add(s.size, size)
		s.dirty.Add(s.size, size)
		s.touched.Add(s.size, size)
	}
	s.size = size
	s.touchLocked()
	s.jNoteLocked(jEntry{Op: "trunc", Size: size})
	s.streamTruncatedLocked(size)
	return nil
}

// touchLocked records a mutation. REQUIRES mu.
func (s *Spool) touchLocked() {
	s.changed = true
	s.mods++
}

// ReadAt reads len(p) bytes at off, fetching base bytes not yet local. It
// returns io.EOF with fewer bytes when the read crosses the end of the file.
// A base object changed on the server yields an error wrapping ErrStale.
func (s *Spool) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("transfer: negative offset %d", off)
	}
	for {
		if err := s.ensureLocal(ctx, off, off+int64(len(p)), true); err != nil {
			return 0, err
		}
		n, done, err := s.readLocal(p, off)
		if done {
			return n, err
		}
		// A concurrent commit or truncate changed what is local: fetch again.
	}
}

// readLocal copies local bytes into p; done is false when part of the range
// is not local (any more).
func (s *Spool) readLocal(p []byte, off int64) (n int, done bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, true, ErrClosed
	}
	if off >= s.size {
		return 0, true, io.EOF
	}
	end := min(off+int64(len(p)), s.size)
	if len(s.gapsLocked(off, end)) > 0 {
		return 0, false, nil
	}
	n, err = readFull(s.f, p[:end-off], off)
	if err == nil && n < len(p) {
		err = io.EOF
	}
	return n, true, err
}

// readFull reads len(p) bytes at off of f; bytes past the end of the file
// (which only holes can be) read as zeros.
func readFull(f *os.File, p []byte, off int64) (int, error) {
	n, err := f.ReadAt(p, off)
	if errors.Is(err, io.EOF) {
		clear(p[n:])
		return len(p), nil
	}
	return n, err
}

// gapsLocked returns the parts of [start, end) that must come from the base
// object. REQUIRES mu.
func (s *Spool) gapsLocked(start, end int64) []Interval {
	end = min(end, s.baseLen)
	if start >= end {
		return nil
	}
	return s.present.Missing(start, end)
}

// ensureLocal fetches every base byte of [start, end) not yet local. With
// align, fetches are widened to fetchAlign boundaries (reads); without, only
// the missing bytes are fetched (uploads).
func (s *Spool) ensureLocal(ctx context.Context, start, end int64, align bool) error {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return ErrClosed
		}
		gaps := s.gapsLocked(start, end)
		if len(gaps) == 0 {
			s.mu.Unlock()
			return nil
		}
		iv := s.fetchRangeLocked(gaps[0], align)
		p := pin{Key: s.base.Key, ETag: s.base.ETag, VersionID: s.base.VersionID}
		gen := s.gen
		s.mu.Unlock()

		buf := make([]byte, iv.Len())
		if err := getRange(ctx, s.src, p, iv.Start, buf); err != nil {
			return err
		}
		if err := s.store(gen, iv, buf); err != nil {
			return err
		}
	}
}

// fetchRangeLocked returns the range to fetch for a gap: widened to
// fetchAlign boundaries within the base when align is set, and at most
// maxFetch long. REQUIRES mu.
func (s *Spool) fetchRangeLocked(gap Interval, align bool) Interval {
	if !align {
		return Interval{gap.Start, min(gap.End, gap.Start+maxFetch)}
	}
	start := gap.Start / fetchAlign * fetchAlign
	end := min(ceilDiv(gap.End, fetchAlign)*fetchAlign, s.baseLen, start+maxFetch)
	return Interval{start, end}
}

// store writes fetched base bytes into the local file where they are still
// missing. A fetch of a base that has since been replaced is dropped.
func (s *Spool) store(gen uint64, iv Interval, buf []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if gen != s.gen {
		return nil
	}
	for _, m := range s.gapsLocked(iv.Start, iv.End) {
		if _, err := s.writeFileLocked(buf[m.Start-iv.Start:m.End-iv.Start], m.Start); err != nil {
			return fmt.Errorf("transfer: spool write: %w", err)
		}
		s.present.Add(m.Start, m.End)
		if s.jf != nil { // a clean spool has no record, and fetching does not dirty it
			s.jAppendLocked(jEntry{Op: "have", Off: m.Start, End: m.End})
		}
	}
	return nil
}

// Close releases the spool's file (already unlinked, so its space is freed).
// A streaming upload still attached is aborted.
func (s *Spool) Close() error {
	if st := s.detachStream(); st != nil {
		st.discard()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.forgetLocked() // closed by its owner: nothing left to recover
	return s.f.Close()
}

// spoolSnapshot is what a commit works from.
type spoolSnapshot struct {
	noBaseCheck bool // CommitOptions.KeepChangedBase (set by the uploader)
	size        int64
	baseLen     int64
	base        *Base // copy; nil for a new file
	dirty       []Interval
	mods        uint64
	changed     bool
	// appendable: the spool opted in with SetAppendable.
	appendable bool
}

// snapshot captures the state a commit plans from. REQUIRES commitMu.
func (s *Spool) snapshot() (spoolSnapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return spoolSnapshot{}, ErrClosed
	}
	snap := spoolSnapshot{size: s.size, baseLen: s.baseLen, dirty: s.dirty.Intervals(), mods: s.mods, changed: s.changed, appendable: s.appendable}
	if s.base != nil {
		b := *s.base
		snap.base = &b
	}
	s.lowSize = s.size
	s.touched.Clear()
	return snap, nil
}

// committed makes the object just written the spool's new base. Mutations
// made while the commit ran stay dirty (they may or may not be in the
// object), so the next commit uploads them again. REQUIRES commitMu.
func (s *Spool) committed(snap spoolSnapshot, b Base) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.base = &b
	s.gen++
	defer s.jRebasedLocked()
	if s.mods == snap.mods {
		s.baseLen = s.size
		s.dirty.Clear()
		s.changed = false
		return
	}
	s.baseLen = min(snap.size, s.lowSize, s.size)
}

// advance records that the object b on the server now holds the snapshot's
// content up to b.Size (a partial or complete append). Bytes below b.Size
// stop being dirty unless the spool changed since the snapshot. The bytes
// of the old base below b.Size are unchanged in b (appends never rewrite),
// so the re-pinned read-through stays correct. REQUIRES commitMu.
func (s *Spool) advance(snap spoolSnapshot, b Base) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.base = &b
	s.gen++
	defer s.jRebasedLocked()
	if s.mods == snap.mods {
		s.dirty.Remove(0, b.Size)
		s.baseLen = b.Size
		if b.Size == s.size {
			s.changed = false
		}
		return
	}
	// Bytes below b.Size not touched since the snapshot are in b now.
	s.baseLen = min(b.Size, s.lowSize, s.size)
	s.dirty.Remove(0, s.baseLen)
	for _, iv := range s.touched.Intervals() {
		if iv.Start < s.baseLen {
			s.dirty.Add(iv.Start, min(iv.End, s.baseLen))
		}
	}
}

// sectionReader returns a reader over the local bytes [off, off+n); the
// caller has made them local with ensureLocal.
func (s *Spool) sectionReader(off, n int64) *io.SectionReader {
	return io.NewSectionReader(spoolFile{s.f}, off, n)
}

// spoolFile reads the local file, holes past its end as zeros.
type spoolFile struct{ f *os.File }

func (sf spoolFile) ReadAt(p []byte, off int64) (int, error) { return readFull(sf.f, p, off) }
