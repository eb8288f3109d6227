package transfer

// upload.go: committing a spool as an object.
//
// Commit snapshots the spool's bookkeeping, asks the planner for the
// requests, and runs them: one PUT with Content-MD5 for small files, or a
// multipart upload whose parts are uploaded from the spool (after fetching
// any base bytes a part still needs) or copied on the server from the base
// object pinned by If-Match, at most Concurrency at a time. Any failure
// aborts the multipart upload (with a context of its own, so a cancelled
// caller still cleans up) and leaves the spool as it was: still dirty, so a
// later Commit retries. Only a successful Commit moves the spool's base to
// the new object.

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/obsfs/obsfs/obsclient"
)

// DefaultConcurrency is the default number of parts in flight per commit
// (parallel_count).
const DefaultConcurrency = 8

// cleanupTimeout bounds the abort (or the check of an ambiguous complete)
// that runs after a failure, independently of the caller's context.
const cleanupTimeout = 30 * time.Second

// cleanupBound is cleanupTimeout, or what is left of ctx's retry budget
// when that is longer: an abort during an outage waits for the server
// like the commit did, rather than leaving the upload behind.
func cleanupBound(ctx context.Context) time.Duration {
	return max(cleanupTimeout, obsclient.RetryBudgetLeft(ctx))
}

// UploaderConfig configures an Uploader. Zero fields take defaults.
type UploaderConfig struct {
	PartSize    int64 // multipart_size; 0 = DefaultPartSize
	Concurrency int   // parallel_count: parts in flight per commit; default 8
	Logger      *zap.Logger
	// StreamMaxInFlight caps the bytes of background parts in flight per
	// streaming upload (Stream); default Concurrency × PartSize. One part
	// is always allowed, however large.
	StreamMaxInFlight int64
	// MinPartSize is the server's smallest non-last part; 0 asks the
	// client (a MinPartSize method, as *obsclient.Bucket has), else
	// MinPartSize.
	MinPartSize int64
}

// UploadStats counts an Uploader's work (for the stats file).
type UploadStats struct {
	Commits, Failures          int64
	InFlight                   int64 // commits running now
	BytesUploaded, BytesCopied int64
	Parts, CopyParts           int64
	Appends                    int64 // append requests of the append fast path
	Retries                    int64 // commits run again after a transient failure (retry budget)
}

// Uploader commits spools. It is safe for concurrent use; commits of the
// same spool are serialized.
type Uploader struct {
	c   Client
	cfg UploaderConfig
	log *zap.Logger

	commits, failures, inFlight atomic.Int64
	uploaded, copied            atomic.Int64
	parts, copyParts            atomic.Int64
	appends                     atomic.Int64

	// noAppendAPI: the server answered an append with 405/501 (an S3
	// server, a parallel file system bucket): later commits skip the
	// append path instead of paying a refused request per new file.
	noAppendAPI atomic.Bool
	retries     atomic.Int64 // commits run again after a transient failure
}

// NewUploader returns an Uploader writing through c.
func NewUploader(c Client, cfg UploaderConfig) *Uploader {
	if cfg.PartSize <= 0 {
		cfg.PartSize = DefaultPartSize
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if mp, ok := c.(interface{ MinPartSize() int64 }); ok && cfg.MinPartSize <= 0 {
		cfg.MinPartSize = mp.MinPartSize()
	}
	if cfg.StreamMaxInFlight <= 0 {
		cfg.StreamMaxInFlight = int64(cfg.Concurrency) * cfg.PartSize
	}
	return &Uploader{c: c, cfg: cfg, log: cfg.Logger}
}

// Stats returns the counters so far.
func (u *Uploader) Stats() UploadStats {
	return UploadStats{
		Commits: u.commits.Load(), Failures: u.failures.Load(), InFlight: u.inFlight.Load(),
		BytesUploaded: u.uploaded.Load(), BytesCopied: u.copied.Load(),
		Parts: u.parts.Load(), CopyParts: u.copyParts.Load(), Appends: u.appends.Load(), Retries: u.retries.Load(),
	}
}

// CommitOptions select optional behaviour of CommitWith.
type CommitOptions struct {
	// NoAppend forbids the append fast path for this commit: appends carry
	// WriteOptions only when they create the object, so fs sets it when the
	// metadata, ACL or storage class of an appendable file changed since it
	// was last committed (the commit then rewrites the object, which makes
	// it a normal object).
	NoAppend bool
	// KeepChangedBase: the base changed on the server and the caller
	// wants the file as it was written, base bytes and all, under another
	// key (crash recovery beside a conflicting object): no base check.
	KeepChangedBase bool
	// StreamMetadataMayDiffer lets a streaming upload (Stream) complete
	// although o.Metadata differs from the Metadata given to Stream (the
	// upload was initiated with those; Complete cannot change them): the
	// object then carries Stream's Metadata, and fs refreshes it afterwards
	// if it must (SetObjectMetadata). fs sets it when only POSIX times
	// moved. Without it, any difference in o abandons the streamed parts and
	// re-uploads the file with o. Other fields must match in any case.
	StreamMetadataMayDiffer bool
}

// Commit writes the spool's content as the object key with the given
// options, and on success makes that object the spool's base (no longer
// dirty). A spool that is not dirty and already based on key is not
// rewritten: Commit returns its base. On failure nothing partial is left on
// the server and the spool is unchanged. Errors wrap ErrStale when the base
// object changed on the server, ErrTooLarge for files past the object limit,
// ErrAppendConflict when another writer appended to an appendable base.
//
// The cheapest requests are chosen from the spool's state: appends of the
// new bytes to an appendable base (or to a new file opted in with
// Spool.SetAppendable) when the file only grew; a multipart upload copying
// the whole old object on the server and uploading only the new bytes when
// a normal base of at least MinPartSize only grew; the tail and Complete of
// a streaming upload (Stream); otherwise the planner's PUT or multipart
// plan.
func (u *Uploader) Commit(ctx context.Context, key string, s *Spool, o obsclient.WriteOptions) (obsclient.PutResult, error) {
	return u.CommitWith(ctx, key, s, o, CommitOptions{})
}

// CommitWith is Commit with options.
//
// A commit that failed transiently (5xx, SlowDown, a reset, a timeout, a
// refused connection: obsclient.IsTransient) is run again from a fresh
// snapshot and plan, after a capped, jittered backoff, while ctx's retry
// budget (obsclient.WithRetryBudget) lasts; each request inside already
// retries within the same budget, so this outer loop only matters for the
// requests sent once (append, complete) and for multipart uploads that
// vanished: a NoSuchUpload (the upload was aborted under us, e.g. by a
// lifecycle rule or another client) re-plans at once, budget or not, up
// to maxReplans times.
func (u *Uploader) CommitWith(ctx context.Context, key string, s *Spool, o obsclient.WriteOptions, co CommitOptions) (obsclient.PutResult, error) {
	replans := 0
	for n := 1; ; n++ {
		res, err := u.commitOnce(ctx, key, s, o, co)
		if err == nil || ctx.Err() != nil {
			return res, err
		}
		switch {
		case obsclient.IsCode(err, "NoSuchUpload") && replans < maxReplans:
			replans++
			u.log.Info("multipart upload vanished: re-planning the commit", zap.String("key", key), zap.Error(err))
			continue
		case obsclient.IsTransient(err) && obsclient.RetryBudgetLeft(ctx) > 0:
			d := min(commitBackoff(n), obsclient.RetryBudgetLeft(ctx))
			u.retries.Add(1)
			u.log.Warn("commit failed, retrying within the retry budget", zap.String("key", key), zap.Int("attempt", n),
				zap.Duration("in", d), zap.Duration("budget_left", obsclient.RetryBudgetLeft(ctx)), zap.Error(err))
			t := time.NewTimer(d)
			select {
			case <-t.C:
				continue
			case <-ctx.Done():
				t.Stop()
				return res, err
			}
		}
		return res, err
	}
}

// maxReplans bounds the re-plans of a commit whose multipart upload vanished.
const maxReplans = 3

// commitBackoff is the delay before commit attempt n+1: full jitter over
// 500ms·2^(n-1), capped at 10 s.
func commitBackoff(n int) time.Duration {
	d := 500 * time.Millisecond
	for i := 1; i < n && d < 10*time.Second; i++ {
		d *= 2
	}
	d = min(d, 10*time.Second)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// commitOnce is one attempt of CommitWith.
func (u *Uploader) commitOnce(ctx context.Context, key string, s *Spool, o obsclient.WriteOptions, co CommitOptions) (obsclient.PutResult, error) {
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	res, err := u.commitLocked(ctx, key, s, o, co)
	if err != nil {
		// The data of a failed commit must survive a reboot (journal.go).
		if serr := s.Sync(); serr != nil {
			u.log.Warn("sync of the write journal failed", zap.String("key", key), zap.Error(serr))
		}
	}
	return res, err
}

// commitLocked is CommitWith. REQUIRES s.commitMu.
func (u *Uploader) commitLocked(ctx context.Context, key string, s *Spool, o obsclient.WriteOptions, co CommitOptions) (obsclient.PutResult, error) {
	s.noteCommit(key, o.Metadata, o.ContentType)
	st := s.detachStream()
	snap, err := s.snapshot()
	if err != nil {
		if st != nil {
			st.discard()
		}
		return obsclient.PutResult{}, err
	}
	if st != nil {
		res, done, err := u.commitStream(ctx, key, s, snap, st, o, co)
		if done || err != nil {
			return res, err
		}
	}
	if !snap.changed && snap.base != nil && snap.base.Key == key {
		return obsclient.PutResult{ETag: snap.base.ETag, VersionID: snap.base.VersionID}, nil
	}
	appendable := u.canAppend(snap, key, co)
	plan, err := PlanUpload(PlanInput{Size: snap.size, PartSize: u.cfg.PartSize, BaseSize: snap.baseSize(), Dirty: snap.dirty, Appendable: appendable, MinPartSize: u.cfg.MinPartSize})
	if err != nil {
		return obsclient.PutResult{}, err
	}
	if plan.Kind == PlanAppend {
		res, err := u.commitAppend(ctx, key, s, snap, plan, o)
		if !errors.Is(err, errNotAppendable) {
			return res, err
		}
		u.log.Info("object cannot take appends: rewriting it", zap.String("key", key), zap.Error(err))
		if snap, err = s.snapshot(); err != nil { // the base may have advanced
			return obsclient.PutResult{}, err
		}
		plan, err = PlanUpload(PlanInput{Size: snap.size, PartSize: u.cfg.PartSize, BaseSize: snap.baseSize(), Dirty: snap.dirty, MinPartSize: u.cfg.MinPartSize})
		if err != nil {
			return obsclient.PutResult{}, err
		}
	}
	u.inFlight.Add(1)
	defer u.inFlight.Add(-1)
	start := time.Now()
	if co.KeepChangedBase {
		snap.noBaseCheck = true
	}
	res, err := u.run(ctx, key, s, snap, plan, o)
	up, cp := plan.Bytes()
	log := u.log.With(zap.String("key", key), zap.Stringer("plan", plan.Kind), zap.Int("steps", len(plan.Steps)),
		zap.Int64("size", snap.size), zap.Int64("upload_bytes", up), zap.Int64("copy_bytes", cp), zap.Duration("took", time.Since(start)))
	if err != nil {
		u.failures.Add(1)
		log.Warn("commit failed", zap.Error(err))
		return obsclient.PutResult{}, err
	}
	u.commits.Add(1)
	u.uploaded.Add(up)
	u.copied.Add(cp)
	log.Debug("committed", zap.String("etag", res.ETag))
	s.committed(snap, Base{Key: key, ETag: res.ETag, Size: snap.size, VersionID: res.VersionID})
	return res, nil
}

// commitAppend runs an append plan (see append.go).
func (u *Uploader) commitAppend(ctx context.Context, key string, s *Spool, snap spoolSnapshot, plan Plan, o obsclient.WriteOptions) (obsclient.PutResult, error) {
	if len(plan.Steps) == 0 { // grown and shrunk back: nothing new
		s.committed(snap, *snap.base)
		return obsclient.PutResult{ETag: snap.base.ETag, VersionID: snap.base.VersionID}, nil
	}
	u.inFlight.Add(1)
	defer u.inFlight.Add(-1)
	start := time.Now()
	res, err := u.runAppend(ctx, key, s, snap, plan, o)
	log := u.log.With(zap.String("key", key), zap.Stringer("plan", plan.Kind), zap.Int("steps", len(plan.Steps)),
		zap.Int64("size", snap.size), zap.Int64("from", snap.baseSize()), zap.Duration("took", time.Since(start)))
	if err != nil {
		if !errors.Is(err, errNotAppendable) {
			u.failures.Add(1)
			log.Warn("append commit failed", zap.Error(err))
		}
		return obsclient.PutResult{}, err
	}
	u.commits.Add(1)
	u.appends.Add(int64(len(plan.Steps)))
	log.Debug("appended", zap.String("etag", res.ETag))
	return res, nil
}

// baseSize is the prefix of the content the planner may copy from the base.
func (snap spoolSnapshot) baseSize() int64 {
	if snap.base == nil {
		return 0
	}
	return snap.baseLen
}

func (u *Uploader) run(ctx context.Context, key string, s *Spool, snap spoolSnapshot, plan Plan, o obsclient.WriteOptions) (obsclient.PutResult, error) {
	switch plan.Kind {
	case PlanPut:
		if err := u.checkBase(ctx, snap); err != nil {
			return obsclient.PutResult{}, err
		}
		return u.put(ctx, key, s, plan.Steps[0], o)
	case PlanMultipart:
		return u.multipart(ctx, key, s, snap, plan, o)
	}
	return obsclient.PutResult{}, fmt.Errorf("transfer: unknown plan kind %v", plan.Kind)
}

// checkBase fails with ErrStale when the content to PUT keeps bytes of a
// base object that changed on the server since (another client appended to
// or replaced it): the PUT would silently drop that writer's change, while
// the result mixes its old bytes with ours. The multipart path pins the
// base on every copied part instead (UploadPartCopy with If-Match), and
// base bytes fetched into the spool are pinned by their GET; this is the
// same pin for a PUT whose base bytes were already local. One HEAD with
// If-Match; a change in the instant between it and the PUT goes unseen.
func (u *Uploader) checkBase(ctx context.Context, snap spoolSnapshot) error {
	b := snap.base
	if b == nil || snap.baseLen == 0 || b.ETag == "" || snap.noBaseCheck {
		return nil
	}
	if len(snap.dirty) > 0 && snap.dirty[0].Start == 0 && snap.dirty[0].End >= min(snap.baseLen, snap.size) {
		return nil // every kept byte was rewritten: nothing of the base is in the PUT
	}
	_, err := u.c.HeadObject(ctx, b.Key, obsclient.GetOptions{IfMatch: b.ETag, VersionID: b.VersionID})
	return stale(pin{Key: b.Key, ETag: b.ETag, VersionID: b.VersionID}, err)
}

// put writes the whole object in one PUT with Content-MD5.
func (u *Uploader) put(ctx context.Context, key string, s *Spool, st Step, o obsclient.WriteOptions) (obsclient.PutResult, error) {
	if err := s.ensureLocal(ctx, st.Off, st.Off+st.Len, false); err != nil {
		return obsclient.PutResult{}, err
	}
	body := s.sectionReader(st.Off, st.Len)
	h := md5.New()
	if _, err := io.Copy(h, body); err != nil {
		return obsclient.PutResult{}, fmt.Errorf("transfer: read spool: %w", err)
	}
	if _, err := body.Seek(0, io.SeekStart); err != nil {
		return obsclient.PutResult{}, err
	}
	o.ContentMD5 = base64.StdEncoding.EncodeToString(h.Sum(nil))
	return u.c.PutObject(ctx, key, body, st.Len, o)
}

// multipart runs a multipart plan; on any failure it aborts the upload.
func (u *Uploader) multipart(ctx context.Context, key string, s *Spool, snap spoolSnapshot, plan Plan, o obsclient.WriteOptions) (obsclient.PutResult, error) {
	o.ContentMD5 = ""
	uploadID, err := u.c.InitiateMultipartUpload(ctx, key, o)
	if err != nil {
		return obsclient.PutResult{}, err
	}
	s.noteUpload(key, uploadID)
	parts, err := u.runSteps(ctx, key, uploadID, s, snap, plan.Steps)
	if err == nil {
		var res obsclient.PutResult
		res, err = u.c.CompleteMultipartUpload(ctx, key, uploadID, parts)
		if err == nil {
			s.noteUploadDone(uploadID)
			return res, nil
		}
		if res, ok := u.settle(ctx, key, uploadID, parts, err); ok {
			s.noteUploadDone(uploadID)
			return res, nil
		}
	}
	if u.abort(ctx, key, uploadID) {
		s.noteUploadDone(uploadID)
	}
	return obsclient.PutResult{}, err
}

// runSteps uploads or copies every part, at most Concurrency at a time. The
// first failure cancels the others.
func (u *Uploader) runSteps(ctx context.Context, key, uploadID string, s *Spool, snap spoolSnapshot, steps []Step) ([]obsclient.Part, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	parts := make([]obsclient.Part, len(steps))
	sem := make(chan struct{}, u.cfg.Concurrency)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		cancel()
	}
	for i, st := range steps {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			p, err := u.step(ctx, key, uploadID, s, snap, st)
			if err != nil {
				fail(fmt.Errorf("part %d: %w", st.Part, err))
				return
			}
			parts[i] = p
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return parts, nil
}

// step uploads or copies one part.
func (u *Uploader) step(ctx context.Context, key, uploadID string, s *Spool, snap spoolSnapshot, st Step) (obsclient.Part, error) {
	var (
		p   obsclient.Part
		err error
	)
	switch st.Kind {
	case StepCopy:
		b := snap.base
		src := obsclient.CopySource{Key: b.Key, VersionID: b.VersionID, IfMatch: b.ETag}
		p, err = u.c.UploadPartCopy(ctx, key, uploadID, st.Part, src, obsclient.Range{Start: st.Off, End: st.Off + st.Len - 1})
		err = stale(pin{Key: b.Key, ETag: b.ETag}, err)
		u.copyParts.Add(1)
	case StepUpload:
		if err = s.ensureLocal(ctx, st.Off, st.Off+st.Len, false); err != nil {
			return p, err
		}
		p, err = u.c.UploadPart(ctx, key, uploadID, st.Part, s.sectionReader(st.Off, st.Len), st.Len)
		u.parts.Add(1)
	default:
		return p, fmt.Errorf("transfer: step kind %v in a multipart plan", st.Kind)
	}
	if err != nil {
		return p, err
	}
	p.Number = st.Part
	if p.Size == 0 {
		p.Size = st.Len
	}
	return p, nil
}

// settle decides whether a Complete that failed ambiguously (no response, or
// a server error) did in fact create the object: the object then carries our
// upload id, or the multipart ETag our parts imply.
func (u *Uploader) settle(ctx context.Context, key, uploadID string, parts []obsclient.Part, cerr error) (obsclient.PutResult, bool) {
	if sc := obsclient.StatusCode(cerr); sc >= 400 && sc < 500 {
		return obsclient.PutResult{}, false
	}
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	info, err := u.c.HeadObject(hctx, key, obsclient.GetOptions{})
	if err != nil {
		return obsclient.PutResult{}, false
	}
	want := multipartETag(parts)
	if (info.UploadID != "" && info.UploadID == uploadID) || (want != "" && strings.Trim(info.ETag, `"`) == want) {
		u.log.Info("complete failed but the object was created", zap.String("key", key), zap.Error(cerr))
		return obsclient.PutResult{ETag: strings.Trim(info.ETag, `"`), VersionID: info.VersionID, LastModified: info.LastModified}, true
	}
	return obsclient.PutResult{}, false
}

// multipartETag is the ETag a completed upload of parts gets:
// hex(md5(concatenated binary part md5s))-N, or "" if a part ETag is not an MD5.
func multipartETag(parts []obsclient.Part) string {
	h := md5.New()
	for _, p := range parts {
		b, err := hex.DecodeString(strings.Trim(p.ETag, `"`))
		if err != nil || len(b) != md5.Size {
			return ""
		}
		h.Write(b)
	}
	return fmt.Sprintf("%x-%d", h.Sum(nil), len(parts))
}

// abort discards a multipart upload, even when ctx is already cancelled,
// and reports whether it is gone.
func (u *Uploader) abort(ctx context.Context, key, uploadID string) bool {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupBound(ctx))
	defer cancel()
	if err := u.c.AbortMultipartUpload(actx, key, uploadID); err != nil && !obsclient.IsNotFound(err) {
		u.log.Error("abort multipart upload failed: upload left on the server",
			zap.String("key", key), zap.String("upload_id", uploadID), zap.Error(err))
		return false
	}
	return true
}
