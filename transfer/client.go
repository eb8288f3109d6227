package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/obsfs/obsfs/obsclient"
)

// ObjectSource reads object data: the one client method the read paths
// (Reader, and Spool's read-through) call.
type ObjectSource interface {
	GetObject(ctx context.Context, key string, o obsclient.GetOptions) (*obsclient.ObjectReader, error)
}

// Client is what the Uploader calls. *obsclient.Bucket satisfies it; tests
// wrap it to count or fail requests.
type Client interface {
	ObjectSource
	HeadObject(ctx context.Context, key string, o obsclient.GetOptions) (obsclient.ObjectInfo, error)
	PutObject(ctx context.Context, key string, body io.ReadSeeker, size int64, o obsclient.WriteOptions) (obsclient.PutResult, error)
	InitiateMultipartUpload(ctx context.Context, key string, o obsclient.WriteOptions) (string, error)
	UploadPart(ctx context.Context, key, uploadID string, n int, body io.ReadSeeker, size int64) (obsclient.Part, error)
	UploadPartCopy(ctx context.Context, key, uploadID string, n int, src obsclient.CopySource, r obsclient.Range) (obsclient.Part, error)
	CompleteMultipartUpload(ctx context.Context, key, uploadID string, parts []obsclient.Part) (obsclient.PutResult, error)
	AbortMultipartUpload(ctx context.Context, key, uploadID string) error
}

var (
	_ ObjectSource = (*obsclient.Bucket)(nil)
	_ Client       = (*obsclient.Bucket)(nil)
)

// ErrStale reports that the object a read or copy is pinned to (by ETag or
// version) changed or vanished on the server. fs maps it to ESTALE. The
// server's error stays in the chain (obsclient.IsPreconditionFailed works).
var ErrStale = errors.New("transfer: object changed on the server")

// ErrShortBody reports a GET body shorter than its range (a truncated
// response), after one retry.
var ErrShortBody = errors.New("transfer: truncated GET body")

// pin names the object version every read of one file is tied to.
type pin struct {
	Key       string
	ETag      string
	VersionID string
}

// stale wraps errors that mean "the pinned object is no longer there as we
// knew it": a failed If-Match (412), a missing object or version (404), or a
// range past its (new, shorter) end (416).
func stale(p pin, err error) error {
	if obsclient.IsPreconditionFailed(err) || obsclient.IsNotFound(err) || obsclient.IsInvalidRange(err) {
		return fmt.Errorf("%w: %q (etag %s): %w", ErrStale, p.Key, p.ETag, err)
	}
	return err
}

// getRange reads exactly len(buf) bytes at off of the pinned object with a
// ranged GET carrying If-Match. A body that ends early or breaks is retried
// once; errors of the request itself are already retried by the client.
func getRange(ctx context.Context, src ObjectSource, p pin, off int64, buf []byte) error {
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		var retry bool
		retry, err = getRangeOnce(ctx, src, p, off, buf)
		if err == nil || !retry || ctx.Err() != nil {
			return err
		}
	}
	return err
}

// getRangeOnce does one GET; retry reports a failure while reading the body.
func getRangeOnce(ctx context.Context, src ObjectSource, p pin, off int64, buf []byte) (retry bool, err error) {
	if len(buf) == 0 {
		return false, nil
	}
	r, err := src.GetObject(ctx, p.Key, obsclient.GetOptions{
		Range:     &obsclient.Range{Start: off, End: off + int64(len(buf)) - 1},
		IfMatch:   p.ETag,
		VersionID: p.VersionID,
	})
	if err != nil {
		return false, stale(p, err)
	}
	defer r.Close()
	if etag := strings.Trim(r.Info.ETag, `"`); etag != "" && p.ETag != "" && etag != strings.Trim(p.ETag, `"`) {
		return false, fmt.Errorf("%w: %q: etag %s, want %s", ErrStale, p.Key, etag, p.ETag)
	}
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("%w: %q [%d, %d): %w", ErrShortBody, p.Key, off, off+int64(len(buf)), err)
		}
		return true, err
	}
	return false, nil
}
