package obsclient

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
)

// Multipart uploads
//
// Initiate, upload part, upload part copy, list and abort are idempotent
// enough to retry (a retried initiate whose first reply was lost would
// leave an orphan upload: after a retried initiate, the uploads of the same
// key begun since are aborted, see abortLostUploads; a bucket lifecycle
// rule with AbortIncompleteMultipartUpload cleans any left). Complete is not: after an ambiguous failure (no reply, or
// a 5xx) CompleteMultipartUpload finds out what happened before doing
// anything else (see reconcileComplete).

// MaxParts is the largest part number.
const MaxParts = 10000

// PartOptions qualify UploadPartWith and UploadPartCopyWith.
type PartOptions struct {
	ContentMD5 string // base64; computed when empty
	SSE        *SSE   // SSE-C key of the upload (same as at initiate)
}

// InitiateMultipartUpload starts an upload; o applies to the final object.
func (b *Bucket) InitiateMultipartUpload(ctx context.Context, key string, o WriteOptions) (string, error) {
	r := newObjectRequest("InitiateMultipartUpload", http.MethodPost, key)
	r.query.Set("uploads", "")
	o.ContentMD5 = ""
	o.SSE = b.keepEncryption(key, o.SSE)
	b.setWriteHeaders(r.header, o)
	var x xmlInitiateResult
	start := b.c.signingTime()
	res, err := b.doDecode(ctx, r, &x)
	if err != nil {
		return "", err
	}
	if x.UploadID == "" {
		return "", b.malformed(r, res, errors.New("no UploadId in reply"))
	}
	if b.pol() != nil {
		b.pol().setUpload(x.UploadID, o.SSE != nil && len(o.SSE.CustomerKey) > 0)
	}
	if res.attempts > 1 {
		b.abortLostUploads(ctx, key, x.UploadID, start)
	}
	return x.UploadID, nil
}

// lostUploadSlack widens the window in which an upload of the same key is
// taken for one of our own lost initiates (server and local clocks differ
// by this much at most without a skew error being learnt).
const lostUploadSlack = time.Minute

// abortLostUploads aborts the uploads of key that an earlier attempt of
// this initiate created although its answer was lost (the server created
// the upload, then the connection broke; the retry created another): the
// uploads of exactly key, other than ours, initiated since this call began.
// Nobody knows their ids, so nobody else would ever complete or abort
// them. Best effort: failures are logged.
func (b *Bucket) abortLostUploads(ctx context.Context, key, ours string, since time.Time) {
	res, err := b.ListMultipartUploads(ctx, ListUploadsOptions{Prefix: key})
	if err != nil {
		b.c.log.Warn("checking for uploads left by a lost initiate", zap.String("key", key), zap.Error(err))
		return
	}
	for _, u := range res.Uploads {
		if u.Key != key || u.UploadID == ours || u.Initiated.Before(since.Add(-lostUploadSlack)) {
			continue
		}
		if err := b.AbortMultipartUpload(ctx, key, u.UploadID); err != nil {
			b.c.log.Warn("aborting an upload left by a lost initiate", zap.String("key", key), zap.String("upload_id", u.UploadID), zap.Error(err))
		} else {
			b.c.log.Info("aborted an upload left by a lost initiate", zap.String("key", key), zap.String("upload_id", u.UploadID))
		}
	}
}

func checkPartNumber(op, key string, n int) error {
	if n < 1 || n > MaxParts {
		return &Error{Op: op, Key: key, Err: fmt.Errorf("%w: part number %d out of 1..%d", errNotRetryable, n, MaxParts)}
	}
	return nil
}

// UploadPart uploads part n (1–10000) of size bytes from body, with a
// Content-MD5 computed by a hash pass over the body.
func (b *Bucket) UploadPart(ctx context.Context, key, uploadID string, n int, body io.ReadSeeker, size int64) (Part, error) {
	return b.UploadPartWith(ctx, key, uploadID, n, body, size, PartOptions{})
}

// UploadPartWith is UploadPart with a precomputed MD5 or an SSE-C key.
func (b *Bucket) UploadPartWith(ctx context.Context, key, uploadID string, n int, body io.ReadSeeker, size int64, o PartOptions) (Part, error) {
	const op = "UploadPart"
	if err := checkPartNumber(op, key, n); err != nil {
		return Part{}, err
	}
	if err := checkBody(op, key, body, size); err != nil {
		return Part{}, err
	}
	if o.ContentMD5 == "" && size > 0 {
		sum, err := bodyMD5(body, size)
		if err != nil {
			return Part{}, &Error{Op: op, Key: key, Err: err}
		}
		o.ContentMD5 = sum
	}
	r := b.partRequest(op, http.MethodPut, key, uploadID, n)
	r.body, r.size = body, size
	if o.ContentMD5 != "" {
		r.header.Set("Content-MD5", o.ContentMD5)
	}
	if b.managed(o.SSE) {
		o.SSE = &SSE{CustomerKey: b.partKey(uploadID)} // the upload's key
	}
	b.setSSE(r.header, o.SSE, false)
	res, err := b.do(ctx, r)
	if err != nil {
		return Part{}, err
	}
	etag := trimETag(res.resp.Header.Get("ETag"))
	if etag == "" {
		return Part{}, b.malformed(r, res, errors.New("upload part reply without ETag"))
	}
	return Part{Number: n, ETag: etag, Size: size, LastModified: parseTime(res.resp.Header.Get("Last-Modified"))}, nil
}

func (b *Bucket) partRequest(op, method, key, uploadID string, n int) *request {
	r := newObjectRequest(op, method, key)
	r.query.Set("partNumber", strconv.Itoa(n))
	r.query.Set("uploadId", uploadID)
	return r
}

// UploadPartCopy copies bytes rg.Start..rg.End (inclusive) of src into part
// n; rg.End < 0 copies the whole source. A 200 whose body is an <Error>, or
// a CopyPartResult without ETag, is an error.
func (b *Bucket) UploadPartCopy(ctx context.Context, key, uploadID string, n int, src CopySource, rg Range) (Part, error) {
	return b.UploadPartCopyWith(ctx, key, uploadID, n, src, rg, PartOptions{})
}

// UploadPartCopyWith is UploadPartCopy with the destination's SSE-C key
// (the source's goes in src.SSE).
func (b *Bucket) UploadPartCopyWith(ctx context.Context, key, uploadID string, n int, src CopySource, rg Range, o PartOptions) (Part, error) {
	const op = "UploadPartCopy"
	if err := checkPartNumber(op, key, n); err != nil {
		return Part{}, err
	}
	if rg.Suffix > 0 || (rg.End >= 0 && rg.End < rg.Start) || rg.Start < 0 {
		return Part{}, &Error{Op: op, Key: key, Err: fmt.Errorf("%w: invalid copy range %+v", errNotRetryable, rg)}
	}
	if b.managed(o.SSE) {
		o.SSE = &SSE{CustomerKey: b.partKey(uploadID)} // the upload's key
	}
	var (
		x   xmlCopyResult
		r   *request
		res *result
	)
	send := func(k []byte) error {
		s := src
		if k != nil {
			s.SSE = &SSE{CustomerKey: k}
		}
		r = b.partRequest(op, http.MethodPut, key, uploadID, n)
		r.errIn200 = true
		b.setCopySource(r.header, s)
		if rg.End >= 0 {
			r.header.Set(b.prefix()+"copy-source-range", fmt.Sprintf("bytes=%d-%d", rg.Start, rg.End))
		}
		b.setSSE(r.header, o.SSE, false)
		var err error
		res, err = b.doDecode(ctx, r, &x)
		return err
	}
	var err error
	if b.pol() != nil && (src.Bucket == "" || src.Bucket == b.name) && b.managed(src.SSE) {
		src.SSE = nil
		err = b.withSSEC(src.Key, send) // the source's key, learned per object
	} else {
		err = send(nil)
	}
	if err != nil {
		return Part{}, err
	}
	if trimETag(x.ETag) == "" {
		return Part{}, b.malformed(r, res, errors.New("CopyPartResult without ETag"))
	}
	p := Part{Number: n, ETag: trimETag(x.ETag), LastModified: parseTime(x.LastModified)}
	if rg.End >= 0 {
		p.Size = rg.End - rg.Start + 1
	}
	return p, nil
}

// CompleteMultipartUpload assembles parts (sorted by number here) into the
// object. It is not blindly retried: after an ambiguous failure it HEADs
// the key and accepts the upload as completed when the object carries
// x-obs-uploadId == uploadID, or when the upload is gone (NoSuchUpload)
// and the object's ETag ends in "-<len(parts)>"; when ListParts shows the
// upload still exists, it tries once more.
func (b *Bucket) CompleteMultipartUpload(ctx context.Context, key, uploadID string, parts []Part) (PutResult, error) {
	body, err := completeBody(parts)
	if err != nil {
		return PutResult{}, &Error{Op: "CompleteMultipartUpload", Key: key, Err: err}
	}
	var last error
	for try := 0; try < 2; try++ {
		pr, err := b.completeOnce(ctx, key, uploadID, body)
		if err == nil {
			return pr, nil
		}
		last = err
		if ctx.Err() != nil || !(ambiguous(err) || (try > 0 && IsCode(err, "NoSuchUpload"))) {
			return PutResult{}, err
		}
		done, pr, exists := b.reconcileComplete(ctx, key, uploadID, len(parts))
		if done {
			return pr, nil
		}
		if !exists {
			return PutResult{}, err
		}
	}
	return PutResult{}, last
}

func completeBody(parts []Part) ([]byte, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("%w: no parts", errNotRetryable)
	}
	sorted := append([]Part(nil), parts...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Number < sorted[j].Number })
	x := xmlCompleteRequest{}
	for _, p := range sorted {
		x.Parts = append(x.Parts, xmlCompletePart{PartNumber: p.Number, ETag: quoteETag(p.ETag)})
	}
	return xml.Marshal(x)
}

func (b *Bucket) completeOnce(ctx context.Context, key, uploadID string, body []byte) (PutResult, error) {
	r := newObjectRequest("CompleteMultipartUpload", http.MethodPost, key)
	r.query.Set("uploadId", uploadID)
	r.once, r.errIn200 = true, true
	r.body, r.size = bytes.NewReader(body), int64(len(body))
	r.header.Set("Content-Type", "application/xml")
	var x xmlCompleteResult
	res, err := b.doDecode(ctx, r, &x)
	if err != nil {
		return PutResult{}, err
	}
	pr := putResult(res.resp.Header)
	pr.ETag = trimETag(x.ETag)
	if pr.ETag == "" {
		return PutResult{}, b.malformed(r, res, errors.New("complete result without ETag"))
	}
	if b.pol() != nil {
		var asked *SSE
		if k := b.partKey(uploadID); k != nil {
			asked = &SSE{CustomerKey: k}
		}
		b.learnWrite(key, res.resp.Header, asked)
		b.pol().endUpload(uploadID)
	}
	return pr, nil
}

// ambiguous reports a failure after which the server may or may not have
// applied a non-idempotent request: no response, or a 5xx.
func ambiguous(err error) bool {
	e, ok := AsError(err)
	if !ok || errors.Is(err, errNotRetryable) {
		return false
	}
	switch e.Code {
	case "InternalError", "ServiceUnavailable", "SlowDown":
		return true
	}
	return (e.StatusCode == 0 && e.Err != nil) || e.StatusCode >= 500
}

// reconcileComplete settles a complete whose outcome is unknown: done when
// the object is the upload's result; exists when the upload can still be
// completed.
func (b *Bucket) reconcileComplete(ctx context.Context, key, uploadID string, nparts int) (done bool, pr PutResult, exists bool) {
	info, herr := b.HeadObject(ctx, key, GetOptions{})
	if herr == nil && info.UploadID != "" && info.UploadID == uploadID {
		return true, PutResult{ETag: info.ETag, VersionID: info.VersionID, LastModified: info.LastModified}, false
	}
	_, lerr := b.listPartsPage(ctx, key, uploadID, 0, 1)
	if lerr == nil {
		return false, PutResult{}, true
	}
	if IsCode(lerr, "NoSuchUpload") && herr == nil && strings.HasSuffix(info.ETag, "-"+strconv.Itoa(nparts)) {
		return true, PutResult{ETag: info.ETag, VersionID: info.VersionID, LastModified: info.LastModified}, false
	}
	return false, PutResult{}, false
}

// AbortMultipartUpload discards an upload and its parts. A NoSuchUpload
// error (IsNotFound) means it is already gone.
func (b *Bucket) AbortMultipartUpload(ctx context.Context, key, uploadID string) error {
	r := newObjectRequest("AbortMultipartUpload", http.MethodDelete, key)
	r.query.Set("uploadId", uploadID)
	_, err := b.do(ctx, r)
	if err == nil && b.pol() != nil {
		b.pol().endUpload(uploadID)
	}
	return err
}

// ListParts returns every uploaded part of an upload, following pages.
func (b *Bucket) ListParts(ctx context.Context, key, uploadID string) ([]Part, error) {
	var parts []Part
	marker := 0
	for {
		x, err := b.listPartsPage(ctx, key, uploadID, marker, MaxListKeys)
		if err != nil {
			return nil, err
		}
		for _, p := range x.Parts {
			parts = append(parts, Part{Number: p.PartNumber, ETag: trimETag(p.ETag), Size: p.Size, LastModified: parseTime(p.LastModified)})
		}
		if !x.IsTruncated || x.NextPartNumberMarker <= marker {
			return parts, nil
		}
		marker = x.NextPartNumberMarker
	}
}

func (b *Bucket) listPartsPage(ctx context.Context, key, uploadID string, marker, max int) (*xmlListPartsResult, error) {
	r := newObjectRequest("ListParts", http.MethodGet, key)
	r.query.Set("uploadId", uploadID)
	r.query.Set("max-parts", strconv.Itoa(max))
	if marker > 0 {
		r.query.Set("part-number-marker", strconv.Itoa(marker))
	}
	var x xmlListPartsResult
	if _, err := b.doDecode(ctx, r, &x); err != nil {
		return nil, err
	}
	return &x, nil
}

// ListMultipartUploads returns one page of in-progress uploads (keys
// decoded from encoding-type=url).
func (b *Bucket) ListMultipartUploads(ctx context.Context, o ListUploadsOptions) (*ListUploadsResult, error) {
	r := newRequest("ListMultipartUploads", http.MethodGet, "")
	q := r.query
	q.Set("uploads", "")
	setIf(q, "prefix", o.Prefix)
	setIf(q, "delimiter", o.Delimiter)
	setIf(q, "key-marker", o.KeyMarker)
	setIf(q, "upload-id-marker", o.UploadIDMarker)
	q.Set("max-uploads", strconv.Itoa(pageSize(o.MaxUploads)))
	q.Set("encoding-type", "url")
	var x xmlListUploadsResult
	if _, err := b.doDecode(ctx, r, &x); err != nil {
		return nil, err
	}
	dec := keyDecoder(x.EncodingType)
	out := &ListUploadsResult{IsTruncated: x.IsTruncated, NextKeyMarker: dec(x.NextKeyMarker), NextUploadIDMarker: x.NextUploadIDMarker}
	for _, u := range x.Uploads {
		out.Uploads = append(out.Uploads, Upload{Key: dec(u.Key), UploadID: u.UploadID, Initiated: parseTime(u.Initiated)})
	}
	for _, p := range x.CommonPrefixes {
		out.CommonPrefixes = append(out.CommonPrefixes, dec(p.Prefix))
	}
	return out, nil
}

// MinPartSize is the smallest non-last part the server takes: OBS's
// 100 KB in the OBS dialect, S3's 5 MiB in the S3 dialects (signature v2
// or v4), which is what S3-compatible servers (versitygw, MinIO, Ceph RGW)
// enforce. The uploader asks (transfer.UploaderConfig.MinPartSize).
func (b *Bucket) MinPartSize() int64 {
	if b.isOBS() {
		return 100 << 10
	}
	return 5 << 20
}
