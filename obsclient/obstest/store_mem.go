package obstest

import (
	"bytes"
	"io"
)

// memStore keeps blobs in memory.
type memStore struct{}

func (memStore) create(r io.Reader) (*blobRef, error) {
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(r); err != nil {
		return nil, err
	}
	return &blobRef{b: &memBlob{data: buf.Bytes()}}, nil
}

func (memStore) close() error { return nil }

// memBlob is an in-memory blob; data is never modified after creation.
type memBlob struct{ data []byte }

func (m *memBlob) size() int64 { return int64(len(m.data)) }

func (m *memBlob) open() (readerAtCloser, error) {
	return nopCloserAt{bytes.NewReader(m.data)}, nil
}

func (m *memBlob) remove() {}

// nopCloserAt adds a no-op Close to an io.ReaderAt.
type nopCloserAt struct{ io.ReaderAt }

func (nopCloserAt) Close() error { return nil }
