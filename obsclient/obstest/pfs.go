package obstest

import (
	"crypto/md5"
	"encoding/hex"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// Parallel file system (PFS) extensions: atomic rename of files and
// directories, truncate and in-place modify. Directories are "dir/" marker
// objects; deleting a non-empty one fails with 409 DirectoryNotEmpty. A
// rename onto an existing name fails with 409 FsRenameConflict (whether real
// OBS replaces instead is unconfirmed). New ETags of truncated or modified
// objects are derived from the old ETag, not from the content.

var (
	errDirNotEmpty    = errf(http.StatusConflict, "DirectoryNotEmpty", "The directory is not empty.")
	errRenameConflict = errf(http.StatusConflict, "FsRenameConflict", "The rename target already exists.")
)

// checkDirEmpty fails when keys exist under dir (other than dir itself).
func (rc *reqCtx) checkDirEmpty(dir string) error {
	rc.b.mu.RLock()
	defer rc.b.mu.RUnlock()
	for i := sort.SearchStrings(rc.b.keys, dir); i < len(rc.b.keys) && strings.HasPrefix(rc.b.keys[i], dir); i++ {
		if rc.b.keys[i] != dir {
			return errDirNotEmpty
		}
	}
	return nil
}

// handleRename: POST /<key>?name=<new>&rename (PFS only) → 204.
func handleRename(rc *reqCtx) error {
	if !rc.b.pfs {
		return errNotFsBucket
	}
	dst := rc.query.Get("name")
	if dst == "" || len(dst) > 1024 || strings.HasSuffix(dst, "/") != strings.HasSuffix(rc.key, "/") {
		return invalidArgument("Invalid rename target %q", dst)
	}
	b := rc.b
	b.mu.Lock()
	defer b.mu.Unlock()
	moves := b.keysUnder(rc.key)
	if len(moves) == 0 {
		return errNoSuchKey
	}
	if strings.HasPrefix(dst, rc.key) || len(b.keysUnder(dst)) > 0 {
		return errRenameConflict
	}
	now := rc.s.now()
	for _, k := range moves {
		vs := b.objects[k]
		delete(b.objects, k)
		b.deleteKey(k)
		nk := dst + strings.TrimPrefix(k, rc.key)
		for _, v := range vs {
			v.Key = nk
			v.LastModified = now
		}
		b.objects[nk] = vs
		b.insertKey(nk)
	}
	return rc.noContent(http.StatusNoContent)
}

// keysUnder returns key itself (a file) or, for "dir/", every key under it.
// Caller holds b.mu.
func (b *bucket) keysUnder(key string) []string {
	if !strings.HasSuffix(key, "/") {
		if v := b.latest(key); v != nil && !v.DeleteMarker {
			return []string{key}
		}
		return nil
	}
	var out []string
	for i := sort.SearchStrings(b.keys, key); i < len(b.keys) && strings.HasPrefix(b.keys[i], key); i++ {
		out = append(out, b.keys[i])
	}
	return out
}

// maxObjectSize is OBS's largest object (48.8 TB).
const maxObjectSize = 48_800_000_000_000

// zeroBody returns a body of n zero bytes that takes no storage.
func zeroBody(n int64) body {
	if n <= 0 {
		return body{}
	}
	return bodyOf(&blobRef{b: zeroBlob(n)})
}

// zeroBlob is n zero bytes, stored nowhere.
type zeroBlob int64

func (z zeroBlob) size() int64 { return int64(z) }

func (z zeroBlob) open() (readerAtCloser, error) { return nopCloserAt{zeroReaderAt{}}, nil }

func (zeroBlob) remove() {}

// zeroReaderAt reads zeros at any offset.
type zeroReaderAt struct{}

func (zeroReaderAt) ReadAt(p []byte, _ int64) (int, error) {
	clear(p)
	return len(p), nil
}

// handleTruncate: PUT /<key>?truncate&length=N (PFS only).
func handleTruncate(rc *reqCtx) error {
	if !rc.b.pfs {
		return errNotFsBucket
	}
	n, err := strconv.ParseInt(rc.query.Get("length"), 10, 64)
	if err != nil || n < 0 || n > maxObjectSize {
		return invalidArgument("Invalid length")
	}
	rc.b.mu.RLock()
	v, err := rc.liveVersion()
	var size int64
	if err == nil {
		size = v.Size
	}
	rc.b.mu.RUnlock()
	if err != nil {
		return err
	}
	pad := zeroBody(n - size)
	return rc.rewrite(func(old body) (body, error) {
		if n <= old.size {
			return old.slice(0, n), nil
		}
		return old.concat(pad.slice(0, n-old.size)), nil
	}, "truncate:"+strconv.FormatInt(n, 10), pad)
}

// handleModify: PUT /<key>?modify&position=N (PFS only): write in place.
func handleModify(rc *reqCtx) error {
	if !rc.b.pfs {
		return errNotFsBucket
	}
	pos, err := strconv.ParseInt(rc.query.Get("position"), 10, 64)
	if err != nil || pos < 0 {
		return invalidArgument("Invalid position")
	}
	ref, sum, err := rc.receiveBody()
	if err != nil {
		return err
	}
	chunk := bodyOf(ref)
	err = rc.rewrite(func(old body) (body, error) {
		if pos > old.size {
			return body{}, invalidArgument("position is beyond the end of the object")
		}
		nb := old.slice(0, pos).concat(chunk)
		if end := pos + chunk.size; end < old.size {
			nb = nb.concat(old.slice(end, old.size-end))
		}
		return nb, nil
	}, "modify:"+hex.EncodeToString(sum), chunk)
	if err == nil {
		rc.w.Header().Set("ETag", quote(hex.EncodeToString(sum)))
	}
	return err
}

// rewrite replaces the latest body of rc.key with edit(old) under the lock;
// fresh is the new data (discarded on failure).
func (rc *reqCtx) rewrite(edit func(body) (body, error), salt string, fresh body) error {
	fail := func(err error) error {
		for _, s := range fresh.segs {
			s.ref.discard()
		}
		return err
	}
	b := rc.b
	b.mu.Lock()
	defer b.mu.Unlock()
	v, err := rc.liveVersion()
	if err != nil {
		return fail(err)
	}
	nb, err := edit(v.body)
	if err != nil {
		return fail(err)
	}
	if err := b.checkQuota(nb.size - v.Size); err != nil {
		return fail(err)
	}
	nb.retain()
	v.body.release()
	b.used += nb.size - v.Size
	v.body, v.Size, v.LastModified = nb, nb.size, rc.s.now()
	h := md5.Sum([]byte(unquote(v.ETag) + salt))
	v.ETag = quote(hex.EncodeToString(h[:]))
	v.Appendable = false
	for _, s := range fresh.segs {
		s.ref.discard() // frees fresh data the edit did not use
	}
	return rc.noContent(http.StatusOK)
}
