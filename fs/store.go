package fs

// The object-store operations the filesystem uses, declared by their
// consumer: *obsclient.Bucket satisfies store, and tests wrap it to count or
// fail requests. A store is also a transfer.Client (spools read through it,
// the uploader writes through it).

import (
	"context"
	"io"

	"github.com/obsfs/obsfs/obsclient"
	"github.com/obsfs/obsfs/transfer"
)

// store is the subset of *obsclient.Bucket that fs calls.
type store interface {
	HeadObject(ctx context.Context, key string, o obsclient.GetOptions) (obsclient.ObjectInfo, error)
	GetObject(ctx context.Context, key string, o obsclient.GetOptions) (*obsclient.ObjectReader, error)
	PutObject(ctx context.Context, key string, body io.ReadSeeker, size int64, o obsclient.WriteOptions) (obsclient.PutResult, error)
	CopyObject(ctx context.Context, dstKey string, src obsclient.CopySource, o obsclient.CopyOptions) (obsclient.PutResult, error)
	SetObjectMetadata(ctx context.Context, key string, d obsclient.MetadataDirective, o obsclient.WriteOptions) error
	DeleteObject(ctx context.Context, key, versionID string) (obsclient.DeleteResult, error)
	DeleteObjects(ctx context.Context, objs []obsclient.ObjectID) ([]obsclient.DeleteResult, error)
	ListObjects(ctx context.Context, o obsclient.ListOptions) (*obsclient.ListResult, error)
	InitiateMultipartUpload(ctx context.Context, key string, o obsclient.WriteOptions) (string, error)
	UploadPart(ctx context.Context, key, uploadID string, n int, body io.ReadSeeker, size int64) (obsclient.Part, error)
	UploadPartCopy(ctx context.Context, key, uploadID string, n int, src obsclient.CopySource, r obsclient.Range) (obsclient.Part, error)
	CompleteMultipartUpload(ctx context.Context, key, uploadID string, parts []obsclient.Part) (obsclient.PutResult, error)
	AbortMultipartUpload(ctx context.Context, key, uploadID string) error
	Head(ctx context.Context) (obsclient.BucketInfo, error)
	StorageInfo(ctx context.Context) (obsclient.StorageInfo, error)
	Quota(ctx context.Context) (int64, error)
	RenameObject(ctx context.Context, from, to string) error
	// AppendObject (transfer.Appender) enables the append fast path.
	AppendObject(ctx context.Context, key string, position int64, body io.ReadSeeker, size int64, o obsclient.WriteOptions) (obsclient.AppendResult, error)
}

var (
	_ store             = (*obsclient.Bucket)(nil)
	_ transfer.Client   = (store)(nil)
	_ transfer.Appender = (store)(nil)
)
