package obsclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Bodies on the wire. Request bodies are an exact number of bytes from an
// io.ReadSeeker (exactReader); response bodies carry the attempt's context
// and a stall timer (streamBody) and, for GET, turn a cut into an *Error
// (bodyReader).

// errBodyStalled is the cause of a streamed body cancelled because one Read
// waited longer than Config.RequestTimeout for data.
var errBodyStalled = errors.New("response body stalled")

// streamBody is a streamed response body that releases the attempt's
// context on Close and fails a Read that blocks longer than stall (the
// clock runs only inside Read, so a slow consumer is not penalised).
type streamBody struct {
	rc     io.ReadCloser
	ctx    context.Context
	cancel context.CancelCauseFunc
	stall  time.Duration
	timer  *time.Timer // nil when stall <= 0
}

func newStreamBody(ctx context.Context, rc io.ReadCloser, cancel context.CancelCauseFunc, stall time.Duration) *streamBody {
	s := &streamBody{rc: rc, ctx: ctx, cancel: cancel, stall: stall}
	if stall > 0 {
		s.timer = time.AfterFunc(time.Hour, func() { cancel(errBodyStalled) })
		s.timer.Stop()
	}
	return s
}

func (s *streamBody) Read(p []byte) (int, error) {
	if s.timer != nil {
		s.timer.Reset(s.stall)
		defer s.timer.Stop()
	}
	n, err := s.rc.Read(p)
	if err != nil && err != io.EOF && errors.Is(context.Cause(s.ctx), errBodyStalled) {
		err = fmt.Errorf("%w for %v: %v", errBodyStalled, s.stall, err)
	}
	return n, err
}

func (s *streamBody) Close() error {
	if s.timer != nil {
		s.timer.Stop()
	}
	err := s.rc.Close()
	s.cancel(nil)
	return err
}

// exactReader yields exactly left bytes of r; a body that ends early is a
// local error no retry can fix.
type exactReader struct {
	r    io.Reader
	left int64
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if err == io.EOF && e.left > 0 {
		return n, fmt.Errorf("%w: request body ended %d bytes short of its size", errNotRetryable, e.left)
	}
	if err == io.EOF {
		err = nil // more calls will report EOF once left is 0
	}
	return n, err
}

// bodyReader turns a short or broken GET body into an *Error.
type bodyReader struct {
	rc        io.ReadCloser
	remaining int64 // -1: unknown length
	key       string
}

func (r *bodyReader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	if r.remaining >= 0 {
		r.remaining -= int64(n)
	}
	switch {
	case err == nil:
	case errors.Is(err, io.EOF) && r.remaining > 0:
		err = &Error{Op: "GetObject", Key: r.key, Err: fmt.Errorf("body truncated, %d bytes missing: %w", r.remaining, io.ErrUnexpectedEOF)}
	case errors.Is(err, io.EOF):
	default:
		if _, ok := AsError(err); !ok {
			err = &Error{Op: "GetObject", Key: r.key, Err: err}
		}
	}
	return n, err
}

func (r *bodyReader) Close() error { return r.rc.Close() }
