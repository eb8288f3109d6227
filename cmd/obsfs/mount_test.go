package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.uber.org/zap"

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
	assert.Equal(t, time.Duration(-1), o.StatCacheTTL, "stat_cache_expire=0 disables caching, which fs spells < 0")
	assert.Equal(t, 10, o.MaxStatCacheEntries)
	assert.Equal(t, int64(32<<20), o.MultipartSize)
	assert.Equal(t, 4, o.ParallelCount)
	assert.Equal(t, int64(64<<20), o.CacheSize)
	assert.Equal(t, "/var/cache/obsfs", o.CacheDir)
	assert.Equal(t, int64(4<<30), o.DiskCacheSize, "disk_cache_size defaults to 4G")
	assert.Equal(t, int64(-1), fsOptions(parseOK(t, "bkt", "/mnt", "-o", "url=h,disk_cache_size=0"), sse, zap.NewNop()).DiskCacheSize, "0 disables, which fs spells < 0")
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
	assert.Equal(t, 60*time.Second, fsOptions(c, nil, zap.NewNop()).StatCacheTTL)
	assert.False(t, fsOptions(c, nil, zap.NewNop()).TrustListing, "trust_listing is off by default")
}
