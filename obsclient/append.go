package obsclient

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
)

// Append uploads
//
// POST /<key>?append&position=N adds bytes to an Appendable object (OBS
// only). It is not idempotent: a retried append whose first attempt landed
// fails with PositionNotEqualToLength, or worse, a retry at a stale
// position from a caller could duplicate data. So AppendObject makes one
// attempt; after an ambiguous failure (no reply or a 5xx) it HEADs the
// object and reports success when the object is appendable and its length
// and next append position are exactly position+size (the chunk's ETag is
// then the hex MD5 the client computed). Anything else returns the error.

// AppendObject appends size bytes of body at position (0 creates the
// object; WriteOptions apply only then, except an SSE-C key, which every
// append needs).
func (b *Bucket) AppendObject(ctx context.Context, key string, position int64, body io.ReadSeeker, size int64, o WriteOptions) (AppendResult, error) {
	const op = "AppendObject"
	if err := checkBody(op, key, body, size); err != nil {
		return AppendResult{}, err
	}
	md5sum := o.ContentMD5
	if md5sum == "" && size > 0 {
		sum, err := bodyMD5(body, size)
		if err != nil {
			return AppendResult{}, &Error{Op: op, Key: key, Err: err}
		}
		md5sum = sum
	}
	var start int64
	if body != nil {
		var err error
		if start, err = body.Seek(0, io.SeekCurrent); err != nil {
			return AppendResult{}, &Error{Op: op, Key: key, Err: err}
		}
	}
	var res *result
	send := func(k []byte) error {
		if body != nil {
			if _, err := body.Seek(start, io.SeekStart); err != nil {
				return &Error{Op: op, Key: key, Err: err}
			}
		}
		r := newObjectRequest(op, http.MethodPost, key)
		r.query.Set("append", "")
		r.query.Set("position", strconv.FormatInt(position, 10))
		r.body, r.size, r.once = body, size, true
		if position == 0 {
			b.setWriteHeaders(r.header, o)
		} else {
			b.setSSE(r.header, o.SSE, false)
			setSSEC(r.header, b.prefix()+"server-side-encryption-customer-", k)
		}
		if md5sum != "" {
			r.header.Set("Content-MD5", md5sum)
		}
		var err error
		res, err = b.do(ctx, r)
		return err
	}
	var err error
	if position > 0 && b.managed(o.SSE) {
		// Later appends carry the object's SSE-C key, if it has one: a 400
		// refuses the request before any byte is appended.
		o.SSE = nil
		err = b.withSSEC(key, send)
	} else {
		err = send(nil)
	}
	if err == nil {
		h := res.resp.Header
		if position == 0 {
			b.learnWrite(key, h, o.SSE)
		}
		next, perr := strconv.ParseInt(h.Get("x-obs-next-append-position"), 10, 64)
		if perr != nil {
			next = position + size
		}
		return AppendResult{ETag: trimETag(h.Get("ETag")), NextAppendPosition: next}, nil
	}
	if !ambiguous(err) || ctx.Err() != nil {
		return AppendResult{}, err
	}
	info, herr := b.HeadObject(ctx, key, GetOptions{SSE: o.SSE})
	want := position + size
	if herr == nil && info.Appendable && info.NextAppendPosition == want && info.Size == want {
		b.c.log.Debug("obs append settled by HEAD after ambiguous failure")
		return AppendResult{ETag: md5Hex(md5sum), NextAppendPosition: want}, nil
	}
	return AppendResult{}, err
}

// md5Hex converts a base64 MD5 to the hex form ETags use ("" if invalid).
func md5Hex(b64 string) string {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return ""
	}
	return hex.EncodeToString(raw)
}
