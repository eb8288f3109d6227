package fs

// Write state: a file open for writing keeps its data in a spool, shared by
// all its handles, and commits it at flush/fsync/close. A failed commit keeps
// the spool (and the node in FS.writers) so that a later fsync, close or
// FS.Flush can retry; the object on the server is untouched until a commit
// succeeds.

import (
	"context"
	"sync"
	"syscall"
	"time"

	"github.com/obsfs/obsfs/obsclient"
	"github.com/obsfs/obsfs/transfer"
)

type writeState struct {
	commitMu sync.Mutex   // one commit at a time
	mu       sync.RWMutex // Lock: spool mutations; RLock: reads and commits
	sp       *transfer.Spool
	// GUARDED_BY(node.mu):
	dirty   bool // spool differs from the object on the server
	pending bool // the object was never committed (new file)
}

// ensureWriter gives n a write state, created from the committed object
// (or empty when trunc or when the file is new).
func (n *node) ensureWriter(ctx context.Context, trunc bool) (*writeState, syscall.Errno) {
	f := n.fsys
	n.mu.Lock()
	w := n.w
	var base *transfer.Base
	if w == nil && !trunc && n.attr.Size > 0 {
		if p, ok := n.pathLocked(); ok {
			base = &transfer.Base{Key: f.ns.fileKey(p), ETag: n.attr.ETag, Size: int64(n.attr.Size)}
		}
	}
	n.mu.Unlock()
	if w == nil {
		sp, err := f.newSpool(base)
		if err != nil {
			return nil, f.errno("spool", "", err)
		}
		n.mu.Lock()
		if n.w == nil {
			n.w = &writeState{sp: sp}
			sp = nil
		}
		w = n.w
		n.mu.Unlock()
		if sp != nil {
			_ = sp.Close()
		} else {
			f.setWriter(n, true)
		}
	}
	if trunc {
		if en := n.truncateSpool(w, 0); en != 0 {
			return nil, en
		}
	}
	return w, 0
}

// pathLocked is path() for callers holding n.mu.
func (n *node) pathLocked() (string, bool) {
	if n.IsRoot() {
		return "", true
	}
	if _, parent := n.Parent(); parent == nil || n.deleted {
		return "", false
	}
	return n.Path(nil), true
}

// newSpool creates the local data file of a file open for writing: sparse,
// reading unfetched ranges of base through from the server (pinned by ETag).
func (f *FS) newSpool(base *transfer.Base) (*transfer.Spool, error) {
	return transfer.NewSpool(f.opts.CacheDir, base, f.st)
}

// truncateSpool sets the spool size and marks the file dirty.
func (n *node) truncateSpool(w *writeState, size uint64) syscall.Errno {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.sp.Truncate(int64(size)); err != nil {
		return n.fsys.errno("truncate", n.pathOrDeleted(), err)
	}
	n.touchData(w, size)
	return 0
}

// touchData records a data change of the spool (caller holds w.mu).
func (n *node) touchData(w *writeState, size uint64) {
	now := time.Now()
	n.mu.Lock()
	w.dirty = true
	n.attr.Size = size
	n.attr.Mtime, n.attr.Ctime = now, now
	n.mu.Unlock()
}

// commit uploads the spool if it is dirty. It returns when the object is
// on the server (or with the error that kept it from getting there).
func (n *node) commit(ctx context.Context) syscall.Errno {
	f := n.fsys
	n.mu.Lock()
	w := n.w
	n.mu.Unlock()
	if w == nil {
		return 0
	}
	w.commitMu.Lock()
	defer w.commitMu.Unlock()
	w.mu.RLock()
	defer w.mu.RUnlock()
	n.mu.Lock()
	dirty, a := w.dirty, n.attr
	p, ok := n.pathLocked()
	n.mu.Unlock()
	if !dirty || !ok {
		return 0
	}
	key := f.ns.fileKey(p)
	res, err := f.up.Commit(ctx, key, w.sp, f.writeOptions(a))
	if err != nil {
		return f.errno("commit", key, err)
	}
	n.committed(w, key, res)
	return 0
}

// committed records a successful upload.
func (n *node) committed(w *writeState, key string, res obsclient.PutResult) {
	f := n.fsys
	n.mu.Lock()
	w.dirty, w.pending = false, false
	n.attr.ETag, n.attr.Complete = res.ETag, true
	n.attrAt = time.Now()
	a := n.attr
	n.mu.Unlock()
	f.invalidate(key)
	f.meta.Attrs.Put(key, a)
}

// release drops the write state when no handle is open and nothing is
// left to commit.
func (n *node) release() {
	n.mu.Lock()
	n.opens--
	w := n.w
	n.mu.Unlock()
	if w == nil {
		return
	}
	w.commitMu.Lock()
	defer w.commitMu.Unlock()
	n.mu.Lock()
	drop := n.opens == 0 && n.w == w && (!w.dirty || n.deleted)
	if drop {
		n.w = nil
		n.attrAt = time.Time{} // revalidate next time
	}
	n.mu.Unlock()
	if drop {
		n.fsys.setWriter(n, false)
		_ = w.sp.Close()
	}
}

// writeOptions are the PUT options of an object with attributes a.
func (f *FS) writeOptions(a objAttr) obsclient.WriteOptions {
	return obsclient.WriteOptions{Metadata: a.metadata(), ContentType: a.ContentType, ACL: f.opts.DefaultACL,
		StorageClass: f.opts.StorageClass, SSE: f.opts.SSE}
}

// metaOptions rewrite only the metadata of an existing object: its storage
// class, ACL and encryption stay as they are.
func metaOptions(a objAttr) obsclient.WriteOptions {
	return obsclient.WriteOptions{Metadata: a.metadata(), ContentType: a.ContentType}
}

// getOptions qualify HEAD and GET: with SSE-C the customer key must be
// sent to read the object or its metadata.
func (f *FS) getOptions() obsclient.GetOptions {
	if f.opts.SSE != nil && len(f.opts.SSE.CustomerKey) > 0 {
		return obsclient.GetOptions{SSE: f.opts.SSE}
	}
	return obsclient.GetOptions{}
}
