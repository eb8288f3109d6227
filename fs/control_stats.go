package fs

// Runtime counters for the control file stats: every request the file
// system makes through its store is counted here by operation (obsclient
// keeps no counters of its own), next to the uploader's, the fetcher's and
// the caches' own counters. Retries inside obsclient are not visible to fs:
// a retried request counts once.

import (
	"context"
	"encoding/json"
	"io"
	"sync"

	"github.com/obsfs/obsfs/cache"
	"github.com/obsfs/obsfs/obsclient"
)

// opStats counts requests and failures by operation name.
type opStats struct {
	mu sync.Mutex
	// GUARDED_BY(mu):
	reqs, errs map[string]int64
}

func (s *opStats) count(op string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reqs == nil {
		s.reqs, s.errs = map[string]int64{}, map[string]int64{}
	}
	s.reqs[op]++
	if err != nil && !obsclient.IsNotFound(err) {
		s.errs[op]++
	}
}

func (s *opStats) snapshot() (reqs, errs map[string]int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	reqs, errs = map[string]int64{}, map[string]int64{}
	for k, v := range s.reqs {
		reqs[k] = v
	}
	for k, v := range s.errs {
		errs[k] = v
	}
	return reqs, errs
}

// countingStore counts the requests of the store it wraps.
type countingStore struct {
	store
	s *opStats
}

func (c countingStore) HeadObject(ctx context.Context, key string, o obsclient.GetOptions) (obsclient.ObjectInfo, error) {
	r, err := c.store.HeadObject(ctx, key, o)
	c.s.count("HeadObject", err)
	return r, err
}

func (c countingStore) GetObject(ctx context.Context, key string, o obsclient.GetOptions) (*obsclient.ObjectReader, error) {
	r, err := c.store.GetObject(ctx, key, o)
	c.s.count("GetObject", err)
	return r, err
}

func (c countingStore) PutObject(ctx context.Context, key string, body io.ReadSeeker, size int64, o obsclient.WriteOptions) (obsclient.PutResult, error) {
	r, err := c.store.PutObject(ctx, key, body, size, o)
	c.s.count("PutObject", err)
	return r, err
}

func (c countingStore) CopyObject(ctx context.Context, dstKey string, src obsclient.CopySource, o obsclient.CopyOptions) (obsclient.PutResult, error) {
	r, err := c.store.CopyObject(ctx, dstKey, src, o)
	c.s.count("CopyObject", err)
	return r, err
}

func (c countingStore) SetObjectMetadata(ctx context.Context, key string, d obsclient.MetadataDirective, o obsclient.WriteOptions) error {
	err := c.store.SetObjectMetadata(ctx, key, d, o)
	c.s.count("SetObjectMetadata", err)
	return err
}

func (c countingStore) DeleteObject(ctx context.Context, key, versionID string) (obsclient.DeleteResult, error) {
	r, err := c.store.DeleteObject(ctx, key, versionID)
	c.s.count("DeleteObject", err)
	return r, err
}

func (c countingStore) DeleteObjects(ctx context.Context, objs []obsclient.ObjectID) ([]obsclient.DeleteResult, error) {
	r, err := c.store.DeleteObjects(ctx, objs)
	c.s.count("DeleteObjects", err)
	return r, err
}

func (c countingStore) ListObjects(ctx context.Context, o obsclient.ListOptions) (*obsclient.ListResult, error) {
	r, err := c.store.ListObjects(ctx, o)
	c.s.count("ListObjects", err)
	return r, err
}

func (c countingStore) InitiateMultipartUpload(ctx context.Context, key string, o obsclient.WriteOptions) (string, error) {
	r, err := c.store.InitiateMultipartUpload(ctx, key, o)
	c.s.count("InitiateMultipartUpload", err)
	return r, err
}

func (c countingStore) UploadPart(ctx context.Context, key, uploadID string, n int, body io.ReadSeeker, size int64) (obsclient.Part, error) {
	r, err := c.store.UploadPart(ctx, key, uploadID, n, body, size)
	c.s.count("UploadPart", err)
	return r, err
}

func (c countingStore) UploadPartCopy(ctx context.Context, key, uploadID string, n int, src obsclient.CopySource, rg obsclient.Range) (obsclient.Part, error) {
	r, err := c.store.UploadPartCopy(ctx, key, uploadID, n, src, rg)
	c.s.count("UploadPartCopy", err)
	return r, err
}

func (c countingStore) CompleteMultipartUpload(ctx context.Context, key, uploadID string, parts []obsclient.Part) (obsclient.PutResult, error) {
	r, err := c.store.CompleteMultipartUpload(ctx, key, uploadID, parts)
	c.s.count("CompleteMultipartUpload", err)
	return r, err
}

func (c countingStore) AbortMultipartUpload(ctx context.Context, key, uploadID string) error {
	err := c.store.AbortMultipartUpload(ctx, key, uploadID)
	c.s.count("AbortMultipartUpload", err)
	return err
}

func (c countingStore) RenameObject(ctx context.Context, from, to string) error {
	err := c.store.RenameObject(ctx, from, to)
	c.s.count("RenameObject", err)
	return err
}

// statsDoc is the content of the stats control file.
type statsDoc struct {
	Requests map[string]int64 `json:"requests"` // by operation, through the mount's store
	Errors   map[string]int64 `json:"errors"`   // failed requests by operation (404s not counted)
	Uploads  struct {
		Commits, Failures, InFlight int64
		BytesUploaded, BytesCopied  int64
		Parts, CopyParts            int64
	} `json:"uploads"`
	Reads struct {
		Requests, Shared, Bytes, Errors, AheadBytes int64
	} `json:"reads"`
	BlockCache *struct {
		Hits, Misses, Evictions uint64
		Bytes                   int64
	} `json:"block_cache,omitempty"`
	MetaCache map[string]struct {
		Hits, Misses, Evictions int64
		Entries                 int
	} `json:"meta_cache"`
	DirtyFiles int `json:"dirty_files"`
	// Commits that failed after the retry budget, retried in the
	// background (commitretry.go); CommitRetries counts commits run again
	// within a budget after a transient failure.
	FailedCommits []FailedCommit `json:"failed_commits"`
	CommitRetries int64          `json:"commit_retries"`
}

func (f *FS) statsJSON() ([]byte, error) {
	var d statsDoc
	d.Requests, d.Errors = f.stats.snapshot()
	us := f.up.Stats()
	d.Uploads.Commits, d.Uploads.Failures, d.Uploads.InFlight = us.Commits, us.Failures, us.InFlight
	d.Uploads.BytesUploaded, d.Uploads.BytesCopied, d.Uploads.Parts, d.Uploads.CopyParts = us.BytesUploaded, us.BytesCopied, us.Parts, us.CopyParts
	fs := f.fetcher.Stats()
	d.Reads.Requests, d.Reads.Shared, d.Reads.Bytes, d.Reads.Errors, d.Reads.AheadBytes = fs.Requests, fs.Shared, fs.Bytes, fs.Errors, fs.Ahead
	if f.blocks != nil {
		h, m, e, b := f.blocks.Metrics()
		d.BlockCache = &struct {
			Hits, Misses, Evictions uint64
			Bytes                   int64
		}{h, m, e, b}
	}
	d.MetaCache = map[string]struct {
		Hits, Misses, Evictions int64
		Entries                 int
	}{}
	for name, s := range map[string]cacheStats{"attrs": f.meta.Attrs.Stats(), "negative": f.meta.Negative.Stats(), "dirs": f.meta.Dirs.Stats()} {
		d.MetaCache[name] = struct {
			Hits, Misses, Evictions int64
			Entries                 int
		}{s.Hits, s.Misses, s.Evictions, s.Entries}
	}
	d.FailedCommits, d.CommitRetries = f.FailedCommits(), us.Retries
	f.writersMu.Lock()
	d.DirtyFiles = len(f.writers)
	f.writersMu.Unlock()
	b, err := json.MarshalIndent(d, "", "  ")
	return append(b, '\n'), err
}

type cacheStats = cache.Stats
