package fs

// The node: one type for directories, files and symlinks (the StableAttr
// mode tells go-fuse which it is). Methods are thin adapters from go-fuse to
// the logic in namespace.go, attrs.go, stat.go and the write state.
//
// LOCK ORDER: handle.rmu → writeState.commitMu → writeState.mu → node.mu →
// FS mutexes.
// No lock is held across a call into go-fuse that may call back.

import (
	"context"
	"sync"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

type node struct {
	gofs.Inode
	fsys *FS

	mu sync.Mutex
	// GUARDED_BY(mu):
	attr    objAttr     // last known attributes (type bits match the inode)
	attrAt  time.Time   // when attr came from the server
	deleted bool        // unlinked or replaced; the open handles keep it alive
	w       *writeState // local data: open for writing, or an upload to retry
	opens   int         // open handles
	writers int         // open handles that may write (a subset of opens)
	// commitAtRelease: a truncate naming no handle was left to the
	// writers (truncate in file.go); the last of them to be released
	// commits it.
	commitAtRelease bool
	target          string      // symlink target, once read
	cached          string      // ETag of the data the kernel may hold in its page cache
	moving          *moveTarget // a rename go-fuse has yet to apply (write.go)
	// touched: when an entry of this directory was last created, removed
	// or renamed here; its mtime and ctime are at least that (dirtimes.go).
	touched time.Time
}

var (
	_ = (gofs.InodeEmbedder)((*node)(nil))
	_ = (gofs.NodeLookuper)((*node)(nil))
	_ = (gofs.NodeGetattrer)((*node)(nil))
	_ = (gofs.NodeSetattrer)((*node)(nil))
)

// path returns the node's path, or false once it is deleted.
func (n *node) path() (string, bool) {
	if n.IsRoot() {
		return "", true
	}
	n.mu.Lock()
	deleted := n.deleted
	n.mu.Unlock()
	if _, parent := n.Parent(); parent == nil || deleted {
		return "", false
	}
	return n.Path(nil), true
}

func (n *node) pathOrDeleted() string {
	if p, ok := n.path(); ok {
		return p
	}
	return "(deleted)"
}

// childPath is the path of child name, or ENOENT once n is deleted.
func (n *node) childPath(name string) (string, syscall.Errno) {
	dir, ok := n.path()
	if !ok {
		return "", syscall.ENOENT
	}
	return joinPath(dir, name), 0
}

// key is the object key of the node: the marker prefix for a directory.
func (n *node) key(p string) string {
	if n.IsDir() {
		return n.fsys.ns.dirKey(p)
	}
	return n.fsys.ns.fileKey(p)
}

// Lookup finds a child: local state first, then caches and server. A child
// listed but not yet fetched starts statahead of the entries after it.
func (n *node) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	ctx, release := patient(ctx) // part of the mkdir, rename, … that follows (detach.go)
	defer release()
	return n.lookup(ctx, name, out, true)
}

func (n *node) lookup(ctx context.Context, name string, out *fuse.EntryOut, ahead bool) (*gofs.Inode, syscall.Errno) {
	f := n.fsys
	if n.isControlName(name) {
		return n.lookupControl(ctx, out)
	}
	p, en := n.childPath(name)
	if en != 0 {
		return nil, en
	}
	if en := f.ns.checkPath(p); en != 0 {
		return nil, en // no object can have this name
	}
	if ch := n.localChild(name); ch != nil {
		a := ch.localAttr()
		f.fillEntry(ch, a, out)
		return &ch.Inode, 0
	}
	if ahead {
		f.statahead(splitPath(p))
	}
	a, err := f.stat(ctx, p)
	if err != nil {
		return nil, f.errno("lookup", p, err)
	}
	ch := n.child(ctx, name, p, a)
	f.fillEntry(ch, ch.localAttr(), out)
	return &ch.Inode, 0
}

// localChild returns the child node named name if it holds local state
// the server does not know yet.
func (n *node) localChild(name string) *node {
	ci := n.GetChild(name)
	if ci == nil {
		return nil
	}
	ch, ok := ci.Operations().(*node)
	if !ok {
		return nil
	}
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.w == nil {
		return nil
	}
	return ch
}

// child returns the node for a child with attributes a: the known one
// (refreshed) when its inode and type still match, else a new one.
func (n *node) child(ctx context.Context, name, p string, a objAttr) *node {
	f := n.fsys
	ino := f.inoOf(p)
	if ci := n.GetChild(name); ci != nil && ci.StableAttr().Ino == ino {
		if ch, ok := ci.Operations().(*node); ok && ci.Mode() == a.Mode&syscall.S_IFMT {
			ch.setAttr(a)
			return ch
		}
		// The type changed on the server: a new inode, not the old one.
		f.forgetIno(p, false)
		ino = f.inoOf(p)
	}
	ch := &node{fsys: f, attr: a, attrAt: time.Now()}
	n.NewInode(ctx, ch, gofs.StableAttr{Mode: a.Mode & syscall.S_IFMT, Ino: ino})
	return ch
}

// setAttr records attributes fetched from the server unless local state
// is authoritative.
func (n *node) setAttr(a objAttr) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.w != nil || n.deleted {
		return
	}
	a.Mode = n.Mode()&syscall.S_IFMT | a.Mode&07777
	a = withTouched(a, n.touched)
	if a.ETag != n.attr.ETag {
		n.target = "" // another object: read the symlink target again
	}
	n.attr, n.attrAt = a, time.Now()
}

// localAttr returns the node's attributes without asking anybody.
func (n *node) localAttr() objAttr {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.attr
}

// Getattr answers from local state, the caches, or the server.
func (n *node) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	ctx, release := patient(ctx)
	defer release()
	a, en := n.getattr(ctx)
	if en != 0 {
		return en
	}
	n.fsys.fillAttr(n, a, &out.Attr)
	return 0
}

func (n *node) getattr(ctx context.Context) (objAttr, syscall.Errno) {
	f := n.fsys
	n.mu.Lock()
	local := n.w != nil || n.deleted || n.IsRoot() || time.Since(n.attrAt) < f.ttl
	a := n.attr
	n.mu.Unlock()
	if local {
		return a, 0
	}
	p, ok := n.path()
	if !ok {
		return a, 0
	}
	f.statahead(splitPath(p))
	a, err := f.stat(ctx, p)
	if err != nil {
		return objAttr{}, f.errno("getattr", p, err)
	}
	n.setAttr(a)
	return n.localAttr(), 0
}

// fillAttr converts attributes for the kernel.
func (f *FS) fillAttr(n *node, a objAttr, out *fuse.Attr) {
	out.Ino = n.StableAttr().Ino
	out.Mode = n.Mode()&syscall.S_IFMT | a.Mode&07777
	out.Size = a.Size
	out.Uid, out.Gid = a.UID, a.GID
	out.Rdev = a.Rdev
	out.Nlink = 1
	if n.IsDir() {
		out.Nlink = f.dirLinks(n)
		out.Size = 4096
	}
	n.mu.Lock()
	if n.deleted {
		out.Nlink = 0
	}
	n.mu.Unlock()
	out.Blksize = 4096
	out.Blocks = (a.Size + 511) / 512
	out.SetTimes(&a.Atime, &a.Mtime, &a.Ctime)
}

func (f *FS) fillEntry(n *node, a objAttr, out *fuse.EntryOut) {
	f.fillAttr(n, a, &out.Attr)
}

// caller returns the uid and gid of the process making the request.
func (f *FS) caller(ctx context.Context) (uint32, uint32) {
	if c, ok := fuse.FromContext(ctx); ok {
		return c.Uid, c.Gid
	}
	return f.opts.UID, f.opts.GID
}

// newAttr returns attributes for an object created now by the caller.
func (f *FS) newAttr(ctx context.Context, mode uint32) objAttr {
	uid, gid := f.caller(ctx)
	now := time.Now()
	return objAttr{Mode: mode, UID: uid, GID: gid, Mtime: now, Ctime: now, Atime: now, Complete: true}
}
