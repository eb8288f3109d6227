package obstest

import (
	"crypto/md5"
	"encoding/hex"
	"net/http"
	"strconv"
)

// Appendable objects
//
// POST /<key>?append&position=N writes at the end of an appendable object
// (creating it at position 0). The chunk becomes one more body segment, so
// an append costs the size of the chunk, not of the object. The object keeps
// its version id; its ETag changes with every append (it is derived from the
// previous ETag and the chunk's MD5 — the real OBS formula is unconfirmed).

const maxAppends = 10000

// handleAppend: POST /<key>?append&position=N.
func handleAppend(rc *reqCtx) error {
	if rc.b.pfs {
		return errFsNotSupport
	}
	pos, err := strconv.ParseInt(rc.query.Get("position"), 10, 64)
	if err != nil || pos < 0 {
		return invalidArgument("Invalid append position")
	}
	rc.b.mu.RLock()
	cur := rc.b.latest(rc.key)
	err = checkAppend(cur, pos)
	if err == nil && cur != nil && !cur.DeleteMarker {
		// Later appends to an SSE-C object carry its key again.
		err = rc.checkSSEC(cur, "server-side-encryption-customer-")
	}
	rc.b.mu.RUnlock()
	if err != nil {
		return err
	}
	tmpl, err := rc.newVersion()
	if err != nil {
		return err
	}
	if tmpl.archived() {
		return errNotAppendable
	}
	ref, sum, err := rc.receiveBodyInQuota()
	if err != nil {
		return err
	}
	v, err := rc.commitAppend(tmpl, pos, bodyOf(ref), sum)
	if err != nil {
		ref.discard()
		return err
	}
	h := rc.w.Header()
	h.Set("ETag", quote(hex.EncodeToString(sum)))
	h.Set("x-obs-next-append-position", strconv.FormatInt(v.Size, 10))
	rc.setVersionHeader(v.VersionID)
	rc.setSSEHeaders(v)
	return rc.noContent(http.StatusOK)
}

// checkAppend validates an append at pos against the current version.
func checkAppend(v *version, pos int64) error {
	if v == nil || v.DeleteMarker {
		if pos != 0 {
			return errPositionMismatch
		}
		return nil
	}
	if !v.Appendable || v.AppendCount >= maxAppends || v.archived() {
		return errNotAppendable
	}
	if pos != v.Size {
		return errPositionMismatch
	}
	return nil
}

// commitAppend re-checks the position under the lock and applies the chunk.
func (rc *reqCtx) commitAppend(tmpl *version, pos int64, chunk body, sum []byte) (*version, error) {
	now := rc.s.now()
	b := rc.b
	b.mu.Lock()
	defer b.mu.Unlock()
	cur := b.latest(rc.key)
	if err := checkAppend(cur, pos); err != nil {
		return nil, err
	}
	if err := b.checkQuota(chunk.size); err != nil {
		return nil, err
	}
	if cur == nil || cur.DeleteMarker {
		tmpl.body, tmpl.Size, tmpl.ETag = chunk, chunk.size, quote(hex.EncodeToString(sum))
		tmpl.Appendable, tmpl.AppendCount, tmpl.LastModified = true, 1, now
		b.store(tmpl, func() string { return rc.s.ids.next(now) })
		return tmpl, nil
	}
	chunk.retain()
	cur.body = cur.body.concat(chunk)
	cur.Size += chunk.size
	b.used += chunk.size
	cur.AppendCount++
	cur.LastModified = now
	h := md5.New()
	h.Write([]byte(unquote(cur.ETag)))
	h.Write(sum)
	cur.ETag = quote(hex.EncodeToString(h.Sum(nil)))
	cp := *cur
	return &cp, nil
}
