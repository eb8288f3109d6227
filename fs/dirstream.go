package fs

// Directory streams: a listing is read a page (1000 keys) at a time, merged
// with pageMerger, and handed to the kernel entry by entry, so a directory
// of 100k entries lists in bounded memory. Each page records what the
// listing tells and starts background HEADs only for the entries whose type
// it cannot tell (see FS.prefetch); the rest wait for a lookup (statahead.go).
// Files created locally but not yet committed are added at the end: local
// state wins over a listing that cannot know them.
//
// The stream is the directory handle itself (OpendirHandle), so that for
// READDIRPLUS go-fuse asks its Lookup (gofs.FileLookuper): an entry whose
// attributes are not known yet but whose type the listing tells is sent as
// a plain dirent (node id 0, which Linux's fuse_direntplus_link skips: no
// dentry, positive or negative, is made), and a later stat looks it up.

import (
	"context"
	"maps"
	"slices"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/obsfs/obsfs/obsclient"
)

const listPageSize = 1000

type dirStream struct {
	f    *FS
	dir  *node
	path string // directory path
	dk   string // directory prefix
	hide string // a name not to list (the control directory at the root)

	ahead    *aheadList // this listing's order, for statahead
	last     listEntry  // the entry Next returned last
	merger   pageMerger
	marker   string
	started  bool
	more     bool
	finished bool
	dots     int // "." and ".." produced so far (they come first)
	buf      []listEntry
	off      uint64          // entries the listing has produced
	err      syscall.Errno   // listing failure, returned once by Next
	local    map[string]bool // pending local children not yet seen → isDir

	// hist remembers the first entries produced (up to maxDirHistory), so a
	// seek back within them replays instead of listing again; replay is the
	// index of the next entry to replay, or -1.
	hist   []fuse.DirEntry
	replay int

	// ctx is the context of the READDIR being answered (nil outside
	// Readdirent): an interrupt ends the listing request it waits on.
	ctx context.Context
}

// maxDirHistory bounds the entries a stream remembers for seeking back.
const maxDirHistory = 4096

var (
	_ = (gofs.DirStream)((*dirStream)(nil))
	_ = (gofs.FileSeekdirer)((*dirStream)(nil))
	_ = (gofs.FileReaddirenter)((*dirStream)(nil))
	_ = (gofs.FileReleasedirer)((*dirStream)(nil))
	_ = (gofs.FileLookuper)((*dirStream)(nil))
	_ = (gofs.NodeOpendirHandler)((*node)(nil))
)

// OpendirHandle opens the directory as a dirStream (see the file comment).
func (n *node) OpendirHandle(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	p, ok := n.path()
	if !ok {
		return gofs.NewListDirStream(nil), 0, 0
	}
	return n.fsys.newDirStream(n, p), 0, 0
}

// Readdirent hands the next entry to go-fuse.
func (s *dirStream) Readdirent(ctx context.Context) (*fuse.DirEntry, syscall.Errno) {
	s.ctx = ctx
	defer func() { s.ctx = nil }()
	if !s.HasNext() {
		return nil, 0
	}
	de, en := s.Next()
	return &de, en
}

// Releasedir ends the stream.
func (s *dirStream) Releasedir(ctx context.Context, releaseFlags uint32) { s.Close() }

// errNoAttrs tells go-fuse not to link a READDIRPLUS entry: the kernel
// gets the dirent without attributes (any errno does; none reaches a
// program).
const errNoAttrs = syscall.EAGAIN

// Lookup answers READDIRPLUS for the entry Next just returned: as the
// node's Lookup when the attributes are known (or local, or the type is
// ambiguous: that waits for the HEAD readdir started), else, when the
// listing tells the type, with no attributes and no request.
func (s *dirStream) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	f := s.f
	if !s.dir.isControlName(name) && s.dir.localChild(name) == nil {
		if e, ok := s.entry(name); ok && f.typeFromListing(e) {
			if a, ok := f.meta.Attrs.Get(e.Key); !ok || !a.Complete {
				return nil, errNoAttrs
			}
		}
	}
	return s.dir.lookup(ctx, name, out, false)
}

// entry returns the listed entry called name: the last one Next returned,
// else (a replayed entry) what the attribute cache knows of it.
func (s *dirStream) entry(name string) (listEntry, bool) {
	if s.last.Name == name && s.last.Key != "" {
		return s.last, true
	}
	p := joinPath(s.path, name)
	if _, ok := s.f.meta.Attrs.Get(s.f.ns.dirKey(p)); ok {
		return listEntry{Name: name, Dir: true, Key: s.f.ns.dirKey(p)}, true
	}
	if a, ok := s.f.meta.Attrs.Get(s.f.ns.fileKey(p)); ok {
		return listEntry{Name: name, Key: s.f.ns.fileKey(p), Size: int64(a.Size)}, true
	}
	return listEntry{}, false
}

func (f *FS) newDirStream(n *node, p string) *dirStream {
	s := &dirStream{f: f, dir: n, path: p, dk: f.ns.dirKey(p)}
	if n.isControlName(f.opts.ControlDir) {
		s.hide = f.opts.ControlDir // not listed: cp -a, find, rsync skip it
	}
	s.reset()
	s.hist, s.replay = []fuse.DirEntry{}, -1
	return s
}

// reset rewinds to the first entry.
func (s *dirStream) reset() {
	s.merger = pageMerger{dir: s.dk, warn: s.f.warnOnce}
	s.marker, s.started, s.more, s.finished, s.dots = "", false, true, false, 0
	s.buf, s.off, s.err = nil, 0, 0
	s.local = map[string]bool{}
	for name, ci := range s.dir.Children() {
		if ch, ok := ci.Operations().(*node); ok && ch.isPending() {
			s.local[name] = ci.IsDir()
		}
	}
}

func (n *node) isPending() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.w != nil && n.w.pending && !n.deleted
}

func (s *dirStream) HasNext() bool {
	if s.replay >= 0 && s.replay < len(s.hist) {
		return true
	}
	s.replay = -1
	if s.dots < 2 {
		return true
	}
	for {
		for len(s.buf) == 0 && !s.finished && s.err == 0 {
			s.fill()
		}
		if s.hide == "" || len(s.buf) == 0 || s.buf[0].Name != s.hide {
			break
		}
		s.buf = s.buf[1:]
	}
	return len(s.buf) > 0 || s.err != 0
}

// fill reads the next page (or finishes the stream).
func (s *dirStream) fill() {
	if !s.more {
		s.buf = append(s.buf, s.merger.finish()...)
		s.f.prefetch(s.ahead, s.path, s.buf, true)
		for _, name := range slices.Sorted(maps.Keys(s.local)) {
			s.buf = append(s.buf, listEntry{Name: name, Dir: s.local[name], Key: s.f.ns.fileKey(joinPath(s.path, name))})
		}
		s.local = nil
		s.finished = true
		return
	}
	first := !s.started
	s.started = true
	if first {
		if ents, ok := s.f.meta.Dirs.Get(s.dk); ok {
			s.buf, s.more = slices.Clone(ents), false
			s.ahead = s.f.listingFor(s.dk, s.path, ents)
			s.f.prefetch(nil, s.path, s.buf, true)
			return
		}
		s.ahead = s.f.ahead.begin(s.dk, s.path, s.f.opts.MaxStatCacheEntries)
	}
	gen := s.f.listGen.Load()
	res, err := s.f.st.ListObjects(s.reqCtx(), obsclient.ListOptions{Prefix: s.dk, Delimiter: "/", Marker: s.marker, MaxKeys: listPageSize})
	if err != nil {
		s.err = s.f.errno("readdir", s.dk, err)
		return
	}
	s.marker, s.more = res.NextMarker, res.IsTruncated && res.NextMarker != ""
	s.buf = s.merger.add(res)
	if first && !s.more {
		s.buf = append(s.buf, s.merger.finish()...)
		s.f.storeListing(s.dk, s.buf, gen)
	}
	s.f.prefetch(s.ahead, s.path, s.buf, true)
}

// storeListing caches a complete one-page listing, unless the caches were
// invalidated since it was requested.
func (f *FS) storeListing(dk string, ents []listEntry, gen uint64) {
	if f.listGen.Load() == gen {
		f.meta.Dirs.Put(dk, slices.Clone(ents))
	}
}

func (s *dirStream) Next() (fuse.DirEntry, syscall.Errno) {
	if s.replay >= 0 {
		s.replay++
		return s.hist[s.replay-1], 0
	}
	if s.dots < 2 {
		s.dots++
		s.off++
		de := s.dot()
		s.remember(de)
		return de, 0
	}
	if s.err != 0 {
		en := s.err
		// An interrupted listing can be resumed where it stopped.
		s.err, s.finished, s.buf = 0, en != syscall.EINTR, nil
		return fuse.DirEntry{}, en
	}
	e := s.buf[0]
	s.buf = s.buf[1:]
	s.off++
	if s.local != nil {
		delete(s.local, e.Name)
	}
	p := joinPath(s.path, e.Name)
	s.last = e
	s.f.waitAmbiguous(s.reqCtx(), p, e)
	de := fuse.DirEntry{Name: e.Name, Mode: s.f.entryMode(e), Ino: s.f.inoOf(p), Off: s.off}
	s.remember(de)
	return de, 0
}

// remember keeps the first entries for seeking back.
func (s *dirStream) remember(de fuse.DirEntry) {
	if s.hist != nil && len(s.hist) == int(s.off)-1 && len(s.hist) < maxDirHistory {
		s.hist = append(s.hist, de)
	} else {
		s.hist = nil // too long (or restarted): seeks list again
	}
}

// dot returns "." (the first call after reset) or "..", with the inode
// numbers of the directory and of its parent (the mount root's ".." is the
// root itself: the file system cannot see above it). go-fuse passes them
// to the kernel as they are and does not look them up for READDIRPLUS.
func (s *dirStream) dot() fuse.DirEntry {
	ino := s.dir.StableAttr().Ino
	name := "."
	if s.dots == 2 {
		name = ".."
		if _, parent := s.dir.Parent(); parent != nil && !s.dir.IsRoot() {
			ino = parent.StableAttr().Ino
		}
	}
	return fuse.DirEntry{Name: name, Mode: syscall.S_IFDIR, Ino: ino, Off: s.off}
}

// waitAmbiguous waits for the HEAD that tells the type of a listed entry
// the listing cannot (prefetch started it), so that d_type is right for
// symlinks even in a plain READDIR. Without caches nothing was started, and
// nothing is waited for.
func (f *FS) waitAmbiguous(rctx context.Context, p string, e listEntry) {
	if f.ttl == 0 || f.typeFromListing(e) {
		return
	}
	if a, ok := f.meta.Attrs.Get(e.Key); !ok || a.Complete {
		return // complete, or not listed any more (invalidated)
	}
	ctx, cancel := context.WithTimeout(rctx, time.Minute)
	defer cancel()
	_, _ = f.heads.do(ctx, p, func(ctx context.Context) (objAttr, error) { return f.statKnown(ctx, e) })
}

// reqCtx is the context of the READDIR being answered, or Background when
// go-fuse calls the DirStream methods without one.
func (s *dirStream) reqCtx() context.Context {
	if s.ctx != nil {
		return s.ctx
	}
	return context.Background()
}

// entryMode is the type of a listed entry: cached attributes know symlinks.
func (f *FS) entryMode(e listEntry) uint32 {
	if e.Dir {
		return syscall.S_IFDIR
	}
	if a, ok := f.meta.Attrs.Get(e.Key); ok {
		return a.Mode & syscall.S_IFMT
	}
	return syscall.S_IFREG
}

// Seekdir moves to entry off: replayed from memory when it is among the
// remembered entries, else by listing again and skipping.
func (s *dirStream) Seekdir(ctx context.Context, off uint64) syscall.Errno {
	if s.hist != nil && off <= uint64(len(s.hist)) && (off < s.off || s.replay >= 0) {
		s.replay = int(off)
		return 0
	}
	if off == s.off && s.replay < 0 {
		return 0
	}
	s.replay = -1
	s.reset()
	for s.off < off && s.HasNext() {
		if _, en := s.Next(); en != 0 {
			return en
		}
	}
	return 0
}

func (s *dirStream) Close() {}
