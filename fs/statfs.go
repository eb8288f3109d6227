package fs

// Statfs reports the bucket's usage (GET ?storageinfo) against its quota
// (GET ?quota); an unlimited bucket (quota 0) reports 1 EiB, and a server
// without usage figures (S3 servers) reports none used. Answers are cached
// for statfsTTL.

import (
	"context"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"go.uber.org/zap"

	"github.com/obsfs/obsfs/obsclient"
)

var (
	_ = (gofs.NodeStatfser)((*node)(nil))
	_ = (gofs.NodeAccesser)((*node)(nil))
)

const (
	statfsTTL    = 10 * time.Second
	statfsBsize  = 4096
	unlimitedCap = 1 << 60
	maxFiles     = 1 << 40
)

func (n *node) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	f := n.fsys
	f.statfsMu.Lock()
	defer f.statfsMu.Unlock()
	if time.Since(f.statfsAt) < statfsTTL {
		*out = f.statfsOut
		return 0
	}
	info, err := f.st.StorageInfo(ctx)
	if e, ok := obsclient.AsError(err); ok && e.StatusCode != 0 && e.StatusCode < 500 {
		// The server answered but has no usage to give: ?storageinfo is
		// OBS's, and an S3 server refuses it or answers something else (a
		// listing). Report no usage against the capacity, as s3fs does,
		// rather than fail df.
		f.log.Debug("statfs: no storage usage from the server", zap.Error(err))
		info, err = obsclient.StorageInfo{}, nil
	}
	if err != nil {
		return f.errno("statfs", "", err)
	}
	quota, err := f.st.Quota(ctx)
	if err != nil || quota <= 0 {
		quota = unlimitedCap
	}
	statfsFill(out, info.Size, info.ObjectCount, quota)
	f.statfsOut, f.statfsAt = *out, time.Now()
	return 0
}

// statfsFill converts bytes used, objects and capacity to statfs blocks.
func statfsFill(out *fuse.StatfsOut, used, objects, capacity int64) {
	free := max(capacity-used, 0)
	out.Bsize, out.Frsize = statfsBsize, statfsBsize
	out.Blocks = uint64(capacity / statfsBsize)
	out.Bfree = uint64(free / statfsBsize)
	out.Bavail = out.Bfree
	out.Files = maxFiles
	out.Ffree = uint64(max(maxFiles-objects, 0))
	out.NameLen = maxNameLen
}

// Access: permission bits are enforced by the kernel (default_permissions);
// only a read-only mount refuses writes here.
func (n *node) Access(ctx context.Context, mask uint32) syscall.Errno {
	const wOK = 2
	if mask&wOK != 0 && n.fsys.opts.ReadOnly {
		return syscall.EROFS
	}
	return 0
}
