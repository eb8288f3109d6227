package fs

// Remote reads of a handle: ranged GETs pinned by If-Match to the ETag seen
// at open. A handle keeps one response body open as a read stream: a
// sequential reader is served from it, and each new GET of a sequential run
// asks for twice the previous window (256 KiB up to 32 MiB), so large files
// stream with few requests while random reads fetch little more than they
// need. (A minimal reader inside fs; transfer.Reader, once it lands, adds
// parallel ranged GETs and the block cache.)

import (
	"context"
	"errors"
	"io"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/obsfs/obsfs/obsclient"
	"github.com/obsfs/obsfs/transfer"
)

const (
	minReadWindow = 256 << 10
	maxReadWindow = 32 << 20
)

// readStream is an open ranged GET positioned at pos, ending before end.
type readStream struct {
	body     io.ReadCloser
	cancel   context.CancelFunc
	pos, end int64
	window   int64
}

func (rs *readStream) close() {
	if rs.body != nil {
		rs.cancel()
		rs.body.Close()
		rs.body = nil
	}
}

func (h *handle) readRemote(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	size := int64(h.size)
	if off >= size || len(dest) == 0 {
		return fuse.ReadResultData(nil), 0
	}
	want := dest[:min(int64(len(dest)), size-off)]
	f := h.n.fsys
	p, _ := h.n.path()
	key := f.ns.fileKey(p)
	h.rmu.Lock()
	defer h.rmu.Unlock()
	k, err := h.readStream(ctx, key, want, off)
	if err != nil && k == 0 && ctx.Err() == nil && !errors.Is(err, transfer.ErrStale) {
		h.rs.close() // one retry on a fresh connection (reset, truncated body)
		k, err = h.readStream(ctx, key, want, off)
	}
	if err != nil && k < len(want) {
		h.rs.close()
		if ctx.Err() != nil {
			return nil, syscall.EINTR
		}
		return nil, f.errno("read", key, err)
	}
	return fuse.ReadResultData(want[:k]), 0
}

// readStream fills p from the stream, (re)opening it as needed.
func (h *handle) readStream(ctx context.Context, key string, p []byte, off int64) (int, error) {
	rs := &h.rs
	if rs.body == nil || rs.pos != off || rs.pos >= rs.end {
		sequential := rs.body != nil && rs.pos == off
		h.rs.close()
		rs.window = nextWindow(rs.window, sequential, int64(len(p)))
		if err := h.openStream(key, off, min(off+rs.window, int64(h.size))); err != nil {
			return 0, err
		}
	}
	stop := context.AfterFunc(ctx, rs.cancel) // a FUSE interrupt aborts the body read
	defer stop()
	k, err := io.ReadFull(rs.body, p[:min(int64(len(p)), rs.end-rs.pos)])
	rs.pos += int64(k)
	if err == nil && k < len(p) && rs.pos < int64(h.size) {
		// The window ended inside this read: continue in the next one.
		var k2 int
		k2, err = h.readStream(ctx, key, p[k:], rs.pos)
		k += k2
	}
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		err = transfer.ErrShortBody
	}
	return k, err
}

// nextWindow doubles the window of a sequential run and restarts it for a
// random read.
func nextWindow(cur int64, sequential bool, need int64) int64 {
	if !sequential || cur == 0 {
		return max(minReadWindow, need)
	}
	return max(min(cur*2, maxReadWindow), need)
}

// openStream starts a GET of [off, end) pinned to the handle's ETag.
func (h *handle) openStream(key string, off, end int64) error {
	sctx, cancel := context.WithCancel(context.Background())
	r, err := h.n.fsys.st.GetObject(sctx, key, obsclient.GetOptions{
		Range: &obsclient.Range{Start: off, End: end - 1}, IfMatch: h.etag})
	if err != nil {
		cancel()
		if obsclient.IsPreconditionFailed(err) || obsclient.IsNotFound(err) || obsclient.IsInvalidRange(err) {
			return errors.Join(transfer.ErrStale, err)
		}
		return err
	}
	h.rs = readStream{body: r, cancel: cancel, pos: off, end: end, window: h.rs.window}
	return nil
}
