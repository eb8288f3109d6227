package fs

// Write state: a file open for writing keeps its data in a spool, shared by
// all its handles, and commits it at flush/fsync/close. A failed commit keeps
// the spool (and the node in FS.writers) so that a later fsync, close or
// FS.Flush can retry; the object on the server is untouched until a commit
// succeeds.
//
// The transfer fast paths are wired here (SEMANTICS.md 37-41): the spool's
// base carries Appendable/NextAppendPosition from the object's attributes,
// so growth is appended (appendable objects) or copied on the server
// (normal objects ≥ 100 KiB) by transfer itself; a file created with
// O_APPEND is SetAppendable (dir.go Create); a file written from scratch
// (Create, O_TRUNC) attaches a streaming upload once it outgrows a part
// (maybeStream) and commits with StreamMetadataMayDiffer plus one metadata
// REPLACE when its attributes moved since.

import (
	"context"
	"maps"
	"sync"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"go.uber.org/zap"

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
	// emptied: the spool is empty because of create or a truncate to 0
	// (O_TRUNC), and nothing was written since (a flush may defer, Flush).
	emptied bool
	// metaGen counts metadata changes folded into the write state of a
	// committed file; metaDone is metaGen at the last commit. They differ
	// when an append could not carry the metadata (CommitOptions.NoAppend).
	metaGen, metaDone uint64
	// appendNew: created with O_APPEND (the spool is SetAppendable).
	appendNew bool
	// GUARDED_BY(mu) (commit, holding commitMu and mu.RLock, also clears
	// streamOpts: every other access holds mu.Lock):
	// streamable: written from scratch (Create, O_TRUNC): a streaming
	// upload is attached once the file first outgrows a part (maybeStream).
	streamable bool
	// streamOpts are the options Stream was given; nil when no stream is
	// attached. One stream serves one commit.
	streamOpts *obsclient.WriteOptions
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
			base = &transfer.Base{Key: f.ns.fileKey(p), ETag: n.attr.ETag, Size: int64(n.attr.Size),
				Appendable: n.attr.Appendable, NextAppendPosition: n.attr.NextAppendPosition}
		}
	}
	n.mu.Unlock()
	if w == nil {
		sp, err := f.newSpool(base)
		if err != nil {
			return nil, f.errno("spool", "", err)
		}
		n.mu.Lock()
		mine := n.w == nil
		if mine {
			n.w = &writeState{sp: sp}
		}
		w = n.w
		n.mu.Unlock()
		if !mine {
			_ = sp.Close()
		} else {
			f.setWriter(n, true)
			n.describe(sp, "")
		}
	}
	if trunc {
		if en := n.truncateSpool(w, 0); en != 0 {
			return nil, en
		}
		n.mu.Lock()
		w.emptied = true
		n.mu.Unlock()
		w.mu.Lock()
		w.streamable = w.streamOpts == nil
		w.mu.Unlock()
	}
	return w, 0
}

// maybeStream attaches a streaming upload (transfer.Uploader.Stream) to a
// file written from scratch once it first exceeds one part: smaller files
// keep their single PUT at close, larger ones upload their full parts in
// the background while being written, so close only waits for the tail.
// It is attempted once per write state (after a commit the spool shadows
// its new object and cannot stream). Caller holds w.mu (Lock).
func (n *node) maybeStream(ctx context.Context, w *writeState) {
	f := n.fsys
	if !w.streamable || w.sp.Size() <= transfer.StreamPartSize(f.opts.MultipartSize, 1) {
		return
	}
	w.streamable = false
	n.mu.Lock()
	a := n.attr
	p, ok := n.pathLocked()
	n.mu.Unlock()
	if !ok {
		return
	}
	o := f.writeOptions(a)
	// ErrNotStreamable (or any other refusal) only means: commit normally.
	// The background parts ride out transient failures like the commit
	// (each part gets the whole retry budget).
	sctx := obsclient.WithRequestRetryBudget(ctx, f.opts.RetryBudget)
	if err := f.up.Stream(sctx, f.ns.fileKey(p), w.sp, o); err == nil {
		w.streamOpts = &o
	}
}

// writeState returns n's write state, if any.
func (n *node) writeState() *writeState {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.w
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
// With a journal it survives a crash (n.describe names its key).
func (f *FS) newSpool(base *transfer.Base) (*transfer.Spool, error) {
	if f.journal != nil && f.opts.SpoolDir == "" { // tmpdir= (s3fs) asks for plain spool files there
		return f.journal.NewSpool(base, f.st)
	}
	dir := f.opts.CacheDir
	if f.opts.SpoolDir != "" {
		dir = f.opts.SpoolDir
	}
	sp, err := transfer.NewSpool(dir, base, f.st)
	if err == nil && f.diskc != nil {
		sp.SetReclaim(f.reclaim)
	}
	return sp, err
}

// reclaim makes room for a spool write that met ENOSPC: the disk block
// cache gives way to writes.
func (f *FS) reclaim(need int64) int64 {
	if f.diskc == nil {
		return 0
	}
	freed := f.diskc.Reclaim(need)
	f.log.Info("local disk full: evicted disk cache blocks for a write", zap.Int64("need", need), zap.Int64("freed", freed))
	return freed
}

// describe tells the spool of n's write state the key (key, or n's path
// when "") and metadata it will be committed with, for the crash journal.
func (n *node) describe(sp *transfer.Spool, key string) {
	if n.fsys.journal == nil {
		return
	}
	n.mu.Lock()
	a := n.attr
	p, ok := n.pathLocked()
	n.mu.Unlock()
	if key == "" {
		if !ok {
			return
		}
		key = n.fsys.ns.fileKey(p)
	}
	sp.Describe(key, a.metadata(), a.ContentType)
}

// spool returns w's current spool (rebase may replace it).
func (w *writeState) spool() *transfer.Spool {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.sp
}

// SweepJournal removes the spool files left with nothing to commit once
// the mount is over (after the final Flush), and reports whether the
// journal directory holds no record (true without a journal).
func (f *FS) SweepJournal() bool {
	if f.journal == nil {
		return true
	}
	return f.journal.Sweep()
}

// Recover commits what a crashed mount using the same journal directory
// left behind (transfer.Journal.Recover). Call it before Mount.
func (f *FS) Recover(ctx context.Context) (transfer.RecoverResult, error) {
	if f.journal == nil {
		return transfer.RecoverResult{}, nil
	}
	return f.journal.Recover(ctx, transfer.RecoverConfig{
		Client: f.st, Uploader: f.up, Head: f.getOptions(),
		Options: func(meta map[string]string, ct string) obsclient.WriteOptions {
			return obsclient.WriteOptions{Metadata: meta, ContentType: ct, ACL: f.opts.DefaultACL,
				StorageClass: f.opts.StorageClass, SSE: f.opts.SSE}
		},
	})
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
	w.emptied = w.emptied && size == 0
	n.attr.Size = size
	n.attr.Mtime, n.attr.Ctime = now, now
	n.mu.Unlock()
}

// commit uploads the spool if it is dirty. It returns when the object is
// on the server (or with the error that kept it from getting there),
// riding out transient failures for the retry budget; a failure queues
// the file for background retries (commitretry.go).
func (n *node) commit(ctx context.Context) syscall.Errno {
	return n.commitBudget(obsclient.WithRetryBudget(ctx, n.fsys.opts.RetryBudget))
}

// commitBudget is commit with the retry budget already on ctx.
func (n *node) commitBudget(ctx context.Context) syscall.Errno {
	f := n.fsys
	n.mu.Lock()
	w := n.w
	n.mu.Unlock()
	if w == nil {
		return 0
	}
	w.commitMu.Lock()
	defer w.commitMu.Unlock()
	n.awaitMove()
	w.mu.RLock()
	defer w.mu.RUnlock()
	n.mu.Lock()
	dirty, a, metaGen := w.dirty, n.attr, w.metaGen
	appendCreate, metaMoved := w.appendNew && w.pending, w.metaGen != w.metaDone
	p, ok := n.pathLocked()
	n.mu.Unlock()
	if !dirty || !ok {
		return 0
	}
	key := f.ns.fileKey(p)
	o := f.writeOptions(a)
	if appendCreate {
		// The creating append carries the metadata for good (appends
		// cannot change it): leave the times out, so the object's
		// LastModified, which every append moves, serves as its mtime.
		o.Metadata = withoutTimes(o.Metadata)
	}
	co := transfer.CommitOptions{NoAppend: metaMoved}
	so := w.streamOpts
	if so != nil {
		// Only the metadata can have moved since Stream (the times
		// always; mode, owner, xattrs after a change while writing; a
		// rename changes the key, which transfer handles; the other
		// options are the mount's): complete with Stream's metadata and
		// correct all of it below. A fallback inside transfer (broken
		// stream, other key) writes o itself.
		co.StreamMetadataMayDiffer = true
		w.streamOpts = nil // detached by this commit whatever its outcome
	}
	res, err := f.up.CommitWith(ctx, key, w.sp, o, co)
	if err != nil {
		f.commitFailed(n, p, err)
		return f.errno("commit", key, err)
	}
	if so != nil && !sameMeta(so, o) {
		// Complete cannot change metadata: one REPLACE with every POSIX
		// key and the content type. Cheaper than a HEAD to learn whether
		// the stream or a fallback wrote the object, and idempotent.
		if err := f.st.SetObjectMetadata(ctx, key, obsclient.MetadataReplace, metaOptions(a)); err != nil {
			// The data is on the server; the file stays dirty and the
			// next commit (a no-op for the data) retries the REPLACE.
			w.streamOpts = so
			f.commitFailed(n, p, err)
			return f.errno("commit", key, err)
		}
	}
	n.committed(w, key, res, metaGen)
	return 0
}

// holdCommits waits for a commit of n in flight and keeps new ones out
// until the returned function is called. Unlink and rename of a file with
// local data hold it while they decide by its state (committed or not) and
// change the tree, so that a commit — at release, after a deferred flush,
// or from another thread — neither resurrects a removed file nor lands
// under the old name of a moved one. Nil-safe.
func (n *node) holdCommits() func() {
	if n == nil {
		return func() {}
	}
	n.mu.Lock()
	w := n.w
	n.mu.Unlock()
	if w == nil {
		return func() {}
	}
	w.commitMu.Lock()
	return w.commitMu.Unlock
}

// moveTarget is where a successful rename puts a node: go-fuse moves it in
// its tree only after Rename returns.
type moveTarget struct {
	parent *gofs.Inode
	name   string
}

// markMoving records the rename of a node that was never committed (caller
// holds its commitMu): the next commit waits until go-fuse's tree shows the
// move, so the object is written under the new name.
func (n *node) markMoving(parent *gofs.Inode, name string) {
	n.mu.Lock()
	n.moving = &moveTarget{parent: parent, name: name}
	n.mu.Unlock()
}

// awaitMove waits (briefly: go-fuse moves the node right after Rename
// returns) until a rename recorded by markMoving shows in the tree.
func (n *node) awaitMove() {
	n.mu.Lock()
	m := n.moving
	n.mu.Unlock()
	if m == nil {
		return
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		name, p := n.Parent()
		n.mu.Lock()
		gone := n.deleted
		n.mu.Unlock()
		if p == m.parent && name == m.name || p == nil || gone {
			break // moved; or removed since, and then nothing is committed
		}
		time.Sleep(50 * time.Microsecond)
	}
	n.mu.Lock()
	if n.moving == m {
		n.moving = nil
	}
	n.mu.Unlock()
}

// withoutTimes copies md without the POSIX time keys.
func withoutTimes(md map[string]string) map[string]string {
	out := make(map[string]string, len(md))
	for k, v := range md {
		if k != metaMtime && k != metaCtime && k != metaAtime {
			out[k] = v
		}
	}
	return out
}

// sameMeta reports whether the metadata and content type of a and b agree.
func sameMeta(a *obsclient.WriteOptions, b obsclient.WriteOptions) bool {
	return a.ContentType == b.ContentType && maps.Equal(a.Metadata, b.Metadata)
}

// committed records a successful upload.
func (n *node) committed(w *writeState, key string, res obsclient.PutResult, metaGen uint64) {
	f := n.fsys
	b := w.sp.Base()
	n.mu.Lock()
	w.dirty, w.pending, w.metaDone, w.emptied = false, false, metaGen, false
	n.attr.ETag, n.attr.Complete = res.ETag, true
	if b != nil {
		n.attr.Appendable, n.attr.NextAppendPosition = b.Appendable, b.NextAppendPosition
	}
	n.attrAt = time.Now()
	a := n.attr
	n.mu.Unlock()
	f.invalidate(key)
	f.meta.Attrs.Put(key, a)
	f.commitDone(n)
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
