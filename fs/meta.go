package fs

// Metadata updates: chmod, chown, utimens and xattrs rewrite the object's
// metadata with every POSIX key (SetObjectMetadata REPLACE). A file with
// uncommitted data takes the change into its next upload instead; an implicit
// directory gets a marker object to hold it; the mount root keeps it in
// memory.

import (
	"context"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/obsfs/obsfs/obsclient"
)

// setMeta applies the mode/owner/time parts of a SETATTR.
func (n *node) setMeta(ctx context.Context, in *fuse.SetAttrIn) syscall.Errno {
	mode, hasMode := in.GetMode()
	uid, hasUID := in.GetUID()
	gid, hasGID := in.GetGID()
	atime, hasA := in.GetATime()
	mtime, hasM := in.GetMTime()
	if !(hasMode || hasUID || hasGID || hasA || hasM) {
		return 0
	}
	return n.updateMeta(ctx, func(a *objAttr) syscall.Errno {
		if hasMode {
			a.Mode = a.Mode&syscall.S_IFMT | mode&07777
		}
		if hasUID {
			a.UID = uid
		}
		if hasGID {
			a.GID = gid
		}
		if hasA {
			a.Atime = atime
		}
		if hasM {
			a.Mtime = mtime
			n.mu.Lock()
			n.touched = time.Time{} // an explicit time wins (tar, cp -a, rsync)
			n.mu.Unlock()
		}
		return 0
	})
}

// updateMeta applies change to complete attributes and persists them.
func (n *node) updateMeta(ctx context.Context, change func(*objAttr) syscall.Errno) syscall.Errno {
	a, en := n.completeAttr(ctx)
	if en != 0 {
		return en
	}
	if en := change(&a); en != 0 {
		return en
	}
	a.Ctime = time.Now()
	if userMetaSize(a.metadata()) > maxMetadataBytes {
		return syscall.E2BIG
	}
	// A commit in flight has taken its attributes already: a change folded
	// now would be marked committed with them and lost (cp -a sets the
	// times of an empty file while its release commits it). Wait for it;
	// if it leaves the file clean, the change is persisted on its own.
	defer n.holdCommits()()
	n.mu.Lock()
	folded := n.w != nil && (n.w.dirty || n.w.pending) || n.deleted || n.IsRoot()
	if folded {
		n.attr = keepLocal(n.attr, a)
		if n.w != nil && !n.w.pending {
			n.w.metaGen++ // an append could not carry it (NoAppend)
		}
	}
	w := n.w
	n.mu.Unlock()
	if folded {
		if w != nil {
			n.describe(w.spool(), "")
		}
		return 0
	}
	return n.persistMeta(ctx, a)
}

// keepLocal takes the metadata of b and the data-derived fields of a.
func keepLocal(a, b objAttr) objAttr {
	b.Size, b.ETag = a.Size, a.ETag
	b.Appendable, b.NextAppendPosition = a.Appendable, a.NextAppendPosition
	return b
}

// maxMetadataBytes is OBS's limit on user metadata (names + values).
const maxMetadataBytes = 8 << 10

// completeAttr returns attributes including metadata (HEAD if the known
// ones came from a listing).
func (n *node) completeAttr(ctx context.Context) (objAttr, syscall.Errno) {
	n.mu.Lock()
	a := n.attr
	local := n.w != nil || n.deleted || n.IsRoot()
	n.mu.Unlock()
	if a.Complete || local {
		return a, 0
	}
	p, ok := n.path()
	if !ok {
		return a, 0
	}
	fresh, err := n.fsys.statFresh(ctx, p)
	if err != nil {
		return objAttr{}, n.fsys.errno("stat", p, err)
	}
	n.setAttr(fresh)
	return n.localAttr(), 0
}

// persistMeta writes a as the object's metadata.
func (n *node) persistMeta(ctx context.Context, a objAttr) syscall.Errno {
	f := n.fsys
	p, ok := n.path()
	if !ok {
		return 0
	}
	key := n.key(p)
	var err error
	if n.IsDir() && a.Implicit {
		_, err = f.st.PutObject(ctx, key, emptyBody(), 0, f.writeOptions(a))
		a.Implicit = false
	} else {
		err = f.st.SetObjectMetadata(ctx, key, obsclient.MetadataReplace, metaOptions(a))
	}
	if err != nil {
		f.unsureAttr(n) // the update may have landed
		return f.errno("setattr", key, err)
	}
	n.mu.Lock()
	n.attr = keepLocal(n.attr, a)
	n.attrAt = time.Now()
	a = n.attr
	n.mu.Unlock()
	f.meta.Attrs.Put(key, a)
	return 0
}
