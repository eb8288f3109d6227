package fs

// Statahead: learning the metadata of listed entries on demand.
//
// A listing tells each entry's name, size and LastModified, and whether it
// is a directory; the POSIX attributes (mode, uid, gid, mtime) need a HEAD.
// Readdir starts HEADs at once only for the entries whose type the listing
// cannot tell (objects of at most ambiguousMax bytes may be s3fs-style
// symlinks, FIFOs or old directory objects), unless trust_listing is set.
// The other entries' HEADs start when a lookup or getattr first asks for one
// of them: the entries that follow it in the listing are fetched in the
// background, a window that starts at aheadFirst and doubles while the
// lookups walk the listing in order (`ls -l`, `stat *`). A walk that never
// stats regular files (`find -type f`) therefore sends no HEADs for them.
//
// The second lookup that misses every cache in one directory starts (once
// per directory per TTL) a LIST of the directory (one page), which the
// misses wait for instead of each sending its own HEAD+LIST. When that listing is complete it is cached like a
// readdir's (meta.Dirs), and lookups in the directory use it: a listed
// object costs one HEAD (no LIST: the listing already says no directory of
// that name shadows it), a listed directory is resolved as before, and a
// name the listing lacks is asked of the server as before (HEAD+LIST), so
// another client's new file is visible at once.

import (
	"context"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/obsfs/obsfs/obsclient"
)

const (
	// ambiguousMax: a listed object of at most this size may be something
	// other than a regular file (a symlink's target is shorter than
	// PATH_MAX; FIFOs, sockets and old-style directory objects are empty).
	ambiguousMax = 4096
	aheadFirst   = 32   // first statahead window
	aheadMax     = 1024 // largest window one lookup starts
	aheadLists   = 64   // directories whose listing order is remembered
)

// aheadState remembers the order of recent listings (for statahead) and
// when lookups last listed a directory in the background.
type aheadState struct {
	mu sync.Mutex
	// GUARDED_BY(mu):
	lists  map[string]*aheadList // by directory key
	listed map[string]aheadMiss  // directory key → lookup misses there
}

// aheadList is one directory's listing, in listing order.
type aheadList struct {
	dir string    // directory path
	at  time.Time // when the listing started
	src *listEntry

	// LOCK ORDER: aheadState.mu → aheadList.mu.
	mu sync.Mutex
	// GUARDED_BY(mu):
	ents          []listEntry
	pos           map[string]int // name → index in ents
	next, nextDir int            // entries before these have been started
	win, winDir   int            // current windows
	max           int            // entries remembered at most
}

// begin registers a new listing of directory dk (replacing an older one).
func (s *aheadState) begin(dk, dir string, maxEnts int) *aheadList {
	if maxEnts <= 0 {
		maxEnts = math.MaxInt / 4 // unbounded attribute cache
	}
	l := &aheadList{dir: dir, at: time.Now(), pos: map[string]int{}, max: maxEnts}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lists == nil {
		s.lists = map[string]*aheadList{}
	}
	s.lists[dk] = l
	// Bounded: at most aheadLists directories, and about 2*maxEnts entries
	// (the attribute cache's bound) across them; the oldest go first.
	for len(s.lists) > 1 && (len(s.lists) > aheadLists || s.entriesLocked() > 2*maxEnts) {
		var oldest string
		for k, o := range s.lists {
			if o != l && (oldest == "" || o.at.Before(s.lists[oldest].at)) {
				oldest = k
			}
		}
		delete(s.lists, oldest)
	}
	return l
}

func (s *aheadState) entriesLocked() int {
	n := 0
	for _, l := range s.lists {
		l.mu.Lock()
		n += len(l.ents)
		l.mu.Unlock()
	}
	return n
}

// get returns the listing of dk registered within ttl, or nil.
func (s *aheadState) get(dk string, ttl time.Duration) *aheadList {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.lists[dk]
	if l != nil && time.Since(l.at) >= ttl {
		delete(s.lists, dk)
		return nil
	}
	return l
}

// miss records a lookup miss in dk and returns the background LIST of dk
// to wait for, if any: the second miss within ttl starts one (start is
// true; one stat of one name does not pay a LIST), later misses wait for
// it (done is closed when it ended), at most one per ttl.
func (s *aheadState) miss(dk string, ttl time.Duration) (done chan struct{}, start bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if s.listed == nil {
		s.listed = map[string]aheadMiss{}
	}
	m, ok := s.listed[dk]
	if ok && now.Sub(m.at) < ttl {
		if m.done != nil {
			return m.done, false
		}
		m = aheadMiss{at: now, done: make(chan struct{})}
		s.listed[dk] = m
		return m.done, true
	}
	if len(s.listed) >= 4096 {
		for k, m := range s.listed {
			if now.Sub(m.at) >= ttl {
				delete(s.listed, k)
			}
		}
	}
	s.listed[dk] = aheadMiss{at: now}
	return nil, false
}

// aheadMiss records lookup misses in a directory.
type aheadMiss struct {
	at   time.Time     // the first miss, or the start of the LIST
	done chan struct{} // the background LIST (closed when it ended); nil before
}

// add appends entries in listing order (up to the bound).
func (l *aheadList) add(ents []listEntry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range ents {
		if len(l.ents) >= l.max {
			return
		}
		if _, dup := l.pos[e.Name]; dup {
			continue
		}
		l.pos[e.Name] = len(l.ents)
		l.ents = append(l.ents, e)
	}
}

// find returns the listed entry called name.
func (l *aheadList) find(name string) (listEntry, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	i, ok := l.pos[name]
	if !ok {
		return listEntry{}, false
	}
	return l.ents[i], true
}

// window returns the entries to fetch ahead of name, and advances the
// window: a lookup inside the window already started doubles it (a walk
// in order), one elsewhere restarts it. A directory's lookup fetches only
// the directories ahead (a tree walk looks up directories, not files).
func (l *aheadList) window(name string) []listEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	i, ok := l.pos[name]
	if !ok {
		return nil
	}
	next, win := &l.next, &l.win
	if l.ents[i].Dir {
		next, win = &l.nextDir, &l.winDir
	}
	if i+1 < *next && *win > 0 {
		*win = min(2**win, aheadMax)
	} else {
		*win = aheadFirst
	}
	start := max(*next, i+1)
	var out []listEntry
	j := start
	for ; j < len(l.ents) && len(out) < *win && j <= i+*win; j++ {
		if e := l.ents[j]; !l.ents[i].Dir || e.Dir {
			out = append(out, e)
		}
	}
	if j > *next {
		*next = j
	}
	return out
}

// statahead starts the background HEADs ahead of entry name of directory
// dir, if name is listed with incomplete attributes.
func (f *FS) statahead(dir, name string) {
	if f.ttl == 0 {
		return
	}
	l := f.ahead.get(f.ns.dirKey(dir), f.ttl)
	if l == nil {
		return
	}
	e, ok := l.find(name)
	if !ok {
		return
	}
	if a, ok := f.meta.Attrs.Get(e.Key); ok && a.Complete {
		return
	}
	var todo []listEntry
	for _, e := range l.window(name) {
		// Only entries still known as listed: a missing one was invalidated
		// (or evicted), and its lookup will ask the server itself.
		if a, ok := f.meta.Attrs.Get(e.Key); ok && !a.Complete {
			todo = append(todo, e)
		}
	}
	f.headAll(dir, todo)
}

// headAll fetches the attributes of listed entries in the background,
// f.sem at a time, joining any stat in flight for the same path.
func (f *FS) headAll(dir string, todo []listEntry) {
	if len(todo) == 0 {
		return
	}
	go func() {
		for _, e := range todo {
			f.sem <- struct{}{}
			go func(e listEntry) {
				defer func() { <-f.sem }()
				defer f.recoverBackground("statahead")
				p := joinPath(dir, e.Name)
				if f.heads.inFlight(p) {
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				_, _ = f.heads.do(ctx, p, func(ctx context.Context) (objAttr, error) { return f.statKnown(ctx, e) })
			}(e)
		}
	}()
}

// listingFor returns the statahead list of a cached complete listing of
// dk, registering it once.
func (f *FS) listingFor(dk, dir string, ents []listEntry) *aheadList {
	var src *listEntry
	if len(ents) > 0 {
		src = &ents[0]
	}
	if l := f.ahead.get(dk, f.ttl); l != nil && l.src == src && src != nil {
		l.mu.Lock()
		same := len(l.ents) == len(ents)
		l.mu.Unlock()
		if same {
			return l
		}
	}
	l := f.ahead.begin(dk, dir, f.opts.MaxStatCacheEntries)
	l.src = src
	l.add(ents)
	return l
}

// statListed resolves path p (dir/name) from a fresh complete listing of
// dir, if one is cached and lists p: a listed object costs one HEAD, not
// HEAD+LIST (the listing shows no directory of that name shadows it). ok is
// false when the listing cannot answer: none is cached, or p is not in it —
// then the caller asks the server as before, so a file another client
// created after the listing is found at once (and an absent name is
// negatively cached).
func (f *FS) statListed(ctx context.Context, p string) (a objAttr, ok bool, err error) {
	dir, name := splitPath(p)
	dk := f.ns.dirKey(dir)
	ents, ok := f.meta.Dirs.Get(dk)
	if !ok {
		done := f.listAhead(dir)
		if done == nil {
			return objAttr{}, false, nil
		}
		select { // one LIST instead of a LIST per name
		case <-done:
		case <-ctx.Done():
			return objAttr{}, false, nil
		}
		if ents, ok = f.meta.Dirs.Get(dk); !ok {
			return objAttr{}, false, nil
		}
	}
	e, found := f.listingFor(dk, dir, ents).find(name)
	if !found {
		return objAttr{}, false, nil
	}
	if _, cached := f.meta.Attrs.Get(e.Key); !cached {
		f.meta.Attrs.Put(e.Key, f.listedAttr(e))
	}
	a, err = f.heads.do(ctx, p, func(ctx context.Context) (objAttr, error) { return f.statKnown(ctx, e) })
	return a, true, err
}

// listAhead lists directory dir in the background (one page) on the second
// lookup miss there, at most once per TTL, so that the next lookups in it
// can be answered from the listing. It returns the LIST to wait for, or
// nil.
func (f *FS) listAhead(dir string) chan struct{} {
	if f.ttl == 0 {
		return nil
	}
	dk := f.ns.dirKey(dir)
	done, start := f.ahead.miss(dk, f.ttl)
	if !start {
		return done
	}
	gen := f.listGen.Load()
	go func() {
		defer close(done)
		defer f.recoverBackground("list ahead")
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		res, err := f.st.ListObjects(ctx, obsclient.ListOptions{Prefix: dk, Delimiter: "/", MaxKeys: listPageSize})
		if err != nil {
			return
		}
		m := pageMerger{dir: dk, warn: f.warnOnce}
		ents := m.add(res)
		if !res.IsTruncated || res.NextMarker == "" {
			ents = append(ents, m.finish()...)
		}
		if f.listGen.Load() != gen {
			return // a local change raced the listing: do not use it
		}
		f.prefetch(f.ahead.begin(dk, dir, f.opts.MaxStatCacheEntries), dir, ents, false)
		if !res.IsTruncated || res.NextMarker == "" {
			f.storeListing(dk, ents, gen)
		}
	}()
	return done
}

// splitPath splits p into its directory path and name.
func splitPath(p string) (string, string) {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i], p[i+1:]
	}
	return "", p
}

// typeFromListing reports whether a listed entry's file type is known
// without a HEAD: directories, objects too large to be anything but
// regular files, and (trust_listing) every object.
func (f *FS) typeFromListing(e listEntry) bool {
	return e.Dir || e.Size > ambiguousMax || f.opts.TrustListing
}
