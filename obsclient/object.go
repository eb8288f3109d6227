package obsclient

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/obsfs/obsfs/obsclient/signer"
)

// HeadObject returns the object's metadata. A 404 of a delete marker
// returns the error together with an ObjectInfo whose DeleteMarker is set.
func (b *Bucket) HeadObject(ctx context.Context, key string, o GetOptions) (ObjectInfo, error) {
	var info ObjectInfo
	send := func(k []byte) error {
		r := b.readRequest("HeadObject", http.MethodHead, key, o)
		setSSEC(r.header, b.prefix()+"server-side-encryption-customer-", k)
		res, err := b.do(ctx, r)
		if err != nil {
			info = deleteMarkerInfo(key, err)
			return err
		}
		info = infoFromHeader(key, res.resp.Header)
		if o.VersionID == "" {
			b.learn(key, res.resp.Header)
		}
		return nil
	}
	if !b.managed(o.SSE) {
		return info, send(nil)
	}
	o.SSE = nil
	err := b.withSSEC(key, send)
	return info, err
}

// readRequest builds HEAD/GET with versionId, conditions and SSE-C.
func (b *Bucket) readRequest(op, method, key string, o GetOptions) *request {
	r := newObjectRequest(op, method, key)
	if o.VersionID != "" {
		r.query.Set("versionId", o.VersionID)
	}
	setConditions(r.header, "", o.IfMatch, o.IfNoneMatch, o.IfModifiedSince, o.IfUnmodifiedSince)
	b.setSSE(r.header, o.SSE, false)
	return r
}

func deleteMarkerInfo(key string, err error) ObjectInfo {
	if e, ok := AsError(err); ok && e.header != nil {
		info := infoFromHeader(key, e.header)
		if info.DeleteMarker {
			return ObjectInfo{Key: key, DeleteMarker: true, VersionID: info.VersionID}
		}
	}
	return ObjectInfo{}
}

// GetObject starts a download and returns the body unbuffered. A body that
// ends before Content-Length bytes yields an *Error wrapping
// io.ErrUnexpectedEOF; the read is not retried here (re-request the rest
// with a Range, pinned with IfMatch). For a ranged GET, RangeStart and
// ContentLength describe the bytes returned and Info.Size the whole object;
// a server that ignores an unsatisfiable-but-tolerated range answers 200
// with the whole object (RangeStart 0). Close the reader.
func (b *Bucket) GetObject(ctx context.Context, key string, o GetOptions) (*ObjectReader, error) {
	if !b.managed(o.SSE) {
		return b.getObject(ctx, key, o, nil)
	}
	o.SSE = nil
	var or *ObjectReader
	err := b.withSSEC(key, func(k []byte) error {
		var err error
		or, err = b.getObject(ctx, key, o, k)
		return err
	})
	return or, err
}

// getObject is one GET, with the SSE-C key k when not nil.
func (b *Bucket) getObject(ctx context.Context, key string, o GetOptions, k []byte) (*ObjectReader, error) {
	r := b.readRequest("GetObject", http.MethodGet, key, o)
	setSSEC(r.header, b.prefix()+"server-side-encryption-customer-", k)
	r.stream = true
	// Ask for the stored bytes: with Go's implicit gzip negotiation an
	// object stored with Content-Encoding: gzip would be inflated.
	r.header.Set("Accept-Encoding", "identity")
	if o.Range != nil {
		r.header.Set("Range", o.Range.header())
	}
	for k, v := range o.ResponseHeaders {
		r.query.Set("response-"+strings.ToLower(k), v)
	}
	res, err := b.do(ctx, r)
	if err != nil {
		return nil, err
	}
	resp := res.resp
	info := infoFromHeader(key, resp.Header)
	if o.VersionID == "" {
		b.learn(key, resp.Header)
	}
	or := &ObjectReader{Info: info, ContentLength: resp.ContentLength}
	if resp.StatusCode == http.StatusPartialContent {
		if start, total, ok := parseContentRange(resp.Header.Get("Content-Range")); ok {
			or.RangeStart = start
			or.Info.Size = total
		}
	}
	or.ReadCloser = &bodyReader{rc: resp.Body, remaining: resp.ContentLength, key: key}
	return or, nil
}

// header renders a Range as "bytes=a-b", "bytes=a-" or "bytes=-n".
func (rg Range) header() string {
	switch {
	case rg.Suffix > 0:
		return fmt.Sprintf("bytes=-%d", rg.Suffix)
	case rg.End < 0:
		return fmt.Sprintf("bytes=%d-", rg.Start)
	}
	return fmt.Sprintf("bytes=%d-%d", rg.Start, rg.End)
}

// parseContentRange reads "bytes a-b/total".
func parseContentRange(s string) (start, total int64, ok bool) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "bytes ")
	rng, tot, found := strings.Cut(s, "/")
	a, _, found2 := strings.Cut(rng, "-")
	if !found || !found2 {
		return 0, 0, false
	}
	start, err1 := strconv.ParseInt(a, 10, 64)
	total, err2 := strconv.ParseInt(tot, 10, 64)
	return start, total, err1 == nil && err2 == nil
}

// PutObject uploads size bytes of body (0–5 GB) as key. When
// o.ContentMD5 is empty the MD5 is computed first (a hash pass over the
// body, which is then rewound), so corruption in transit is refused by the
// server (BadDigest). Retries rewind the body to where it was on entry.
func (b *Bucket) PutObject(ctx context.Context, key string, body io.ReadSeeker, size int64, o WriteOptions) (PutResult, error) {
	const op = "PutObject"
	if err := checkBody(op, key, body, size); err != nil {
		return PutResult{}, err
	}
	if o.ContentMD5 == "" && size > 0 {
		sum, err := bodyMD5(body, size)
		if err != nil {
			return PutResult{}, &Error{Op: op, Key: key, Err: err}
		}
		o.ContentMD5 = sum
	}
	r := newObjectRequest(op, http.MethodPut, key)
	r.body, r.size = body, size
	o.SSE = b.keepEncryption(key, o.SSE)
	b.setWriteHeaders(r.header, o)
	res, err := b.do(ctx, r)
	if err != nil {
		return PutResult{}, err
	}
	b.learnWrite(key, res.resp.Header, o.SSE)
	return putResult(res.resp.Header), nil
}

func checkBody(op, key string, body io.ReadSeeker, size int64) error {
	if size < 0 {
		return &Error{Op: op, Key: key, Err: fmt.Errorf("%w: negative size %d", errNotRetryable, size)}
	}
	if body == nil && size > 0 {
		return &Error{Op: op, Key: key, Err: fmt.Errorf("%w: nil body with size %d", errNotRetryable, size)}
	}
	return nil
}

// bodyMD5 hashes size bytes from the current offset and seeks back.
func bodyMD5(body io.ReadSeeker, size int64) (string, error) {
	start, err := body.Seek(0, io.SeekCurrent)
	if err != nil {
		return "", err
	}
	h := md5.New()
	if _, err := io.CopyN(h, body, size); err != nil {
		return "", fmt.Errorf("hashing body: %w", err)
	}
	if _, err := body.Seek(start, io.SeekStart); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil)), nil
}

func putResult(h http.Header) PutResult {
	return PutResult{
		ETag:         trimETag(h.Get("ETag")),
		VersionID:    firstHeader(h, "x-obs-version-id", "x-amz-version-id"),
		LastModified: parseTime(h.Get("Last-Modified")),
	}
}

// copySourceHeader is "bucket/<key>" with the key escaped like a request
// path (space as %20, '+' as %2B, non-ASCII as UTF-8 escapes), plus
// "?versionId=".
func (b *Bucket) copySourceHeader(src CopySource) string {
	bucket := src.Bucket
	if bucket == "" {
		bucket = b.name
	}
	s := bucket + "/" + signer.EscapeKey(src.Key)
	if src.VersionID != "" {
		s += "?versionId=" + src.VersionID
	}
	return s
}

// setCopySource adds the copy-source header, its conditions and the SSE-C
// key of the source.
func (b *Bucket) setCopySource(h http.Header, src CopySource) {
	p := b.prefix()
	h.Set(p+"copy-source", b.copySourceHeader(src))
	setConditions(h, p+"copy-source-if-", src.IfMatch, src.IfNoneMatch, src.IfModifiedSince, src.IfUnmodifiedSince)
	if src.SSE != nil {
		setSSEC(h, p+"copy-source-server-side-encryption-customer-", src.SSE.CustomerKey)
	}
}

// CopyObject copies src to dstKey server-side (≤ 5 GB; use UploadPartCopy
// beyond). With MetadataReplace, o.Write supplies the new content type and
// metadata; ACL, storage class and SSE of o.Write apply either way. A 200
// whose body is an <Error> is an error.
func (b *Bucket) CopyObject(ctx context.Context, dstKey string, src CopySource, o CopyOptions) (PutResult, error) {
	if b.pol() == nil || (src.Bucket != "" && src.Bucket != b.name) || !b.managed(src.SSE) {
		return b.copyObject(ctx, dstKey, src, o)
	}
	// The policy: the source's key, and the source's encryption for the
	// target unless the caller chose one. Once more after a refusal that
	// says the knowledge was stale.
	keep := o.Write.SSE == nil
	for attempt := 0; ; attempt++ {
		srcKey, target, err := b.copyEncryption(ctx, src)
		if err != nil {
			return PutResult{}, err
		}
		s, c := src, o
		s.SSE = nil
		if srcKey != nil {
			s.SSE = &SSE{CustomerKey: srcKey}
		}
		if keep {
			c.Write.SSE = target
		}
		pr, err := b.copyObject(ctx, dstKey, s, c)
		if err == nil || attempt > 0 || !(sseRefused(err) || StatusCode(err) == http.StatusForbidden) {
			return pr, err
		}
		b.pol().forget(src.Key)
	}
}

// copyObject is one copy request.
func (b *Bucket) copyObject(ctx context.Context, dstKey string, src CopySource, o CopyOptions) (PutResult, error) {
	r := newObjectRequest("CopyObject", http.MethodPut, dstKey)
	r.errIn200 = true
	b.setCopySource(r.header, src)
	w := o.Write
	dir := o.Directive
	if dir == "" {
		dir = MetadataCopy
	}
	if dir != MetadataReplace {
		w.ContentType, w.Metadata = "", nil
	}
	w.ContentMD5 = "" // the copy request has no body
	b.setWriteHeaders(r.header, w)
	r.header.Set(b.prefix()+"metadata-directive", string(dir))
	var x xmlCopyResult
	res, err := b.doDecode(ctx, r, &x)
	if err != nil {
		return PutResult{}, err
	}
	if trimETag(x.ETag) == "" {
		return PutResult{}, &Error{Op: r.op, Key: dstKey, StatusCode: res.resp.StatusCode, Code: "MalformedResponse",
			RequestID: requestID(res.resp.Header), Err: errors.New("copy result without ETag")}
	}
	b.learnWrite(dstKey, res.resp.Header, w.SSE)
	pr := putResult(res.resp.Header)
	pr.ETag, pr.LastModified = trimETag(x.ETag), parseTime(x.LastModified)
	return pr, nil
}

// SetObjectMetadata changes an object's metadata without rewriting its data.
// In the OBS dialect it is PUT ?metadata with x-obs-metadata-directive
// (MetadataReplace replaces all custom metadata, MetadataReplaceNew merges);
// o.ContentType and o.StorageClass change those too. REPLACE without a
// content type first HEADs the object to keep its current one. In the S3 dialects it
// falls back to a self-copy with REPLACE pinned to the current ETag, keeping
// the content type (and, for REPLACE_NEW, the existing metadata) unless o
// changes them.
func (b *Bucket) SetObjectMetadata(ctx context.Context, key string, d MetadataDirective, o WriteOptions) error {
	if d == "" || d == MetadataCopy {
		d = MetadataReplaceNew
	}
	if !b.isOBS() || b.knownSSEC(key) {
		// PUT ?metadata takes no SSE-C headers (OBS API reference):
		// an SSE-C object's metadata changes by a copy with its key.
		return b.setMetadataByCopy(ctx, key, d, o)
	}
	if d == MetadataReplace && o.ContentType == "" {
		// REPLACE resets the content type too; keep the current one.
		cur, err := b.HeadObject(ctx, key, GetOptions{SSE: o.SSE})
		if err != nil {
			return err
		}
		o.ContentType = cur.ContentType
	}
	r := newObjectRequest("SetObjectMetadata", http.MethodPut, key)
	r.query.Set("metadata", "")
	h := r.header
	h.Set("x-obs-metadata-directive", string(d))
	if o.ContentType != "" {
		h.Set("Content-Type", o.ContentType)
	}
	if o.StorageClass != "" {
		h.Set("x-obs-storage-class", b.wireClass(o.StorageClass))
	}
	if o.ExpiresDays > 0 {
		h.Set("x-obs-expires", strconv.Itoa(o.ExpiresDays))
	}
	b.setMetadata(h, o.Metadata)
	_, err := b.do(ctx, r)
	if b.pol() != nil && StatusCode(err) == http.StatusBadRequest {
		// Perhaps an SSE-C object not known as such: HEAD tells.
		if _, herr := b.HeadObject(ctx, key, GetOptions{}); herr == nil && b.knownSSEC(key) {
			return b.setMetadataByCopy(ctx, key, d, o)
		}
	}
	return err
}

func (b *Bucket) setMetadataByCopy(ctx context.Context, key string, d MetadataDirective, o WriteOptions) error {
	cur, err := b.HeadObject(ctx, key, GetOptions{SSE: o.SSE})
	if err != nil {
		return err
	}
	w := o
	if w.ContentType == "" {
		w.ContentType = cur.ContentType
	}
	if w.StorageClass == "" && cur.StorageClass != "STANDARD" {
		w.StorageClass = cur.StorageClass
	}
	if d == MetadataReplaceNew {
		merged := make(map[string]string, len(cur.Metadata)+len(o.Metadata))
		for k, v := range cur.Metadata {
			merged[k] = v
		}
		for k, v := range o.Metadata {
			merged[strings.ToLower(k)] = v
		}
		w.Metadata = merged
	}
	if w.SSE == nil && b.pol() == nil {
		// A copy keeps no encryption unless asked: keep SSE-KMS/SSE-OBS.
		switch {
		case cur.SSE == "kms":
			w.SSE = &SSE{KMS: true, KMSKeyID: cur.KMSKeyID}
		case cur.SSE != "":
			w.SSE = &SSE{OBS: true}
		}
	}
	src := CopySource{Key: key, IfMatch: cur.ETag, SSE: o.SSE}
	_, err = b.CopyObject(ctx, key, src, CopyOptions{Directive: MetadataReplace, Write: w})
	if e, ok := AsError(err); ok {
		e.Op = "SetObjectMetadata"
	}
	return err
}

// DeleteObject deletes key (or one version of it). Deleting a missing key
// succeeds, as on the server.
func (b *Bucket) DeleteObject(ctx context.Context, key, versionID string) (DeleteResult, error) {
	r := newObjectRequest("DeleteObject", http.MethodDelete, key)
	if versionID != "" {
		r.query.Set("versionId", versionID)
	}
	res, err := b.do(ctx, r)
	if err != nil {
		return DeleteResult{}, err
	}
	if versionID == "" {
		b.forgetKey(key)
	}
	h := res.resp.Header
	dr := DeleteResult{Key: key, VersionID: versionID}
	if strings.EqualFold(firstHeader(h, "x-obs-delete-marker", "x-amz-delete-marker"), "true") {
		dr.DeleteMarker = true
		dr.DeleteMarkerVersionID = firstHeader(h, "x-obs-version-id", "x-amz-version-id")
	}
	return dr, nil
}
