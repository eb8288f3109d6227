package transfer

// append.go: the append fast path of Commit.
//
// A spool whose base is an OBS appendable object (or a new file opted in
// with SetAppendable) and that only grew past the base is committed by
// appending the new bytes at position = base length, so a commit costs the
// appended bytes, not the file. Appends are not idempotent, so nothing is
// appended twice: every append names its position, and when the server
// says the object is longer than expected (PositionNotEqualToLength) the
// extra bytes are read back and compared with the spool. If they are ours
// (an earlier attempt whose answer was lost landed after all) they are
// adopted and the commit goes on from there; otherwise another writer
// appended and the commit fails with ErrAppendConflict, the spool still
// dirty and nothing written. An object that cannot take appends any more
// (ObjectNotAppendable: 10,000 appends, a COLD object, a normal object
// where a new appendable one was expected) is rewritten with the normal
// plan instead, which makes it a normal object.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.uber.org/zap"

	"github.com/obsfs/obsfs/obsclient"
)

// Appender is the optional client method the append fast path needs;
// *obsclient.Bucket has it. A Client without it never appends.
type Appender interface {
	AppendObject(ctx context.Context, key string, position int64, body io.ReadSeeker, size int64, o obsclient.WriteOptions) (obsclient.AppendResult, error)
}

var _ Appender = (*obsclient.Bucket)(nil)

// ErrAppendConflict reports that the appendable object was appended to (or
// replaced) by another writer since the spool's base was read: the commit
// wrote nothing and the spool stays dirty. The server's error stays in the
// chain. fs maps it to ESTALE (or EIO).
var ErrAppendConflict = errors.New("transfer: appendable object changed on the server")

// errNotAppendable (internal) makes Commit fall back to the normal plan.
var errNotAppendable = errors.New("transfer: object not appendable")

// appendAttempts bounds the attempts of one append chunk after retryable
// failures (the position check makes a retry safe).
const appendAttempts = 3

// verifyChunk is the buffer size used to compare landed bytes with the spool.
const verifyChunk = 4 << 20

// canAppend reports whether a commit of snap to key may take the append path.
func (u *Uploader) canAppend(snap spoolSnapshot, key string, co CommitOptions) bool {
	if _, ok := u.c.(Appender); !ok || co.NoAppend || u.noAppendAPI.Load() {
		return false
	}
	if snap.base == nil {
		return snap.appendable
	}
	b := snap.base
	return b.Key == key && b.Appendable && snap.baseLen == b.Size &&
		(b.NextAppendPosition == 0 || b.NextAppendPosition == b.Size)
}

// runAppend appends the plan's chunks. It returns errNotAppendable
// (wrapping the server's error) when the object cannot take appends; the
// spool has then been advanced past any chunk that did land.
func (u *Uploader) runAppend(ctx context.Context, key string, s *Spool, snap spoolSnapshot, plan Plan, o obsclient.WriteOptions) (obsclient.PutResult, error) {
	ap := u.c.(Appender)
	start := snap.baseSize()
	pos := start
	var err error
	for _, st := range plan.Steps {
		if st.Off+st.Len <= pos && st.Len > 0 {
			continue // adopted from an earlier attempt
		}
		pos, err = u.appendChunk(ctx, ap, key, s, snap, pos, st.Off+st.Len, o)
		if err != nil {
			break
		}
	}
	if pos == start && err != nil {
		return obsclient.PutResult{}, err
	}
	// Something landed: learn the object's new ETag (appends answer with the
	// chunk's) and move the spool's base to it.
	info, herr := u.c.HeadObject(ctx, key, obsclient.GetOptions{SSE: o.SSE})
	if herr != nil {
		// The next commit finds the bytes on the server and adopts them.
		return obsclient.PutResult{}, errors.Join(err, fmt.Errorf("transfer: head after append: %w", herr))
	}
	if info.Appendable && info.Size >= start && info.Size < pos {
		// An append answered success without landing (an error inside a
		// 200): nothing is lost, the next commit appends (or adopts) again.
		return obsclient.PutResult{}, fmt.Errorf("transfer: %q is %d bytes right after appending up to %d", key, info.Size, pos)
	}
	if !info.Appendable || info.Size < pos {
		return obsclient.PutResult{}, fmt.Errorf("%w: %q is %d bytes (appendable %v) right after appending up to %d",
			ErrAppendConflict, key, info.Size, info.Appendable, pos)
	}
	s.advance(snap, Base{Key: key, ETag: strings.Trim(info.ETag, `"`), Size: pos, VersionID: info.VersionID,
		Appendable: true, NextAppendPosition: pos})
	u.uploaded.Add(pos - start)
	if err != nil {
		return obsclient.PutResult{}, err
	}
	return obsclient.PutResult{ETag: strings.Trim(info.ETag, `"`), VersionID: info.VersionID, LastModified: info.LastModified}, nil
}

// appendChunk appends the spool's bytes [pos, end) at pos and returns the
// new position. Retryable failures are retried; a position mismatch is
// resolved by verifyLanded.
func (u *Uploader) appendChunk(ctx context.Context, ap Appender, key string, s *Spool, snap spoolSnapshot, pos, end int64, o obsclient.WriteOptions) (int64, error) {
	var err error
	for attempt := 0; attempt < appendAttempts; attempt++ {
		if err = s.ensureLocal(ctx, pos, end, false); err != nil {
			return pos, err
		}
		n := end - pos
		wo := o
		wo.ContentMD5 = ""
		var res obsclient.AppendResult
		res, err = ap.AppendObject(ctx, key, pos, s.sectionReader(pos, n), n, wo)
		switch {
		case err == nil:
			if res.NextAppendPosition != 0 && res.NextAppendPosition != end {
				return pos, fmt.Errorf("%w: %q: next append position %d after appending up to %d",
					ErrAppendConflict, key, res.NextAppendPosition, end)
			}
			return end, nil
		case obsclient.IsNotSupported(err): // no append API here (405 FsNotSupport on a parallel file system, 405/501 from S3 servers)
			if !u.noAppendAPI.Swap(true) {
				u.log.Info("the server has no append API: appends are uploaded or copied from now on", zap.Error(err))
			}
			return pos, fmt.Errorf("%w: %w", errNotAppendable, err)
		case obsclient.IsCode(err, "ObjectNotAppendable") || obsclient.IsCode(err, "AppendTooLarge"),
			n == 0 && obsclient.StatusCode(err) == 400: // a server refusing empty appends: create it by PUT
			return pos, fmt.Errorf("%w: %w", errNotAppendable, err)
		case obsclient.IsCode(err, "PositionNotEqualToLength"):
			landed, verr := u.verifyLanded(ctx, key, s, pos, snap.size, o)
			if verr != nil {
				return pos, fmt.Errorf("%w: %q at %d: %w", ErrAppendConflict, key, pos, errors.Join(err, verr))
			}
			if landed == pos {
				return pos, fmt.Errorf("%w: %q at %d: %w", ErrAppendConflict, key, pos, err)
			}
			u.log.Info("append found its bytes already on the server", zap.String("key", key), zap.Int64("from", pos), zap.Int64("to", landed))
			pos = landed
			if pos >= end {
				return pos, nil
			}
		case retryable(err) && ctx.Err() == nil:
			u.log.Debug("append failed, retrying", zap.String("key", key), zap.Int64("position", pos), zap.Error(err))
		default:
			return pos, err
		}
	}
	return pos, err
}

// retryable reports a failure that may be transient: no response, or a 5xx
// (including 503 SlowDown).
func retryable(err error) bool {
	sc := obsclient.StatusCode(err)
	return sc == 0 || sc >= 500
}

// verifyLanded decides, after a position mismatch at pos, whether the
// object's extra bytes are the spool's bytes [pos, …) (an earlier attempt
// landed): it returns the object's length then, or pos when they are not
// (another writer), or an error.
func (u *Uploader) verifyLanded(ctx context.Context, key string, s *Spool, pos, end int64, o obsclient.WriteOptions) (int64, error) {
	info, err := u.c.HeadObject(ctx, key, obsclient.GetOptions{SSE: o.SSE})
	if err != nil {
		return pos, err
	}
	if !info.Appendable || info.Size <= pos || info.Size > end {
		return pos, nil
	}
	p := pin{Key: key, ETag: strings.Trim(info.ETag, `"`), VersionID: info.VersionID}
	theirs := make([]byte, min(verifyChunk, info.Size-pos))
	ours := make([]byte, len(theirs))
	for off := pos; off < info.Size; {
		n := min(int64(len(theirs)), info.Size-off)
		if err := getRange(ctx, u.c, p, off, theirs[:n]); err != nil {
			return pos, err
		}
		if _, err := readFull(s.f, ours[:n], off); err != nil {
			return pos, err
		}
		if !bytes.Equal(theirs[:n], ours[:n]) {
			return pos, nil
		}
		off += n
	}
	return info.Size, nil
}
