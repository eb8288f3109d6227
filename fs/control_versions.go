package fs

// versions/: a read-only view of every version of every path under the
// mount. versions/ mirrors the directory tree; each path that has (or had)
// an object is a directory versions/<path>/ whose files are its versions,
// named "<LastModified UTC>.<version id>" (e.g.
// "2026-11-24T08:00:00Z.G001…"), delete markers as "<time>.<id>.deleted"
// (empty). Reading a version file streams that version (GET ?versionId);
// copying one over the live path restores it through the normal write path.
// Listings are not cached: every readdir and lookup lists the prefix again.
// Entries carry the live path's owner and mode without write bits (a
// file's versions directory is searchable by whoever may read the file),
// so with default_permissions the kernel grants what the live tree grants.

import (
	"context"
	"strings"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/obsfs/obsfs/obsclient"
)

// maxVersionEntries bounds one versions/ directory's listing.
const maxVersionEntries = 100000

type verDir struct {
	gofs.Inode
	f    *FS
	path string // mount path this directory mirrors ("" = root)
	// live: the attributes of the live path (when has), whose owner and
	// mode this directory and its versions carry, read-only.
	live objAttr
	has  bool
}

// owner is who owns a versions/ entry and its permission bits.
type owner struct {
	uid, gid, perm uint32
}

// liveAttr stats the live path p (false when it does not exist).
func (f *FS) liveAttr(ctx context.Context, p string) (objAttr, bool) {
	if p == "" {
		return objAttr{}, false
	}
	a, err := f.stat(ctx, p)
	return a, err == nil
}

// readOnly strips the write bits.
func readOnly(perm uint32) uint32 { return perm & 0o555 }

// searchable turns a file's permissions into its versions directory's:
// whoever may read the file may list and read its versions.
func searchable(perm uint32) uint32 {
	out := perm & 0o444
	for _, r := range []uint32{0o400, 0o040, 0o004} {
		if perm&r != 0 {
			out |= r >> 2
		}
	}
	return out
}

// dirOwner: the live directory's owner and mode, read-only; a file's
// versions directory is searchable by those who may read the file; a path
// that no longer exists gets the mount owner's 0555.
func (d *verDir) dirOwner() owner {
	f := d.f
	switch {
	case !d.has:
		return owner{f.opts.UID, f.opts.GID, 0o555}
	case d.live.isDir():
		return owner{d.live.UID, d.live.GID, readOnly(d.live.Mode & 0o7777)}
	}
	return owner{d.live.UID, d.live.GID, searchable(d.live.Mode & 0o777)}
}

// fileOwner: a version carries the live file's owner and mode, read-only;
// when the path is no longer a file, those the version itself was stored
// with (one HEAD of that version); a delete marker the directory's.
func (d *verDir) fileOwner(ctx context.Context, v obsclient.ObjectInfo) owner {
	f := d.f
	if d.has && !d.live.isDir() {
		return owner{d.live.UID, d.live.GID, readOnly(d.live.Mode & 0o7777)}
	}
	if !v.DeleteMarker {
		o := f.getOptions()
		o.VersionID = v.VersionID
		if info, err := f.st.HeadObject(ctx, v.Key, o); err == nil {
			a := attrFromInfo(info, false, f.defs)
			return owner{a.UID, a.GID, readOnly(a.Mode & 0o7777)}
		}
	}
	do := d.dirOwner()
	return owner{do.uid, do.gid, do.perm & 0o444}
}

type verEntry struct {
	name string
	dir  bool
	info obsclient.ObjectInfo // files
}

var (
	_ = (gofs.NodeLookuper)((*verDir)(nil))
	_ = (gofs.NodeReaddirer)((*verDir)(nil))
	_ = (gofs.NodeGetattrer)((*verDir)(nil))
)

func versionName(v obsclient.ObjectInfo) string {
	id := v.VersionID
	if id == "" {
		id = "null"
	}
	name := ctlTime(v.LastModified) + "." + strings.ReplaceAll(id, "/", "%2F")
	if v.DeleteMarker {
		name += ".deleted"
	}
	return name
}

// entries lists the directory: the versions of the object at d.path and
// the child names (objects and prefixes) below it.
func (d *verDir) entries(ctx context.Context) ([]verEntry, syscall.Errno) {
	f := d.f
	var out []verEntry
	seen := map[string]bool{}
	add := func(e verEntry) {
		if !seen[e.name] && len(out) < maxVersionEntries {
			seen[e.name] = true
			out = append(out, e)
		}
	}
	full := func() bool { return len(out) >= maxVersionEntries }
	if d.path != "" {
		fk := f.ns.fileKey(d.path)
		en := f.listVersionPages(ctx, fk, full, func(res *obsclient.ListVersionsResult) {
			for _, v := range res.Versions {
				if v.Key == fk {
					add(verEntry{name: versionName(v), info: v})
				}
			}
		})
		if en != 0 {
			return nil, en
		}
	}
	dk := f.ns.dirKey(d.path)
	en := f.listVersionPages(ctx, dk, full, func(res *obsclient.ListVersionsResult) {
		for _, v := range res.Versions {
			if name := strings.TrimPrefix(v.Key, dk); name != "" && validName(name) {
				add(verEntry{name: name, dir: true})
			}
		}
		for _, p := range res.CommonPrefixes {
			if name := strings.TrimSuffix(strings.TrimPrefix(p, dk), "/"); name != "" && validName(name) {
				add(verEntry{name: name, dir: true})
			}
		}
	})
	if en != 0 {
		return nil, en
	}
	return out, 0
}

// listVersionPages lists the versions and common prefixes under prefix
// page by page (manage.VersionPages).
func (f *FS) listVersionPages(ctx context.Context, prefix string, full func() bool, page func(*obsclient.ListVersionsResult)) syscall.Errno {
	if err := f.mgr.VersionPages(ctx, prefix, full, page); err != nil {
		return f.errno("versions", prefix, err)
	}
	return 0
}

// validName accepts a listed name as one path segment.
func validName(name string) bool {
	return name != "." && name != ".." && !strings.ContainsAny(name, "/\x00") && len(name) <= 255
}

func (d *verDir) fill(ino uint64, out *fuse.Attr) {
	o := d.dirOwner()
	d.f.ctlAttr(ino, syscall.S_IFDIR|o.perm, 0, out)
	out.Uid, out.Gid = o.uid, o.gid
}

func (d *verDir) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	d.fill(d.StableAttr().Ino, &out.Attr)
	return 0
}

func (d *verDir) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	ents, en := d.entries(ctx)
	if en != 0 {
		return nil, en
	}
	out := make([]fuse.DirEntry, 0, len(ents))
	for _, e := range ents {
		mode := uint32(syscall.S_IFREG)
		if e.dir {
			mode = syscall.S_IFDIR
		}
		out = append(out, fuse.DirEntry{Name: e.name, Mode: mode, Ino: d.f.ctlIno("versions/" + joinPath(d.path, e.name))})
	}
	return gofs.NewListDirStream(out), 0
}

func (d *verDir) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	ents, en := d.entries(ctx)
	if en != 0 {
		return nil, en
	}
	f := d.f
	p := joinPath(d.path, name)
	ino := f.ctlIno("versions/" + p)
	for _, e := range ents {
		if e.name != name {
			continue
		}
		if e.dir {
			vd := &verDir{f: f, path: p}
			vd.live, vd.has = f.liveAttr(ctx, p)
			vd.fill(ino, &out.Attr)
			return d.NewInode(ctx, vd, gofs.StableAttr{Mode: syscall.S_IFDIR, Ino: ino}), 0
		}
		vf := &verFile{f: f, info: e.info, own: d.fileOwner(ctx, e.info)}
		vf.fill(ino, &out.Attr)
		return d.NewInode(ctx, vf, gofs.StableAttr{Mode: syscall.S_IFREG, Ino: ino}), 0
	}
	return nil, syscall.ENOENT
}

// verFile is one version of an object.
type verFile struct {
	gofs.Inode
	f    *FS
	info obsclient.ObjectInfo
	own  owner
}

var (
	_ = (gofs.NodeOpener)((*verFile)(nil))
	_ = (gofs.NodeGetattrer)((*verFile)(nil))
	_ = (gofs.NodeReader)((*verFile)(nil))
)

func (v *verFile) fill(ino uint64, out *fuse.Attr) {
	v.f.ctlAttr(ino, syscall.S_IFREG|v.own.perm, uint64(v.info.Size), out)
	out.Uid, out.Gid = v.own.uid, v.own.gid
	t := v.info.LastModified
	out.SetTimes(&t, &t, &t)
}

func (v *verFile) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	v.fill(v.StableAttr().Ino, &out.Attr)
	return 0
}

func (v *verFile) Open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	return openReadOnly(flags, fuse.FOPEN_KEEP_CACHE) // a version never changes
}

// Read GETs the requested range of the version.
func (v *verFile) Read(ctx context.Context, fh gofs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	if v.info.DeleteMarker || off >= v.info.Size || len(dest) == 0 {
		return fuse.ReadResultData(nil), 0
	}
	f := v.f
	o := f.getOptions()
	o.VersionID = v.info.VersionID
	o.Range = &obsclient.Range{Start: off, End: min(off+int64(len(dest)), v.info.Size) - 1}
	r, err := f.st.GetObject(ctx, v.info.Key, o)
	if err != nil {
		return nil, f.errno("read version", v.info.Key, err)
	}
	defer r.Close()
	n, err := readFull(r, dest[:o.Range.End-off+1])
	if err != nil {
		return nil, f.errno("read version", v.info.Key, err)
	}
	return fuse.ReadResultData(dest[:n]), 0
}
