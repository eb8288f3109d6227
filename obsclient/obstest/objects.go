package obstest

import (
	"bytes"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxPut is the largest single PUT, part or append (5 GB).
const maxPut = 5 << 30

// receiveBody streams the request body into a new blob, checking the
// declared length, the 5 GB limit and Content-MD5. The blob is not retained.
func (rc *reqCtx) receiveBody() (*blobRef, []byte, error) {
	n := rc.r.ContentLength
	if n < 0 {
		return nil, nil, errMissingLength
	}
	if n > maxPut {
		return nil, nil, errEntityTooLarge
	}
	want, err := rc.contentMD5()
	if err != nil {
		return nil, nil, err
	}
	hr := newHashingReader(io.LimitReader(rc.r.Body, n), maxPut)
	ref, err := rc.s.blobs.create(hr)
	if err != nil {
		if hr.readErr != nil {
			return nil, nil, bodyError(hr.readErr)
		}
		return nil, nil, err // storage failure: 500
	}
	sum := hr.sum()
	switch {
	case ref.b.size() != n:
		err = errIncompleteBody
	case want != nil && !bytes.Equal(want, sum):
		err = errBadDigest
	}
	if err == nil {
		err = drainCheck(rc.r.Body)
	}
	if err != nil {
		ref.discard()
		return nil, nil, err
	}
	return ref, sum, nil
}

// drainCheck reads to EOF so that payload verifiers (V4 SHA-256, chunk
// signatures) report their verdict.
func drainCheck(r io.Reader) error {
	var buf [512]byte
	for {
		_, err := r.Read(buf[:])
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return bodyError(err)
		}
	}
}

// handlePutObject: PUT /<key>.
func handlePutObject(rc *reqCtx) error {
	v, err := rc.newVersion()
	if err != nil {
		return err
	}
	ref, sum, err := rc.receiveBodyInQuota()
	if err != nil {
		return err
	}
	v.body, v.Size, v.ETag = bodyOf(ref), ref.b.size(), quote(hex.EncodeToString(sum))
	if err := rc.commit(v); err != nil {
		ref.discard()
		return err
	}
	rc.w.Header().Set("ETag", v.ETag)
	rc.setVersionHeader(v.VersionID)
	if v.StorageClass != "" {
		rc.setHdr("storage-class", rc.className(v.StorageClass))
	}
	rc.setSSEHeaders(v)
	return rc.noContent(http.StatusOK)
}

// receiveBodyInQuota is receiveBody after precheckQuota of the declared
// length.
func (rc *reqCtx) receiveBodyInQuota() (*blobRef, []byte, error) {
	if err := rc.precheckQuota(rc.r.ContentLength); err != nil {
		return nil, nil, err
	}
	return rc.receiveBody()
}

// precheckQuota rejects a write that cannot fit before reading its body.
func (rc *reqCtx) precheckQuota(n int64) error {
	rc.b.mu.RLock()
	defer rc.b.mu.RUnlock()
	return rc.b.checkQuota(max(n, 0))
}

// commit stores v as the latest version of its key (quota re-checked).
func (rc *reqCtx) commit(v *version) error {
	now := rc.s.now()
	rc.b.mu.Lock()
	defer rc.b.mu.Unlock()
	if err := rc.b.checkQuota(v.Size); err != nil {
		return err
	}
	v.LastModified = now
	rc.b.store(v, func() string { return rc.s.ids.next(now) })
	return nil
}

// markerError is the failure to read a delete marker: 404 NoSuchKey, or 405
// MethodNotAllowed when the marker was addressed by version id.
type markerError struct {
	*apiError
	versionID string
}

// snapshot returns a copy of the requested version with its body retained
// (the caller releases it). Delete markers fail with a *markerError.
func snapshot(b *bucket, key, vid string) (*version, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	v, err := b.find(key, vid)
	if err != nil {
		return nil, err
	}
	if v.DeleteMarker {
		if vid != "" {
			return nil, &markerError{errMethodNotAllowed, v.VersionID}
		}
		return nil, &markerError{errNoSuchKey, v.VersionID}
	}
	cp := *v
	cp.body.retain()
	return &cp, nil
}

// markerHeaders sets x-obs-delete-marker / version id for a markerError.
func (rc *reqCtx) markerHeaders(err error) error {
	if me, ok := err.(*markerError); ok {
		rc.setHdr("delete-marker", "true")
		rc.setVersionHeader(me.versionID)
		return me.apiError
	}
	return err
}

// handleHeadObject: HEAD /<key>.
func handleHeadObject(rc *reqCtx) error { return rc.serveObject(false) }

// handleGetObject: GET /<key>.
func handleGetObject(rc *reqCtx) error { return rc.serveObject(true) }

// serveObject answers GET and HEAD.
func (rc *reqCtx) serveObject(withBody bool) error {
	v, err := snapshot(rc.b, rc.key, rc.query.Get("versionId"))
	if err != nil {
		return rc.markerHeaders(err)
	}
	defer v.body.release()
	if err := rc.checkSSEC(v, "server-side-encryption-customer-"); err != nil {
		return err
	}
	now := rc.s.now()
	if v.archived() {
		rc.setRestoreHeader(v, now)
		if withBody && !v.restored(now) {
			return errInvalidObjectState
		}
	}
	if status := checkConditions(rc.r.Header, v); status != 0 {
		return rc.notModified(status, v)
	}
	rc.setObjectHeaders(v)
	if withBody {
		rc.applyOverrides()
	}
	start, n, partial, err := parseRange(rc.r.Header.Get("Range"), v.Size)
	if err != nil {
		rc.w.Header().Set("Content-Range", "bytes */"+strconv.FormatInt(v.Size, 10))
		return err
	}
	return rc.sendBody(v, start, n, partial, withBody)
}

// notModified answers a failed conditional (304 or 412).
func (rc *reqCtx) notModified(status int, v *version) error {
	if status == http.StatusPreconditionFailed {
		return errPrecondition
	}
	h := rc.w.Header()
	h.Set("ETag", v.ETag)
	h.Set("Last-Modified", v.LastModified.Format(http.TimeFormat))
	rc.w.WriteHeader(http.StatusNotModified)
	return nil
}

// sendBody writes bytes [start, start+n) of v.
func (rc *reqCtx) sendBody(v *version, start, n int64, partial, withBody bool) error {
	h := rc.w.Header()
	h.Set("Content-Length", strconv.FormatInt(n, 10))
	status := http.StatusOK
	if partial {
		status = http.StatusPartialContent
		h.Set("Content-Range", "bytes "+strconv.FormatInt(start, 10)+"-"+strconv.FormatInt(start+n-1, 10)+"/"+strconv.FormatInt(v.Size, 10))
	}
	if !withBody || n == 0 {
		rc.w.WriteHeader(status)
		return nil
	}
	rd, done, err := v.body.openReader(start, n)
	if err != nil {
		return err
	}
	defer done()
	rc.w.WriteHeader(status)
	if _, err := io.Copy(rc.w, rd); err != nil && !errClosed(err) {
		rc.s.logf("obstest: GET %s/%s: %v", rc.bucketName, rc.key, err)
	}
	return nil
}

// applyOverrides applies response-* query parameters (GET only).
func (rc *reqCtx) applyOverrides() {
	for q, h := range map[string]string{
		"response-content-type": "Content-Type", "response-content-language": "Content-Language",
		"response-expires": "Expires", "response-cache-control": "Cache-Control",
		"response-content-disposition": "Content-Disposition", "response-content-encoding": "Content-Encoding",
	} {
		if v := rc.query.Get(q); v != "" {
			rc.w.Header().Set(h, v)
		}
	}
}

// parseRange interprets a Range header against size (PROTOCOL.md §3):
// malformed or reversed ranges are ignored (full body), a start past the end
// is 416, an end past the end is clamped. The unit is case-insensitive
// (RFC 9110 §14.1); several ranges are not served (the full body, as S3
// and OBS answer).
func parseRange(h string, size int64) (start, n int64, partial bool, err error) {
	h = strings.TrimSpace(h)
	spec, ok := "", len(h) >= len("bytes=") && strings.EqualFold(h[:len("bytes=")], "bytes=")
	if ok {
		spec = strings.TrimSpace(h[len("bytes="):])
	}
	if !ok || strings.Contains(spec, ",") {
		return 0, size, false, nil
	}
	a, b, ok := strings.Cut(spec, "-")
	if !ok {
		return 0, size, false, nil
	}
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	if a == "" {
		suffix, perr := strconv.ParseInt(b, 10, 64)
		if perr != nil || suffix < 0 {
			return 0, size, false, nil
		}
		if suffix == 0 || size == 0 {
			return 0, 0, false, errInvalidRange
		}
		suffix = min(suffix, size)
		return size - suffix, suffix, true, nil
	}
	first, perr := strconv.ParseInt(a, 10, 64)
	if perr != nil || first < 0 {
		return 0, size, false, nil
	}
	last := size - 1
	if b != "" {
		l, perr := strconv.ParseInt(b, 10, 64)
		if perr != nil || l < first {
			return 0, size, false, nil
		}
		last = min(l, size-1)
	}
	if first >= size {
		return 0, 0, false, errInvalidRange
	}
	return first, last - first + 1, true, nil
}

// checkConditions evaluates If-Match, If-Unmodified-Since, If-None-Match and
// If-Modified-Since (copy-source conditions are mapped onto them by the
// caller). It returns 0, 304 or 412.
func checkConditions(h http.Header, v *version) int {
	etag := unquote(v.ETag)
	mod := v.LastModified.Truncate(time.Second)
	if im := h.Get("If-Match"); im != "" {
		if !etagMatches(im, etag) {
			return http.StatusPreconditionFailed
		}
	} else if ius := h.Get("If-Unmodified-Since"); ius != "" {
		if t, err := http.ParseTime(ius); err == nil && mod.After(t) {
			return http.StatusPreconditionFailed
		}
	}
	if inm := h.Get("If-None-Match"); inm != "" {
		if etagMatches(inm, etag) {
			return http.StatusNotModified
		}
	} else if ims := h.Get("If-Modified-Since"); ims != "" {
		if t, err := http.ParseTime(ims); err == nil && !mod.After(t) {
			return http.StatusNotModified
		}
	}
	return 0
}

// etagMatches reports whether a comma-separated ETag list (or "*") matches.
func etagMatches(list, etag string) bool {
	for _, e := range strings.Split(list, ",") {
		if e = strings.TrimSpace(e); e == "*" || unquote(e) == etag {
			return true
		}
	}
	return false
}

// handleDeleteObject: DELETE /<key>[?versionId=] → 204 even when absent.
func handleDeleteObject(rc *reqCtx) error {
	if rc.b.pfs && strings.HasSuffix(rc.key, "/") {
		if err := rc.checkDirEmpty(rc.key); err != nil {
			return err
		}
	}
	res := rc.deleteOne(rc.key, rc.query.Get("versionId"))
	if res.marker {
		rc.setHdr("delete-marker", "true")
	}
	rc.setVersionHeader(res.versionID)
	return rc.noContent(http.StatusNoContent)
}

// deleteResult says what deleteOne did.
type deleteResult struct {
	versionID string // removed version, or the new delete marker
	marker    bool   // a delete marker was created or removed
}

// deleteOne deletes key (one version, or the latest by creating a delete
// marker when versioning is on).
func (rc *reqCtx) deleteOne(key, vid string) deleteResult {
	now := rc.s.now()
	b := rc.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if vid != "" {
		v, err := b.find(key, vid)
		if err != nil {
			return deleteResult{versionID: vid}
		}
		b.remove(v)
		return deleteResult{versionID: vid, marker: v.DeleteMarker}
	}
	if b.versioning == "" {
		if v := b.latest(key); v != nil {
			b.remove(v)
		}
		return deleteResult{}
	}
	if _, ok := b.objects[key]; !ok && b.versioning == "Suspended" {
		return deleteResult{}
	}
	dm := &version{ObjectInfo: ObjectInfo{Key: key, DeleteMarker: true, LastModified: now}}
	b.store(dm, func() string { return rc.s.ids.next(now) })
	return deleteResult{versionID: dm.VersionID, marker: true}
}

// handleDeleteObjects: POST /?delete (batch, Content-MD5 mandatory, ≤ 1000).
func handleDeleteObjects(rc *reqCtx) error {
	var in xmlDeleteIn
	if err := rc.readXML(&in, 2<<20, true); err != nil {
		return err
	}
	if in.XMLName.Local != "Delete" || len(in.Objects) == 0 || len(in.Objects) > 1000 {
		return errMalformedXML
	}
	quiet := strings.EqualFold(strings.TrimSpace(in.Quiet), "true")
	out := xmlDeleteResult{Xmlns: rc.ns()}
	for _, o := range in.Objects {
		if o.Key == "" || len(o.Key) > 1024 {
			out.Errors = append(out.Errors, xmlDeleteError{Key: o.Key, VersionID: o.VersionID, Code: "InvalidArgument", Message: "invalid key"})
			continue
		}
		res := rc.deleteOne(o.Key, o.VersionID)
		if quiet {
			continue
		}
		d := xmlDeleted{Key: o.Key, VersionID: o.VersionID}
		if res.marker {
			d.DeleteMarker = true
			if o.VersionID == "" {
				d.DeleteMarkerVersionID = res.versionID
			} else {
				d.DeleteMarkerVersionID = o.VersionID
			}
		}
		out.Deleted = append(out.Deleted, d)
	}
	return rc.writeXML(http.StatusOK, out)
}
