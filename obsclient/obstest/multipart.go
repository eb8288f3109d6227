package obstest

import (
	"crypto/md5"
	"encoding/hex"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Multipart uploads
//
// Parts are blobs held by the upload; CompleteMultipartUpload concatenates
// the chosen parts' segments into the new version without copying bytes and
// drops the rest. UploadPartCopy slices the source body (zero copy) and only
// reads it to compute the part's MD5.

const (
	maxParts    = 10000
	minPartSize = 100 * 1024
)

// handleInitiateUpload: POST /<key>?uploads.
func handleInitiateUpload(rc *reqCtx) error {
	tmpl, err := rc.newVersion()
	if err != nil {
		return err
	}
	now := rc.s.now()
	u := &upload{id: rc.s.ids.next(now), key: rc.key, initiated: now, tmpl: tmpl, parts: map[int]*part{}}
	rc.b.mu.Lock()
	rc.b.uploads[u.id] = u
	rc.b.mu.Unlock()
	rc.setSSEHeaders(tmpl)
	enc, _, err := encoder(rc.query)
	if err != nil {
		enc = func(s string) string { return s }
	}
	return rc.writeXML(http.StatusOK, xmlInitiateResult{Xmlns: rc.ns(), Bucket: rc.bucketName, Key: enc(rc.key), UploadID: u.id})
}

// partNumber parses ?partNumber (1–10000).
func (rc *reqCtx) partNumber() (int, error) {
	n, err := strconv.Atoi(rc.query.Get("partNumber"))
	if err != nil || n < 1 || n > maxParts {
		return 0, invalidArgument("Part number must be an integer between 1 and 10000, inclusive")
	}
	return n, nil
}

// findUpload returns the upload named by ?uploadId for rc.key. Caller holds b.mu.
func (rc *reqCtx) findUpload() (*upload, error) {
	u := rc.b.uploads[rc.query.Get("uploadId")]
	if u == nil || u.key != rc.key {
		return nil, errNoSuchUpload
	}
	return u, nil
}

// uploadExists checks ?uploadId before a body is read.
func (rc *reqCtx) uploadExists() (*upload, error) {
	rc.b.mu.RLock()
	defer rc.b.mu.RUnlock()
	return rc.findUpload()
}

// handleUploadPart: PUT /<key>?partNumber=N&uploadId=ID.
func handleUploadPart(rc *reqCtx) error {
	n, err := rc.partNumber()
	if err != nil {
		return err
	}
	u, err := rc.uploadExists()
	if err != nil {
		return err
	}
	if err := rc.checkSSEC(u.tmpl, "server-side-encryption-customer-"); err != nil {
		return err
	}
	ref, sum, err := rc.receiveBodyInQuota()
	if err != nil {
		return err
	}
	p := &part{num: n, body: bodyOf(ref), etag: quote(hex.EncodeToString(sum)), modified: rc.s.now()}
	if err := rc.storePart(p); err != nil {
		ref.discard()
		return err
	}
	rc.w.Header().Set("ETag", p.etag)
	rc.setSSEHeaders(u.tmpl)
	return rc.noContent(http.StatusOK)
}

// storePart adds p to the upload (replacing a previous part N).
func (rc *reqCtx) storePart(p *part) error {
	rc.b.mu.Lock()
	defer rc.b.mu.Unlock()
	u, err := rc.findUpload()
	if err != nil {
		return err
	}
	if old := u.parts[p.num]; old != nil {
		old.body.release()
	}
	p.body.retain()
	u.parts[p.num] = p
	return nil
}

// handleUploadPartCopy: UploadPart with x-obs-copy-source[-range].
func handleUploadPartCopy(rc *reqCtx) error {
	n, err := rc.partNumber()
	if err != nil {
		return err
	}
	u, err := rc.uploadExists()
	if err != nil {
		return err
	}
	// The target part is encrypted like the upload: its SSE-C key again.
	if err := rc.checkSSEC(u.tmpl, "server-side-encryption-customer-"); err != nil {
		return err
	}
	src, _, err := rc.copySourceVersion()
	if err != nil {
		return err
	}
	defer src.body.release()
	start, size, err := copyRange(rc.hdr("copy-source-range"), src.Size)
	if err != nil {
		return err
	}
	b := src.body.slice(start, size)
	sum, err := b.md5Of()
	if err != nil {
		return err
	}
	p := &part{num: n, body: b, etag: quote(hex.EncodeToString(sum)), modified: rc.s.now()}
	if err := rc.storePart(p); err != nil {
		return err
	}
	return rc.writeXML(http.StatusOK, xmlCopyResult{XMLName: xmlName("CopyPartResult"), Xmlns: rc.ns(),
		LastModified: isoTime(p.modified), ETag: p.etag})
}

// copyRange parses x-obs-copy-source-range "bytes=first-last" (inclusive,
// within the source); empty means the whole source.
func copyRange(h string, size int64) (int64, int64, error) {
	if h == "" {
		return 0, size, nil
	}
	bad := errf(http.StatusBadRequest, "InvalidArgument", "The x-obs-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy")
	spec, ok := strings.CutPrefix(h, "bytes=")
	a, b, ok2 := strings.Cut(spec, "-")
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	if !ok || !ok2 || err1 != nil || err2 != nil || first < 0 || last < first {
		return 0, 0, bad
	}
	if last >= size {
		return 0, 0, errInvalidRange
	}
	return first, last - first + 1, nil
}

// completePart is one validated <Part> of a complete request.
type completePart struct {
	num  int
	etag string
}

// parseComplete reads and validates the CompleteMultipartUpload document.
func (rc *reqCtx) parseComplete() ([]completePart, error) {
	var in xmlCompleteIn
	if err := rc.readXML(&in, 4<<20, false); err != nil {
		return nil, err
	}
	if in.XMLName.Local != "CompleteMultipartUpload" || len(in.Parts) == 0 || len(in.Parts) > maxParts {
		return nil, errMalformedXML
	}
	out := make([]completePart, 0, len(in.Parts))
	for i, p := range in.Parts {
		n, err := strconv.Atoi(strings.TrimSpace(p.PartNumber))
		if err != nil || n < 1 || n > maxParts {
			return nil, errMalformedXML
		}
		if i > 0 && n <= out[i-1].num {
			return nil, errInvalidPartOrder
		}
		out = append(out, completePart{num: n, etag: strings.ToLower(unquote(p.ETag))})
	}
	return out, nil
}

// handleCompleteUpload: POST /<key>?uploadId=ID.
func handleCompleteUpload(rc *reqCtx) error {
	if _, err := rc.uploadExists(); err != nil {
		return err
	}
	parts, err := rc.parseComplete()
	if err != nil {
		return err
	}
	v, err := rc.complete(parts)
	if err != nil {
		return err
	}
	rc.setVersionHeader(v.VersionID)
	rc.setSSEHeaders(v)
	enc, _, err := encoder(rc.query)
	if err != nil {
		enc = func(s string) string { return s }
	}
	loc := "http://" + rc.r.Host + "/" + rc.bucketName + "/" + signerEscape(rc.key)
	return rc.writeXML(http.StatusOK, xmlCompleteResult{Xmlns: rc.ns(), Location: loc, Bucket: rc.bucketName, Key: enc(rc.key), ETag: v.ETag})
}

// complete assembles and stores the object, atomically with respect to
// other operations on the upload.
func (rc *reqCtx) complete(parts []completePart) (*version, error) {
	now := rc.s.now()
	b := rc.b
	b.mu.Lock()
	defer b.mu.Unlock()
	u, err := rc.findUpload()
	if err != nil {
		return nil, err
	}
	v, err := assemble(u, parts)
	if err != nil {
		return nil, err
	}
	if err := b.checkQuota(v.Size); err != nil {
		return nil, err
	}
	v.LastModified = now
	b.store(v, func() string { return rc.s.ids.next(now) })
	delete(b.uploads, u.id)
	for _, p := range u.parts {
		p.body.release()
	}
	return v, nil
}

// assemble validates the listed parts and builds the new version.
func assemble(u *upload, parts []completePart) (*version, error) {
	v := &version{ObjectInfo: u.tmpl.ObjectInfo.clone(), acl: u.tmpl.acl}
	v.Key, v.UploadID = u.key, u.id
	h := md5.New()
	for i, cp := range parts {
		p := u.parts[cp.num]
		if p == nil || unquote(p.etag) != cp.etag {
			return nil, errInvalidPart
		}
		if i < len(parts)-1 && p.body.size < minPartSize {
			return nil, errEntityTooSmall
		}
		raw, _ := hex.DecodeString(unquote(p.etag))
		h.Write(raw)
		v.body = v.body.concat(p.body)
	}
	v.Size = v.body.size
	v.ETag = quote(hex.EncodeToString(h.Sum(nil)) + "-" + strconv.Itoa(len(parts)))
	return v, nil
}

// handleAbortUpload: DELETE /<key>?uploadId=ID → 204.
func handleAbortUpload(rc *reqCtx) error {
	rc.b.mu.Lock()
	u, err := rc.findUpload()
	if err == nil {
		delete(rc.b.uploads, u.id)
		for _, p := range u.parts {
			p.body.release()
		}
	}
	rc.b.mu.Unlock()
	if err != nil {
		return err
	}
	return rc.noContent(http.StatusNoContent)
}

// handleListParts: GET /<key>?uploadId=ID[&max-parts&part-number-marker].
func handleListParts(rc *reqCtx) error {
	max, err := maxKeys(rc.query, "max-parts")
	if err != nil {
		return err
	}
	marker := 0
	if m := rc.query.Get("part-number-marker"); m != "" {
		if marker, err = strconv.Atoi(m); err != nil || marker < 0 {
			return invalidArgument("Invalid part-number-marker")
		}
	}
	rc.b.mu.RLock()
	defer rc.b.mu.RUnlock()
	u, err := rc.findUpload()
	if err != nil {
		return err
	}
	out := xmlListParts{Xmlns: rc.ns(), Bucket: rc.bucketName, Key: rc.key, UploadID: u.id,
		Initiator: xmlOwner{ID: rc.s.opts.OwnerID}, Owner: xmlOwner{ID: rc.s.opts.OwnerID},
		StorageClass: rc.className(u.tmpl.StorageClass), PartNumberMarker: marker, MaxParts: max}
	nums := slices.Sorted(maps.Keys(u.parts))
	for _, n := range nums {
		if n <= marker {
			continue
		}
		if len(out.Parts) == max {
			out.IsTruncated = true
			break
		}
		p := u.parts[n]
		out.Parts = append(out.Parts, xmlPart{PartNumber: n, LastModified: isoTime(p.modified), ETag: p.etag, Size: p.body.size})
		out.NextPartNumberMarker = n
	}
	return rc.writeXML(http.StatusOK, out)
}

// handleListUploads: GET /?uploads.
func handleListUploads(rc *reqCtx) error {
	q := rc.query
	max, enc, et, err := listParams(q, "max-uploads")
	if err != nil {
		return err
	}
	w := uploadWalker{rc: rc, enc: enc, max: max, seen: map[string]bool{},
		prefix: q.Get("prefix"), delim: q.Get("delimiter"), km: q.Get("key-marker"), um: q.Get("upload-id-marker")}
	w.out = xmlListUploads{Xmlns: rc.ns(), Bucket: rc.bucketName, KeyMarker: enc(w.km), UploadIDMarker: w.um,
		Delimiter: enc(w.delim), Prefix: enc(w.prefix), MaxUploads: max, EncodingType: et}
	rc.b.mu.RLock()
	ups := rc.sortedUploads()
	rc.b.mu.RUnlock()
	for _, u := range ups {
		if !w.add(u) {
			break
		}
	}
	if !w.out.IsTruncated {
		w.out.NextKeyMarker, w.out.NextUploadIDMarker = "", ""
	}
	return rc.writeXML(http.StatusOK, w.out)
}

// uploadWalker fills a ListMultipartUploadsResult page.
type uploadWalker struct {
	rc                    *reqCtx
	enc                   func(string) string
	max                   int
	prefix, delim, km, um string
	seen                  map[string]bool
	out                   xmlListUploads
}

// add lists u (or its common prefix); false once the page is full.
func (w *uploadWalker) add(u *upload) bool {
	if !strings.HasPrefix(u.key, w.prefix) || u.key < w.km || (u.key == w.km && (w.um == "" || u.id <= w.um)) {
		return true
	}
	cp := ""
	if w.delim != "" {
		if j := strings.Index(u.key[len(w.prefix):], w.delim); j >= 0 {
			cp = u.key[:len(w.prefix)+j+len(w.delim)]
		}
	}
	if cp != "" && w.seen[cp] {
		return true
	}
	if len(w.out.Uploads)+len(w.out.CommonPrefixes) == w.max {
		w.out.IsTruncated = true
		return false
	}
	if cp != "" {
		w.seen[cp] = true
		w.out.CommonPrefixes = append(w.out.CommonPrefixes, xmlPrefix{Prefix: w.enc(cp)})
		w.out.NextKeyMarker, w.out.NextUploadIDMarker = w.enc(cp), ""
		return true
	}
	owner := xmlOwner{ID: w.rc.s.opts.OwnerID}
	w.out.Uploads = append(w.out.Uploads, xmlUpload{Key: w.enc(u.key), UploadID: u.id, Initiator: owner, Owner: owner,
		StorageClass: w.rc.className(u.tmpl.StorageClass), Initiated: isoTime(u.initiated)})
	w.out.NextKeyMarker, w.out.NextUploadIDMarker = w.enc(u.key), u.id
	return true
}

// sortedUploads lists the bucket's uploads by key, then id. Caller holds b.mu.
func (rc *reqCtx) sortedUploads() []*upload {
	ups := slices.Collect(maps.Values(rc.b.uploads))
	slices.SortFunc(ups, func(a, b *upload) int {
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	return ups
}

// UploadInfo describes an in-progress multipart upload (inspection API).
type UploadInfo struct {
	Bucket, Key, UploadID string
	Parts                 map[int]int64 // part number → size
}

// Uploads lists the in-progress multipart uploads of a bucket.
func (s *Server) Uploads(bucketName string) []UploadInfo {
	b := s.bucket(bucketName)
	if b == nil {
		return nil
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	rc := &reqCtx{b: b}
	var out []UploadInfo
	for _, u := range rc.sortedUploads() {
		ui := UploadInfo{Bucket: bucketName, Key: u.key, UploadID: u.id, Parts: map[int]int64{}}
		for n, p := range u.parts {
			ui.Parts[n] = p.body.size
		}
		out = append(out, ui)
	}
	return out
}
