// Package transfer moves file data between obsfs and the object store: the
// read path (Reader, Fetcher) and the write path (Spool, Uploader). It knows
// no FUSE types; fs adapts it. It calls the object store through the small
// interfaces it declares (ObjectSource, Client), which *obsclient.Bucket
// satisfies and tests wrap to count or disturb requests.
//
// # Reading
//
// A Reader serves one version of an object (pinned by ETag with If-Match on
// every GET, so a change on the server fails reads with ErrStale instead of
// mixing versions) from fixed-size blocks. Blocks live in the shared block
// cache (cache.Blocks, keyed by key + ETag + index), are fetched by a shared
// Fetcher that bounds GETs and bytes in flight and joins concurrent fetches
// of the same block, and are read ahead with a window that doubles while
// access stays sequential and resets on a random read (reader.go).
//
// # Writing
//
// A Spool is the local source of truth of a file open for writing: a sparse
// unlinked temp file, the base object it shadows, and interval sets of the
// bytes present locally and of the bytes changed (spool.go, ranges.go). Base
// bytes are fetched on demand, pinned like reads.
//
// The Uploader commits a spool. A pure planner (plan.go) turns "size, base
// extent, dirty ranges, part size" into typed steps: one PUT with
// Content-MD5 for small files; otherwise a multipart upload whose parts are
// uploaded from the spool or, where a part-aligned stretch of the base is
// unchanged, copied on the server (UploadPartCopy pinned by If-Match). Parts
// run in parallel; any failure aborts the upload and keeps the spool dirty
// for a later retry (upload.go).
//
// Later kinds fit the same shape: the append fast path is another PlanKind
// (append the dirty tail to an appendable object), and streaming uploads run
// StepUpload steps for full grid cells while the file is still being
// written, leaving the rest of the plan to Commit.
//
// # Errors
//
// ErrStale: the pinned object changed or vanished (fs: ESTALE). ErrTooLarge:
// the file exceeds MaxObjectSize (fs: EFBIG). ErrShortBody: a truncated GET
// body, after one retry (fs: EIO). ErrClosed: use after Close. Errors of
// the object store keep their *obsclient.Error in the chain, so fs's errno
// mapping (quota, access denied, …) applies unchanged.
package transfer
