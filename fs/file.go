package fs

// Files: open, read, write, flush, fsync, release, setattr.
//
// Reads of a file without local data go through a transfer.Reader: ranged
// GETs pinned with If-Match to the ETag seen at open (a changed object fails
// the read with ESTALE instead of mixing versions), readahead, the shared
// memory block cache and, with use_cache, the disk block cache below it
// (transfer/tier.go). Reads of a file with local data come from the spool.

import (
	"context"
	"errors"
	"io"
	"sync"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/obsfs/obsfs/obsclient"
	"github.com/obsfs/obsfs/transfer"
)

var (
	_ = (gofs.NodeOpener)((*node)(nil))
	_ = (gofs.FileReader)((*handle)(nil))
	_ = (gofs.FileWriter)((*handle)(nil))
	_ = (gofs.FileFlusher)((*handle)(nil))
	_ = (gofs.FileFsyncer)((*handle)(nil))
	_ = (gofs.FileReleaser)((*handle)(nil))
	_ = (gofs.FileLseeker)((*handle)(nil))
	_ = (gofs.FileAllocater)((*handle)(nil))
)

// handle is one open file description.
type handle struct {
	n     *node
	write bool
	etag  string // object version the reads are pinned to
	size  uint64 // object size at open

	// GUARDED_BY(n.mu): wrote: data was written through this handle
	// (write, fallocate, ftruncate); deferred: a flush of it skipped the
	// commit (see Flush), so its release commits.
	wrote, deferred bool

	rmu sync.Mutex
	// GUARDED_BY(rmu):
	rd    *transfer.Reader // remote reads, created at the first one
	rdKey string           // key rd reads (a rename changes the key)
}

// Open revalidates (close-to-open) and prepares local data for writers.
func (n *node) Open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	f := n.fsys
	write := flags&syscall.O_ACCMODE != syscall.O_RDONLY
	if !write {
		var release func()
		ctx, release = patient(ctx) // as lookup: open(O_CREAT) of an existing file (detach.go)
		defer release()
	}
	if write {
		ctx = detach(ctx) // a writer's open belongs to its change (detach.go)
		if en := f.checkWritable(); en != 0 {
			return nil, 0, en
		}
	}
	if en := n.revalidate(ctx); en != 0 {
		return nil, 0, en
	}
	if write {
		if _, en := n.ensureWriter(ctx, flags&syscall.O_TRUNC != 0); en != 0 {
			return nil, 0, en
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.opens++
	if write {
		n.writers++
	}
	h := &handle{n: n, write: write, etag: n.attr.ETag, size: n.attr.Size}
	if p, ok := n.pathLocked(); ok {
		h.rdKey = n.fsys.ns.fileKey(p)
	}
	return h, n.cacheFlagsLocked(), 0
}

// cacheFlagsLocked keeps the kernel's page cache across opens while the
// object's ETag is the one the cached pages came from; otherwise the kernel
// drops them (close-to-open for data).
func (n *node) cacheFlagsLocked() uint32 {
	etag := n.attr.ETag
	if n.w != nil || etag == "" || etag != n.cached {
		n.cached = etag
		if n.w != nil {
			n.cached = ""
		}
		return 0
	}
	return fuse.FOPEN_KEEP_CACHE
}

// revalidate refreshes the attributes with a HEAD when they are older than
// the TTL and the node has no local data.
func (n *node) revalidate(ctx context.Context) syscall.Errno {
	f := n.fsys
	n.mu.Lock()
	stale := n.w == nil && !n.deleted && time.Since(n.attrAt) >= f.ttl || n.attr.ETag == "" && n.w == nil
	n.mu.Unlock()
	p, ok := n.path()
	if !stale || !ok {
		return 0
	}
	a, err := f.statFresh(ctx, p)
	if err != nil {
		return f.errno("open", p, err)
	}
	n.setAttr(a)
	return 0
}

func (h *handle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	n := h.n
	n.mu.Lock()
	w := n.w
	n.mu.Unlock()
	if w != nil {
		return h.readSpool(ctx, w, dest, off)
	}
	return h.readRemote(ctx, dest, off)
}

func (h *handle) readSpool(ctx context.Context, w *writeState, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	k, err := w.sp.ReadAt(ctx, dest, off)
	if err != nil && err != io.EOF {
		return nil, h.n.fsys.errno("read", h.n.pathOrDeleted(), err)
	}
	return fuse.ReadResultData(dest[:k]), 0
}

// readRemote reads through a transfer.Reader pinned to the ETag seen at
// open: block cache, readahead for sequential runs, granules for random
// reads, coalesced parallel ranged GETs. The reply is the cached blocks
// and granules themselves, written to /dev/fuse by one writev, without a
// copy: the kernel's readahead reads are 1 MiB but not block aligned (its
// ramp-up reads of 32 KiB, 128 KiB, 512 KiB shift them), so most reads of
// a stream span two blocks.
func (h *handle) readRemote(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	if off >= int64(h.size) || len(dest) == 0 {
		return fuse.ReadResultData(nil), 0
	}
	rd, key := h.reader()
	vecs, err := rd.ReadVec(ctx, off, len(dest))
	if err != nil && (errors.Is(err, transfer.ErrStale) || obsclient.IsPreconditionFailed(err)) {
		// The object changed under the pinned ETag: forget the attributes
		// it came from, so the next open revalidates instead of pinning
		// the old ETag again until the TTL runs out.
		h.n.forgetAttrs(key)
	}
	if err != nil && err != io.EOF {
		// An interrupted read ends with the context's error (EINTR, errno.go):
		// fetches run on their own context, so only the wait is cancelled.
		return nil, h.n.fsys.errno("read", key, err)
	}
	switch len(vecs) {
	case 0:
		return fuse.ReadResultData(nil), 0
	case 1:
		return fuse.ReadResultData(vecs[0]), 0
	}
	return fuse.ReadResultVector(vecs), 0
}

// forgetAttrs makes the node's and the caches' attributes of key stale.
func (n *node) forgetAttrs(key string) {
	n.mu.Lock()
	n.attrAt = time.Time{}
	n.mu.Unlock()
	n.fsys.invalidate(key)
}

// reader returns the handle's reader for the node's current key.
func (h *handle) reader() (*transfer.Reader, string) {
	f := h.n.fsys
	h.rmu.Lock()
	defer h.rmu.Unlock()
	key := h.rdKey // an unlinked file keeps reading what it was
	if p, ok := h.n.path(); ok {
		key = f.ns.fileKey(p)
	}
	if h.rd == nil || h.rdKey != key {
		if h.rd != nil {
			_ = h.rd.Close()
		}
		h.rd = transfer.NewReader(f.st, key, h.etag, int64(h.size), f.blocks, transfer.ReaderConfig{Fetcher: f.fetcher, Disk: f.disk})
		h.rdKey = key
	}
	return h.rd, key
}

func (h *handle) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	n := h.n
	h.markWrote()
	w, en := n.ensureWriter(ctx, false)
	if en != 0 {
		return 0, en
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	k, err := w.sp.WriteAt(data, off)
	if err != nil {
		return uint32(k), n.fsys.errno("write", n.pathOrDeleted(), err)
	}
	n.touchData(w, uint64(w.sp.Size()))
	n.maybeStream(ctx, w)
	return uint32(k), 0
}

// Flush runs at every close(2): writers commit, so close reports the
// upload's fate.
//
// Except when nothing was written through this handle and the file's
// content is what create or O_TRUNC left (empty, nothing written since):
// then the commit waits for the next flush of a handle that wrote, or for
// this handle's release. That is the shells' `cmd > f`: bash and dash open
// f, dup2 it onto stdout and close the original before anything is written;
// committing at that first flush would upload an empty object (and an
// extra version) before the content. The empty file is still committed:
// by the release after the last close (`: > f`, touch).
//
// close and fsync are not interruptible (detach.go): they ignore FUSE
// interrupts and return only once the commit succeeded or really failed. A signal that merely lands while the caller waits — Go's
// runtime sends SIGURG for preemption all the time — would otherwise turn a
// good upload into EINTR from close(2), which programs do not retry.
func (h *handle) Flush(ctx context.Context) syscall.Errno {
	if !h.write || h.deferFlush() {
		return 0
	}
	return h.n.commit(detach(ctx))
}

// markWrote records data written through h.
func (h *handle) markWrote() {
	h.n.mu.Lock()
	h.wrote = true
	h.n.mu.Unlock()
}

// deferFlush decides whether a flush of h may skip the commit (see
// Flush) and remembers that it did.
func (h *handle) deferFlush() bool {
	n := h.n
	n.mu.Lock()
	defer n.mu.Unlock()
	w := n.w
	h.deferred = w != nil && w.dirty && w.emptied && !h.wrote && !n.deleted
	return h.deferred
}

func (h *handle) Fsync(ctx context.Context, flags uint32) syscall.Errno {
	return h.n.commit(detach(ctx))
}

func (h *handle) Release(ctx context.Context) syscall.Errno {
	h.rmu.Lock()
	if h.rd != nil {
		_ = h.rd.Close()
		h.rd = nil
	}
	h.rmu.Unlock()
	if h.write {
		h.n.mu.Lock()
		deferred := h.deferred
		h.deferred = false
		h.n.mu.Unlock()
		if deferred {
			// A flush left the commit to us (see Flush). Nobody waits for
			// the answer: a failure keeps the data for a retry (tenet 19).
			if en := h.n.commit(context.WithoutCancel(ctx)); en != 0 {
				h.n.fsys.log.Warn("commit at release failed; kept for retry",
					zap.String("path", h.n.pathOrDeleted()), zap.Error(en))
			}
		}
		h.n.mu.Lock()
		h.n.writers--
		last := h.n.writers == 0 && h.n.commitAtRelease
		if last {
			h.n.commitAtRelease = false
		}
		h.n.mu.Unlock()
		if last && !deferred {
			// A truncate was left to the writers; nothing may have
			// committed it since (a commit of a clean file sends nothing).
			if en := h.n.commit(context.WithoutCancel(ctx)); en != 0 {
				h.n.fsys.log.Warn("commit at release failed; kept for retry",
					zap.String("path", h.n.pathOrDeleted()), zap.Error(en))
			}
		}
	}
	h.n.release()
	return 0
}

// Lseek supports SEEK_DATA/SEEK_HOLE as a file without holes.
func (h *handle) Lseek(ctx context.Context, off uint64, whence uint32) (uint64, syscall.Errno) {
	size := h.n.localAttr().Size
	switch whence {
	case unix.SEEK_DATA:
		if off >= size {
			return 0, syscall.ENXIO
		}
		return off, 0
	case unix.SEEK_HOLE:
		if off > size {
			return 0, syscall.ENXIO
		}
		return size, 0
	}
	return 0, syscall.EINVAL
}

// Allocate extends the file (mode 0); other modes are not supported.
func (h *handle) Allocate(ctx context.Context, off, size uint64, mode uint32) syscall.Errno {
	const keepSize = unix.FALLOC_FL_KEEP_SIZE
	if mode&^keepSize != 0 {
		return syscall.EOPNOTSUPP
	}
	if !h.write {
		return syscall.EBADF
	}
	n := h.n
	h.markWrote()
	w, en := n.ensureWriter(ctx, false)
	if en != 0 || mode&keepSize != 0 {
		return en
	}
	if end := off + size; end > n.localAttr().Size {
		return n.truncateSpool(w, end)
	}
	return 0
}

// Setattr: truncate through the write state; mode, owner and times as a
// metadata update (folded into the upload when data is pending).
func (n *node) Setattr(ctx context.Context, fh gofs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	ctx = detach(ctx)
	f := n.fsys
	if en := f.checkWritable(); en != 0 {
		return en
	}
	if sz, ok := in.GetSize(); ok {
		if h, ok := fh.(*handle); ok {
			h.markWrote() // ftruncate: a change made through the handle
		}
		if en := n.truncate(ctx, sz, fh != nil); en != 0 {
			return en
		}
	}
	if en := n.setMeta(ctx, in); en != 0 {
		return en
	}
	return n.Getattr(ctx, fh, out)
}

// truncate changes the size. Through a handle (ftruncate), or to 0 while a
// writable handle is open, the change is committed with that handle's data
// at its flush/close (or, at the latest, when the last writer is
// released); otherwise (truncate(2) of a file nobody writes, or to a size
// other than 0) at once. The middle case matters: go-fuse does not negotiate
// FUSE_ATOMIC_O_TRUNC, so open(O_TRUNC) reaches us as an open for writing
// followed by a truncate to 0 naming no handle. Committing that at once would
// upload an empty object (and an extra version) before every overwrite. A
// truncate(2) to another size commits at once even while a writer's
// release is still on its way (the kernel sends RELEASE after close(2) has
// returned): left to that release, it would land after truncate(2)
// returned, or never.
func (n *node) truncate(ctx context.Context, size uint64, viaHandle bool) syscall.Errno {
	if n.IsDir() {
		return syscall.EISDIR
	}
	n.mu.Lock()
	had, cur := n.w != nil, n.attr.Size
	deferCommit := viaHandle || (n.writers > 0 && size == 0)
	if deferCommit && !viaHandle {
		n.commitAtRelease = true
	}
	if !viaHandle {
		n.opens++ // keeps the write state alive until this call ends
	}
	n.mu.Unlock()
	if !viaHandle {
		defer n.release()
	}
	if !had && size == cur {
		return 0
	}
	w, en := n.ensureWriter(ctx, size == 0)
	if en != 0 {
		return en
	}
	if size != 0 {
		if en := n.truncateSpool(w, size); en != 0 {
			return en
		}
	}
	if deferCommit {
		return 0
	}
	return n.commit(ctx)
}

var _ = (gofs.NodeFsyncer)((*node)(nil))

// Fsync commits a file; on a directory (fsync of a directory fd, which git
// and rsync do) there is nothing to sync: every directory change is already
// on the server.
func (n *node) Fsync(ctx context.Context, fh gofs.FileHandle, flags uint32) syscall.Errno {
	if n.IsDir() {
		return 0
	}
	return n.commit(detach(ctx))
}
