package fs

// The control directory: a hidden directory at the mount root (named by
// Options.ControlDir, default ".obsfs") that readdir of the root does not
// list — so cp -a, find and rsync of the mount never see it — but lookup
// finds. It holds one file per bucket setting (the registry of
// manage.Settings), versions/ (control_versions.go) and uploads/
// (control_uploads.go).
//
// A setting file's content is generated when it is opened (and for
// getattr, so stat shows the true size); reads are DIRECT_IO. Writes
// follow the sysfs convention (SEMANTICS.md 34): the write(2) that
// completes a valid value applies it in one request; a bad value fails
// that write with EINVAL and changes nothing. A document written in
// several chunks collects in memory (at most maxControlWrite bytes, EFBIG
// beyond) until it parses; a close with an unfinished one fails (EINVAL).
// A truncating open never deletes a setting: unlink does, where OBS allows
// it (EPERM otherwise).

import (
	"bytes"
	"context"
	"errors"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/obsfs/obsfs/manage"
)

// maxControlWrite caps what a control file accepts.
const maxControlWrite = 1 << 20

// admin returns nil when the caller of the request in ctx may administer
// the bucket (manage.Admins: root, the mount's owner, admin_uids), else
// manage.ErrNotAdmin.
func (f *FS) admin(ctx context.Context) error {
	c, ok := fuse.FromContext(ctx)
	if !ok {
		return nil // not a kernel request
	}
	return f.mgr.Allow(c.Uid)
}

// readSetting returns a setting's current content ("" when unset).
func (f *FS) readSetting(ctx context.Context, s *manage.Setting) ([]byte, syscall.Errno) {
	b, err := f.mgr.Read(ctx, s)
	if err != nil {
		return nil, f.adminErrno("read "+s.Name(), "", err)
	}
	return b, 0
}

// applySetting validates and applies a written value.
func (f *FS) applySetting(ctx context.Context, s *manage.Setting, data []byte) syscall.Errno {
	ctx = detach(ctx)
	if f.opts.ReadOnly {
		return syscall.EROFS
	}
	if err := f.mgr.Apply(ctx, s, data); err != nil {
		return f.adminErrno("write "+s.Name(), "", err)
	}
	f.log.Info("bucket setting changed: " + s.Name())
	return 0
}

func (f *FS) deleteSetting(ctx context.Context, s *manage.Setting) syscall.Errno {
	ctx = detach(ctx)
	if f.opts.ReadOnly {
		return syscall.EROFS
	}
	if err := f.mgr.Delete(ctx, s); err != nil {
		return f.adminErrno("delete "+s.Name(), "", err)
	}
	f.log.Info("bucket setting deleted: " + s.Name())
	return 0
}

// Root xattrs user.obs.bucket.<name>.

func (f *FS) getBucketXattr(ctx context.Context, name string, dest []byte) (uint32, syscall.Errno) {
	s := f.bucketSetting(name)
	if s == nil {
		return 0, enoattr
	}
	if s.Private() {
		if err := f.admin(ctx); err != nil {
			return 0, f.errno("getxattr user.obs."+name, "", err)
		}
	}
	b, en := f.readSetting(ctx, s)
	if en != 0 {
		return 0, en
	}
	return replyXattr(b, dest)
}

func (f *FS) setBucketXattr(ctx context.Context, name string, data []byte) syscall.Errno {
	s := f.bucketSetting(name)
	if s == nil {
		return syscall.EPERM
	}
	if err := f.admin(ctx); err != nil {
		return f.errno("setxattr user.obs."+name, "", err)
	}
	return f.applySetting(ctx, s, data)
}

func (f *FS) removeBucketXattr(ctx context.Context, name string) syscall.Errno {
	s := f.bucketSetting(name)
	if s == nil {
		return enoattr
	}
	if err := f.admin(ctx); err != nil {
		return f.errno("removexattr user.obs."+name, "", err)
	}
	return f.deleteSetting(ctx, s)
}

func (f *FS) bucketSetting(name string) *manage.Setting {
	if len(name) <= len("bucket.") || name[:len("bucket.")] != "bucket." {
		return nil
	}
	return f.mgr.Setting(name[len("bucket."):])
}

// ---- the directory ----

// isControlName reports whether name in directory n is the control dir.
func (n *node) isControlName(name string) bool {
	f := n.fsys
	return f.opts.ControlDir != "" && n.IsRoot() && name == f.opts.ControlDir
}

// ctlInode gives control entries stable inode numbers from the same map
// as the tree ("\x00" cannot occur in a path).
func (f *FS) ctlIno(p string) uint64 { return f.inoOf("\x00ctl/" + p) }

// ctlAttr fills attributes of a control entry owned by the mount owner.
func (f *FS) ctlAttr(ino uint64, mode uint32, size uint64, out *fuse.Attr) {
	out.Ino, out.Mode, out.Size = ino, mode, size
	out.Nlink = 1
	if mode&syscall.S_IFMT == syscall.S_IFDIR {
		out.Nlink, out.Size = 2, 4096
	}
	out.Uid, out.Gid = f.opts.UID, f.opts.GID
	out.Blksize = 4096
	out.Blocks = (size + 511) / 512
	out.SetTimes(&f.born, &f.born, &f.born)
}

// lookupControl returns the control directory's inode.
func (n *node) lookupControl(ctx context.Context, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	f := n.fsys
	d := &ctlDir{f: f}
	ino := f.ctlIno("")
	f.ctlAttr(ino, syscall.S_IFDIR|0755, 0, &out.Attr)
	return n.NewInode(ctx, d, gofs.StableAttr{Mode: syscall.S_IFDIR, Ino: ino}), 0
}

type ctlDir struct {
	gofs.Inode
	f *FS
}

var (
	_ = (gofs.NodeLookuper)((*ctlDir)(nil))
	_ = (gofs.NodeReaddirer)((*ctlDir)(nil))
	_ = (gofs.NodeGetattrer)((*ctlDir)(nil))
	_ = (gofs.NodeUnlinker)((*ctlDir)(nil))
	_ = (gofs.NodeCreater)((*ctlDir)(nil))
)

func (d *ctlDir) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	d.f.ctlAttr(d.StableAttr().Ino, syscall.S_IFDIR|0755, 0, &out.Attr)
	return 0
}

func (d *ctlDir) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	var ents []fuse.DirEntry
	for _, s := range d.f.mgr.Settings() {
		ents = append(ents, fuse.DirEntry{Name: s.Name(), Mode: syscall.S_IFREG, Ino: d.f.ctlIno(s.Name())})
	}
	ents = append(ents,
		fuse.DirEntry{Name: "uploads", Mode: syscall.S_IFDIR, Ino: d.f.ctlIno("uploads")},
		fuse.DirEntry{Name: "versions", Mode: syscall.S_IFDIR, Ino: d.f.ctlIno("versions")})
	sort.Slice(ents, func(i, j int) bool { return ents[i].Name < ents[j].Name })
	return gofs.NewListDirStream(ents), 0
}

func (d *ctlDir) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	f := d.f
	switch name {
	case "versions":
		ino := f.ctlIno("versions")
		f.ctlAttr(ino, syscall.S_IFDIR|0555, 0, &out.Attr)
		return d.NewInode(ctx, &verDir{f: f}, gofs.StableAttr{Mode: syscall.S_IFDIR, Ino: ino}), 0
	case "uploads":
		ino := f.ctlIno("uploads")
		f.ctlAttr(ino, syscall.S_IFDIR|0755, 0, &out.Attr)
		return d.NewInode(ctx, &upDir{f: f}, gofs.StableAttr{Mode: syscall.S_IFDIR, Ino: ino}), 0
	}
	s := f.mgr.Setting(name)
	if s == nil {
		return nil, syscall.ENOENT
	}
	c := &ctlFile{f: f, s: s}
	ino := f.ctlIno(name)
	f.ctlAttr(ino, c.mode(), f.mgr.Size(ctx, s), &out.Attr)
	out.SetEntryTimeout(0)
	out.SetAttrTimeout(0)
	return d.NewInode(ctx, c, gofs.StableAttr{Mode: syscall.S_IFREG, Ino: ino}), 0
}

// Unlink deletes a setting (where OBS allows it).
func (d *ctlDir) Unlink(ctx context.Context, name string) syscall.Errno {
	s := d.f.mgr.Setting(name)
	if s == nil {
		return syscall.EPERM
	}
	if err := d.f.admin(ctx); err != nil {
		return d.f.errno("unlink "+name, "", err)
	}
	return d.f.deleteSetting(ctx, s)
}

// Create: only the settings exist; editors that write a new file and
// rename it over the old one are not supported (write in place).
func (d *ctlDir) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*gofs.Inode, gofs.FileHandle, uint32, syscall.Errno) {
	return nil, nil, 0, syscall.EPERM
}

// ctlFile is one setting.
type ctlFile struct {
	gofs.Inode
	f *FS
	s *manage.Setting
	// truncNext: a truncate(2) to 0 without a handle (open(O_TRUNC) when
	// the kernel does not pass O_TRUNC to open) empties the next writer.
	truncNext atomic.Bool

	mu sync.Mutex
	// GUARDED_BY(mu): open writers (the kernel truncates for open(O_TRUNC)
	// with a SETATTR after the open that names no handle).
	writers map[*ctlHandle]bool
}

var (
	_ = (gofs.NodeOpener)((*ctlFile)(nil))
	_ = (gofs.NodeGetattrer)((*ctlFile)(nil))
	_ = (gofs.NodeSetattrer)((*ctlFile)(nil))
)

// mode: read-only settings 0444; those only administrators may read (ACL,
// policy) 0600; the others 0644. The mount's owner owns them; who may
// administer is checked on open as well (manage.Admins). With AdminUIDs
// the writable ones are 0666, so that the kernel's permission check
// (default_permissions) lets the other administrators reach that check.
func (c *ctlFile) mode() uint32 {
	switch {
	case !c.s.Writable():
		return syscall.S_IFREG | 0444
	case len(c.f.opts.AdminUIDs) > 0:
		return syscall.S_IFREG | 0666
	case c.s.Private():
		return syscall.S_IFREG | 0600
	}
	return syscall.S_IFREG | 0644
}

func (c *ctlFile) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	var size int
	if h, ok := fh.(*ctlHandle); ok {
		h.mu.Lock()
		size = len(h.data)
		h.mu.Unlock()
	} else {
		size = int(c.f.mgr.Size(ctx, c.s))
	}
	c.f.ctlAttr(c.StableAttr().Ino, c.mode(), uint64(size), &out.Attr)
	out.SetTimeout(0)
	return 0
}

// Setattr accepts truncation through a handle (and to 0 without one, for
// shells that truncate before they write); nothing else changes.
func (c *ctlFile) Setattr(ctx context.Context, fh gofs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if sz, ok := in.GetSize(); ok {
		if !c.s.Writable() {
			return syscall.EPERM
		}
		if err := c.f.admin(ctx); err != nil {
			return c.f.errno("truncate "+c.s.Name(), "", err)
		}
		if h, ok := fh.(*ctlHandle); ok {
			if en := h.truncate(sz); en != 0 {
				return en
			}
		} else if sz != 0 {
			return syscall.EINVAL
		} else if !c.truncateWriters() {
			c.truncNext.Store(true)
		}
	}
	return c.Getattr(ctx, fh, out)
}

func (c *ctlFile) Open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	write := flags&syscall.O_ACCMODE != syscall.O_RDONLY
	if write || c.s.Private() {
		if err := c.f.admin(ctx); err != nil {
			return nil, 0, c.f.errno("open "+c.s.Name(), "", err)
		}
	}
	if write {
		if !c.s.Writable() {
			return nil, 0, syscall.EPERM
		}
		if c.f.opts.ReadOnly {
			return nil, 0, syscall.EROFS
		}
	}
	h := &ctlHandle{c: c, write: write}
	trunc := write && (flags&syscall.O_TRUNC != 0 || c.truncNext.Swap(false))
	switch {
	case trunc:
	case write:
		// The kernel truncates for O_TRUNC after the open (with a SETATTR
		// naming no handle, see Setattr): a writer must not depend on
		// reading the current value.
		h.data, _ = c.f.mgr.Read(ctx, c.s)
	default:
		b, en := c.f.readSetting(ctx, c.s)
		if en != 0 {
			return nil, 0, en
		}
		h.data = b
	}
	if write {
		c.mu.Lock()
		if c.writers == nil {
			c.writers = map[*ctlHandle]bool{}
		}
		c.writers[h] = true
		c.mu.Unlock()
	}
	return h, fuse.FOPEN_DIRECT_IO, 0
}

// truncateWriters empties the open writers; false if there are none.
func (c *ctlFile) truncateWriters() bool {
	c.mu.Lock()
	hs := make([]*ctlHandle, 0, len(c.writers))
	for h := range c.writers {
		hs = append(hs, h)
	}
	c.mu.Unlock()
	for _, h := range hs {
		_ = h.truncate(0)
	}
	return len(hs) > 0
}

// Release forgets a writer.
func (h *ctlHandle) Release(ctx context.Context) syscall.Errno {
	h.c.mu.Lock()
	delete(h.c.writers, h)
	h.c.mu.Unlock()
	return 0
}

// ctlHandle holds the content of one open setting file.
type ctlHandle struct {
	c     *ctlFile
	write bool

	mu sync.Mutex
	// GUARDED_BY(mu):
	data []byte
	// pending: bytes were written that do not yet form a complete value
	// (a document written in several chunks); Flush reports them.
	pending bool
	// applied is the (trimmed) value this handle applied last: writing
	// more white space after it sends nothing again.
	applied []byte
}

var (
	_ = (gofs.FileReader)((*ctlHandle)(nil))
	_ = (gofs.FileWriter)((*ctlHandle)(nil))
	_ = (gofs.FileFlusher)((*ctlHandle)(nil))
	_ = (gofs.FileFsyncer)((*ctlHandle)(nil))
	_ = (gofs.FileReleaser)((*ctlHandle)(nil))
)

func (h *ctlHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return fuse.ReadResultData(readAt(h.data, dest, off)), 0
}

// readAt copies data[off:] into dest and returns the filled part.
func readAt(data, dest []byte, off int64) []byte {
	if off >= int64(len(data)) {
		return nil
	}
	return dest[:copy(dest, data[off:])]
}

// Write follows sysfs: the write that completes a valid value applies it
// (one request), and a value that is bad, or that the server refuses,
// fails this write (EINVAL) and is taken back, so the setting and the
// buffer stay as they were. Bytes that do not form a complete value yet
// but may (the first chunks of a long document) are kept for the next
// write.
func (h *ctlHandle) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	if !h.write {
		return 0, syscall.EBADF
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	end := off + int64(len(data))
	if end > maxControlWrite {
		return 0, syscall.EFBIG
	}
	prevLen := len(h.data)
	var saved []byte
	if off < int64(prevLen) {
		saved = append([]byte(nil), h.data[off:min(end, int64(prevLen))]...)
	}
	undo := func() {
		copy(h.data[off:], saved)
		h.data = h.data[:prevLen]
	}
	if end > int64(len(h.data)) {
		h.data = append(h.data, make([]byte, end-int64(len(h.data)))...)
	}
	copy(h.data[off:], data)

	f, s := h.c.f, h.c.s
	switch err := f.mgr.Check(s, h.data); {
	case errors.Is(err, manage.ErrIncomplete):
		h.pending = true
		return uint32(len(data)), 0
	case err != nil:
		undo()
		return 0, f.adminErrno("write "+s.Name(), "", err)
	}
	v := bytes.TrimSpace(h.data)
	if h.applied != nil && bytes.Equal(v, h.applied) {
		h.pending = false
		return uint32(len(data)), 0
	}
	if en := f.applySetting(ctx, s, h.data); en != 0 {
		undo()
		return 0, en
	}
	h.applied, h.pending = bytes.Clone(v), false
	return uint32(len(data)), 0
}

func (h *ctlHandle) truncate(size uint64) syscall.Errno {
	if size > maxControlWrite {
		return syscall.EFBIG
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if int(size) <= len(h.data) {
		h.data = h.data[:size]
	} else {
		h.data = append(h.data, make([]byte, int(size)-len(h.data))...)
	}
	return 0
}

// Flush (every close of a descriptor) reports written bytes that never
// became a complete value: EINVAL, nothing applied (they stay in the
// buffer for a later write through another descriptor of the same open).
// A close after nothing was written (a shell's truncating open before
// dup2) does nothing: truncation alone never deletes a setting.
func (h *ctlHandle) Flush(ctx context.Context) syscall.Errno {
	if !h.write {
		return 0
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.pending {
		return 0
	}
	en := h.c.f.applySetting(ctx, h.c.s, h.data)
	if en == 0 {
		h.applied, h.pending = bytes.Clone(bytes.TrimSpace(h.data)), false
	}
	return en
}

func (h *ctlHandle) Fsync(ctx context.Context, flags uint32) syscall.Errno { return h.Flush(ctx) }

// ---- helpers for listing-based control directories ----

// ctlTime formats a time in version and upload names.
func ctlTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }
