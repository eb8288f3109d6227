// Package obstest is an in-process emulator of Huawei OBS for tests and
// benchmarks: every obsfs test talks to it, and the official Huawei Go SDK
// is run against it as a second client to keep both sides honest.
//
// # Using it
//
//	srv := obstest.NewTest(t, obstest.Options{AccessKey: "AK", SecretKey: "SK", Buckets: []string{"b"}})
//	// srv.URL is http://127.0.0.1:PORT (path style); virtual-hosted names
//	// ("b.obs.example.test:PORT") work when dialled to srv.Addr().
//
// New / NewTest listen on a loopback port like httptest; NewUnstarted plus
// Handler serve on any listener (the cmd/obs-emulator binary does).
//
// # What it enforces
//
// The wire protocol of shared/PROTOCOL.md: all three signatures (OBS, AWS
// V2, AWS V4 with UNSIGNED-PAYLOAD, a hex payload SHA-256 or aws-chunked
// streaming), security tokens, presigned URLs in all three dialects, clock
// skew (15 min), real XML documents and error codes, limits (key 1024 bytes,
// metadata 8 KB, parts 100 KB–5 GB, ≤ 10000 parts and appends, ≤ 1000 keys
// per batch delete and page), ranges and conditionals, copy, set-metadata,
// append, multipart, versioning with delete markers, storage classes with
// restore of COLD objects, ACLs in the OBS and S3 forms, object and bucket
// tagging, quota, storage info and the bucket configuration documents, and
// the parallel-file-system extensions (rename, truncate, modify). Unsigned
// requests are 403 AccessDenied unless a public-read ACL or a bucket policy
// statement for everyone allows them (policy.go); a stored CORS
// configuration answers OPTIONS preflights and adds Access-Control-* headers
// (cors.go). Responses
// use the request's dialect: x-obs-* headers and the OBS namespace for OBS
// signatures and anonymous requests, x-amz-* and the S3 namespace for V2/V4.
// Where real clients legitimately differ the emulator accepts each form and
// says so in auth.go; where OBS behaviour is unconfirmed the choice is
// documented next to the code (append ETags, rename conflicts, copy ETags).
//
// # Storage model
//
// Object bodies are immutable blobs (store.go) in memory or, with
// Options.Root, one file each on disk; a version's body is a list of blob
// segments, so multipart completion, copies, UploadPartCopy and appends
// never copy bytes, and GET streams sections of the blobs with io.Copy.
// Metadata lives in memory. Blobs are reference counted; readers take their
// own references, so deleting an object while it is being read is safe.
//
// # Concurrency
//
// Each bucket has one RWMutex guarding its versions, sorted key list,
// uploads and configuration; no network or disk I/O happens under it
// (except unlinking freed blob files). Lock order: Server.mu, then
// bucket.mu; Server.cfgMu (clock, restore delay), the stats and the fault
// locks are leaves. Version structs are modified only under the bucket's
// write lock and their maps are replaced, never mutated, so a copied struct
// is a consistent snapshot.
//
// # Observability and faults
//
// Stats counts requests, errors and bytes in/out per operation name
// (GetObject, PutObject, UploadPart, …), also served as JSON at
// GET /-/stats (DELETE resets). InjectFault makes the next N matching
// requests fail with a 500, a 503 SlowDown, any status, a connection reset
// (before or after performing the operation), a delay, an <Error> inside a
// 200, or a body truncated after the headers promised more; the same is
// reachable as JSON at POST /-/faults (GET lists, DELETE clears) for tests
// that run the emulator as a subprocess. Requests returns a journal of the
// last 10000 requests (operation, key, query, headers, status, bytes), also
// at GET /-/requests. The /-/ endpoints need no auth.
//
// # Test hooks
//
// Object, Versions, Keys, ObjectBody, PutObject, Uploads, Usage, SetClock,
// SetRestoreDelay, CompleteRestores, SetVersioning and SetQuota inspect or
// change state directly, without HTTP and without counting in Stats.
package obstest
