package obstest

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Listings
//
// Keys are kept sorted per bucket (bucket.keys), so a page is a binary
// search plus a walk. Keys whose latest version is a delete marker are
// invisible to ListObjects. With a delimiter, keys sharing the next
// delimited prefix collapse into one CommonPrefix that counts as one entry.
// NextMarker: the OBS dialect returns it on every truncated page; the S3
// dialect (like AWS) only when a delimiter was given, so clients must fall
// back to the last Key/CommonPrefix.

// listEntry is one row of a listing: an object or a common prefix.
type listEntry struct {
	v      *version // nil for a common prefix
	prefix string
}

// name is the entry's key or prefix (the marker for the next page).
func (e listEntry) name() string {
	if e.v != nil {
		return e.v.Key
	}
	return e.prefix
}

// listPage walks keys after `after` under prefix, collapsing by delimiter,
// returning at most max entries and whether more exist. Caller holds b.mu.
func (b *bucket) listPage(prefix, delim, after string, max int) ([]listEntry, bool) {
	start := max0(after, prefix)
	i := sort.SearchStrings(b.keys, start)
	var out []listEntry
	lastCP := ""
	for i < len(b.keys) {
		key := b.keys[i]
		if !strings.HasPrefix(key, prefix) {
			break
		}
		if key <= after {
			i++
			continue
		}
		e, ok := b.entryFor(key, prefix, delim, after, lastCP)
		if !ok {
			i++
			continue
		}
		if len(out) == max {
			return out, true
		}
		out = append(out, e)
		if e.v != nil {
			i++
			continue
		}
		lastCP = e.prefix
		i = b.skipPrefix(i, e.prefix)
	}
	return out, false
}

// skipPrefix returns the index of the first key at or after i that does not
// start with cp. Caller holds b.mu.
func (b *bucket) skipPrefix(i int, cp string) int {
	n := len(b.keys) - i
	return i + sort.Search(n, func(j int) bool { return !strings.HasPrefix(b.keys[i+j], cp) })
}

// entryFor decides what key contributes to a listing. Caller holds b.mu.
func (b *bucket) entryFor(key, prefix, delim, after, lastCP string) (listEntry, bool) {
	if delim != "" {
		if j := strings.Index(key[len(prefix):], delim); j >= 0 {
			cp := key[:len(prefix)+j+len(delim)]
			if cp == lastCP || cp <= after {
				return listEntry{}, false
			}
			if !b.anyVisible(cp) {
				return listEntry{}, false
			}
			return listEntry{prefix: cp}, true
		}
	}
	v := b.latest(key)
	if v == nil || v.DeleteMarker {
		return listEntry{}, false
	}
	return listEntry{v: v}, true
}

// anyVisible reports whether some key under cp has a live latest version.
// Caller holds b.mu.
func (b *bucket) anyVisible(cp string) bool {
	for i := sort.SearchStrings(b.keys, cp); i < len(b.keys) && strings.HasPrefix(b.keys[i], cp); i++ {
		if v := b.latest(b.keys[i]); v != nil && !v.DeleteMarker {
			return true
		}
	}
	return false
}

func max0(a, b string) string {
	if a > b {
		return a
	}
	return b
}

// maxKeys parses max-keys style parameters (default and cap 1000).
func maxKeys(q url.Values, name string) (int, error) {
	s := q.Get(name)
	if s == "" {
		return 1000, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, invalidArgument("Argument %s must be an integer between 0 and 2147483647", name)
	}
	return min(n, 1000), nil
}

// encoder returns the key encoder for encoding-type (url or none).
func encoder(q url.Values) (func(string) string, string, error) {
	switch et := q.Get("encoding-type"); et {
	case "":
		return func(s string) string { return s }, "", nil
	case "url":
		return urlEncodeKey, "url", nil
	default:
		return nil, "", invalidArgument("Invalid Encoding Method specified in Request")
	}
}

// listParams parses the parameters every listing shares: the page size
// (named maxName) and the encoding type, with its key encoder.
func listParams(q url.Values, maxName string) (max int, enc func(string) string, et string, err error) {
	if max, err = maxKeys(q, maxName); err != nil {
		return 0, nil, "", err
	}
	if enc, et, err = encoder(q); err != nil {
		return 0, nil, "", err
	}
	return max, enc, et, nil
}

// urlEncodeKey encodes like S3's encoding-type=url ("/" kept).
func urlEncodeKey(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "%2F", "/")
}

// content renders an object row.
func (rc *reqCtx) content(v *version, enc func(string) string, owner bool) xmlContent {
	c := xmlContent{Key: enc(v.Key), LastModified: isoTime(v.LastModified), ETag: v.ETag, Size: v.Size,
		StorageClass: rc.className(v.StorageClass)}
	if owner {
		c.Owner = xmlOwner{ID: rc.s.opts.OwnerID}
	}
	if v.Appendable {
		c.Type = "APPENDABLE"
	}
	return c
}

// listObjectsPage lists one page of objects after key after under the
// bucket's read lock, appending its objects to contents and its common
// prefixes to prefixes; it returns the page and whether it was truncated.
func (rc *reqCtx) listObjectsPage(contents *[]xmlContent, prefixes *[]xmlPrefix, prefix, delim, after string, max int,
	enc func(string) string, owner bool) ([]listEntry, bool) {
	rc.b.mu.RLock()
	defer rc.b.mu.RUnlock()
	entries, truncated := rc.b.listPage(prefix, delim, after, max)
	for _, e := range entries {
		if e.v == nil {
			*prefixes = append(*prefixes, xmlPrefix{Prefix: enc(e.prefix)})
		} else {
			*contents = append(*contents, rc.content(e.v, enc, owner))
		}
	}
	return entries, truncated
}

// handleListObjects: GET / (v1).
func handleListObjects(rc *reqCtx) error {
	q := rc.query
	max, enc, et, err := listParams(q, "max-keys")
	if err != nil {
		return err
	}
	prefix, delim, marker := q.Get("prefix"), q.Get("delimiter"), q.Get("marker")
	out := xmlListBucket{Xmlns: rc.ns(), Name: rc.bucketName, Prefix: enc(prefix), Marker: enc(marker),
		MaxKeys: max, Delimiter: enc(delim), EncodingType: et}
	entries, truncated := rc.listObjectsPage(&out.Contents, &out.CommonPrefixes, prefix, delim, marker, max, enc, true)
	out.IsTruncated = truncated
	if truncated && len(entries) > 0 && (!rc.s3 || delim != "") {
		out.NextMarker = enc(entries[len(entries)-1].name())
	}
	return rc.writeXML(http.StatusOK, out)
}

// handleListObjectsV2: GET /?list-type=2 (not on parallel file systems).
func handleListObjectsV2(rc *reqCtx) error {
	if rc.b.pfs {
		return errFsNotSupport
	}
	q := rc.query
	max, enc, et, err := listParams(q, "max-keys")
	if err != nil {
		return err
	}
	after := q.Get("start-after")
	if tok := q.Get("continuation-token"); tok != "" {
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil {
			return invalidArgument("The continuation token provided is incorrect")
		}
		after = string(raw)
	}
	prefix, delim := q.Get("prefix"), q.Get("delimiter")
	out := xmlListBucketV2{Xmlns: rc.ns(), Name: rc.bucketName, Prefix: enc(prefix), MaxKeys: max,
		Delimiter: enc(delim), EncodingType: et, ContinuationToken: q.Get("continuation-token"),
		StartAfter: enc(q.Get("start-after"))}
	owner := q.Get("fetch-owner") == "true"
	entries, truncated := rc.listObjectsPage(&out.Contents, &out.CommonPrefixes, prefix, delim, after, max, enc, owner)
	out.KeyCount, out.IsTruncated = len(entries), truncated
	if truncated && len(entries) > 0 {
		out.NextContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(entries[len(entries)-1].name()))
	}
	return rc.writeXML(http.StatusOK, out)
}

// handleListBuckets: GET / on the service.
func handleListBuckets(rc *reqCtx) error {
	out := xmlListBuckets{Xmlns: rc.ns(), Owner: xmlOwner{ID: rc.s.opts.OwnerID}}
	for _, name := range rc.s.bucketNames() {
		b := rc.s.bucket(name)
		if b == nil {
			continue
		}
		xb := xmlBucket{Name: name, CreationDate: isoTime(b.created), Location: b.region, BucketType: "OBJECT"}
		if b.pfs {
			xb.BucketType = "POSIX"
		}
		out.Buckets = append(out.Buckets, xb)
	}
	return rc.writeXML(http.StatusOK, out)
}
