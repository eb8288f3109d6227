package obstest

import (
	"encoding/xml"
	"maps"
	"net/http"
	"slices"
)

// Object tagging (≤ 10 tags) and object ACLs.

const maxTags = 10

// parseTagging validates a Tagging document (also used for buckets).
func parseTagging(data []byte) (map[string]string, error) {
	var in xmlTagging
	if err := xml.Unmarshal(data, &in); err != nil || in.XMLName.Local != "Tagging" {
		return nil, errMalformedXML
	}
	if len(in.Tags) > maxTags {
		return nil, errf(http.StatusBadRequest, "InvalidTag", "Object tags cannot be greater than %d", maxTags)
	}
	out := map[string]string{}
	for _, t := range in.Tags {
		if t.Key == "" || len(t.Key) > 128 || len(t.Value) > 256 {
			return nil, errf(http.StatusBadRequest, "InvalidTag", "The tag provided was not a valid tag")
		}
		if _, dup := out[t.Key]; dup {
			return nil, errf(http.StatusBadRequest, "InvalidTag", "Cannot provide multiple Tags with the same key")
		}
		out[t.Key] = t.Value
	}
	return out, nil
}

// tagDoc renders tags sorted by key.
func (rc *reqCtx) tagDoc(tags map[string]string) xmlTagging {
	out := xmlTagging{Xmlns: rc.ns()}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out.Tags = append(out.Tags, xmlTag{Key: k, Value: tags[k]})
	}
	return out
}

// liveVersion finds the addressed version for a write (404 on markers).
// Caller holds b.mu.
func (rc *reqCtx) liveVersion() (*version, error) {
	v, err := rc.b.find(rc.key, rc.query.Get("versionId"))
	if err != nil {
		return nil, err
	}
	if v.DeleteMarker {
		return nil, errNoSuchKey
	}
	return v, nil
}

// readLiveVersion calls read with the live version (the versionId query
// parameter's, or the latest) under the bucket's read lock, and sets the
// version-id response header.
func (rc *reqCtx) readLiveVersion(read func(v *version)) error {
	rc.b.mu.RLock()
	defer rc.b.mu.RUnlock()
	v, err := rc.liveVersion()
	if err != nil {
		return err
	}
	read(v)
	rc.setVersionHeader(v.VersionID)
	return nil
}

// updateLiveVersion is readLiveVersion under the bucket's write lock, for an
// update that changes the version.
func (rc *reqCtx) updateLiveVersion(update func(v *version)) error {
	rc.b.mu.Lock()
	defer rc.b.mu.Unlock()
	v, err := rc.liveVersion()
	if err != nil {
		return err
	}
	update(v)
	rc.setVersionHeader(v.VersionID)
	return nil
}

// handlePutObjectTagging: PUT /<key>?tagging.
func handlePutObjectTagging(rc *reqCtx) error {
	data, err := rc.readSmallBody(64<<10, false)
	if err != nil {
		return err
	}
	tags, err := parseTagging(data)
	if err != nil {
		return err
	}
	if err := rc.updateLiveVersion(func(v *version) { v.Tags = tags }); err != nil {
		return err
	}
	return rc.noContent(http.StatusOK)
}

// handleGetObjectTagging: GET /<key>?tagging.
func handleGetObjectTagging(rc *reqCtx) error {
	var tags map[string]string
	if err := rc.readLiveVersion(func(v *version) { tags = v.Tags }); err != nil {
		return err
	}
	return rc.writeXML(http.StatusOK, rc.tagDoc(tags))
}

// handleDeleteObjectTagging: DELETE /<key>?tagging → 204.
func handleDeleteObjectTagging(rc *reqCtx) error {
	rc.b.mu.Lock()
	defer rc.b.mu.Unlock()
	v, err := rc.liveVersion()
	if err != nil {
		return err
	}
	v.Tags = nil
	return rc.noContent(http.StatusNoContent)
}

// handleGetObjectACL: GET /<key>?acl.
func handleGetObjectACL(rc *reqCtx) error {
	var a acl
	if err := rc.readLiveVersion(func(v *version) { a = v.acl }); err != nil {
		return err
	}
	return rc.writeACL(a, true)
}

// writeACL sends an ACL document in the request's dialect.
func (rc *reqCtx) writeACL(a acl, object bool) error {
	switch doc := a.xmlDoc(rc.s3, object).(type) {
	case xmlACLObs:
		doc.Xmlns = rc.ns()
		return rc.writeXML(http.StatusOK, doc)
	case xmlACLS3:
		doc.Xmlns = rc.ns()
		return rc.writeXML(http.StatusOK, doc)
	}
	return errInternal
}

// handlePutObjectACL: PUT /<key>?acl (headers or document).
func handlePutObjectACL(rc *reqCtx) error {
	a, err := rc.readACL()
	if err != nil {
		return err
	}
	if err := rc.updateLiveVersion(func(v *version) { v.acl = a }); err != nil {
		return err
	}
	return rc.noContent(http.StatusOK)
}
