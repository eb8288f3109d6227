package obstest

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
)

// diskStore keeps each blob in its own file under dir (Root/blobs-*), so
// multi-GiB bodies never sit in memory. Files are removed when their last
// reference goes away and the whole directory on close. With persistence
// (persist.go) the directory is Root/blobs, kept on close, and a released
// blob is removed only after the next state write (doom).
type diskStore struct {
	dir  string
	seq  atomic.Uint64
	keep bool              // keep the directory on close (persistence)
	doom func(path string) // when set, removes a released blob later
}

// newDiskStore creates a fresh blob directory under root (one per server,
// so several emulators may share a root).
func newDiskStore(root string) (*diskStore, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(root, "blobs-")
	if err != nil {
		return nil, err
	}
	return &diskStore{dir: dir}, nil
}

func (d *diskStore) create(r io.Reader) (*blobRef, error) {
	name := filepath.Join(d.dir, fmt.Sprintf("%016x.blob", d.seq.Add(1)))
	f, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	n, err := copyBuffered(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(name)
		return nil, err
	}
	return &blobRef{b: &diskBlob{path: name, n: n, st: d}}, nil
}

func (d *diskStore) close() error {
	if d.keep {
		return nil
	}
	return os.RemoveAll(d.dir)
}

// diskBlob is one file.
type diskBlob struct {
	path string
	n    int64
	st   *diskStore
}

func (b *diskBlob) size() int64 { return b.n }

func (b *diskBlob) open() (readerAtCloser, error) { return os.Open(b.path) }

func (b *diskBlob) remove() {
	if b.st != nil && b.st.doom != nil {
		b.st.doom(b.path)
		return
	}
	_ = os.Remove(b.path)
}
