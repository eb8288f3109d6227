// Package obsclient is obsfs's client for the Huawei OBS REST API.
//
// # Shape
//
// A Client holds one endpoint, one set of credentials and one HTTP
// transport; Client.Bucket returns a cheap *Bucket handle on which every
// operation lives (api.go lists them). The package knows nothing of FUSE,
// caches or transfers: those layers declare the few methods they need as
// their own interfaces and wrap a *Bucket.
//
// # Wire protocol
//
// The protocol facts live in shared/PROTOCOL.md; signing is pure functions
// in the signer subpackage, tested against that file's vectors and against
// the official SDK (sdk_test.go re-signs every request the SDK produces and
// compares). Three dialects are spoken: OBS (the default; x-obs- headers,
// append, PUT ?metadata), and AWS V2 / V4 for S3-compatible stores. Headers
// that carry metadata, ACLs, storage classes, SSE and copy parameters use
// the dialect's prefix; the few OBS-only headers are always x-obs-.
// Responses are read under either prefix, and XML under any namespace
// (encoding/xml matches unqualified tags in every namespace).
//
// Addressing is virtual-hosted (bucket.endpoint/key) against real OBS and
// path style (endpoint/bucket/key) for IP and localhost endpoints, unless
// Config.Addressing says otherwise. Keys are escaped once (signer.EscapeKey)
// and that exact string is both the request path and the signed resource.
// Query strings are sorted, bare names for empty values, spaces as %20.
//
// # One request, several attempts
//
// request.go turns an operation into attempts. Each attempt rewinds the
// body (Put/UploadPart/Append take an io.ReadSeeker plus a size and start
// from wherever the reader was on entry), signs afresh with a new Date,
// and runs under a context that the caller's context cancels and that a
// per-attempt timer (Config.RequestTimeout, to the response headers)
// cancels too; the same limit bounds how long one read of a response body
// may stall (body.go). Idempotent operations are retried on transport errors,
// 5xx (SlowDown included), 408 and 429, with capped exponential backoff and
// full jitter (retry.go). The caller's cancellation is never retried. A
// RequestTimeTooSkewed refusal teaches the client the offset between its
// clock and the server's Date, and the request is re-sent once with the
// corrected time (safe even for non-idempotent requests: a skewed request
// is refused before anything happens); presigned URLs use the corrected
// clock too.
//
// Two operations are not idempotent and are never blindly retried:
//
//   - AppendObject makes one attempt. After an ambiguous failure (no
//     reply, or a 5xx) it HEADs the object; if the length and next append
//     position equal position+size the append landed and is reported as a
//     success, otherwise the original error is returned.
//   - CompleteMultipartUpload, after an ambiguous failure, HEADs the key:
//     x-obs-uploadId equal to the upload means it completed. Otherwise
//     ListParts tells whether the upload still exists: if it does, one more
//     attempt is made; if it is gone and the object's ETag ends in -N for N
//     parts, it completed; anything else returns the error.
//
// RenameObject (parallel file systems) is likewise sent once and settled by
// HEADs. A GET body is streamed, not buffered, and not retried underneath
// the reader: a cut body surfaces as an *Error wrapping
// io.ErrUnexpectedEOF, and the caller (transfer/) re-requests the missing
// range pinned with IfMatch, which is the only place that knows whether
// mixing bytes of two versions is acceptable.
//
// # Errors
//
// Every failure is an *Error: operation, key, HTTP status, OBS code,
// message, request id, and for transport failures the cause in Err.
// Bodies are parsed as <Error> in any namespace; HEAD errors come from the
// status and x-obs-error-code; a 200 whose body is an <Error> (copy, upload
// part copy, complete) is an error too; a malformed reply is an error with
// Code "MalformedResponse", never a panic. Predicates (IsNotFound,
// IsPreconditionFailed, IsAccessDenied, IsQuotaExceeded, IsNotModified,
// IsConflict, IsInvalidRange, IsCode, …) classify them so that fs/ can map
// errors to errno in one place. Batch deletes report per-key failures as
// *DeleteErrors.
//
// # Secrets
//
// Logging is zap at debug level, one line per attempt with operation,
// bucket, key, method, status, code, request id, latency and attempt
// number. Headers, query strings and bodies are never logged, so the
// secret key, the security token, SSE-C keys and Authorization values
// cannot reach a log; signer.Credentials redacts itself under %v and %#v.
// log_test.go runs every operation, with failures and retries, and greps
// the captured log and error strings for each secret.
//
// # Testing
//
// Tests go over HTTP to the in-process emulator (obsclient/obstest), for
// every dialect in both addressing styles; faults injected there (503,
// resets, truncation, delays) drive the retry tests. The conformance body
// (conformance_test.go) takes a *Bucket and also runs against a real bucket
// when OBS_TEST_ENDPOINT, OBS_TEST_AK, OBS_TEST_SK and OBS_TEST_BUCKET are
// set.
package obsclient
