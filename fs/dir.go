package fs

// Directories: listing, and the operations that add or remove entries.

import (
	"bytes"
	"context"
	"io"
	"mime"
	"path"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/obsfs/obsfs/obsclient"
)

var (
	_ = (gofs.NodeReaddirer)((*node)(nil))
	_ = (gofs.NodeMkdirer)((*node)(nil))
	_ = (gofs.NodeRmdirer)((*node)(nil))
	_ = (gofs.NodeCreater)((*node)(nil))
	_ = (gofs.NodeUnlinker)((*node)(nil))
	_ = (gofs.NodeSymlinker)((*node)(nil))
	_ = (gofs.NodeReadlinker)((*node)(nil))
	_ = (gofs.NodeLinker)((*node)(nil))
	_ = (gofs.NodeMknoder)((*node)(nil))
)

func emptyBody() io.ReadSeeker { return bytes.NewReader(nil) }

// Readdir streams the directory a listing page at a time.
func (n *node) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	p, ok := n.path()
	if !ok {
		return gofs.NewListDirStream(nil), 0
	}
	return n.fsys.newDirStream(n, p), 0
}

// Mkdir writes the marker object with the directory's attributes.
func (n *node) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	ctx = detach(ctx)
	f := n.fsys
	p, en := n.writableChild(name)
	if en != 0 {
		return nil, en
	}
	dk, en := f.ns.newKey(p, true)
	if en != 0 {
		return nil, en
	}
	a := f.newAttr(ctx, syscall.S_IFDIR|mode&07777)
	if _, err := f.st.PutObject(ctx, dk, emptyBody(), 0, f.writeOptions(a)); err != nil {
		f.unsure(n, name)
		return nil, f.errno("mkdir", dk, err)
	}
	f.created(p, dk, a)
	n.touchDir()
	ch := n.child(ctx, name, p, a)
	f.fillEntry(ch, a, out)
	return &ch.Inode, 0
}

// writableChild returns the path of child name, or EROFS if the file system
// is read-only.
func (n *node) writableChild(name string) (string, syscall.Errno) {
	if en := n.fsys.checkWritable(); en != 0 {
		return "", en
	}
	return n.childPath(name)
}

// removableChild is writableChild for removals: the control directory's
// name is refused with EPERM.
func (n *node) removableChild(name string) (string, syscall.Errno) {
	if en := n.fsys.checkWritable(); en != 0 {
		return "", en
	}
	if n.isControlName(name) {
		return "", syscall.EPERM
	}
	return n.childPath(name)
}

// deleteIfPresent deletes key's current version; a key that is already gone
// is not an error.
func (f *FS) deleteIfPresent(ctx context.Context, key string) error {
	if _, err := f.st.DeleteObject(ctx, key, ""); err != nil && !obsclient.IsNotFound(err) {
		return err
	}
	return nil
}

// created updates the caches after p appeared with key key.
func (f *FS) created(p, key string, a objAttr) {
	f.invalidate(key)
	f.meta.Negative.Delete(f.ns.fileKey(p))
	f.meta.Attrs.Put(key, a)
}

// Rmdir removes an empty directory's marker.
func (n *node) Rmdir(ctx context.Context, name string) syscall.Errno {
	ctx = detach(ctx)
	f := n.fsys
	p, en := n.removableChild(name)
	if en != 0 {
		return en
	}
	dk := f.ns.dirKey(p)
	if en := f.checkEmpty(ctx, p); en != 0 {
		return en
	}
	if err := f.deleteIfPresent(ctx, dk); err != nil {
		f.unsure(n, name)
		return f.errno("rmdir", dk, err)
	}
	f.removed(n, name, p, true)
	n.touchDir()
	return 0
}

// checkEmpty returns ENOTEMPTY if any key or local file lies under p.
func (f *FS) checkEmpty(ctx context.Context, p string) syscall.Errno {
	dk := f.ns.dirKey(p)
	if len(f.writersUnder(p)) > 0 {
		return syscall.ENOTEMPTY
	}
	res, err := f.st.ListObjects(ctx, obsclient.ListOptions{Prefix: dk, MaxKeys: 2})
	if err != nil {
		return f.errno("rmdir", dk, err)
	}
	for _, o := range res.Objects {
		if o.Key != dk {
			return syscall.ENOTEMPTY
		}
	}
	return 0
}

// removed updates caches, inode numbers and the child node after a delete.
func (f *FS) removed(parent *node, name, p string, dir bool) {
	key := f.ns.fileKey(p)
	if dir {
		f.invalidatePrefix(f.ns.dirKey(p))
	}
	f.invalidate(key)
	f.meta.Attrs.Delete(f.ns.dirKey(p))
	if !dir {
		// Known absent (a directory of that name would have shadowed the
		// file). A removed directory may uncover a shadowed file: no entry.
		f.meta.Negative.Put(key, struct{}{})
	}
	f.forgetIno(p, dir)
	if ci := parent.GetChild(name); ci != nil {
		if ch, ok := ci.Operations().(*node); ok {
			ch.markDeleted()
		}
	}
}

func (n *node) markDeleted() {
	n.mu.Lock()
	n.deleted = true
	w := n.w
	n.mu.Unlock()
	if w != nil {
		w.spool().Forget() // a crash must not bring the file back
	}
	n.fsys.setWriter(n, false)
}

// keepParent writes the marker of an implicit directory before its last
// known entry goes, so the directory survives the delete.
func (n *node) keepParent(ctx context.Context) {
	n.mu.Lock()
	a := n.attr
	n.mu.Unlock()
	if n.IsRoot() || !a.Implicit {
		return
	}
	p, ok := n.path()
	if !ok {
		return
	}
	dk := n.fsys.ns.dirKey(p)
	if _, err := n.fsys.st.PutObject(ctx, dk, emptyBody(), 0, n.fsys.writeOptions(a)); err == nil {
		n.mu.Lock()
		n.attr.Implicit = false
		n.mu.Unlock()
		n.fsys.meta.Attrs.Delete(dk)
	}
}

// Create makes a new, empty file with local state; the object is written at
// the first flush/fsync/close.
func (n *node) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*gofs.Inode, gofs.FileHandle, uint32, syscall.Errno) {
	ctx = detach(ctx)
	f := n.fsys
	p, en := n.writableChild(name)
	if en != 0 {
		return nil, nil, 0, en
	}
	if _, en := f.ns.newKey(p, false); en != 0 {
		return nil, nil, 0, en
	}
	a := f.newAttr(ctx, syscall.S_IFREG|mode&07777)
	a.ContentType = mime.TypeByExtension(path.Ext(name))
	f.forgetIno(p, false) // a new file gets a new inode number
	ch := n.child(ctx, name, p, a)
	w, en := ch.ensureWriter(ctx, true)
	if en != 0 {
		return nil, nil, 0, en
	}
	appendable := flags&syscall.O_APPEND != 0 && !f.pfs
	if appendable {
		// Created appendable: every flush appends only the new bytes. (A
		// parallel file system bucket has no appendable objects: OBS
		// answers AppendObject with FsNotSupport there.)
		w.sp.SetAppendable(true)
		w.mu.Lock()
		w.streamable = false
		w.mu.Unlock()
	}
	ch.mu.Lock()
	w.pending = true
	w.appendNew = appendable
	ch.attr = a
	ch.opens++
	ch.writers++
	ch.mu.Unlock()
	ch.describe(w.sp, f.ns.fileKey(p)) // not linked to its parent yet: name the key
	f.invalidate(f.ns.fileKey(p))
	n.touchDir()
	f.fillEntry(ch, a, out)
	return &ch.Inode, &handle{n: ch, write: true}, 0, 0
}

// Unlink deletes a file's object (or just its local state if it was never
// committed).
func (n *node) Unlink(ctx context.Context, name string) syscall.Errno {
	ctx = detach(ctx)
	f := n.fsys
	p, en := n.removableChild(name)
	if en != 0 {
		return en
	}
	key := f.ns.fileKey(p)
	// A commit in flight (or due at release) must not resurrect the file.
	defer n.localChild(name).holdCommits()()
	if !n.pendingChild(name) {
		n.keepParent(ctx)
		if err := f.deleteIfPresent(ctx, key); err != nil {
			f.unsure(n, name)
			return f.errno("unlink", key, err)
		}
	}
	f.removed(n, name, p, false)
	n.touchDir()
	return 0
}

// pendingChild reports whether child name exists only locally.
func (n *node) pendingChild(name string) bool {
	ch := n.localChild(name)
	if ch == nil {
		return false
	}
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return ch.w != nil && ch.w.pending
}

// Symlink writes an object whose body is the target, with S_IFLNK mode.
func (n *node) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	ctx = detach(ctx)
	f := n.fsys
	p, en := n.writableChild(name)
	if en != 0 {
		return nil, en
	}
	key, en := f.ns.newKey(p, false)
	if en != 0 {
		return nil, en
	}
	a := f.newAttr(ctx, syscall.S_IFLNK|0777)
	a.Size = uint64(len(target))
	res, err := f.st.PutObject(ctx, key, bytes.NewReader([]byte(target)), int64(len(target)), f.writeOptions(a))
	if err != nil {
		f.unsure(n, name)
		return nil, f.errno("symlink", key, err)
	}
	a.ETag = res.ETag
	f.forgetIno(p, false)
	f.created(p, key, a)
	ch := n.child(ctx, name, p, a)
	ch.mu.Lock()
	ch.target = target
	ch.mu.Unlock()
	n.touchDir()
	f.fillEntry(ch, a, out)
	return &ch.Inode, 0
}

// Readlink reads the target (the object body) once per node.
func (n *node) Readlink(ctx context.Context) ([]byte, syscall.Errno) {
	f := n.fsys
	n.mu.Lock()
	t := n.target
	n.mu.Unlock()
	if t != "" {
		return []byte(t), 0
	}
	p, ok := n.path()
	if !ok {
		return nil, syscall.ENOENT
	}
	key := f.ns.fileKey(p)
	r, err := f.st.GetObject(ctx, key, f.getOptions())
	if err != nil {
		return nil, f.errno("readlink", key, err)
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, 4096))
	if err != nil {
		return nil, f.errno("readlink", key, err)
	}
	n.mu.Lock()
	n.target = string(b)
	n.mu.Unlock()
	return b, 0
}

// Link: hard links are not supported.
func (n *node) Link(ctx context.Context, target gofs.InodeEmbedder, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	if p, en := n.childPath(name); en == 0 && n.fsys.ns.checkPath(p) != 0 {
		return nil, syscall.ENAMETOOLONG
	}
	return nil, syscall.ENOTSUP
}

// Mknod creates a regular file, FIFO, socket (bind(2) of a unix socket)
// or device as an empty object whose mode carries the type, and rdev the
// device number (s3fs's form). The kernel serves FIFO, socket and device
// I/O itself; the kernel checks CAP_MKNOD for devices.
func (n *node) Mknod(ctx context.Context, name string, mode uint32, dev uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	ctx = detach(ctx)
	if p, en := n.childPath(name); en == 0 && n.fsys.ns.checkPath(p) != 0 {
		return nil, syscall.ENAMETOOLONG
	}
	if t := mode & syscall.S_IFMT; t != syscall.S_IFREG && !isSpecialType(t) {
		return nil, syscall.EINVAL
	}
	f := n.fsys
	p, en := n.writableChild(name)
	if en != 0 {
		return nil, en
	}
	key, en := f.ns.newKey(p, false)
	if en != 0 {
		return nil, en
	}
	a := f.newAttr(ctx, mode)
	if isDevice(mode & syscall.S_IFMT) {
		a.Rdev = dev
	}
	res, err := f.st.PutObject(ctx, key, emptyBody(), 0, f.writeOptions(a))
	if err != nil {
		f.unsure(n, name)
		return nil, f.errno("mknod", key, err)
	}
	a.ETag = res.ETag
	f.forgetIno(p, false)
	f.created(p, key, a)
	n.touchDir()
	ch := n.child(ctx, name, p, a)
	f.fillEntry(ch, a, out)
	return &ch.Inode, 0
}

var _ = time.Now
