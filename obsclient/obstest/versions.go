package obstest

import (
	"net/http"
	"sort"
	"strings"
)

// Versioning
//
// A bucket starts unversioned (status ""): every write replaces the single
// "null" version. Enabled: every write adds a version with a fresh id and
// DELETE adds a delete marker. Suspended: writes and deletes replace the
// "null" version, older versions stay. Parallel file systems do not support
// versioning.

// handleGetVersioning: GET /?versioning.
func handleGetVersioning(rc *reqCtx) error {
	rc.b.mu.RLock()
	st := rc.b.versioning
	rc.b.mu.RUnlock()
	return rc.writeXML(http.StatusOK, xmlVersioning{Xmlns: rc.ns(), Status: st})
}

// handlePutVersioning: PUT /?versioning.
func handlePutVersioning(rc *reqCtx) error {
	if rc.b.pfs {
		return errFsNotSupport
	}
	var in xmlVersioning
	if err := rc.readXML(&in, 64<<10, false); err != nil {
		return err
	}
	st := strings.TrimSpace(in.Status)
	if st != "Enabled" && st != "Suspended" {
		return errMalformedXML
	}
	rc.b.mu.Lock()
	rc.b.versioning = st
	rc.b.mu.Unlock()
	return rc.noContent(http.StatusOK)
}

// SetVersioning sets a bucket's versioning status ("Enabled"/"Suspended").
func (s *Server) SetVersioning(bucketName, status string) {
	if b := s.bucket(bucketName); b != nil {
		b.mu.Lock()
		b.versioning = status
		b.mu.Unlock()
	}
}

// handleListVersions: GET /?versions.
func handleListVersions(rc *reqCtx) error {
	q := rc.query
	max, enc, et, err := listParams(q, "max-keys")
	if err != nil {
		return err
	}
	prefix, delim, km, vm := q.Get("prefix"), q.Get("delimiter"), q.Get("key-marker"), q.Get("version-id-marker")
	out := xmlListVersions{Xmlns: rc.ns(), Name: rc.bucketName, Prefix: enc(prefix), KeyMarker: enc(km),
		VersionIDMarker: vm, MaxKeys: max, Delimiter: enc(delim), EncodingType: et}
	rc.b.mu.RLock()
	defer rc.b.mu.RUnlock()
	w := versionWalker{rc: rc, out: &out, max: max, enc: enc}
	w.walk(prefix, delim, km, vm)
	if !out.IsTruncated {
		out.NextKeyMarker, out.NextVersionIDMarker = "", ""
	}
	return rc.writeXML(http.StatusOK, out)
}

// versionWalker fills a ListVersionsResult page. Caller holds b.mu.
type versionWalker struct {
	rc     *reqCtx
	out    *xmlListVersions
	max    int
	n      int
	enc    func(string) string
	lastCP string
}

// walk visits keys from the markers on, stopping when the page is full.
func (w *versionWalker) walk(prefix, delim, km, vm string) {
	b := w.rc.b
	for i := sort.SearchStrings(b.keys, max0(km, prefix)); i < len(b.keys); i++ {
		key := b.keys[i]
		if !strings.HasPrefix(key, prefix) {
			return
		}
		if key < km || (key == km && vm == "") {
			continue
		}
		if delim != "" {
			if j := strings.Index(key[len(prefix):], delim); j >= 0 {
				if !w.prefixEntry(key[:len(prefix)+j+len(delim)], km) {
					return
				}
				continue
			}
		}
		after := ""
		if key == km {
			after = vm
		}
		if !w.keyVersions(key, after) {
			return
		}
	}
}

// prefixEntry adds a common prefix once; false when the page is full.
func (w *versionWalker) prefixEntry(cp, km string) bool {
	if cp == w.lastCP || cp <= km {
		return true
	}
	if w.n == w.max {
		w.out.IsTruncated = true
		return false
	}
	w.lastCP = cp
	w.n++
	w.out.CommonPrefixes = append(w.out.CommonPrefixes, xmlPrefix{Prefix: w.enc(cp)})
	w.out.NextKeyMarker, w.out.NextVersionIDMarker = w.enc(cp), ""
	return true
}

// keyVersions adds the versions of key after version id `after`.
func (w *versionWalker) keyVersions(key, after string) bool {
	skipping := after != ""
	for _, v := range w.rc.b.objects[key] {
		if skipping {
			skipping = v.VersionID != after
			continue
		}
		if w.n == w.max {
			w.out.IsTruncated = true
			return false
		}
		w.n++
		w.out.Entries = append(w.out.Entries, w.entry(v))
		w.out.NextKeyMarker, w.out.NextVersionIDMarker = w.enc(key), v.VersionID
	}
	return true
}

// entry renders one version or delete marker.
func (w *versionWalker) entry(v *version) any {
	rc := w.rc
	owner := xmlOwner{ID: rc.s.opts.OwnerID}
	if v.DeleteMarker {
		return xmlDeleteMarker{Key: w.enc(v.Key), VersionID: v.VersionID, IsLatest: v.IsLatest,
			LastModified: isoTime(v.LastModified), Owner: owner}
	}
	x := xmlVersion{Key: w.enc(v.Key), VersionID: v.VersionID, IsLatest: v.IsLatest, LastModified: isoTime(v.LastModified),
		ETag: v.ETag, Size: v.Size, Owner: owner, StorageClass: rc.className(v.StorageClass)}
	if v.Appendable {
		x.Type = "APPENDABLE"
	}
	return x
}
