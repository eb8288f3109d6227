package obstest

import (
	"crypto/md5"
	"errors"
	"hash"
	"io"
	"os"
	"sync"
	"sync/atomic"
)

// Storage model
//
// Object bodies are immutable blobs held by a blobStore (memory or disk).
// An object version's body is a list of segments, each a byte range of a
// blob, so multipart completion, server-side copy and UploadPartCopy never
// copy data, and an append adds one segment. Blobs are reference counted:
// every stored version or part holds one reference per segment, and every
// in-flight reader holds its own (taken under the bucket lock), so a blob is
// removed only once nobody can read it.

// blobStore creates blobs.
type blobStore interface {
	// create streams r into a new blob. The blob starts with no references.
	create(r io.Reader) (*blobRef, error)
	// close releases store-wide resources.
	close() error
}

// blob is one immutable body.
type blob interface {
	size() int64
	// open returns a reader over the whole blob.
	open() (readerAtCloser, error)
	// remove frees the blob's storage.
	remove()
}

// readerAtCloser is an open blob.
type readerAtCloser interface {
	io.ReaderAt
	io.Closer
}

// blobRef counts the references to a blob.
type blobRef struct {
	b    blob
	refs atomic.Int64
}

func (r *blobRef) retain() { r.refs.Add(1) }

func (r *blobRef) release() {
	if r.refs.Add(-1) == 0 {
		r.b.remove()
	}
}

// discard removes a blob that was never retained.
func (r *blobRef) discard() {
	if r.refs.Load() == 0 {
		r.b.remove()
	}
}

// segment is a byte range of a blob.
type segment struct {
	ref *blobRef
	off int64
	n   int64
}

// body is an object version's content: segments in order.
type body struct {
	segs []segment
	size int64
}

// bodyOf wraps a whole blob.
func bodyOf(ref *blobRef) body {
	n := ref.b.size()
	if n == 0 {
		return body{}
	}
	return body{segs: []segment{{ref: ref, n: n}}, size: n}
}

// retain takes one reference per segment.
func (b body) retain() {
	for _, s := range b.segs {
		s.ref.retain()
	}
}

// release drops one reference per segment.
func (b body) release() {
	for _, s := range b.segs {
		s.ref.release()
	}
}

// concat returns b followed by o (neither is retained).
func (b body) concat(o body) body {
	segs := make([]segment, 0, len(b.segs)+len(o.segs))
	segs = append(append(segs, b.segs...), o.segs...)
	return body{segs: segs, size: b.size + o.size}
}

// slice returns bytes [off, off+n) of b; the caller ensures the range is valid.
func (b body) slice(off, n int64) body {
	var out body
	for _, s := range b.segs {
		if n <= 0 {
			break
		}
		if off >= s.n {
			off -= s.n
			continue
		}
		take := min(s.n-off, n)
		out.segs = append(out.segs, segment{ref: s.ref, off: s.off + off, n: take})
		out.size += take
		n -= take
		off = 0
	}
	return out
}

// openReader returns a reader over bytes [off, off+n) of b. b must be retained
// by the caller for the reader's lifetime. A body of several segments (a
// multipart object) is read segment by segment, and its WriteTo hands each
// segment to the writer on its own, so that every segment of a GET still
// goes out with sendfile(2) (see openSegment).
func (b body) openReader(off, n int64) (io.Reader, func(), error) {
	part := b.slice(off, n)
	if len(part.segs) == 1 {
		return openSegment(part.segs[0])
	}
	sr := &segReader{rs: make([]io.Reader, 0, len(part.segs))}
	dones := make([]func(), 0, len(part.segs))
	closeAll := func() {
		for _, d := range dones {
			d()
		}
	}
	for _, s := range part.segs {
		rd, done, err := openSegment(s)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		dones = append(dones, done)
		sr.rs = append(sr.rs, rd)
	}
	return sr, closeAll, nil
}

// segReader reads its segments' readers one after the other.
type segReader struct{ rs []io.Reader }

func (r *segReader) Read(p []byte) (int, error) {
	for len(r.rs) > 0 {
		n, err := r.rs[0].Read(p)
		if err == io.EOF {
			r.rs = r.rs[1:]
			err = nil
			if n == 0 {
				continue
			}
		}
		return n, err
	}
	return 0, io.EOF
}

// WriteTo copies each segment with its own io.Copy, so a writer with
// ReadFrom (the HTTP response) sends file segments with sendfile(2).
func (r *segReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for len(r.rs) > 0 {
		n, err := io.Copy(w, r.rs[0])
		total += n
		if err != nil {
			return total, err
		}
		r.rs = r.rs[1:]
	}
	return total, nil
}

// openSegment opens one segment. File-backed blobs yield an
// io.LimitedReader over a seeked *os.File, which net/http sends with
// sendfile(2).
func openSegment(s segment) (io.Reader, func(), error) {
	f, err := s.ref.b.open()
	if err != nil {
		return nil, nil, err
	}
	done := func() { _ = f.Close() }
	if osf, ok := f.(*os.File); ok {
		if _, err := osf.Seek(s.off, io.SeekStart); err == nil {
			return &io.LimitedReader{R: osf, N: s.n}, done, nil
		}
	}
	return io.NewSectionReader(f, s.off, s.n), done, nil
}

// md5Of hashes bytes of b (retained by the caller).
func (b body) md5Of() ([]byte, error) {
	rd, done, err := b.openReader(0, b.size)
	if err != nil {
		return nil, err
	}
	defer done()
	h := md5.New()
	if _, err := io.Copy(h, rd); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// copyBufs pools the 1 MiB buffers used to stream bodies.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

// copyBuffered is io.Copy with a pooled 1 MiB buffer.
func copyBuffered(dst io.Writer, src io.Reader) (int64, error) {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	return io.CopyBuffer(onlyWriter{dst}, onlyReader{src}, *bp)
}

// onlyWriter / onlyReader hide ReadFrom / WriteTo so that copyBuffered
// really uses its buffer.
type onlyWriter struct{ io.Writer }

type onlyReader struct{ io.Reader }

// errTooLarge is returned by limitedHashReader when the limit is exceeded.
var errTooLarge = errors.New("body exceeds limit")

// hashingReader computes the MD5 of everything read through it and fails once
// more than limit bytes were read.
type hashingReader struct {
	r       io.Reader
	h       hash.Hash
	n       int64
	limit   int64
	readErr error // first failure of the source (not io.EOF)
}

func newHashingReader(r io.Reader, limit int64) *hashingReader {
	return &hashingReader{r: r, h: md5.New(), limit: limit}
}

func (h *hashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	h.n += int64(n)
	if h.n > h.limit {
		err = errTooLarge
	}
	if err != nil && err != io.EOF && h.readErr == nil {
		h.readErr = err
	}
	return n, err
}

// sum returns the MD5 of the bytes read.
func (h *hashingReader) sum() []byte { return h.h.Sum(nil) }
