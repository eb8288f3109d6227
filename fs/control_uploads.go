package fs

// uploads/: the multipart uploads in progress under the mount prefix, one
// read-only file per upload named "<path with / as %2F>.<upload id>" (path
// relative to the mount root, % escaped as %25) whose content is
//
//	key: <object key>
//	upload_id: <id>
//	initiated: <RFC 3339 time>
//
// Unlinking a file aborts the upload (the way to clean up after crashed
// writers). Uploads obsfs itself has in flight are listed too: aborting one
// fails that file's commit (its close reports the error, the data stays
// local for a retry).

import (
	"context"
	"fmt"
	"io"
	"strings"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/obsfs/obsfs/obsclient"
)

type upDir struct {
	gofs.Inode
	f *FS
}

var (
	_ = (gofs.NodeLookuper)((*upDir)(nil))
	_ = (gofs.NodeReaddirer)((*upDir)(nil))
	_ = (gofs.NodeGetattrer)((*upDir)(nil))
	_ = (gofs.NodeUnlinker)((*upDir)(nil))
)

var uploadNameEscaper = strings.NewReplacer("%", "%25", "/", "%2F")

func (d *upDir) uploadName(u obsclient.Upload) string {
	return uploadNameEscaper.Replace(strings.TrimPrefix(u.Key, d.f.ns.prefix)) + "." + strings.ReplaceAll(u.UploadID, "/", "%2F")
}

// uploads lists every upload under the mount prefix by name.
func (d *upDir) uploads(ctx context.Context) (map[string]obsclient.Upload, []string, syscall.Errno) {
	f := d.f
	byName := map[string]obsclient.Upload{}
	var names []string
	err := f.mgr.UploadPages(ctx, f.ns.prefix, func() bool { return len(names) >= maxVersionEntries }, func(res *obsclient.ListUploadsResult) {
		for _, u := range res.Uploads {
			n := d.uploadName(u)
			if _, dup := byName[n]; !dup && len(n) <= 255 {
				byName[n] = u
				names = append(names, n)
			}
		}
	})
	if err != nil {
		return nil, nil, f.errno("uploads", f.ns.prefix, err)
	}
	return byName, names, 0
}

func uploadContent(u obsclient.Upload) []byte {
	return fmt.Appendf(nil, "key: %s\nupload_id: %s\ninitiated: %s\n", u.Key, u.UploadID, u.Initiated.UTC().Format(time.RFC3339))
}

func (d *upDir) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	d.f.ctlAttr(d.StableAttr().Ino, syscall.S_IFDIR|0755, 0, &out.Attr)
	return 0
}

func (d *upDir) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	_, names, en := d.uploads(ctx)
	if en != 0 {
		return nil, en
	}
	out := make([]fuse.DirEntry, 0, len(names))
	for _, n := range names {
		out = append(out, fuse.DirEntry{Name: n, Mode: syscall.S_IFREG, Ino: d.f.ctlIno("uploads/" + n)})
	}
	return gofs.NewListDirStream(out), 0
}

func (d *upDir) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	byName, _, en := d.uploads(ctx)
	if en != 0 {
		return nil, en
	}
	u, ok := byName[name]
	if !ok {
		return nil, syscall.ENOENT
	}
	ino := d.f.ctlIno("uploads/" + name)
	uf := &upFile{f: d.f, content: uploadContent(u), at: u.Initiated}
	uf.fill(ino, &out.Attr)
	out.SetEntryTimeout(0)
	return d.NewInode(ctx, uf, gofs.StableAttr{Mode: syscall.S_IFREG, Ino: ino}), 0
}

// Unlink aborts the upload.
func (d *upDir) Unlink(ctx context.Context, name string) syscall.Errno {
	ctx = detach(ctx)
	f := d.f
	if f.opts.ReadOnly {
		return syscall.EROFS
	}
	if err := f.admin(ctx); err != nil {
		return f.errno("abort upload", name, err)
	}
	byName, _, en := d.uploads(ctx)
	if en != 0 {
		return en
	}
	u, ok := byName[name]
	if !ok {
		return syscall.ENOENT
	}
	if err := f.st.AbortMultipartUpload(ctx, u.Key, u.UploadID); err != nil && !obsclient.IsNotFound(err) {
		return f.adminErrno("abort upload", u.Key, err)
	}
	f.log.Info("multipart upload aborted: " + u.Key + " " + u.UploadID)
	return 0
}

type upFile struct {
	gofs.Inode
	f       *FS
	content []byte
	at      time.Time
}

var (
	_ = (gofs.NodeOpener)((*upFile)(nil))
	_ = (gofs.NodeGetattrer)((*upFile)(nil))
	_ = (gofs.NodeReader)((*upFile)(nil))
)

func (u *upFile) fill(ino uint64, out *fuse.Attr) {
	u.f.ctlAttr(ino, syscall.S_IFREG|0444, uint64(len(u.content)), out)
	out.SetTimes(&u.at, &u.at, &u.at)
}

func (u *upFile) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	u.fill(u.StableAttr().Ino, &out.Attr)
	return 0
}

func (u *upFile) Open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	return openReadOnly(flags, fuse.FOPEN_DIRECT_IO)
}

func (u *upFile) Read(ctx context.Context, fh gofs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	return fuse.ReadResultData(readAt(u.content, dest, off)), 0
}

// openReadOnly opens a read-only control file: any access mode but O_RDONLY
// is refused with EACCES; otherwise it answers with the FUSE open flags
// fuseFlags and no handle.
func openReadOnly(flags, fuseFlags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	if flags&syscall.O_ACCMODE != syscall.O_RDONLY {
		return nil, 0, syscall.EACCES
	}
	return nil, fuseFlags, 0
}

// readFull reads len(buf) bytes (fewer at EOF).
func readFull(r io.Reader, buf []byte) (int, error) {
	n, err := io.ReadFull(r, buf)
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		err = nil
	}
	return n, err
}
