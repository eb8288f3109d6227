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
// access stays sequential and resets on a random read (reader.go); random
// reads fetch only the 64 KiB granules they touch, until a run of
// sequential reads has read 2 MiB (or began at offset 0). The
// blocks a read and its readahead need are fetched together: each run of
// adjacent blocks by one ranged GET of up to 8 MiB (coalescing, fetcher.go),
// every block still joinable and cached on its own.
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
// Growth is cheap (append.go, plan.go): a spool whose base only grew past
// its end is committed by appending the new bytes (AppendObject at position
// = base length, checked by the server) when the base is an OBS appendable
// object (Base.Appendable) or the file was created appendable
// (Spool.SetAppendable); and, for a normal base of at least MinPartSize, by
// a multipart upload whose first parts copy the whole old object on the
// server (pinned by If-Match, off the part grid) followed by the new bytes.
// An append is never sent twice: a position mismatch is resolved by reading
// the extra bytes back and comparing them with the spool (ours: adopted;
// someone else's: ErrAppendConflict). An object that refuses appends is
// rewritten by the normal plan.
//
// A file written sequentially from offset 0 can stream (stream.go): with
// Uploader.Stream attached, full parts (growing with the part count) are
// uploaded in the background while the file is written, and Commit uploads
// only the tail and completes. Anything else (a write below the uploaded
// range, a failed part, other options) abandons the streamed upload and
// Commit re-plans from the spool, which keeps every byte.
//
// # Crashes
//
// With a Journal (journal.go), a spool's file is named in the journal
// directory and a record beside it (key, base, size, changed ranges,
// metadata, uploads in progress; one appended entry per mutation, fsync'd
// when a commit fails or an upload starts) lets the next mount's
// Journal.Recover (recover.go) commit what a crashed process held: over
// the object when it still has the base ETag, else beside it under
// RecoveredSuffix. A spool write that meets ENOSPC asks its reclaim
// function (the disk block cache) for room and retries once.
//
// # How fs drives the fast paths
//
//   - Open of an existing object: NewSpool(dir, &Base{Key, ETag, Size,
//     VersionID, Appendable, NextAppendPosition}, src), the last two from
//     ObjectInfo. Nothing else: growth of a normal object ≥ MinPartSize
//     is copied on the server automatically, growth of an appendable one
//     is appended.
//   - Create with O_APPEND: NewSpool(dir, nil, src) then SetAppendable(true):
//     the first commit creates an appendable object with the commit's
//     WriteOptions, later commits append.
//   - Create without O_APPEND, or O_TRUNC (after Truncate(0)): Stream(ctx,
//     key, spool, opts) with the options the file will be committed with;
//     ErrNotStreamable just means "commit normally". Commit with
//     CommitWith(…, CommitOptions{StreamMetadataMayDiffer: true}) if only
//     POSIX times in Metadata may have moved since.
//   - Appends cannot change metadata: when metadata/ACL/storage class of an
//     appendable file changed, commit with CommitOptions{NoAppend: true}.
//
// # Errors
//
// ErrStale: the pinned object changed or vanished (fs: ESTALE).
// ErrAppendConflict: another writer appended to (or replaced) an appendable
// object since the spool's base was read; nothing of ours was written
// (fs: ESTALE). ErrTooLarge: the file exceeds MaxObjectSize (fs: EFBIG).
// ErrShortBody: a truncated GET body, after one retry (fs: EIO).
// ErrNotStreamable: Stream declined; commit normally. ErrClosed: use after
// Close. Errors of
// the object store keep their *obsclient.Error in the chain, so fs's errno
// mapping (quota, access denied, …) applies unchanged.
package transfer
