package fs

// Reserved xattrs user.obs.*: OBS facts and actions on the object behind a
// file or directory (its marker object), and on the mount root the bucket's
// settings as user.obs.bucket.<name> (the control files' registry). What
// the names mean, their formats and validation live in package manage;
// this file resolves the node to its object, and maps errors to errnos.
// fs/SEMANTICS.md lists names, formats and errors.
//
// Reads HEAD the object (facts must be current, not cached). Writes are
// validated before any request: a bad value is EINVAL with a log line and
// changes nothing. Read-only names are EPERM on write, like the hidden POSIX
// keys. user.obs.content_type goes through the metadata path (folded into
// the upload of a file open for writing); the other writes need the object
// on the server and are EBUSY while the file has uncommitted data.

import (
	"context"
	"strings"
	"syscall"

	"github.com/obsfs/obsfs/manage"
	"github.com/obsfs/obsfs/obsclient"
)

const (
	xattrObs       = "user.obs."
	xattrObsBucket = "user.obs.bucket."
)

// isObsXattr reports a name in the reserved user.obs. namespace.
func isObsXattr(attr string) bool {
	return strings.HasPrefix(strings.ToLower(attr), xattrObs)
}

// obsXattrNames lists the reserved names n offers (for listxattr).
func (n *node) obsXattrNames() []string {
	var out []string
	if n.IsRoot() {
		for _, c := range n.fsys.mgr.Settings() {
			out = append(out, xattrObsBucket+c.Name())
		}
		return out
	}
	for _, a := range n.fsys.mgr.ObjectAttrs() {
		if a.OnDirs() || !n.IsDir() {
			out = append(out, xattrObs+a.Name())
		}
	}
	return out
}

// replyXattr copies v to dest (the size alone when dest is empty).
func replyXattr(v []byte, dest []byte) (uint32, syscall.Errno) {
	if len(dest) == 0 {
		return uint32(len(v)), 0
	}
	if len(dest) < len(v) {
		return uint32(len(v)), syscall.ERANGE
	}
	return uint32(copy(dest, v)), 0
}

// obsTarget resolves the node's object key, or an errno when n has none
// the attribute can be about.
func (n *node) obsTarget(a *manage.ObjectAttr) (string, syscall.Errno) {
	if a == nil || n.IsDir() && !a.OnDirs() {
		return "", enoattr
	}
	p, ok := n.path()
	if !ok {
		return "", syscall.ENOENT
	}
	return n.key(p), 0
}

func (n *node) getObsXattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	name := strings.ToLower(attr[len(xattrObs):])
	if n.IsRoot() {
		return n.fsys.getBucketXattr(ctx, name, dest)
	}
	f := n.fsys
	a := f.mgr.ObjectAttr(name)
	key, en := n.obsTarget(a)
	if en != 0 {
		return 0, en
	}
	if a.AdminRead() {
		if err := f.admin(ctx); err != nil {
			return 0, f.errno("getxattr "+attr, key, err)
		}
	}
	if n.isPendingLocal() {
		return 0, enoattr // not on the server yet
	}
	var info obsclient.ObjectInfo
	if a.NeedsInfo() {
		var err error
		if info, err = f.st.HeadObject(ctx, key, f.getOptions()); err != nil {
			if obsclient.IsNotFound(err) && n.IsDir() {
				return 0, enoattr // implicit directory: no marker object
			}
			return 0, f.errno("getxattr "+attr, key, err)
		}
	}
	v, err := f.mgr.GetObject(ctx, a, key, info)
	if err != nil {
		if obsclient.IsNotFound(err) && n.IsDir() {
			return 0, enoattr
		}
		return 0, f.adminErrno("getxattr "+attr, key, err)
	}
	return replyXattr([]byte(v), dest)
}

func (n *node) setObsXattr(ctx context.Context, attr string, data []byte) syscall.Errno {
	name := strings.ToLower(attr[len(xattrObs):])
	f := n.fsys
	if n.IsRoot() {
		return f.setBucketXattr(ctx, name, data)
	}
	a := f.mgr.ObjectAttr(name)
	if a == nil {
		return syscall.EPERM // reserved namespace
	}
	key, en := n.obsTarget(a)
	if en == enoattr {
		return syscall.EPERM
	}
	if en != 0 {
		return en
	}
	if a.AdminWrite() {
		if err := f.admin(ctx); err != nil {
			return f.errno("setxattr "+attr, key, err)
		}
	}
	return f.adminErrno("setxattr "+attr, key, f.mgr.SetObject(ctx, a, obsObject{n: n, ctx: ctx, key: key}, string(data)))
}

func (n *node) removeObsXattr(ctx context.Context, attr string) syscall.Errno {
	name := strings.ToLower(attr[len(xattrObs):])
	f := n.fsys
	if n.IsRoot() {
		return f.removeBucketXattr(ctx, name)
	}
	a := f.mgr.ObjectAttr(name)
	if a == nil {
		return enoattr
	}
	if !a.Removable() {
		return syscall.EPERM
	}
	key, en := n.obsTarget(a)
	if en == enoattr {
		return syscall.EPERM
	}
	if en != 0 {
		return en
	}
	return f.adminErrno("removexattr "+attr, key, f.mgr.RemoveObject(ctx, a, obsObject{n: n, ctx: ctx, key: key}))
}

// obsObject is a node's object as management sees it (manage.Object).
type obsObject struct {
	n   *node
	ctx context.Context
	key string
}

func (o obsObject) Key() string { return o.key }
func (o obsObject) Busy() bool  { return o.n.hasLocalData() }
func (o obsObject) Changed()    { o.n.fsys.invalidate(o.key) }

func (o obsObject) SetContentType(ctx context.Context, v string) error {
	return errnoErr(o.n.updateMeta(ctx, func(a *objAttr) syscall.Errno {
		a.ContentType = v
		return 0
	}))
}

// SetStorageClass rewrites the object's metadata (PUT ?metadata) with the
// new class, keeping every metadata key and the content type.
func (o obsObject) SetStorageClass(ctx context.Context, c string) error {
	n, f := o.n, o.n.fsys
	a, en := n.completeAttr(ctx)
	if en != 0 {
		return en
	}
	if n.IsDir() && a.Implicit {
		return syscall.EPERM // no marker object to classify
	}
	mo := metaOptions(a)
	mo.StorageClass = c
	err := f.st.SetObjectMetadata(ctx, o.key, obsclient.MetadataReplace, mo)
	f.invalidate(o.key)
	return err
}

// errnoErr turns an errno result of the data path back into an error (nil
// for 0) for a caller that returns errors.
func errnoErr(en syscall.Errno) error {
	if en == 0 {
		return nil
	}
	return en
}

// isPendingLocal reports a file created locally and not yet uploaded.
func (n *node) isPendingLocal() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.w != nil && n.w.pending
}

// hasLocalData reports uncommitted data: server-side changes would race
// with (and be undone by) the coming upload.
func (n *node) hasLocalData() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.w != nil && (n.w.dirty || n.w.pending)
}
