package obsclient

import (
	"context"
	"net/http"
	"strconv"
	"strings"
)

// MaxListKeys is the largest page OBS returns (max-keys, max-uploads,
// max-parts).
const MaxListKeys = 1000

func pageSize(n int) int {
	if n <= 0 || n > MaxListKeys {
		return MaxListKeys
	}
	return n
}

// ListObjects returns one page of keys (ListObjects v1, which parallel file
// systems also support). It always asks for encoding-type=url and decodes
// keys, prefixes and markers, so keys with characters XML cannot carry
// survive. NextMarker is the server's, or the last key or prefix of the
// page when a truncated page omits it.
func (b *Bucket) ListObjects(ctx context.Context, o ListOptions) (*ListResult, error) {
	r := newRequest("ListObjects", http.MethodGet, "")
	q := r.query
	setIf(q, "prefix", o.Prefix)
	setIf(q, "delimiter", o.Delimiter)
	setIf(q, "marker", o.Marker)
	q.Set("max-keys", strconv.Itoa(pageSize(o.MaxKeys)))
	q.Set("encoding-type", "url")
	var x xmlListBucketResult
	if _, err := b.doDecode(ctx, r, &x); err != nil {
		return nil, err
	}
	return listResult(&x), nil
}

func listResult(x *xmlListBucketResult) *ListResult {
	out := &ListResult{IsTruncated: x.IsTruncated}
	dec := keyDecoder(x.EncodingType)
	for _, c := range x.Contents {
		info := ObjectInfo{
			Key:          dec(c.Key),
			Size:         c.Size,
			ETag:         trimETag(c.ETag),
			LastModified: parseTime(c.LastModified),
			StorageClass: normClass(c.StorageClass),
			Owner:        c.Owner.ID,
			Appendable:   strings.EqualFold(c.Type, "APPENDABLE"),
		}
		if info.Appendable {
			info.NextAppendPosition = c.Size
		}
		out.Objects = append(out.Objects, info)
	}
	for _, p := range x.CommonPrefixes {
		out.CommonPrefixes = append(out.CommonPrefixes, dec(p.Prefix))
	}
	if x.IsTruncated {
		out.NextMarker = dec(x.NextMarker)
		if out.NextMarker == "" {
			out.NextMarker = lastName(out.Objects, out.CommonPrefixes)
		}
	}
	return out
}

// lastName is the greatest key or prefix of a page (the resume point when
// the server omits NextMarker).
func lastName(objs []ObjectInfo, prefixes []string) string {
	last := ""
	if n := len(objs); n > 0 {
		last = objs[n-1].Key
	}
	if n := len(prefixes); n > 0 && prefixes[n-1] > last {
		last = prefixes[n-1]
	}
	return last
}

// Lister pages through ListObjects:
//
//	l := b.NewLister(obsclient.ListOptions{Prefix: "dir/", Delimiter: "/"})
//	for l.More() {
//		page, err := l.Next(ctx)
//		…
//	}
//
// A Lister is not safe for concurrent use.
type Lister struct {
	b    *Bucket
	opts ListOptions
	done bool
}

// NewLister returns a pager starting at o.Marker.
func (b *Bucket) NewLister(o ListOptions) *Lister { return &Lister{b: b, opts: o} }

// More reports whether Next may return another page.
func (l *Lister) More() bool { return !l.done }

// Next fetches the next page. After an error the same page can be asked
// for again.
func (l *Lister) Next(ctx context.Context) (*ListResult, error) {
	if l.done {
		return &ListResult{}, nil
	}
	res, err := l.b.ListObjects(ctx, l.opts)
	if err != nil {
		return nil, err
	}
	if !res.IsTruncated || res.NextMarker == "" || res.NextMarker == l.opts.Marker {
		l.done = true // also stops a server that would repeat the same page forever
	} else {
		l.opts.Marker = res.NextMarker
	}
	return res, nil
}

// ListVersions returns one page of object versions and delete markers
// (encoding-type=url, decoded).
func (b *Bucket) ListVersions(ctx context.Context, o ListVersionsOptions) (*ListVersionsResult, error) {
	r := newRequest("ListVersions", http.MethodGet, "")
	q := r.query
	q.Set("versions", "")
	setIf(q, "prefix", o.Prefix)
	setIf(q, "delimiter", o.Delimiter)
	setIf(q, "key-marker", o.KeyMarker)
	setIf(q, "version-id-marker", o.VersionIDMarker)
	q.Set("max-keys", strconv.Itoa(pageSize(o.MaxKeys)))
	q.Set("encoding-type", "url")
	var x xmlListVersionsResult
	res, err := b.doDecode(ctx, r, &x)
	if err != nil {
		return nil, err
	}
	if x.XMLName.Local != "ListVersionsResult" {
		return nil, b.malformed(r, res, errUnexpectedRoot(x.XMLName.Local))
	}
	dec := keyDecoder(x.EncodingType)
	out := &ListVersionsResult{IsTruncated: x.IsTruncated, NextKeyMarker: dec(x.NextKeyMarker), NextVersionIDMarker: x.NextVersionIDMarker}
	for _, e := range x.Entries {
		v := e.v
		out.Versions = append(out.Versions, ObjectInfo{
			Key: dec(v.Key), VersionID: v.VersionID, IsLatest: v.IsLatest, LastModified: parseTime(v.LastModified),
			ETag: trimETag(v.ETag), Size: v.Size, StorageClass: normClass(v.StorageClass), Owner: v.Owner.ID,
			DeleteMarker: e.marker, Appendable: strings.EqualFold(v.Type, "APPENDABLE"),
		})
	}
	for _, p := range x.CommonPrefixes {
		out.CommonPrefixes = append(out.CommonPrefixes, dec(p.Prefix))
	}
	return out, nil
}

func setIf(q map[string][]string, k, v string) {
	if v != "" {
		q[k] = []string{v}
	}
}
