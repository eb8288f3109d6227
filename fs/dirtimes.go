package fs

// Directory times and link counts (SEMANTICS.md tenet 46).
//
// Creating, removing or renaming an entry moves the directory's mtime and
// ctime to now in this mount only: the node remembers the time (touched)
// and attributes fetched later never move it back. The marker object is not
// rewritten for it — that would be a request per create — so other mounts,
// and this one after a remount or once the kernel forgets the directory,
// see the marker's stored times; a later chmod, chown, utimes or setxattr
// of the directory, which rewrites the marker's metadata, stores them.
//
// A directory's link count is 2 + its subdirectories when a complete
// listing of it is cached, else 1 (unknown, as btrfs and many FUSE file
// systems say; find then does not guess leaf directories from it).

import "time"

// touchDir records a change of n's entries now.
func (n *node) touchDir() {
	if n == nil {
		return
	}
	now := time.Now()
	n.mu.Lock()
	n.touched = now
	n.attr = withTouched(n.attr, now)
	n.mu.Unlock()
}

// withTouched raises a's mtime and ctime to t.
func withTouched(a objAttr, t time.Time) objAttr {
	if a.Mtime.Before(t) {
		a.Mtime = t
	}
	if a.Ctime.Before(t) {
		a.Ctime = t
	}
	return a
}

// dirLinks is the link count of directory n: 2 + its subdirectories from a
// cached complete listing, else 1.
func (f *FS) dirLinks(n *node) uint32 {
	p, ok := n.path()
	if !ok {
		return 1
	}
	ents, ok := f.meta.Dirs.Get(f.ns.dirKey(p))
	if !ok {
		return 1
	}
	links := uint32(2)
	for _, e := range ents {
		if e.Dir && !n.isControlName(e.Name) {
			links++
		}
	}
	return links
}
