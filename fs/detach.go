package fs

// Interrupts and operations with a server-side effect.
//
// When the calling thread gets a signal it handles — an interval timer's
// SIGALRM, a profiler's SIGPROF, the Go runtime's SIGURG — the kernel sends
// FUSE_INTERRUPT and go-fuse cancels the request's context. An answer of
// EINTR then reaches the program as is: the kernel does not restart a FUSE
// request, even for an SA_RESTART handler, and few programs retry mkdir,
// rename or close. A request cancelled halfway may still have changed the
// bucket (the server got it; only the answer was lost), so EINTR would
// leave the program and the mount's caches believing that nothing happened.
//
// So every operation with a server-side effect — mkdir, rmdir, create,
// mknod, symlink, unlink, rename, setattr, setxattr, removexattr, an open
// for writing, flush, fsync, a management write — starts with detach(ctx):
// once started it runs to completion, bounded by the client's timeouts and
// retries like any request, and answers what really happened. Only the
// operations without side effects (lookup, getattr, readdir, read,
// readlink, getxattr, listxattr) may end with EINTR. Lookup and getattr
// honour an interrupt only interruptGrace after it arrives (patient): the
// kernel's LOOKUP that precedes every mkdir, rename, unlink or open is part
// of that call, and a lookup answered EINTR fails the mkdir or rename with
// EINTR although nothing was wrong. A responsive server answers long
// before the grace ends; a frozen one still lets Ctrl-C end the caller.
//
// Whatever such an operation returns, the mount's view equals the bucket's
// afterwards: on success the caches record the change; when a request that
// may have changed the bucket failed, unsure forgets what the caches (and
// the kernel) knew about the names involved, so the next lookup asks the
// server.

import (
	"context"
	"syscall"
	"time"

	"go.uber.org/zap"
)

// detach returns ctx without its cancellation (the FUSE interrupt); its
// values (the caller's uid/gid) stay.
func detach(ctx context.Context) context.Context {
	return context.WithoutCancel(ctx)
}

// interruptGrace is how long lookup and getattr keep waiting for the
// server after a FUSE interrupt.
const interruptGrace = time.Second

// patient returns a context that ends interruptGrace after ctx is cancelled,
// and a release function to call when the operation ends.
func patient(ctx context.Context) (context.Context, func()) {
	if ctx.Done() == nil {
		return ctx, func() {}
	}
	out, cancel := context.WithCancel(detach(ctx))
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(interruptGrace, cancel) })
	return out, func() { stop(); cancel() }
}

// unsure forgets what is known about the children names of parent after a
// request that may have changed them failed: the cached attributes, negative
// entries and listings of their keys (and of everything under them), the
// attributes of their nodes, and the kernel's dentries. The kernel is told
// in the background: it holds the directory's lock until this operation
// answers, so a synchronous notification would deadlock.
func (f *FS) unsure(parent *node, names ...string) {
	dir, ok := parent.path()
	if !ok {
		return
	}
	for _, name := range names {
		p := joinPath(dir, name)
		f.invalidate(f.ns.fileKey(p))
		f.invalidatePrefix(f.ns.dirKey(p))
		if ci := parent.GetChild(name); ci != nil {
			if ch, ok := ci.Operations().(*node); ok {
				ch.staleAttr()
			}
		}
	}
	go func() {
		defer f.recoverBackground("unsure")
		for _, name := range names {
			// ENOENT: the kernel held nothing to forget.
			if en := parent.NotifyEntry(name); en != 0 && en != syscall.ENOENT {
				f.log.Debug("notify entry", zap.String("name", name), zap.String("errno", en.Error()))
			}
		}
	}()
}

// unsureAttr is unsure for the attributes of n itself (a failed metadata
// update, truncate or commit of a directory marker).
func (f *FS) unsureAttr(n *node) {
	if p, ok := n.path(); ok {
		f.invalidate(n.key(p))
	}
	n.staleAttr()
	go func() {
		defer f.recoverBackground("unsure")
		_ = n.NotifyContent(-1, 0) // attributes only
	}()
}

// staleAttr makes the next getattr or open ask the server, unless local
// state is authoritative.
func (n *node) staleAttr() {
	n.mu.Lock()
	n.attrAt = time.Time{}
	n.mu.Unlock()
}
