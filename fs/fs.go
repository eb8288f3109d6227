package fs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"go.uber.org/zap"

	"github.com/obsfs/obsfs/cache"
	"github.com/obsfs/obsfs/manage"
	"github.com/obsfs/obsfs/obsclient"
	"github.com/obsfs/obsfs/transfer"
)

// Defaults applied by New to zero Options fields. They are the defaults of
// the command line too: its options table reads them (cmd/obsfs), so each
// default lives here once. A zero field always means "the default"; what
// can be switched off has an explicit switch (NoStatCache, NoDiskCache).
const (
	DefaultStatCacheTTL        = 60 * time.Second
	DefaultMaxStatCacheEntries = 100000
	DefaultMultipartSize       = transfer.DefaultPartSize
	DefaultParallelCount       = 8
	DefaultDiskCacheSize       = 4 << 30
	DefaultPresignExpires      = time.Hour
	// DefaultRetryBudget rides out a 30 s outage (a load balancer failover,
	// a restarted front end: typically 10–60 s) with room for the attempt
	// that was in flight when it started.
	DefaultRetryBudget = 2 * time.Minute
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
	StatCacheTTL        time.Duration // attr/negative/dir cache TTL; 0 = DefaultStatCacheTTL
	NoStatCache         bool          // no attr/negative/dir caching: every lookup asks the server
	MaxStatCacheEntries int           // per cache; 0 = DefaultMaxStatCacheEntries
	MultipartSize       int64         // part size and single-PUT threshold; 0 = DefaultMultipartSize
	ParallelCount       int           // concurrent part uploads / copies; 0 = DefaultParallelCount
	CacheSize           int64         // memory block cache bytes; 0 = no block cache
	CacheDir            string        // spool files live here, or in os.TempDir(); and the disk block cache (CacheDir/blocks)
	DiskCacheSize       int64         // disk block cache bytes when CacheDir is set; 0 = DefaultDiskCacheSize
	NoDiskCache         bool          // no disk block cache even with CacheDir (spool files only)
	DefaultACL          string
	StorageClass        string
	SSE                 *obsclient.SSE
	ControlDir          string        // hidden control directory at the root ("" = none); see control.go
	AdminUIDs           []uint32      // may administer the bucket besides root and the mount's owner (manage.Admins)
	PresignExpires      time.Duration // lifetime of user.obs.url; 0 = DefaultPresignExpires
	TrustListing        bool          // readdir types small objects as regular files without a HEAD; lookups still HEAD
	RetryBudget         time.Duration // commit (close, fsync, rename, unmount) retries transient failures this long; 0 = DefaultRetryBudget; < 0 = only the client's retry count
	Logger              *zap.Logger
	SpoolDir            string // spool files live here when set (s3fs's tmpdir), else as CacheDir says
	DiskFreeReserve     int64  // bytes the disk block cache leaves free (s3fs's ensure_diskfree); 0 = its default

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
	mgr     *manage.Manager // bucket settings, object management attributes, version and upload listings
	stats   *opStats        // requests by operation (control_stats.go)
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

	// Failed commits retried in the background (commitretry.go).
	retries retryQueue

	statfsMu sync.Mutex
	// GUARDED_BY(statfsMu):
	statfsAt  time.Time
	statfsOut fuse.StatfsOut
}

// New builds the filesystem for bucket b. It contacts the server once (HEAD
// bucket) to learn whether b is a parallel file system.
func New(b *obsclient.Bucket, o Options) (*FS, error) {
	f, err := newFS(b, b, withBucket(o, b.Name()))
	if err != nil {
		return nil, err
	}
	// Per-object encryption (obsclient/sse.go): the SSE-C key goes only to
	// SSE-C objects, and copies keep each object's encryption.
	var ssec []byte
	if o.SSE != nil {
		ssec = o.SSE.CustomerKey
	}
	b.SetEncryptionPolicy(obsclient.EncryptionPolicy{CustomerKey: ssec})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	info, err := b.Head(ctx)
	if err != nil {
		return nil, fmt.Errorf("bucket %s: %w", b.Name(), err)
	}
	f.pfs = info.FileSystem
	return f, nil
}

// newFS builds an FS over any store (and adm for management), without
// contacting them.
func newFS(st store, adm manage.Bucket, o Options) (*FS, error) {
	prefix, err := normalizePrefix(o.Prefix)
	if err != nil {
		return nil, err
	}
	o = withDefaults(o)
	var minPart int64 // the server's smallest non-last part (*obsclient.Bucket knows its dialect's)
	if mp, ok := st.(interface{ MinPartSize() int64 }); ok {
		minPart = mp.MinPartSize()
	}
	stats := &opStats{}
	st = countingStore{store: st, s: stats}
	f := &FS{
		st: st, stats: stats, opts: o, ns: namespace{prefix: prefix}, log: o.Logger,
		defs:    attrDefaults{UID: o.UID, GID: o.GID, Umask: o.Umask},
		ttl:     o.StatCacheTTL,
		inos:    map[string]uint64{"": fuse.FUSE_ROOT_ID},
		writers: map[*node]struct{}{}, warned: map[string]bool{},
		sem:  make(chan struct{}, prefetchParallel),
		born: time.Now(),
	}
	f.nextIno = fuse.FUSE_ROOT_ID + 1
	f.mgr = manage.New(adm, manage.Config{Stats: f.statsJSON, PresignExpires: o.PresignExpires,
		Admins: manage.Admins{Owner: uint32(os.Getuid()), UIDs: o.AdminUIDs}})
	f.fetcher = transfer.NewFetcher(o.ParallelCount*2, 0)
	if o.CacheSize > 0 {
		if f.blocks, err = cache.NewBlocks(o.CacheSize); err != nil {
			return nil, err
		}
	}
	if o.CacheDir != "" && !o.NoDiskCache {
		dc, err := cache.OpenDisk(o.CacheDir, o.DiskCacheSize)
		if err != nil {
			return nil, err
		}
		reserve := o.CacheReserve
		if reserve == 0 {
			reserve = o.DiskFreeReserve
		}
		dc.SetReserve(reserve)
		f.diskc = dc
		f.disk = transfer.NewDiskTier(dc, transfer.DiskTierConfig{})
	}
	if o.JournalDir != "" {
		if f.journal, err = transfer.OpenJournal(transfer.JournalConfig{Dir: o.JournalDir, Bucket: o.bucket,
			Reclaim: f.reclaim, Logger: o.Logger.Named("journal")}); err != nil {
			return nil, err
		}
	}
	f.up = transfer.NewUploader(st, transfer.UploaderConfig{PartSize: o.MultipartSize, Concurrency: o.ParallelCount, Logger: o.Logger, MinPartSize: minPart})
	f.meta = cache.NewMeta[objAttr, []listEntry](cache.MetaConfig{TTL: f.ttl, MaxEntries: o.MaxStatCacheEntries})
	f.root = &node{fsys: f}
	f.root.attr = f.rootAttr()
	return f, nil
}

func withDefaults(o Options) Options {
	switch {
	case o.NoStatCache || o.StatCacheTTL < 0: // a negative TTL, as older callers wrote it, also disables
		o.StatCacheTTL, o.NoStatCache = 0, true
	case o.StatCacheTTL == 0:
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
	if o.DiskCacheSize <= 0 {
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
	if o.RetryBudget == 0 {
		o.RetryBudget = DefaultRetryBudget
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
	// Flags are generic mount flags by their mount(8) names (noexec,
	// nosuid, sync, noatime, …; see MountFlagNames). They reach the kernel
	// as MS_* bits in a direct mount and as -o options of fusermount3.
	// Without suid/dev the mount is nosuid,nodev, as fusermount3 makes it.
	Flags []string
	// MaxBackground bounds the kernel's background requests (readahead,
	// async reads); 0 = fuseMaxBackground.
	MaxBackground int
}

// mountFlagBits maps the generic mount flags to the MS_* bits they set
// (set true) or clear (set false). fusermount3 knows the same names.
var mountFlagBits = map[string]struct {
	bit uintptr
	set bool
}{
	"suid": {syscall.MS_NOSUID, false}, "nosuid": {syscall.MS_NOSUID, true},
	"dev": {syscall.MS_NODEV, false}, "nodev": {syscall.MS_NODEV, true},
	"exec": {syscall.MS_NOEXEC, false}, "noexec": {syscall.MS_NOEXEC, true},
	"async": {syscall.MS_SYNCHRONOUS, false}, "sync": {syscall.MS_SYNCHRONOUS, true},
	"dirsync": {syscall.MS_DIRSYNC, true},
	"atime":   {syscall.MS_NOATIME, false}, "noatime": {syscall.MS_NOATIME, true},
	"diratime": {syscall.MS_NODIRATIME, false}, "nodiratime": {syscall.MS_NODIRATIME, true},
	"norelatime": {syscall.MS_RELATIME, false}, "relatime": {syscall.MS_RELATIME, true},
	"nostrictatime": {syscall.MS_STRICTATIME, false}, "strictatime": {syscall.MS_STRICTATIME, true},
	"nolazytime": {1 << 25, false}, "lazytime": {1 << 25, true}, // MS_LAZYTIME
}

// MountFlagNames lists the generic mount flags MountConfig.Flags accepts.
func MountFlagNames() []string {
	names := make([]string, 0, len(mountFlagBits))
	for n := range mountFlagBits {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// directMountFlags turns flag names into mount(2)'s flags, starting from
// nosuid,nodev; later names win.
func directMountFlags(flags []string) (uintptr, error) {
	bits := uintptr(syscall.MS_NOSUID | syscall.MS_NODEV)
	for _, name := range flags {
		fb, ok := mountFlagBits[name]
		switch {
		case !ok:
			return 0, fmt.Errorf("unknown mount flag %q", name)
		case fb.set:
			bits |= fb.bit
		default:
			bits &^= fb.bit
		}
	}
	if bits == 0 {
		// go-fuse reads 0 as "default" (nosuid,nodev); MS_SILENT only
		// quiets the kernel's messages.
		bits = syscall.MS_SILENT
	}
	return bits, nil
}

// Mount serves f on dir. As root it mounts with mount(2) directly and falls
// back to fusermount3 otherwise. Kernel attribute, entry and negative-entry
// timeouts equal the stat cache TTL.
func (f *FS) Mount(dir string, mc MountConfig) (*fuse.Server, error) {
	ttl := f.ttl
	maxBackground := fuseMaxBackground // readahead reads in flight (kernelra.go)
	if mc.MaxBackground > 0 {
		maxBackground = mc.MaxBackground
	}
	bits, err := directMountFlags(mc.Flags)
	if err != nil {
		return nil, err
	}
	opts := &gofs.Options{
		MountOptions: fuse.MountOptions{
			Name:          "obsfs",
			FsName:        mc.FsName,
			AllowOther:    mc.AllowOther,
			Debug:         mc.Debug,
			MaxWrite:      1 << 20,
			MaxReadAhead:  1 << 20,
			MaxBackground: maxBackground,
			// obsfs never answers with file descriptors (ReadResultFd), so
			// splicing can only fail: for every 1 MiB read go-fuse would set
			// up a pipe, fail to grow it past pipe-max-size and log a line.
			DisableSplice: true,
			Options:       append([]string{"default_permissions"}, mc.ExtraOptions...),
			PanicHandler:  f.panicHandler,
		},
		EntryTimeout:    &ttl,
		AttrTimeout:     &ttl,
		NegativeTimeout: &ttl,
		NullPermissions: true,
		// No UID/GID here: go-fuse would show every owner-0 file (root's
		// files, by their metadata) as the uid= user's, and the kernel's
		// default_permissions would let that user read them. Options.UID
		// and GID are defaults for objects without uid/gid metadata only
		// (attrs.go).
		// The root's inode number is the one inodes.go gives "" (and
		// readdir's "." and ".." of it); go-fuse's default would be 0.
		RootStableAttr: &gofs.StableAttr{Ino: fuse.FUSE_ROOT_ID},
	}
	rawFS := gofs.NewNodeFS(f.root, opts)
	var srv *fuse.Server
	if os.Geteuid() == 0 {
		// mount(2) takes the flags as bits, not as option strings.
		mo := opts.MountOptions
		mo.DirectMountStrict, mo.DirectMountFlags = true, bits
		if srv, err = fuse.NewServer(rawFS, dir, &mo); err != nil {
			f.log.Debug("direct mount failed; trying fusermount3", zap.Error(err))
		}
	}
	if srv == nil {
		mo := opts.MountOptions
		mo.Options = append(slices.Clone(mo.Options), mc.Flags...)
		srv, err = fuse.NewServer(rawFS, dir, &mo)
	}
	if err != nil {
		if mc.AllowOther && os.Geteuid() != 0 {
			err = fmt.Errorf("%w (allow_other for non-root needs user_allow_other in /etc/fuse.conf)", err)
		}
		return nil, err
	}
	go srv.Serve()
	if err := srv.WaitMount(); err != nil {
		return nil, err
	}
	f.tuneKernelReadahead(dir) // best effort (kernelra.go)
	go func() { srv.Wait(); f.stopRetries() }()
	return srv, nil
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
