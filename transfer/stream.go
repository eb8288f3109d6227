package transfer

// stream.go: streaming multipart uploads while a file is being written.
//
// A file written sequentially from offset 0 (a new file, or one truncated
// to 0 at open) does not have to wait for close to be uploaded: once
// Uploader.Stream is attached to its spool, every full part is uploaded in
// the background as soon as the writes complete it (part n has size
// StreamPartSize(PartSize, n), growing with the file), at most Concurrency
// parts and StreamMaxInFlight bytes at a time. The multipart upload is
// initiated lazily, with the first full part, so small files cost nothing.
// Commit then uploads only the tail and completes.
//
// The spool stays the source of truth: it keeps every byte until a commit
// succeeds, and uploaded ranges are NOT hole-punched (see below), so any
// fallback can re-plan from it. A write at an offset below the end of the
// last dispatched part, or a truncate below it, marks the stream broken:
// its in-flight parts are cancelled and Commit aborts the upload and uses
// the normal plan. A failed background request (after the client's own
// retries) stops the stream; the next Commit aborts the upload and returns
// that error, the spool still dirty, and a later Commit re-plans normally.
// Commit also falls back (abort, normal plan) when called with another key
// or other WriteOptions than Stream was, since the upload was initiated
// with those.
//
// Hole punching of uploaded ranges is deliberately not done: until the
// upload is completed the parts are not an object anyone can read back,
// so a fallback (out-of-order write, failed part, changed options) would
// need the punched bytes. Punching safely requires completing the streamed
// upload as the object first and re-basing the spool on it; not done yet.

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"

	"go.uber.org/zap"

	"github.com/obsfs/obsfs/obsclient"
)

// ErrNotStreamable is returned by Stream for a spool whose content is not
// written from scratch (it still shadows base bytes) or that already
// streams.
var ErrNotStreamable = errors.New("transfer: spool cannot stream")

// stream is a streaming multipart upload attached to a spool.
type stream struct {
	u      *Uploader
	s      *Spool
	key    string
	opts   obsclient.WriteOptions
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // background part uploads

	initOnce sync.Once
	uploadID string // set by initOnce
	initErr  error

	discardOnce sync.Once

	// GUARDED_BY(s.mu):
	frontier int64 // end of the last part dispatched
	next     int   // number of the next part to dispatch
	inFlight int
	inBytes  int64
	broken   bool  // a write or truncate went below frontier
	detached bool  // taken by Commit or Close: dispatch no more
	err      error // first failed background request
	parts    []obsclient.Part
}

// Stream attaches a streaming upload of key to s: from now on every full
// part written is uploaded in the background, and the next Commit of s
// (with the same key and WriteOptions) uploads only the rest and completes
// the upload. One stream serves one commit: after it, Commit works as
// usual. fs calls it right after NewSpool(dir, nil, src) for a new file,
// or after NewSpool(dir, base, src) + Truncate(0) for O_TRUNC, passing the
// options it will commit with. ctx only carries values: the stream lives
// until Commit or Close. It returns ErrNotStreamable when s still shadows
// bytes of its base or already streams; the spool then simply commits
// without streaming.
func (u *Uploader) Stream(ctx context.Context, key string, s *Spool, o obsclient.WriteOptions) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.stream != nil || s.baseLen != 0 {
		return ErrNotStreamable
	}
	o.ContentMD5 = ""
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	st := &stream{u: u, s: s, key: key, opts: o, ctx: sctx, cancel: cancel, next: 1}
	s.stream = st
	st.pumpLocked()
	return nil
}

// Streaming reports whether a streaming upload is attached and healthy
// (for tests and the stats file).
func (s *Spool) Streaming() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stream != nil && !s.stream.broken && s.stream.err == nil
}

// streamWroteLocked notes a write of [off, end). REQUIRES s.mu.
func (s *Spool) streamWroteLocked(off, _ int64) {
	st := s.stream
	if st == nil {
		return
	}
	if off < st.frontier {
		st.breakLocked()
		return
	}
	st.pumpLocked()
}

// streamTruncatedLocked notes a truncate to size. REQUIRES s.mu.
func (s *Spool) streamTruncatedLocked(size int64) {
	st := s.stream
	if st == nil {
		return
	}
	if size < st.frontier {
		st.breakLocked()
		return
	}
	st.pumpLocked()
}

// detachStream takes the stream off the spool so it dispatches no more.
func (s *Spool) detachStream() *stream {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stream
	s.stream = nil
	if st != nil {
		st.detached = true
	}
	return st
}

// breakLocked abandons streaming: parts in flight are cancelled; Commit
// aborts the upload and re-plans. REQUIRES s.mu.
func (st *stream) breakLocked() {
	if !st.broken {
		st.broken = true
		st.u.log.Debug("streaming upload falls back: write below the uploaded range", zap.String("key", st.key))
		go st.discard() // no need to keep the parts until Commit
	}
}

// pumpLocked dispatches every full part the spool holds, within the
// limits. REQUIRES s.mu.
func (st *stream) pumpLocked() {
	s, cfg := st.s, st.u.cfg
	for !st.broken && !st.detached && st.err == nil && !s.closed && st.next < MaxParts {
		ps := StreamPartSize(cfg.PartSize, st.next)
		if s.size < st.frontier+ps || st.inFlight >= cfg.Concurrency ||
			(st.inFlight > 0 && st.inBytes+ps > cfg.StreamMaxInFlight) {
			return
		}
		n, off := st.next, st.frontier
		st.next++
		st.frontier += ps
		st.inFlight++
		st.inBytes += ps
		st.wg.Add(1)
		go st.upload(n, off, ps)
	}
}

// init initiates the multipart upload once.
func (st *stream) init() (string, error) {
	st.initOnce.Do(func() {
		// Not cancelled by a break: an initiate cut short could leave an
		// upload on the server that no one knows to abort.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(st.ctx), cleanupBound(st.ctx))
		defer cancel()
		if st.ctx.Err() != nil {
			st.initErr = st.ctx.Err()
			return
		}
		st.uploadID, st.initErr = st.u.c.InitiateMultipartUpload(ctx, st.key, st.opts)
		if st.initErr == nil {
			st.s.noteUpload(st.key, st.uploadID)
		}
	})
	return st.uploadID, st.initErr
}

// upload sends part n, the spool's bytes [off, off+size).
func (st *stream) upload(n int, off, size int64) {
	defer st.wg.Done()
	id, err := st.init()
	var p obsclient.Part
	if err == nil {
		p, err = st.u.c.UploadPart(st.ctx, st.key, id, n, st.s.sectionReader(off, size), size)
		st.u.parts.Add(1)
	}
	s := st.s
	s.mu.Lock()
	defer s.mu.Unlock()
	st.inFlight--
	st.inBytes -= size
	if err != nil {
		if st.err == nil {
			st.err = fmt.Errorf("transfer: streaming part %d: %w", n, err)
		}
		if !st.broken {
			st.u.log.Warn("streaming part failed", zap.String("key", st.key), zap.Int("part", n), zap.Error(err))
			go st.discard() // the next Commit reports st.err
		}
		return
	}
	st.u.uploaded.Add(size)
	p.Number = n
	if p.Size == 0 {
		p.Size = size
	}
	for len(st.parts) < n {
		st.parts = append(st.parts, obsclient.Part{})
	}
	st.parts[n-1] = p
	st.pumpLocked()
}

// wait waits for the background parts (the stream is detached).
func (st *stream) wait() { st.wg.Wait() }

// discard cancels the stream and aborts its upload; concurrent and later
// calls wait for the first.
func (st *stream) discard() {
	st.discardOnce.Do(func() {
		st.cancel()
		st.wait()
		if st.uploadID != "" && st.u.abort(st.ctx, st.key, st.uploadID) {
			st.s.noteUploadDone(st.uploadID)
		}
	})
}

// commitStream finishes a detached stream: done reports the spool was
// committed through it; with done false and no error, Commit re-plans
// (the upload has been aborted).
func (u *Uploader) commitStream(ctx context.Context, key string, s *Spool, snap spoolSnapshot, st *stream, o obsclient.WriteOptions, co CommitOptions) (res obsclient.PutResult, done bool, err error) {
	st.wait()
	s.mu.Lock()
	broken, serr, frontier, next := st.broken, st.err, st.frontier, st.next
	parts := append([]obsclient.Part(nil), st.parts...)
	s.mu.Unlock()
	o.ContentMD5 = ""
	if co.StreamMetadataMayDiffer {
		o.Metadata = st.opts.Metadata
	}
	fallback := func(why string) (obsclient.PutResult, bool, error) {
		if next > 1 {
			u.log.Info("streaming upload abandoned", zap.String("key", key), zap.String("why", why))
		}
		st.discard()
		return obsclient.PutResult{}, false, nil
	}
	switch {
	case next == 1:
		return fallback("no full part")
	case broken:
		return fallback("write below the uploaded range")
	case serr != nil && replannable(serr):
		return fallback("a part failed: " + serr.Error())
	case serr != nil:
		st.discard()
		u.failures.Add(1)
		return obsclient.PutResult{}, false, serr
	case key != st.key || !sameOptions(o, st.opts):
		return fallback("key or options changed")
	case snap.baseLen != 0 || snap.size < frontier:
		return fallback("spool content changed under the stream")
	}
	// The tail: parts continuing the stream's numbering, as large as needed
	// to fit the remaining part numbers.
	rest := snap.size - frontier
	ps := max(StreamPartSize(u.cfg.PartSize, next), partSizeFor(u.cfg.PartSize, rest, MaxParts-(next-1)))
	if ps > MaxPartSize {
		return fallback("file too large for the streamed part grid")
	}
	var steps []Step
	for off, n := frontier, next; off < snap.size; off, n = off+ps, n+1 {
		steps = append(steps, Step{Kind: StepUpload, Part: n, Off: off, Len: min(ps, snap.size-off)})
	}
	u.inFlight.Add(1)
	defer u.inFlight.Add(-1)
	tail, err := u.runSteps(ctx, key, st.uploadID, s, snap, steps)
	if err == nil {
		parts = append(parts, tail...)
		res, err = u.c.CompleteMultipartUpload(ctx, key, st.uploadID, parts)
		if err != nil {
			if r, ok := u.settle(ctx, key, st.uploadID, parts, err); ok {
				res, err = r, nil
			}
		}
	}
	if err != nil && replannable(err) {
		// The spool keeps every byte (tenet 41): commit from it.
		return fallback("the streamed upload failed: " + err.Error())
	}
	if err != nil {
		st.discard()
		u.failures.Add(1)
		u.log.Warn("streamed commit failed", zap.String("key", key), zap.Error(err))
		return obsclient.PutResult{}, false, err
	}
	st.cancel()
	s.noteUploadDone(st.uploadID)
	u.commits.Add(1)
	u.uploaded.Add(rest)
	u.log.Debug("streamed commit", zap.String("key", key), zap.Int("parts", len(parts)), zap.Int64("tail", rest))
	s.committed(snap, Base{Key: key, ETag: res.ETag, Size: snap.size, VersionID: res.VersionID})
	return res, true, nil
}

// replannable reports a failure of a streamed upload that a commit from
// the spool may cure: the upload vanished (NoSuchUpload), or a transient
// failure (the new plan's requests retry it within the caller's budget).
func replannable(err error) bool {
	return obsclient.IsCode(err, "NoSuchUpload") || obsclient.IsTransient(err)
}

// sameOptions compares write options, an empty metadata map equal to none.
func sameOptions(a, b obsclient.WriteOptions) bool {
	if len(a.Metadata) == 0 {
		a.Metadata = nil
	}
	if len(b.Metadata) == 0 {
		b.Metadata = nil
	}
	return reflect.DeepEqual(a, b)
}
