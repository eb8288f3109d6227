package fs

// Resolving a path to attributes: caches first, then the server. A path is
// a directory if its marker exists or any key lies under it (one LIST with
// max-keys 1 answers both); otherwise a file if HEAD finds the object. The
// directory wins when both exist. A cached listing of the parent that lists
// the path already tells which, and saves the LIST (statahead.go).

import (
	"context"
	"sync"
	"syscall"

	"github.com/obsfs/obsfs/obsclient"
)

// stat returns the attributes of path p (not the root), from the caches
// when they are fresh.
func (f *FS) stat(ctx context.Context, p string) (objAttr, error) {
	dk, fk := f.ns.dirKey(p), f.ns.fileKey(p)
	for _, k := range []string{dk, fk} {
		a, ok := f.meta.Attrs.Get(k)
		switch {
		case ok && a.Complete:
			return a, nil
		case ok: // listed: the kind is known, only the metadata is missing
			e := listEntry{Dir: a.isDir(), Key: k}
			return f.heads.do(ctx, p, func(ctx context.Context) (objAttr, error) { return f.statKnown(ctx, e) })
		}
	}
	if _, ok := f.meta.Negative.Get(fk); ok {
		return objAttr{}, syscall.ENOENT
	}
	if f.ttl > 0 && f.ns.checkPath(p) == 0 {
		// A fresh listing of the parent that lists p saves the LIST
		// (statahead.go); repeated misses in a directory list it once.
		if a, ok, err := f.statListed(ctx, p); ok {
			return a, err
		}
	}
	return f.statFresh(ctx, p)
}

// statFresh asks the server (sharing a call already in flight for p).
func (f *FS) statFresh(ctx context.Context, p string) (objAttr, error) {
	if en := f.ns.checkPath(p); en != 0 {
		return objAttr{}, en
	}
	return f.heads.do(ctx, p, func(ctx context.Context) (objAttr, error) {
		return f.statRemote(ctx, p)
	})
}

func (f *FS) statRemote(ctx context.Context, p string) (objAttr, error) {
	dk, fk := f.ns.dirKey(p), f.ns.fileKey(p)
	var (
		wg      sync.WaitGroup
		info    obsclient.ObjectInfo
		headErr error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		info, headErr = f.st.HeadObject(ctx, fk, f.getOptions())
	}()
	list, listErr := &obsclient.ListResult{}, error(nil)
	if f.ns.canBeDir(p) { // else only a file (key of 1,024 bytes) fits here
		list, listErr = f.st.ListObjects(ctx, obsclient.ListOptions{Prefix: dk, MaxKeys: 1})
	}
	wg.Wait()
	if listErr != nil {
		return objAttr{}, listErr
	}
	if len(list.Objects) > 0 {
		if headErr == nil {
			f.warnOnce("directory %q shadows object %q", dk, fk)
		}
		return f.statDir(ctx, dk, list.Objects[0].Key == dk)
	}
	if headErr != nil {
		if obsclient.IsNotFound(headErr) {
			f.meta.Negative.Put(fk, struct{}{})
		}
		return objAttr{}, headErr
	}
	a := attrFromInfo(info, false, f.defs)
	a.Complete = true // a HEAD tells all there is, metadata or none
	f.meta.Attrs.Put(fk, a)
	return a, nil
}

// statDir reads a directory's attributes: from its marker when there is
// one, else the defaults of an implicit directory.
func (f *FS) statDir(ctx context.Context, dk string, marker bool) (objAttr, error) {
	a := f.implicitDirAttr()
	if marker {
		info, err := f.st.HeadObject(ctx, dk, f.getOptions())
		switch {
		case err == nil:
			a = attrFromInfo(info, true, f.defs)
			a.Complete = true
		case !obsclient.IsNotFound(err):
			return objAttr{}, err
		}
	}
	f.meta.Attrs.Put(dk, a)
	return a, nil
}

func (f *FS) implicitDirAttr() objAttr {
	a := attrFromInfo(obsclient.ObjectInfo{LastModified: f.born}, true, f.defs)
	a.Implicit, a.Complete = true, true
	return a
}

// prefetch records what a listing tells about its entries (their kind,
// size and LastModified, not Complete) and registers their order with l
// for statahead (statahead.go). With eager (a readdir), it also starts
// background HEADs, f.sem at a time, for the entries whose file type the
// listing cannot tell, since readdir's d_type needs them; the others are
// fetched when a lookup first asks for one of them.
func (f *FS) prefetch(l *aheadList, dir string, entries []listEntry, eager bool) {
	var todo []listEntry
	for _, e := range entries {
		if a, ok := f.meta.Attrs.Get(e.Key); !ok || !a.Complete {
			f.meta.Attrs.Put(e.Key, f.listedAttr(e))
			if eager && !f.typeFromListing(e) {
				todo = append(todo, e)
			}
		}
	}
	if l != nil {
		l.add(entries)
	}
	if f.ttl == 0 {
		return
	}
	f.headAll(dir, todo)
}

// listedAttr is what a listing tells about an entry (not Complete).
func (f *FS) listedAttr(e listEntry) objAttr {
	a := attrFromInfo(obsclient.ObjectInfo{Key: e.Key, Size: e.Size, LastModified: e.Mtime, ETag: e.ETag}, e.Dir, f.defs)
	if e.Dir {
		a.Mtime, a.Ctime, a.Atime = f.born, f.born, f.born
	}
	a.Complete = false
	return a
}

// statKnown fetches the attributes of an entry whose kind the listing told.
func (f *FS) statKnown(ctx context.Context, e listEntry) (objAttr, error) {
	if a, ok := f.meta.Attrs.Get(e.Key); ok && a.Complete {
		return a, nil
	}
	if e.Dir {
		return f.statDir(ctx, e.Key, true)
	}
	gen := f.listGen.Load()
	info, err := f.st.HeadObject(ctx, e.Key, f.getOptions())
	if err != nil {
		return objAttr{}, err
	}
	a := attrFromInfo(info, false, f.defs)
	a.Complete = true // a HEAD tells all there is, metadata or none
	// Unless a local change raced the HEAD (a background statahead).
	if f.listGen.Load() == gen {
		f.meta.Attrs.Put(e.Key, a)
	}
	return a, nil
}
