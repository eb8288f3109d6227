package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.uber.org/zap"

	"github.com/obsfs/obsfs/fs"
	"github.com/obsfs/obsfs/obsclient"
)

func TestFSOptionsMapping(t *testing.T) {
	c := parseOK(t, "bkt:/logs/2026", "/mnt", "-o", "url=h,uid=1000,gid=100,umask=027,mp_umask=077,ro,stat_cache_expire=0,max_stat_cache_size=10,multipart_size=32M,parallel_count=4,cache_size=64M,use_cache=/var/cache/obsfs,default_acl=private,storage_class=COLD,control_dir=.ctl,trust_listing")
	sse := &obsclient.SSE{KMS: true}
	o := fsOptions(c, sse, zap.NewNop())
	assert.Equal(t, "logs/2026/", o.Prefix)
	assert.Equal(t, uint32(1000), o.UID)
	assert.Equal(t, uint32(100), o.GID)
	assert.Equal(t, uint32(0o027), o.Umask)
	assert.Equal(t, uint32(0o700), o.MountpointMode)
	assert.True(t, o.ReadOnly)
	assert.True(t, o.NoStatCache, "stat_cache_expire=0 disables caching: fs.Options.NoStatCache")
	assert.Equal(t, 10, o.MaxStatCacheEntries)
	assert.Equal(t, int64(32<<20), o.MultipartSize)
	assert.Equal(t, 4, o.ParallelCount)
	assert.Equal(t, int64(64<<20), o.CacheSize)
	assert.Equal(t, "/var/cache/obsfs", o.CacheDir)
	assert.Equal(t, int64(fs.DefaultDiskCacheSize), o.DiskCacheSize, "disk_cache_size defaults to fs's")
	assert.False(t, o.NoDiskCache)
	assert.True(t, fsOptions(parseOK(t, "bkt", "/mnt", "-o", "url=h,disk_cache_size=0"), sse, zap.NewNop()).NoDiskCache, "disk_cache_size=0 disables: fs.Options.NoDiskCache")
	assert.Equal(t, "private", o.DefaultACL)
	assert.Equal(t, "COLD", o.StorageClass)
	assert.Same(t, sse, o.SSE)
	assert.Equal(t, ".ctl", o.ControlDir)
	assert.True(t, o.TrustListing)

	mc := mountConfig(c)
	assert.Equal(t, "obsfs:bkt:/logs/2026", mc.FsName)
	assert.Equal(t, []string{"ro"}, mc.ExtraOptions)
	assert.False(t, mc.AllowOther || mc.Debug)

	c = parseOK(t, "bkt", "/mnt", "-o", "url=h,allow_other", "-d")
	mc = mountConfig(c)
	assert.Equal(t, "obsfs:bkt", mc.FsName)
	assert.True(t, mc.AllowOther && mc.Debug)
	assert.Empty(t, mc.ExtraOptions)
	assert.Equal(t, fs.DefaultStatCacheTTL, fsOptions(c, nil, zap.NewNop()).StatCacheTTL)
	assert.False(t, fsOptions(c, nil, zap.NewNop()).NoStatCache)
	assert.False(t, fsOptions(c, nil, zap.NewNop()).TrustListing, "trust_listing is off by default")
}
