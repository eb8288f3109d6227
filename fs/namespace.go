package fs

// Namespace: how mount paths map to object keys, and how a listing page
// becomes directory entries. Pure logic, tested without a mount.
//
// A path is relative to the mount root, without leading or trailing slash
// ("" is the root). With mount prefix P (""/"p/"):
//
//	file  "a/b"  ⇄ key P+"a/b"
//	dir   "a"    ⇄ prefix P+"a/" (marker object P+"a/" optional)
//	root  ""     ⇄ prefix P
//
// A listing of a directory (prefix D, delimiter "/") yields objects D+name
// and common prefixes D+name+"/". A name that cannot be a path segment is
// hidden; a file whose name is also a directory is shadowed by it.

import (
	"fmt"
	"strings"
	"syscall"
	"time"

	"github.com/obsfs/obsfs/obsclient"
)

const (
	maxNameLen = 255  // bytes per path segment (NAME_MAX)
	maxKeyLen  = 1024 // bytes per object key (PROTOCOL.md §6)
)

// namespace maps paths to keys under a mount prefix.
type namespace struct {
	prefix string // "" or ending in "/"
}

// normalizePrefix turns a configured prefix ("/a/b", "a/b/", "") into the
// key-prefix form "a/b/" or "".
func normalizePrefix(p string) (string, error) {
	p = strings.Trim(p, "/")
	if p == "" {
		return "", nil
	}
	for _, seg := range strings.Split(p, "/") {
		if err := checkName(seg); err != nil {
			return "", fmt.Errorf("prefix %q: %w", p, err)
		}
	}
	return p + "/", nil
}

// fileKey is the object key of the file at path p.
func (ns namespace) fileKey(p string) string { return ns.prefix + p }

// dirKey is the key prefix (and marker key) of the directory at path p.
func (ns namespace) dirKey(p string) string {
	if p == "" {
		return ns.prefix
	}
	return ns.prefix + p + "/"
}

// checkPath reports ENAMETOOLONG for a path that no object can have: a last
// segment over 255 bytes (NAME_MAX, what statfs promises) or a file key over
// OBS's 1,024 bytes (a directory's key is one byte longer, so such a path
// cannot be a directory either). A file key of exactly 1,024 bytes is valid.
func (ns namespace) checkPath(p string) syscall.Errno {
	if len(p[strings.LastIndexByte(p, '/')+1:]) > maxNameLen || len(ns.fileKey(p)) > maxKeyLen {
		return syscall.ENAMETOOLONG
	}
	return 0
}

// newKey returns the key of a file (or, with dir, the marker of a directory)
// about to be created at p, or ENAMETOOLONG when the mount could not show it
// or OBS would refuse it: a name the listing would hide must never be
// created (it could not be listed, nor its directory removed).
func (ns namespace) newKey(p string, dir bool) (string, syscall.Errno) {
	if en := ns.checkPath(p); en != 0 {
		return "", en
	}
	k := ns.fileKey(p)
	if dir {
		k = ns.dirKey(p)
	}
	if len(k) > maxKeyLen {
		return "", syscall.ENAMETOOLONG
	}
	return k, 0
}

// canBeDir reports whether a directory at p could exist: its marker key (one
// byte longer than the file key) fits OBS's limit.
func (ns namespace) canBeDir(p string) bool { return len(ns.dirKey(p)) <= maxKeyLen }

// pathOf is the inverse of fileKey/dirKey: the path of a key under the
// prefix, without a trailing slash; ok is false outside the prefix.
func (ns namespace) pathOf(key string) (string, bool) {
	if !strings.HasPrefix(key, ns.prefix) {
		return "", false
	}
	return strings.TrimSuffix(key[len(ns.prefix):], "/"), true
}

// joinPath appends name to directory path dir.
func joinPath(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// checkName reports why name cannot be a path segment, or nil.
func checkName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty segment")
	case name == "." || name == "..":
		return fmt.Errorf("segment %q", name)
	case len(name) > maxNameLen:
		return fmt.Errorf("segment longer than %d bytes", maxNameLen)
	case strings.IndexByte(name, 0) >= 0:
		return fmt.Errorf("NUL in segment")
	case strings.IndexByte(name, '/') >= 0:
		return fmt.Errorf("slash in segment")
	}
	return nil
}

// checkRelKey reports why a key relative to the mount prefix cannot be a
// path ("a/b" or "a/b/" for a marker), or nil.
func checkRelKey(rel string) error {
	for _, seg := range strings.Split(strings.TrimSuffix(rel, "/"), "/") {
		if err := checkName(seg); err != nil {
			return err
		}
	}
	return nil
}

// listEntry is one directory entry derived from a listing.
type listEntry struct {
	Name  string
	Dir   bool
	Key   string // object key of the file, or prefix of the directory
	Size  int64
	Mtime time.Time // LastModified of the object (zero for directories)
	ETag  string
}

// pageMerger turns listing pages of one directory into entries, in a
// bounded amount of memory: it hides bad names and lets a directory shadow
// a file of the same name across page boundaries. Keys arrive sorted, and
// "name/" sorts after "name" and after every "name"+c with c < '/', so a file
// is held back only until the listing passes "name/".
type pageMerger struct {
	dir  string               // directory prefix D
	held []listEntry          // files that a later "name/" could still shadow
	warn func(string, ...any) // logs hidden/shadowed keys; may be nil
}

// add consumes one page and returns the entries that are final.
func (m *pageMerger) add(page *obsclient.ListResult) []listEntry {
	var out []listEntry
	objs, pfx := page.Objects, page.CommonPrefixes
	for len(objs) > 0 || len(pfx) > 0 {
		if len(pfx) == 0 || len(objs) > 0 && objs[0].Key < pfx[0] {
			out = m.addObject(out, objs[0])
			objs = objs[1:]
		} else {
			out = m.addPrefix(out, pfx[0])
			pfx = pfx[1:]
		}
	}
	return out
}

// finish returns the entries still held at the end of the listing.
func (m *pageMerger) finish() []listEntry {
	out := m.held
	m.held = nil
	return out
}

// release moves held files that can no longer be shadowed (their "name/"
// sorts before key) to out.
func (m *pageMerger) release(out []listEntry, key string) []listEntry {
	i := 0
	for ; i < len(m.held) && m.held[i].Key+"/" < key; i++ {
		out = append(out, m.held[i])
	}
	m.held = m.held[i:]
	return out
}

func (m *pageMerger) addObject(out []listEntry, o obsclient.ObjectInfo) []listEntry {
	out = m.release(out, o.Key)
	name := strings.TrimPrefix(o.Key, m.dir)
	if o.Key == m.dir || !strings.HasPrefix(o.Key, m.dir) {
		return out // the directory's own marker
	}
	if err := checkName(name); err != nil {
		m.logf("hiding key %q: %v", o.Key, err)
		return out
	}
	m.held = append(m.held, listEntry{Name: name, Key: o.Key, Size: o.Size, Mtime: o.LastModified, ETag: o.ETag})
	return out
}

func (m *pageMerger) addPrefix(out []listEntry, p string) []listEntry {
	out = m.release(out, p)
	name := strings.TrimSuffix(strings.TrimPrefix(p, m.dir), "/")
	if err := checkName(name); err != nil {
		m.logf("hiding prefix %q: %v", p, err)
		return out
	}
	for i, h := range m.held {
		if h.Name == name {
			m.logf("directory %q shadows object %q", p, h.Key)
			m.held = append(m.held[:i], m.held[i+1:]...)
			break
		}
	}
	return append(out, listEntry{Name: name, Dir: true, Key: p})
}

func (m *pageMerger) logf(format string, args ...any) {
	if m.warn != nil {
		m.warn(format, args...)
	}
}
