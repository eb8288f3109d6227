package fs

// Rename. A file is copied server-side and the source deleted. A directory
// is copied key by key (ParallelCount at a time) and its sources are deleted
// only after every copy succeeded; a failed copy removes the copies made and
// leaves the source whole, so nothing is lost — but the rename is not atomic:
// another client can see both trees for a while. On a parallel file system
// bucket the native, atomic rename is used.

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/obsfs/obsfs/obsclient"
	"github.com/obsfs/obsfs/transfer"
)

var _ = (gofs.NodeRenamer)((*node)(nil))

func (n *node) Rename(ctx context.Context, name string, newParent gofs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	ctx = detach(ctx)
	f := n.fsys
	if en := f.checkWritable(); en != 0 {
		return en
	}
	if flags&unix.RENAME_EXCHANGE != 0 {
		return syscall.ENOTSUP
	}
	if np, ok := newParent.(*node); n.isControlName(name) || ok && np.isControlName(newName) {
		return syscall.EPERM // the control directory is not part of the tree
	}
	if flags&^uint32(unix.RENAME_NOREPLACE) != 0 {
		return syscall.EINVAL
	}
	np, ok := newParent.(*node)
	if !ok {
		return syscall.EXDEV
	}
	from, en := n.childPath(name)
	if en != 0 {
		return en
	}
	to, en := np.childPath(newName)
	if en != 0 {
		return en
	}
	if en := f.ns.checkPath(to); en != 0 {
		return en
	}
	if from == to {
		return 0
	}
	// Part of the commit path: ride out transient failures (retry_budget).
	ctx = obsclient.WithRetryBudget(ctx, f.opts.RetryBudget)
	src, en := n.entryAttr(ctx, name, from)
	if en != 0 {
		return en
	}
	if _, en := f.ns.newKey(to, src.isDir()); en != 0 {
		return en
	}
	targetDir, en := f.prepareTarget(ctx, np, newName, to, src.isDir(), flags)
	if en != 0 {
		return en
	}
	// A replaced file with local data must not commit after the rename.
	defer np.localChild(newName).holdCommits()()
	if src.isDir() {
		en = f.renameDir(ctx, n, from, to, targetDir)
	} else {
		en = f.renameFile(ctx, n, name, from, to, np, newName)
	}
	if en != 0 {
		f.renameFailed(n, name, np, newName, from, to)
		f.unsure(n, name)
		f.unsure(np, newName)
		return en
	}
	f.renamed(np, newName, from, to, src.isDir())
	n.touchDir()
	np.touchDir()
	return 0
}

// entryAttr returns the attributes of child name: local, cached or fetched.
func (n *node) entryAttr(ctx context.Context, name, p string) (objAttr, syscall.Errno) {
	if ch := n.localChild(name); ch != nil {
		return ch.localAttr(), 0
	}
	a, err := n.fsys.stat(ctx, p)
	if err != nil {
		return objAttr{}, n.fsys.errno("rename", p, err)
	}
	return a, 0
}

// prepareTarget applies the overwrite rules; targetDir reports an (empty)
// directory being replaced.
func (f *FS) prepareTarget(ctx context.Context, np *node, newName, to string, srcDir bool, flags uint32) (targetDir bool, en syscall.Errno) {
	dst, en := np.entryAttr(ctx, newName, to)
	if en == syscall.ENOENT {
		return false, 0
	}
	if en != 0 {
		return false, en
	}
	switch {
	case flags&unix.RENAME_NOREPLACE != 0:
		return false, syscall.EEXIST
	case srcDir && !dst.isDir():
		return false, syscall.ENOTDIR
	case !srcDir && dst.isDir():
		return false, syscall.EISDIR
	case !dst.isDir():
		return false, 0 // the copy replaces the file
	}
	// An empty target directory keeps its marker until the copies land
	// (the source's marker, if any, replaces it), so a failure loses it not.
	return true, f.checkEmpty(ctx, to)
}

// renameFile moves one object (or only local state, if never committed).
// An open file is committed first and re-based on the new object after.
func (f *FS) renameFile(ctx context.Context, parent *node, name, from, to string, np *node, newName string) syscall.Errno {
	fk, tk := f.ns.fileKey(from), f.ns.fileKey(to)
	ch := parent.localChild(name)
	unhold := ch.holdCommits() // no commit decides the key meanwhile
	if ch != nil && ch.isPending() {
		defer unhold()
		// Nothing on the server yet: the node moves with its data, and
		// whatever the target was must not reappear.
		if err := f.deleteIfPresent(ctx, tk); err != nil {
			return f.errno("rename", tk, err)
		}
		ch.markMoving(np.EmbeddedInode(), newName)
		if w := ch.writeState(); w != nil {
			ch.describe(w.spool(), tk) // a crash now recovers it under its new name
		}
		return 0
	}
	unhold()
	if ch != nil {
		if en := ch.commit(ctx); en != 0 {
			return en
		}
	}
	parent.keepParent(ctx)
	if err := f.moveKey(ctx, fk, tk); err != nil {
		return f.errno("rename", fk, err)
	}
	if ch != nil {
		ch.rebase(ctx, tk)
	}
	return 0
}

// rebase points a clean write state at the object now holding its data
// (after a rename), so later reads-through and part copies use it.
func (n *node) rebase(ctx context.Context, key string) {
	f := n.fsys
	n.mu.Lock()
	w := n.w
	n.mu.Unlock()
	if w == nil {
		return
	}
	info, err := f.st.HeadObject(ctx, key, f.getOptions())
	if err != nil {
		f.log.Warn("rebase after rename", zap.String("key", key), zap.Error(err))
		return
	}
	w.commitMu.Lock()
	defer w.commitMu.Unlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	n.mu.Lock()
	dirty := w.dirty
	n.mu.Unlock()
	if dirty {
		return // written meanwhile: the next commit uploads what differs
	}
	sp, err := f.newSpool(&transfer.Base{Key: key, ETag: info.ETag, Size: info.Size, VersionID: info.VersionID,
		Appendable: info.Appendable, NextAppendPosition: info.NextAppendPosition})
	if err != nil {
		f.log.Warn("rebase after rename", zap.String("key", key), zap.Error(err))
		return
	}
	old := w.sp
	w.sp = sp
	_ = old.Close()
	n.mu.Lock()
	n.attr.ETag = info.ETag
	n.attr.Appendable, n.attr.NextAppendPosition = info.Appendable, info.NextAppendPosition
	n.mu.Unlock()
	n.describe(sp, key)
}

// moveKey renames one object: natively on PFS, else copy + delete.
func (f *FS) moveKey(ctx context.Context, from, to string) error {
	if f.pfs {
		return f.st.RenameObject(ctx, from, to)
	}
	if _, err := f.st.CopyObject(ctx, to, obsclient.CopySource{Key: from}, obsclient.CopyOptions{Directive: obsclient.MetadataCopy}); err != nil {
		return err
	}
	return f.deleteIfPresent(ctx, from)
}

// renameDir moves every key under from/ to to/.
func (f *FS) renameDir(ctx context.Context, parent *node, from, to string, targetDir bool) (en syscall.Errno) {
	open := f.writersUnder(from)
	for _, d := range open {
		if en := d.commit(ctx); en != 0 {
			return en
		}
	}
	defer func() {
		if en != 0 {
			return
		}
		for _, d := range open {
			if p, ok := d.path(); ok && strings.HasPrefix(p, from+"/") {
				d.rebase(ctx, f.ns.fileKey(to+p[len(from):]))
			}
		}
	}()
	fk, tk := f.ns.dirKey(from), f.ns.dirKey(to)
	parent.keepParent(ctx)
	if f.pfs {
		if err := f.st.RenameObject(ctx, fk, tk); err != nil {
			return f.errno("rename", fk, err)
		}
		return 0
	}
	keys, err := f.listAll(ctx, fk)
	if err != nil {
		return f.errno("rename", fk, err)
	}
	if en := f.fitsUnder(keys, open, fk, tk, from, to); en != 0 {
		return en
	}
	if err := f.copyAll(ctx, keys, fk, tk, targetDir); err != nil {
		return f.errno("rename", fk, err)
	}
	if err := f.deleteAll(ctx, keys); err != nil {
		return f.errno("rename", fk, err)
	}
	return 0
}

// fitsUnder returns ENAMETOOLONG, before anything is copied, if a key under
// fk (or a file open under from) would exceed OBS's key limit under tk.
func (f *FS) fitsUnder(keys []string, open []*node, fk, tk, from, to string) syscall.Errno {
	if len(tk) <= len(fk) {
		return 0
	}
	for _, k := range keys {
		if len(k)-len(fk)+len(tk) > maxKeyLen {
			return syscall.ENAMETOOLONG
		}
	}
	for _, d := range open {
		if p, ok := d.path(); ok && strings.HasPrefix(p, from+"/") && f.ns.checkPath(to+p[len(from):]) != 0 {
			return syscall.ENAMETOOLONG
		}
	}
	return 0
}

// listAll returns every key under prefix.
func (f *FS) listAll(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	marker := ""
	for {
		res, err := f.st.ListObjects(ctx, obsclient.ListOptions{Prefix: prefix, Marker: marker, MaxKeys: listPageSize})
		if err != nil {
			return nil, err
		}
		for _, o := range res.Objects {
			keys = append(keys, o.Key)
		}
		if !res.IsTruncated || res.NextMarker == "" {
			return keys, nil
		}
		marker = res.NextMarker
	}
}

// copyAll copies keys from one prefix to another in parallel. After the
// first failure, or an interrupt, it starts no more copies but lets those in
// flight finish (at most ParallelCount server-side copies): a cancelled
// request could still land on the server after the clean-up, leaving a stray
// copy. Then it deletes every copy it attempted, except the marker of a
// target directory that existed before (keepMarker), and returns the first
// error.
func (f *FS) copyAll(ctx context.Context, keys []string, from, to string, keepMarker bool) error {
	var (
		mu        sync.Mutex
		attempted []string
		firstErr  error // GUARDED_BY(mu)
		wg        sync.WaitGroup
		sem       = make(chan struct{}, f.opts.ParallelCount)
	)
	failed := func() bool { mu.Lock(); defer mu.Unlock(); return firstErr != nil }
	for _, k := range keys {
		sem <- struct{}{}
		if err := ctx.Err(); err != nil || failed() {
			<-sem
			mu.Lock()
			if firstErr == nil {
				firstErr = err
			}
			mu.Unlock()
			break
		}
		dst := to + k[len(from):]
		mu.Lock()
		attempted = append(attempted, dst)
		mu.Unlock()
		wg.Add(1)
		go func(k, dst string) {
			defer func() { <-sem; wg.Done() }()
			if err := f.copyKey(detach(ctx), dst, k); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}(k, dst)
	}
	wg.Wait()
	if firstErr != nil {
		undo := slices.DeleteFunc(attempted, func(k string) bool { return keepMarker && k == to })
		if err := f.deleteAll(detach(ctx), undo); err != nil {
			f.log.Warn("rename: removing partial copies", zap.String("prefix", to), zap.Error(err))
		}
	}
	return firstErr
}

// copyKey copies one key of a directory rename server-side, metadata and
// all. A directory marker the server will not copy is made anew: the posix
// backend of versitygw (an S3 server on a local filesystem) answers a copy of
// "d/" with 400 DirectoryObjectContainsData, as it measures the directory's
// inode; the marker is then PUT empty with the source's type and metadata
// (one HEAD and one PUT more, on such servers only).
func (f *FS) copyKey(ctx context.Context, dst, src string) error {
	_, err := f.st.CopyObject(ctx, dst, obsclient.CopySource{Key: src}, obsclient.CopyOptions{Directive: obsclient.MetadataCopy})
	if err == nil || !strings.HasSuffix(src, "/") || !obsclient.IsCode(err, "DirectoryObjectContainsData") {
		return err
	}
	info, herr := f.st.HeadObject(ctx, src, obsclient.GetOptions{})
	if herr != nil || info.Size != 0 {
		return errors.Join(err, herr)
	}
	_, err = f.st.PutObject(ctx, dst, bytes.NewReader(nil), 0, obsclient.WriteOptions{ContentType: info.ContentType, Metadata: info.Metadata})
	return err
}

// deleteAll deletes keys in batches of 1000, deepest first: a key sorts
// after the marker of every directory holding it, so the reverse order
// removes "d/f" before "d/" (a server that stores objects as files, like
// versitygw's posix backend, cannot remove a directory that still holds
// one).
func (f *FS) deleteAll(ctx context.Context, keys []string) error {
	keys = slices.Clone(keys)
	slices.Sort(keys)
	slices.Reverse(keys)
	for len(keys) > 0 {
		n := min(len(keys), 1000)
		ids := make([]obsclient.ObjectID, n)
		for i, k := range keys[:n] {
			ids[i] = obsclient.ObjectID{Key: k}
		}
		if _, err := f.st.DeleteObjects(ctx, ids); err != nil {
			return err
		}
		keys = keys[n:]
	}
	return nil
}

// renameFailed makes this mount ask the server again about both names
// after a rename that failed, possibly part-way (the copy made, the delete
// refused): otherwise a cached negative entry of the target, or the
// kernel's, says ENOENT while a listing shows it. The kernel's dentries
// are dropped from a goroutine: the kernel holds the directories' locks
// until the rename returns.
func (f *FS) renameFailed(n *node, name string, np *node, newName, from, to string) {
	for _, p := range []string{from, to} {
		f.invalidate(f.ns.fileKey(p))
		f.invalidatePrefix(f.ns.dirKey(p))
	}
	go func() {
		defer f.recoverBackground("rename: kernel notify")
		_ = n.NotifyEntry(name)
		_ = np.NotifyEntry(newName)
	}()
}

// renamed updates inode numbers, caches and nodes after a rename.
func (f *FS) renamed(np *node, newName, from, to string, dir bool) {
	if ci := np.GetChild(newName); ci != nil {
		if ch, ok := ci.Operations().(*node); ok {
			ch.markDeleted() // replaced; go-fuse moves the source node here next
		}
	}
	f.moveIno(from, to)
	for _, p := range []string{from, to} {
		f.invalidate(f.ns.fileKey(p))
		f.invalidatePrefix(f.ns.dirKey(p))
	}
	if !dir {
		f.meta.Negative.Put(f.ns.fileKey(from), struct{}{})
	}
}
