package fs

// Directory streams: a listing is read a page (1000 keys) at a time, merged
// with pageMerger, and handed to the kernel entry by entry, so a directory
// of 100k entries lists in bounded memory. Each page starts background HEADs
// for its entries' metadata (see FS.prefetch). Files created locally but
// not yet committed are added at the end: local state wins over a listing
// that cannot know them.

import (
	"context"
	"maps"
	"slices"
	"syscall"

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

	merger   pageMerger
	marker   string
	started  bool
	more     bool
	finished bool
	buf      []listEntry
	off      uint64          // entries the listing has produced
	err      syscall.Errno   // listing failure, returned once by Next
	local    map[string]bool // pending local children not yet seen → isDir

	// hist remembers the first entries produced (up to maxDirHistory), so a
	// seek back within them replays instead of listing again; replay is the
	// index of the next entry to replay, or -1.
	hist   []fuse.DirEntry
	replay int
}

// maxDirHistory bounds the entries a stream remembers for seeking back.
const maxDirHistory = 4096

var (
	_ = (gofs.DirStream)((*dirStream)(nil))
	_ = (gofs.FileSeekdirer)((*dirStream)(nil))
)

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
	s.marker, s.started, s.more, s.finished = "", false, true, false
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
		s.f.prefetch(s.path, s.buf)
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
			s.f.prefetch(s.path, s.buf)
			return
		}
	}
	gen := s.f.listGen.Load()
	ctx := context.Background()
	res, err := s.f.st.ListObjects(ctx, obsclient.ListOptions{Prefix: s.dk, Delimiter: "/", Marker: s.marker, MaxKeys: listPageSize})
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
	s.f.prefetch(s.path, s.buf)
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
	if s.err != 0 {
		en := s.err
		s.err, s.finished, s.buf = 0, true, nil
		return fuse.DirEntry{}, en
	}
	e := s.buf[0]
	s.buf = s.buf[1:]
	s.off++
	if s.local != nil {
		delete(s.local, e.Name)
	}
	p := joinPath(s.path, e.Name)
	de := fuse.DirEntry{Name: e.Name, Mode: s.f.entryMode(e), Ino: s.f.inoOf(p), Off: s.off}
	if s.hist != nil && len(s.hist) == int(s.off)-1 && len(s.hist) < maxDirHistory {
		s.hist = append(s.hist, de)
	} else {
		s.hist = nil // too long (or restarted): seeks list again
	}
	return de, 0
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
