package main

// The one place that calls package fs: translate Config into fs.Options and
// fs.MountConfig, build the filesystem and mount it. fs.Mount returns once
// the kernel has the mount (go-fuse waits for INIT).

import (
	"context"
	"strings"

	"github.com/hanwen/go-fuse/v2/fuse"
	"go.uber.org/zap"

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
		return nil, failf(exitFailure, "%s", strings.TrimPrefix(err.Error(), "obsfs: "))
	}
	if c.ReadOnly {
		log.Info("read-only mount: files left by a crashed mount (if any) wait for a read-write mount")
	} else {
		recoverJournal(fsys, log)
	}
	atExit = func() { fsys.SweepJournal() } // spool files with nothing to commit
	srv, err := fsys.Mount(c.Mountpoint, mountConfig(c))
	if err != nil {
		return nil, failf(exitMount, "cannot mount on %s: %s", c.Mountpoint, strings.TrimPrefix(err.Error(), "obsfs: "))
	}
	return liveMount{Server: srv, fsys: fsys}, nil
}

// fsOptions maps the options onto the filesystem's.
func fsOptions(c *Config, sse *obsclient.SSE, log *zap.Logger) fs.Options {
	o := fs.Options{
		Prefix: c.Prefix, UID: uint32(c.UID), GID: uint32(c.GID),
		Umask: c.Umask, MountpointMode: 0o777 &^ c.MountpointUmask,
		ReadOnly:     c.ReadOnly,
		StatCacheTTL: c.StatCacheTTL, MaxStatCacheEntries: c.MaxStatCacheEntries, TrustListing: c.TrustListing,
		MultipartSize: c.MultipartSize, ParallelCount: c.ParallelCount,
		CacheSize: c.CacheSize, CacheDir: c.CacheDir, DiskCacheSize: c.DiskCacheSize, JournalDir: journalDir(c),
		DefaultACL: c.DefaultACL, StorageClass: c.StorageClass, SSE: sse,
		ControlDir: c.ControlDir, PresignExpires: c.PresignExpires, Logger: log.Named("fs"),
	}
	if c.StatCacheTTL == 0 {
		o.StatCacheTTL = -1 // fs: 0 means its default, < 0 disables caching
	}
	if c.DiskCacheSize == 0 {
		o.DiskCacheSize = -1 // fs: 0 means its default, < 0 disables the disk cache
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
	mc := fs.MountConfig{AllowOther: c.AllowOther, Debug: c.Debug, FsName: name}
	if c.ReadOnly {
		mc.ExtraOptions = append(mc.ExtraOptions, "ro")
	}
	return mc
}
