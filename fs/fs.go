package fs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"go.uber.org/zap"

	"github.com/obsfs/obsfs/cache"
	"github.com/obsfs/obsfs/obsclient"
	"github.com/obsfs/obsfs/transfer"
)

// Defaults applied by New to zero Options fields.
const (
	DefaultStatCacheTTL        = 60 * time.Second
	DefaultMaxStatCacheEntries = 100000
	DefaultMultipartSize       = transfer.DefaultPartSize
	DefaultParallelCount       = 8
	DefaultDiskCacheSize       = 4 << 30
	DefaultPresignExpires      = time.Hour
	// prefetchParallel bounds the HEADs a listing starts to learn the
	// metadata (mode, uid, gid, mtime) of the entries it returned.
	prefetchParallel = 16
)

// Options configure a mount. Zero values take the defaults above.
type Options struct {
	Prefix              string // key prefix of the mount root, "" or ending in "/"
	UID, GID            uint32 // owner for objects without uid/gid metadata
	Umask               uint32 // applied to default modes (files 0666&^umask, dirs 0777&^umask)
	MountpointMode      uint32 // mode of the root dir; 0 = 0777&^Umask
	ReadOnly            bool
	StatCacheTTL        time.Duration // attr/negative/dir cache TTL; 0 = 60s; < 0 disables caching
	MaxStatCacheEntries int           // per cache; 0 = 100000
	MultipartSize       int64         // part size and single-PUT threshold; 0 = 8 MiB
	ParallelCount       int           // concurrent part uploads / copies; 0 = 8
	CacheSize           int64         // memory block cache bytes; 0 = no block cache
	CacheDir            string        // spool files live here, or in os.TempDir(); and the disk block cache (CacheDir/blocks)
	DiskCacheSize       int64         // disk block cache bytes when CacheDir is set; 0 = 4 GiB; < 0 disables
	DefaultACL          string
	StorageClass        string
	SSE                 *obsclient.SSE
	ControlDir          string        // hidden control directory at the root ("" = none); see control.go
	PresignExpires      time.Duration // lifetime of user.obs.url; 0 = 1h
	TrustListing        bool          // readdir types small objects as regular files without a HEAD; lookups still HEAD
	Logger              *zap.Logger

	// JournalDir makes writes crash-safe: spool files and their journal
	// records live there and FS.Recover commits what a crashed mount left
	// (transfer/journal.go). "" = no journal (spools unlinked, in CacheDir).
	JournalDir string
	// CacheReserve is the free space the disk block cache leaves on its
	// filesystem (s3fs ensure_diskfree); 0 = the smaller of 1 GiB and 5%.
	CacheReserve int64

	bucket string // set by New: written into journal records
}

func withBucket(o Options, name string) Options { o.bucket = name; return o }

// FS is a mounted (or mountable) view of a bucket prefix.
type FS struct {
	st      store
	adm     *obsclient.Bucket // bucket settings, ACLs, versions, uploads; nil without a bucket (logic tests)
	stats   *opStats          // requests by operation (control_stats.go)
	up      *transfer.Uploader
	fetcher *transfer.Fetcher  // shared limit on GETs in flight
	blocks  *cache.Blocks      // memory block cache; nil when CacheSize is 0
	disk    *transfer.DiskTier // disk block cache tier; nil without CacheDir
	diskc   *cache.Disk        // the disk block cache itself (Reclaim on ENOSPC)
	journal *transfer.Journal  // crash journal; nil without JournalDir
	opts    Options
	ns      namespace
	defs    attrDefaults
	log     *zap.Logger
	ttl     time.Duration // effective cache TTL (0 = no caching)
	meta    *cache.Meta[objAttr, []listEntry]
	// listGen counts invalidations; a listing stored in meta.Dirs must not
	// predate any (it would resurrect a stale view of the directory).
	listGen atomic.Uint64
	root    *node
	pfs     bool // parallel file system: native rename
	born    time.Time

	heads flightGroup   // one stat per path in flight
	ahead aheadState    // listing order for statahead, lookup LISTs (statahead.go)
	sem   chan struct{} // bounds listing prefetch HEADs

	inoMu sync.Mutex
	// GUARDED_BY(inoMu):
	inos    map[string]uint64 // path → inode number, assigned once per existence
	nextIno uint64

	writersMu sync.Mutex
	// GUARDED_BY(writersMu): nodes holding a write state (open for
	// writing, or an upload to retry).
	writers map[*node]struct{}

	warnMu sync.Mutex
	// GUARDED_BY(warnMu): keys already logged as hidden or shadowed.
	warned map[string]bool

	statfsMu sync.Mutex
	// GUARDED_BY(statfsMu):
	statfsAt  time.Time
	statfsOut fuse.StatfsOut
}

// New builds the filesystem for bucket b. It contacts the server once (HEAD
// bucket) to learn whether b is a parallel file system.
func New(b *obsclient.Bucket, o Options) (*FS, error) {
	f, err := newFS(b, withBucket(o, b.Name()))
	if err != nil {
		return nil, err
	}
	f.adm = b
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	info, err := b.Head(ctx)
	if err != nil {
		return nil, fmt.Errorf("obsfs: bucket %s: %w", b.Name(), err)
	}
	f.pfs = info.FileSystem
	return f, nil
}

// newFS builds an FS over any store, without contacting it.
func newFS(st store, o Options) (*FS, error) {
	prefix, err := normalizePrefix(o.Prefix)
	if err != nil {
		return nil, err
	}
	o = withDefaults(o)
	stats := &opStats{}
	st = countingStore{store: st, s: stats}
	f := &FS{
		st: st, stats: stats, opts: o, ns: namespace{prefix: prefix}, log: o.Logger,
		defs:    attrDefaults{UID: o.UID, GID: o.GID, Umask: o.Umask},
		ttl:     max(o.StatCacheTTL, 0),
		inos:    map[string]uint64{"": fuse.FUSE_ROOT_ID},
		writers: map[*node]struct{}{}, warned: map[string]bool{},
		sem:  make(chan struct{}, prefetchParallel),
		born: time.Now(),
	}
	f.nextIno = fuse.FUSE_ROOT_ID + 1
	f.fetcher = transfer.NewFetcher(o.ParallelCount*2, 0)
	if o.CacheSize > 0 {
		if f.blocks, err = cache.NewBlocks(o.CacheSize); err != nil {
			return nil, err
		}
	}
	if o.CacheDir != "" && o.DiskCacheSize > 0 {
		dc, err := cache.OpenDisk(o.CacheDir, o.DiskCacheSize)
		if err != nil {
			return nil, err
		}
		dc.SetReserve(o.CacheReserve)
		f.diskc = dc
		f.disk = transfer.NewDiskTier(dc, transfer.DiskTierConfig{})
	}
	if o.JournalDir != "" {
		if f.journal, err = transfer.OpenJournal(transfer.JournalConfig{Dir: o.JournalDir, Bucket: o.bucket,
			Reclaim: f.reclaim, Logger: o.Logger.Named("journal")}); err != nil {
			return nil, err
		}
	}
	f.up = transfer.NewUploader(st, transfer.UploaderConfig{PartSize: o.MultipartSize, Concurrency: o.ParallelCount, Logger: o.Logger})
	f.meta = cache.NewMeta[objAttr, []listEntry](cache.MetaConfig{TTL: f.ttl, MaxEntries: o.MaxStatCacheEntries})
	f.root = &node{fsys: f}
	f.root.attr = f.rootAttr()
	return f, nil
}

func withDefaults(o Options) Options {
	if o.StatCacheTTL == 0 {
		o.StatCacheTTL = DefaultStatCacheTTL
	}
	if o.MaxStatCacheEntries == 0 {
		o.MaxStatCacheEntries = DefaultMaxStatCacheEntries
	}
	if o.MultipartSize <= 0 {
		o.MultipartSize = DefaultMultipartSize
	}
	if o.ParallelCount <= 0 {
		o.ParallelCount = DefaultParallelCount
	}
	if o.DiskCacheSize == 0 {
		o.DiskCacheSize = DefaultDiskCacheSize
	}
	if o.MountpointMode == 0 {
		o.MountpointMode = 0777 &^ o.Umask
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.PresignExpires <= 0 {
		o.PresignExpires = DefaultPresignExpires
	}
	return o
}

func (f *FS) rootAttr() objAttr {
	return objAttr{Mode: syscall.S_IFDIR | f.opts.MountpointMode&07777, UID: f.opts.UID, GID: f.opts.GID,
		Mtime: f.born, Ctime: f.born, Atime: f.born, Complete: true}
}

// MountConfig holds the mount-time options.
type MountConfig struct {
	AllowOther   bool
	Debug        bool
	FsName       string // e.g. "obsfs:bucket"
	ExtraOptions []string
}

// Mount serves f on dir. As root it mounts with mount(2) directly and falls
// back to fusermount3 otherwise. Kernel attribute, entry and negative-entry
// timeouts equal the stat cache TTL.
func (f *FS) Mount(dir string, mc MountConfig) (*fuse.Server, error) {
	ttl := f.ttl
	opts := &gofs.Options{
		MountOptions: fuse.MountOptions{
			Name:         "obsfs",
			FsName:       mc.FsName,
			AllowOther:   mc.AllowOther,
			Debug:        mc.Debug,
			MaxWrite:     1 << 20,
			MaxReadAhead: 1 << 20,
			// Readahead reads in flight (kernelra.go).
			MaxBackground: fuseMaxBackground,
			// obsfs never answers with file descriptors (ReadResultFd), so
			// splicing can only fail: for every 1 MiB read go-fuse would set
			// up a pipe, fail to grow it past pipe-max-size and log a line.
			DisableSplice: true,
			DirectMount:   os.Geteuid() == 0,
			Options:       append([]string{"default_permissions"}, mc.ExtraOptions...),
			PanicHandler:  f.panicHandler,
		},
		EntryTimeout:    &ttl,
		AttrTimeout:     &ttl,
		NegativeTimeout: &ttl,
		NullPermissions: true,
		UID:             f.opts.UID,
		GID:             f.opts.GID,
	}
	srv, err := gofs.Mount(dir, f.root, opts)
	if err != nil && mc.AllowOther && os.Geteuid() != 0 {
		err = fmt.Errorf("%w (allow_other for non-root needs user_allow_other in /etc/fuse.conf)", err)
	}
	if err == nil {
		f.tuneKernelReadahead(dir) // best effort (kernelra.go)
	}
	return srv, err
}

// panicHandler turns a panic in any FUSE operation into EIO and a log line.
func (f *FS) panicHandler(v any) fuse.Status {
	f.log.Error("panic in FUSE operation", zap.Any("panic", v), zap.Stack("stack"))
	return fuse.EIO
}

// invalidate drops what the caches know about key and its directory's
// listing.
func (f *FS) invalidate(key string) {
	f.listGen.Add(1)
	f.meta.Invalidate(key)
}

// invalidatePrefix drops everything cached under prefix.
func (f *FS) invalidatePrefix(prefix string) {
	f.listGen.Add(1)
	f.meta.InvalidatePrefix(prefix)
}

// recoverBackground logs a panic of a background goroutine instead of
// crashing the mount.
func (f *FS) recoverBackground(what string) {
	if v := recover(); v != nil {
		f.log.Error("panic in "+what, zap.Any("panic", v), zap.Stack("stack"))
	}
}

// Flush commits every dirty file (SIGTERM / unmount path). It tries them
// all and returns the first error.
func (f *FS) Flush(ctx context.Context) error {
	var errs []error
	for _, n := range f.writersUnder("") {
		if en := n.commit(ctx); en != 0 {
			errs = append(errs, fmt.Errorf("commit %q: %w", n.pathOrDeleted(), en))
		}
	}
	if f.disk != nil { // blocks still queued for the disk cache (best effort)
		_ = f.disk.WaitContext(ctx)
	}
	return errors.Join(errs...)
}

// setWriter registers or unregisters a node holding a write state.
func (f *FS) setWriter(n *node, on bool) {
	f.writersMu.Lock()
	defer f.writersMu.Unlock()
	if on {
		f.writers[n] = struct{}{}
	} else {
		delete(f.writers, n)
	}
}

// writersUnder lists the nodes with a write state whose path is dir or
// under it ("" = all).
func (f *FS) writersUnder(dir string) []*node {
	f.writersMu.Lock()
	all := make([]*node, 0, len(f.writers))
	for n := range f.writers {
		all = append(all, n)
	}
	f.writersMu.Unlock()
	var out []*node
	for _, n := range all {
		p, ok := n.path()
		if dir == "" || ok && (p == dir || strings.HasPrefix(p, dir+"/")) {
			out = append(out, n)
		}
	}
	return out
}

// warnOnce logs a hidden or shadowed key once per mount.
func (f *FS) warnOnce(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	f.warnMu.Lock()
	seen := f.warned[msg]
	if !seen && len(f.warned) < 10000 {
		f.warned[msg] = true
	}
	f.warnMu.Unlock()
	if !seen {
		f.log.Warn(msg)
	}
}

// checkWritable returns EROFS on a read-only mount.
func (f *FS) checkWritable() syscall.Errno {
	if f.opts.ReadOnly {
		return syscall.EROFS
	}
	return 0
}
