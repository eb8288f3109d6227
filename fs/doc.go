// Package fs is obsfs's filesystem: a go-fuse node tree that shows a bucket
// (or a prefix of one) as a directory. fs/SEMANTICS.md states what programs
// see; this essay says how the package is put together.
//
// # Layers inside the package
//
// The logic that decides what a path means is plain Go, tested without a
// mount:
//
//   - namespace.go: paths ⇄ keys under the mount prefix, which names can be
//     path segments, and pageMerger, which turns listing pages into directory
//     entries (hiding bad keys, letting a directory shadow a file of the same
//     name across page boundaries, in bounded memory).
//   - attrs.go: POSIX attributes ⇄ object metadata (mode, uid, gid, mtime,
//     ctime, atime — the keys s3fs and Huawei's obsfs use) with the mount's
//     defaults for objects that carry none.
//   - errno.go: the one place where an error becomes a syscall.Errno.
//
// The node methods (node.go, dir.go, file.go, meta.go, rename.go, xattr.go,
// statfs.go; dirtimes.go for directory times and link counts) are thin adapters from go-fuse calls to that logic, the caches
// and the object store. OBS management (bucket settings, object ACL, tags,
// storage class, restore, and their document formats) lives in package
// manage, beside transfer; fs keeps thin nodes for it: the hidden control
// directory (control.go: the directory and the handles of setting files;
// control_versions.go, control_uploads.go; control_stats.go: the request
// counters) and the reserved user.obs.* xattrs (xattr_obs.go), which call
// FS.mgr and map its errors in errno.go. One node type serves directories,
// files and symlinks; go-fuse tells them apart by the StableAttr mode.
//
// # State
//
// The server is the truth for everything not open for writing. In front of
// it sit the metadata caches of cache/meta.go (attributes by key, negative
// lookups), bounded and expiring after Options.StatCacheTTL, which is also
// the kernel's entry and attribute timeout. Local mutations update or drop
// cache entries at once.
//
// A file open for writing is the exception: its data lives in a
// transfer.Spool (a sparse local file that reads unfetched ranges through
// from the object, pinned by ETag) held by the node's writeState and shared
// by all handles of the node. Flush (close), fsync and FS.Flush commit it
// with transfer.Uploader; a failed commit keeps the spool for a retry. A
// flush of a handle that wrote nothing while the file is as create or
// O_TRUNC left it defers to the next flush or the release (the shells'
// dup2-then-close, file.go), so unlink, rename and metadata changes hold
// the node's commits (holdCommits) while they decide by its state.
// Growth is appended or copied on the server, O_APPEND creates appendable
// objects, and large files written from scratch stream their parts while
// being written (write.go, SEMANTICS.md 37-41). While
// a node holds local state, its attributes are local and lookups and
// listings of its directory include it even if the server does not know it
// yet.
//
// Paths are not stored in nodes: a node's key is derived from its position
// in go-fuse's tree (Inode.Path), which go-fuse updates on rename, so open
// files follow renames of themselves and of their directories. Inode numbers
// come from a path → number map (inodes.go): assigned on first sight, moved
// by rename, freed by unlink, so they are stable for the life of a mount and
// a new file at an old path is a new inode.
//
// # Listings
//
// Readdir streams a LIST page at a time and caches what the listing tells
// (kind, size, LastModified). Entries whose type the listing cannot tell
// (objects of at most 4 KiB: maybe s3fs-style symlinks) get bounded
// background HEADs at once (FS.prefetch); the others go to READDIRPLUS as
// plain dirents, and their HEADs start when a lookup first asks for one
// (statahead.go), so `find` sends only LISTs and `ls -l` concurrent HEADs
// that later lookups join (flight.go) instead of one request after another.
//
// # Concurrency
//
// Lock order: handle.rmu → writeState.commitMu → writeState.mu → node.mu →
// FS mutexes.
// No lock of ours is held while calling into go-fuse (tree changes,
// notifications) or while waiting on the network, except writeState.mu
// (read-held by a commit, so writes wait for an upload to finish). Panics in
// FUSE operations are turned into EIO by the mount's PanicHandler and
// logged. Every operation passes its request context down, so a FUSE
// interrupt cancels the requests it started (EINTR).
package fs
