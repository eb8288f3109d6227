package main

// The one place that calls package fs: translate Config into fs.Options and
// fs.MountConfig, build the filesystem and mount it. fs.Mount returns once
// the kernel has the mount (go-fuse waits for INIT).

import (
	"context"
	"io"
	"os"
	"strings"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/obsfs/obsfs/fs"
	"github.com/obsfs/obsfs/obsclient"
)

// liveMount is a mounted filesystem and its FUSE server.
type liveMount struct {
	*fuse.Server
	fsys *fs.FS
}

var _ mounted = liveMount{}

func (m liveMount) Flush(ctx context.Context) error { return m.fsys.Flush(ctx) }

// mountFS builds the filesystem over bucket and mounts it on c.Mountpoint.
func mountFS(c *Config, bucket *obsclient.Bucket, sse *obsclient.SSE, log *zap.Logger) (mounted, error) {
	fsys, err := fs.New(bucket, fsOptions(c, sse, log))
	if err != nil {
		return nil, failf(exitFailure, "%w", err)
	}
	if c.ReadOnly {
		log.Info("read-only mount: files left by a crashed mount (if any) wait for a read-write mount")
	} else {
		recoverJournal(fsys, log)
	}
	atExit = func() { fsys.SweepJournal() } // spool files with nothing to commit
	var srv *fuse.Server
	said, err := captureStderr(func() error {
		var err error
		srv, err = fsys.Mount(c.Mountpoint, mountConfig(c))
		return err
	})
	if err != nil {
		if said = strings.TrimSpace(said); said != "" { // fusermount3's own words, not its exit status
			return nil, failf(exitMount, "cannot mount on %s: %s", c.Mountpoint, oneLine(said))
		}
		return nil, failf(exitMount, "cannot mount on %s: %w", c.Mountpoint, err)
	}
	if said != "" {
		_, _ = os.Stderr.WriteString(said) // not fusermount3's failure: pass it on
	}
	return liveMount{Server: srv, fsys: fsys}, nil
}

// captureStderr runs fn with the process's fd 2 on a pipe and returns what
// was written there meanwhile. go-fuse runs fusermount3 with our fd 2 and
// reports only its exit status; in the daemon fd 2 is /dev/null, so its
// message ("fusermount3: failed to open /dev/fuse: Permission denied")
// would be lost. If the redirection cannot be set up, fn runs as is.
func captureStderr(fn func() error) (string, error) {
	saved, err := unix.Dup(2)
	if err != nil {
		return "", fn()
	}
	defer unix.Close(saved)
	r, w, err := os.Pipe()
	if err != nil {
		return "", fn()
	}
	if err := unix.Dup2(int(w.Fd()), 2); err != nil {
		r.Close()
		w.Close()
		return "", fn()
	}
	out := make(chan string, 1)
	go func() {
		data, _ := io.ReadAll(io.LimitReader(r, 1<<20))
		_, _ = io.Copy(io.Discard, r)
		r.Close()
		out <- string(data)
	}()
	ferr := fn()
	_ = unix.Dup2(saved, 2)
	w.Close()
	select {
	case said := <-out:
		return said, ferr
	case <-time.After(5 * time.Second): // a child still holds the pipe
		return "", ferr
	}
}

// fsOptions maps the options onto the filesystem's.
func fsOptions(c *Config, sse *obsclient.SSE, log *zap.Logger) fs.Options {
	o := fs.Options{
		Prefix: c.Prefix, UID: uint32(c.UID), GID: uint32(c.GID),
		Umask: c.Umask, MountpointMode: 0o777 &^ c.MountpointUmask,
		ReadOnly:     c.ReadOnly,
		StatCacheTTL: c.StatCacheTTL, NoStatCache: c.StatCacheTTL == 0,
		MaxStatCacheEntries: c.MaxStatCacheEntries, TrustListing: c.TrustListing,
		MultipartSize: c.MultipartSize, ParallelCount: c.ParallelCount,
		CacheSize: c.CacheSize, CacheDir: c.CacheDir, DiskCacheSize: c.DiskCacheSize, NoDiskCache: c.DiskCacheSize == 0, JournalDir: journalDir(c),
		CacheReserve: c.EnsureDiskFree,
		DefaultACL:   c.DefaultACL, StorageClass: c.StorageClass, SSE: sse,
		ControlDir: c.ControlDir, PresignExpires: c.PresignExpires, Logger: log.Named("fs"),
		SpoolDir: c.SpoolDir, DiskFreeReserve: c.EnsureDiskFree,
		AdminUIDs: c.AdminUIDs,
	}
	o.RetryBudget = c.RetryBudget
	if c.RetryBudget == 0 {
		o.RetryBudget = -1 // fs: 0 means its default, < 0 means no budget
	}
	return o
}

// mountConfig: "obsfs:bucket[:/prefix]" as the source, so mount(8) and df
// show "obsfs:bucket on /mnt type fuse.obsfs".
func mountConfig(c *Config) fs.MountConfig {
	name := "obsfs:" + c.Bucket
	if c.Prefix != "" {
		name += ":/" + strings.TrimSuffix(c.Prefix, "/")
	}
	mc := fs.MountConfig{AllowOther: c.AllowOther, Debug: c.Debug, FsName: name,
		Flags: c.MountFlags, MaxBackground: c.MaxBackground}
	if c.ReadOnly {
		mc.ExtraOptions = append(mc.ExtraOptions, "ro")
	}
	return mc
}
