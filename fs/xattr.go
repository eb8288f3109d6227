package fs

// Extended attributes: user.<name> ⇄ custom metadata <name>. Metadata names
// are case-insensitive on the server (stored lowercased), so xattr names
// are lowercased too. The POSIX keys (mode, uid, gid, mtime, ctime, atime)
// are hidden and reserved. All metadata of an object must fit in 8 KB
// (E2BIG beyond). Other namespaces (security., system., trusted.) are not
// supported. The user.obs. namespace is reserved for OBS facts and actions
// (xattr_obs.go).

import (
	"context"
	"maps"
	"sort"
	"strings"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"github.com/obsfs/obsfs/obsclient"
)

var (
	_ = (gofs.NodeGetxattrer)((*node)(nil))
	_ = (gofs.NodeSetxattrer)((*node)(nil))
	_ = (gofs.NodeListxattrer)((*node)(nil))
	_ = (gofs.NodeRemovexattrer)((*node)(nil))
)

const (
	xattrUser = "user."
	enoattr   = syscall.Errno(fuse.ENOATTR)
)

// xattrName maps an xattr name to its metadata name.
func xattrName(attr string) (string, bool) {
	if !strings.HasPrefix(attr, xattrUser) || len(attr) == len(xattrUser) {
		return "", false
	}
	name := strings.ToLower(attr[len(xattrUser):])
	return name, !isPosixKey(name)
}

func (n *node) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	if isObsXattr(attr) {
		return n.getObsXattr(ctx, attr, dest)
	}
	name, ok := xattrName(attr)
	if !ok {
		return 0, enoattr
	}
	a, en := n.completeAttr(ctx)
	if en != 0 {
		return 0, en
	}
	v, ok := a.User[name]
	if !ok {
		return 0, enoattr
	}
	if len(dest) < len(v) {
		return uint32(len(v)), syscall.ERANGE
	}
	return uint32(copy(dest, v)), 0
}

func (n *node) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	a, en := n.completeAttr(ctx)
	if en != 0 {
		return 0, en
	}
	names := make([]string, 0, len(a.User))
	for k := range a.User {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		if !isObsXattr(xattrUser + k) {
			b.WriteString(xattrUser + k + "\x00")
		}
	}
	for _, k := range n.obsXattrNames() {
		b.WriteString(k + "\x00")
	}
	if len(dest) < b.Len() {
		return uint32(b.Len()), syscall.ERANGE
	}
	return uint32(copy(dest, b.String())), 0
}

func (n *node) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	ctx = detach(ctx)
	if en := n.fsys.checkWritable(); en != 0 {
		return en
	}
	if isObsXattr(attr) {
		return n.setObsXattr(ctx, attr, data)
	}
	name, ok := xattrName(attr)
	if !ok {
		if strings.HasPrefix(attr, xattrUser) {
			return syscall.EPERM // reserved POSIX key
		}
		return syscall.ENOTSUP
	}
	if !obsclient.ValidMetadataName(name) {
		// Not an HTTP token ("user.a b"): no upload could ever carry it.
		return syscall.EINVAL
	}
	return n.updateMeta(ctx, func(a *objAttr) syscall.Errno {
		_, exists := a.User[name]
		if flags&unix.XATTR_CREATE != 0 && exists {
			return syscall.EEXIST
		}
		if flags&unix.XATTR_REPLACE != 0 && !exists {
			return enoattr
		}
		a.User = maps.Clone(a.User)
		if a.User == nil {
			a.User = map[string]string{}
		}
		a.User[name] = string(data)
		return 0
	})
}

func (n *node) Removexattr(ctx context.Context, attr string) syscall.Errno {
	ctx = detach(ctx)
	if en := n.fsys.checkWritable(); en != 0 {
		return en
	}
	if isObsXattr(attr) {
		return n.removeObsXattr(ctx, attr)
	}
	name, ok := xattrName(attr)
	if !ok {
		return enoattr
	}
	return n.updateMeta(ctx, func(a *objAttr) syscall.Errno {
		if _, exists := a.User[name]; !exists {
			return enoattr
		}
		a.User = maps.Clone(a.User)
		delete(a.User, name)
		return 0
	})
}
