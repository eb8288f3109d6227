package obstest

import (
	"maps"
	"net/http"
	"net/url"
	"strings"
)

// Server-side copy and metadata updates.

// copySource is a parsed x-obs-copy-source header.
type copySource struct {
	bucket, key, versionID string
}

// parseCopySource decodes x-obs-copy-source / x-amz-copy-source the way the
// services do: the value is URL-encoded as a whole, so it is percent-decoded
// whole (bucket, the slash after it, the key; "+" is a space, as the SDK's
// QueryEscape sends it; a literal "+" arrives as %2B), with or without a
// leading "/". A version is a query: a literal "?versionId=" (a "?" in the
// key arrives as %3F), so it is cut off before decoding. All of these name
// bucket "b", key "dir/a b+c?":
//
//	b/dir/a%20b%2Bc%3F            the documented form (as obsclient sends)
//	/b/dir/a+b%2Bc%3F             the SDK's, with a leading slash
//	b%2Fdir%2Fa%20b%2Bc%3F        slashes encoded too (goofys)
func parseCopySource(s string) (copySource, error) {
	var cs copySource
	if i := strings.LastIndex(s, "?"); i >= 0 {
		if v, ok := strings.CutPrefix(s[i+1:], "versionId="); ok {
			id, err := url.QueryUnescape(v)
			if err != nil {
				return cs, invalidArgument("Invalid version id specified in the copy source")
			}
			cs.versionID, s = id, s[:i]
		}
	}
	dec, err := url.QueryUnescape(s)
	if err != nil {
		return cs, invalidArgument("Invalid copy source encoding")
	}
	b, k, ok := strings.Cut(strings.TrimPrefix(dec, "/"), "/")
	if !ok || b == "" || k == "" {
		return cs, invalidArgument("Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
	}
	cs.bucket, cs.key = b, k
	if len(cs.key) > 1024 {
		return cs, errKeyTooLong
	}
	return cs, nil
}

// copySourceVersion reads the copy source (retained snapshot).
func (rc *reqCtx) copySourceVersion() (*version, copySource, error) {
	cs, err := parseCopySource(rc.hdr("copy-source"))
	if err != nil {
		return nil, cs, err
	}
	src := rc.s.bucket(cs.bucket)
	if src == nil {
		return nil, cs, errNoSuchBucket
	}
	v, err := snapshot(src, cs.key, cs.versionID)
	if _, ok := err.(*markerError); ok {
		err = errNoSuchKey
		if cs.versionID != "" {
			err = invalidRequest("The source of a copy request may not specifically refer to a delete marker by version id.")
		}
	}
	if err != nil {
		return nil, cs, err
	}
	if err := rc.checkCopyable(v); err != nil {
		v.body.release()
		return nil, cs, err
	}
	return v, cs, nil
}

// checkCopyable applies restore state, SSE-C and copy-source conditions.
func (rc *reqCtx) checkCopyable(v *version) error {
	if v.archived() && !v.restored(rc.s.now()) {
		return errInvalidObjectState
	}
	if err := rc.checkSSEC(v, "copy-source-server-side-encryption-customer-"); err != nil {
		return err
	}
	h := http.Header{}
	for _, c := range []string{"If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since"} {
		if val := rc.hdr("copy-source-" + strings.ToLower(c)); val != "" {
			h.Set(c, val)
		}
	}
	if checkConditions(h, v) != 0 {
		return errPrecondition
	}
	return nil
}

// handleCopyObject: PUT /<key> with x-obs-copy-source.
func handleCopyObject(rc *reqCtx) error {
	src, cs, err := rc.copySourceVersion()
	if err != nil {
		return err
	}
	defer src.body.release()
	v, err := rc.copyTarget(src, cs)
	if err != nil {
		return err
	}
	if err := rc.commit(v); err != nil {
		return err
	}
	rc.setVersionHeader(v.VersionID)
	if src.VersionID != "null" {
		rc.setHdr("copy-source-version-id", src.VersionID)
	}
	rc.setSSEHeaders(v)
	return rc.writeXML(http.StatusOK, xmlCopyResult{XMLName: xmlName("CopyObjectResult"), Xmlns: rc.ns(),
		LastModified: isoTime(v.LastModified), ETag: v.ETag})
}

// copyTarget builds the new version of a copy (metadata per directive).
func (rc *reqCtx) copyTarget(src *version, cs copySource) (*version, error) {
	dir := strings.ToUpper(rc.hdr("metadata-directive"))
	if dir != "" && dir != "COPY" && dir != "REPLACE" {
		return nil, invalidArgument("Unknown metadata directive %q", dir)
	}
	v, err := rc.newVersion()
	if err != nil {
		return nil, err
	}
	self := cs.bucket == rc.bucketName && cs.key == rc.key && src.IsLatest
	classChange := rc.hdr("storage-class") != "" && v.StorageClass != src.StorageClass
	if self && dir != "REPLACE" && !classChange && v.SSE == "" && v.SSECKeyMD5 == "" {
		return nil, invalidRequest("This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
	}
	if dir != "REPLACE" {
		v.Headers = maps.Clone(src.Headers)
		v.Metadata = maps.Clone(src.Metadata)
	}
	v.body, v.Size, v.ETag = src.body, src.Size, src.ETag
	return v, nil
}

// handleSetMetadata: PUT /<key>?metadata with x-obs-metadata-directive
// REPLACE_NEW (merge) or REPLACE (replace all).
func handleSetMetadata(rc *reqCtx) error {
	dir := strings.ToUpper(rc.hdr("metadata-directive"))
	if dir != "REPLACE" && dir != "REPLACE_NEW" {
		return invalidArgument("x-obs-metadata-directive must be REPLACE or REPLACE_NEW")
	}
	meta, err := rc.readMetadata()
	if err != nil {
		return err
	}
	class, err := parseClass(rc.hdr("storage-class"))
	if err != nil {
		return err
	}
	std := rc.readStdHeaders()
	rc.b.mu.Lock()
	defer rc.b.mu.Unlock()
	v, err := rc.b.find(rc.key, rc.query.Get("versionId"))
	if err != nil {
		return err
	}
	if v.DeleteMarker {
		return errNoSuchKey
	}
	if v.SSECKeyMD5 != "" {
		// SetObjectMetadata is not among the APIs that take SSE-C headers
		// (OBS API reference, SSE-C): the emulator refuses it for SSE-C
		// objects, so clients change their metadata by a copy with the key.
		return invalidRequest("The object is encrypted with SSE-C; change its metadata by copying it with its key.")
	}
	if dir == "REPLACE_NEW" {
		meta = mergeMaps(v.Metadata, meta)
		std = mergeMaps(v.Headers, std)
	}
	if err := checkMetaSize(meta); err != nil {
		return err
	}
	v.Metadata, v.Headers = meta, std
	if rc.hdr("storage-class") != "" {
		v.StorageClass = class
	}
	rc.echoMetadata(v, dir)
	return rc.noContent(http.StatusOK)
}

// echoMetadata writes the resulting metadata into the response headers.
func (rc *reqCtx) echoMetadata(v *version, dir string) {
	rc.setHdr("metadata-directive", dir)
	for k, val := range v.Headers {
		rc.w.Header().Set(k, val)
	}
	for k, val := range v.Metadata {
		rc.w.Header().Set(rc.prefix()+"meta-"+k, val)
	}
	if v.StorageClass != "" {
		rc.setHdr("storage-class", rc.className(v.StorageClass))
	}
}

// mergeMaps returns a copy of base with over applied.
func mergeMaps(base, over map[string]string) map[string]string {
	out := maps.Clone(base)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, over)
	return out
}

// checkMetaSize enforces the 8 KB user-metadata limit.
func checkMetaSize(meta map[string]string) error {
	n := 0
	for k, v := range meta {
		n += len(k) + len(v)
	}
	if n > maxMetadata {
		return errMetadataTooLarge
	}
	return nil
}
