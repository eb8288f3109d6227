package obsclient

import (
	"context"
	"encoding/xml"
	"net/http"
	"unicode/utf8"
)

// MaxDeleteBatch is the most keys one batch delete request may carry.
const MaxDeleteBatch = 1000

// DeleteObjects deletes objs in quiet mode, in batches of up to 1000 keys
// (POST ?delete with Content-MD5). deleted lists what was removed (in quiet
// mode the server reports only failures, so every requested key without an
// error counts as deleted). Keys the server refused come back as a
// *DeleteErrors error alongside the deleted ones; a request failure stops at
// that batch and returns an *Error.
//
// Keys XML cannot carry (control characters, invalid UTF-8) are deleted one
// by one with DeleteObject instead.
func (b *Bucket) DeleteObjects(ctx context.Context, objs []ObjectID) (deleted []DeleteResult, err error) {
	var failed []DeleteError
	for _, o := range objs {
		if o.VersionID == "" {
			b.forgetKey(o.Key)
		}
	}
	objs, odd := splitXMLSafe(objs)
	for _, o := range odd {
		d, err := b.DeleteObject(ctx, o.Key, o.VersionID)
		if err != nil {
			return deleted, err
		}
		deleted = append(deleted, d)
	}
	for start := 0; start < len(objs); start += MaxDeleteBatch {
		batch := objs[start:min(start+MaxDeleteBatch, len(objs))]
		d, f, err := b.deleteBatch(ctx, batch)
		deleted = append(deleted, d...)
		failed = append(failed, f...)
		if err != nil {
			return deleted, err
		}
	}
	if len(failed) > 0 {
		return deleted, &DeleteErrors{Errors: failed}
	}
	return deleted, nil
}

func (b *Bucket) deleteBatch(ctx context.Context, batch []ObjectID) ([]DeleteResult, []DeleteError, error) {
	x := xmlDeleteRequest{Quiet: true}
	for _, o := range batch {
		x.Objects = append(x.Objects, xmlDeleteObject(o))
	}
	body, err := xml.Marshal(x)
	if err != nil {
		return nil, nil, &Error{Op: "DeleteObjects", Err: err}
	}
	r := newRequest("DeleteObjects", http.MethodPost, "")
	r.query.Set("delete", "")
	setXMLBody(r, body)
	res, err := b.do(ctx, r)
	if err != nil {
		return nil, nil, err
	}
	var out xmlDeleteResult
	if len(res.body) > 0 {
		if err := b.decodeInto(r, res, &out); err != nil {
			return nil, nil, err
		}
	}
	type id struct{ k, v string }
	failedSet := map[id]bool{}
	var failed []DeleteError
	for _, e := range out.Errors {
		failed = append(failed, DeleteError(e))
		failedSet[id{e.Key, e.VersionID}] = true
		failedSet[id{e.Key, ""}] = true
	}
	reported := map[id]DeleteResult{}
	for _, d := range out.Deleted {
		reported[id{d.Key, d.VersionID}] = DeleteResult(d)
	}
	var deleted []DeleteResult
	for _, o := range batch {
		k := id{o.Key, o.VersionID}
		if failedSet[k] {
			continue
		}
		if d, ok := reported[k]; ok {
			deleted = append(deleted, d)
			continue
		}
		deleted = append(deleted, DeleteResult{Key: o.Key, VersionID: o.VersionID})
	}
	return deleted, failed, nil
}

// splitXMLSafe separates the ids whose key and version XML can carry.
func splitXMLSafe(objs []ObjectID) (safe, odd []ObjectID) {
	for _, o := range objs {
		if xmlSafe(o.Key) && xmlSafe(o.VersionID) {
			safe = append(safe, o)
		} else {
			odd = append(odd, o)
		}
	}
	return safe, odd
}

// xmlSafe reports whether s consists of characters XML 1.0 allows.
func xmlSafe(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0xFFFE || r == 0xFFFF {
			return false
		}
	}
	return true
}
