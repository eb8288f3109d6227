package cache

// disk.go: the optional on-disk block cache, the second tier below Blocks.
//
// Layout: DIR/blocks/XX/<name>.blk, where <name> is the hex of the first 16
// bytes of SHA-256(BlockKey.String()) and XX its first two digits (256
// fan-out directories). DIR/blocks/tmp/ holds files being written. Each
// block file is a header followed by the payload:
//
//	magic    8 bytes  "obsfsBK1"
//	keyHash 32 bytes  SHA-256 of BlockKey.String() (object key, ETag, index)
//	index    8 bytes  BlockKey.Index, big endian (the read path stores the
//	                  block's byte offset there, see transfer/tier.go)
//	length   4 bytes  payload length, big endian
//	crc      4 bytes  CRC-32C (Castagnoli) of the payload
//	etagLen  2 bytes  length of the ETag
//	etag     etagLen bytes
//	payload  length bytes
//
// A read checks all of it (magic, key hash, index, ETag, exact file size,
// CRC); anything else — a truncated or garbage file, a file of another
// block — is a miss, and the file is removed so the block is refetched and
// rewritten. Blocks are keyed by ETag, so an unchanged object is served
// across remounts and a changed one never is.
//
// Recency: an in-memory LRU index of the files (name → size) orders
// eviction; a hit also sets the file's mtime, and at startup the index is
// rebuilt by scanning the directory, oldest mtime first. The cache is
// bounded by the bytes of its files (headers included): a Put evicts least
// recently used files until the new one fits.
//
// Sharing: several processes (two mounts) may use one directory without
// any lock. Files are written to a temp file and renamed into place, so a
// reader sees a whole file or none; a file vanishing underneath (evicted by
// the other process) is a miss; a file the other process wrote is adopted
// into the index when read. Each process enforces its bound on the files it
// knows, so the directory holds at most the sum of the bounds. On Linux,
// removing a file another process is reading is harmless.
//
// Free space: the directory is shared with the write spool, which must not
// run out of disk because of a cache. A Put that would leave less than
// minFree bytes available on the filesystem (the reserve: SetReserve, by
// default the smaller of 1 GiB and 5% of its size) first evicts this
// cache's own least recently used files, and is declined if that is not
// enough. A spool write that meets ENOSPC anyway (the spool grew after the
// cache filled the disk) calls Reclaim, which evicts until that write fits.
//
// No fsync: after a crash a block file may be short or hold zeroes; the
// checks above turn that into a miss.

import (
	"bytes"
	"container/list"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	diskMagic    = "obsfsBK1"
	diskHdrFixed = 8 + 32 + 8 + 4 + 4 + 2 // header without the ETag
	diskExt      = ".blk"
	// maxDiskPayload rejects absurd lengths before allocating.
	maxDiskPayload = 1 << 30
	// maxMinFree caps the free-space reserve (see the file comment).
	maxMinFree = 1 << 30
	// staleTempAge: temp files older than this are leftovers of a crash
	// (a live writer finishes in far less) and are removed at startup.
	staleTempAge = time.Hour
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// DiskStats counts the traffic of a Disk cache.
type DiskStats struct {
	Hits, Misses int64
	Evictions    int64 // files removed to make room
	Corrupt      int64 // files that failed verification (removed)
	Writes       int64 // blocks written
	NoSpace      int64 // writes declined to keep free space on the filesystem
	Reclaimed    int64 // bytes evicted to make room for spool writes (Reclaim)
	WriteErrors  int64
	Bytes        int64 // bytes of the files in the index
	Files        int
}

// Disk is a size-bounded LRU cache of blocks in a directory, safe for
// concurrent use and for sharing the directory with other processes.
type Disk struct {
	dir, tmp string
	max      int64
	minFree  int64                // bytes to leave available on the filesystem
	avail    func() (int64, bool) // bytes available on the filesystem
	now      func() time.Time

	mu sync.Mutex
	// GUARDED_BY(mu):
	ll    *list.List               // front = most recently used; values *diskEntry
	items map[string]*list.Element // name → element
	bytes int64                    // sum of sizes in items

	hits, misses, evictions, corrupt, writes, writeErrors, noSpace atomic.Int64
	reclaimed                                                      atomic.Int64
}

type diskEntry struct {
	name    string
	size    int64
	pending bool // being written by this process: not evictable, not forgettable
}

// OpenDisk opens (creating it if needed) the block cache under dir (the
// files go to dir/blocks), holding at most maxBytes of files. It scans the
// existing files to rebuild the LRU index and evicts the oldest if they
// exceed maxBytes (a lowered bound).
func OpenDisk(dir string, maxBytes int64) (*Disk, error) {
	if maxBytes <= 0 {
		return nil, errors.New("cache: disk cache size must be positive")
	}
	root := filepath.Join(dir, "blocks")
	d := &Disk{dir: root, tmp: filepath.Join(root, "tmp"), max: maxBytes, now: time.Now,
		ll: list.New(), items: map[string]*list.Element{}}
	if err := os.MkdirAll(d.tmp, 0o700); err != nil {
		return nil, fmt.Errorf("cache: disk cache: %w", err)
	}
	d.avail = d.statAvail
	d.minFree = d.defaultReserve()
	if err := d.scan(); err != nil {
		return nil, fmt.Errorf("cache: disk cache: %w", err)
	}
	return d, nil
}

// scan rebuilds the index from the directory.
func (d *Disk) scan() error {
	type found struct {
		name  string
		size  int64
		mtime time.Time
	}
	var files []found
	ents, err := os.ReadDir(d.dir)
	if err != nil {
		return err
	}
	for _, sub := range ents {
		if !sub.IsDir() {
			continue
		}
		if sub.Name() == "tmp" {
			d.sweepTemp()
			continue
		}
		inner, err := os.ReadDir(filepath.Join(d.dir, sub.Name()))
		if err != nil {
			continue // vanished or unreadable: not ours to fix
		}
		for _, e := range inner {
			name, ok := strings.CutSuffix(e.Name(), diskExt)
			if !ok || !validName(name) || name[:2] != sub.Name() {
				continue
			}
			info, err := e.Info()
			if err != nil || !info.Mode().IsRegular() {
				continue
			}
			files = append(files, found{name, info.Size(), info.ModTime()})
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].mtime.Before(files[j].mtime) })
	d.mu.Lock()
	for _, f := range files { // oldest first: each push to the front
		d.items[f.name] = d.ll.PushFront(&diskEntry{name: f.name, size: f.size})
		d.bytes += f.size
	}
	victims := d.evictLocked()
	d.mu.Unlock()
	d.unlink(victims)
	return nil
}

// statAvail reports the bytes available to unprivileged users on the
// cache's filesystem.
func (d *Disk) statAvail() (int64, bool) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(d.dir, &st); err != nil {
		return 0, false
	}
	return int64(st.Bavail) * st.Bsize, true
}

// SetMinFree replaces the free-space reserve (s3fs's ensure_diskfree):
// the cache evicts to keep n bytes available on its filesystem. n <= 0
// keeps the default (the smaller of 1 GiB and 5%). Call it before use.
func (d *Disk) SetMinFree(n int64) {
	if n > 0 {
		d.minFree = n
	}
}

// makeRoom evicts this cache's files until writing size more bytes leaves
// minFree available, and reports whether it does.
func (d *Disk) makeRoom(size int64) bool {
	d.mu.Lock()
	minFree := d.minFree
	d.mu.Unlock()
	if minFree <= 0 {
		return true
	}
	avail, ok := d.avail()
	if !ok || avail-size >= minFree {
		return true
	}
	need := minFree - (avail - size)
	d.mu.Lock()
	var victims []string
	var freed int64
	for el := d.ll.Back(); el != nil && freed < need; {
		prev := el.Prev()
		if e := el.Value.(*diskEntry); !e.pending {
			victims = append(victims, e.name)
			freed += e.size
			d.removeLocked(el)
		}
		el = prev
	}
	d.evictions.Add(int64(len(victims)))
	d.mu.Unlock()
	d.unlink(victims)
	return freed >= need
}

// SetReserve sets the bytes a Put must leave available on the cache's
// filesystem (s3fs's ensure_diskfree); 0 restores the default, the
// smaller of 1 GiB and 5% of the filesystem.
func (d *Disk) SetReserve(bytes int64) {
	if bytes <= 0 {
		bytes = d.defaultReserve()
	}
	d.mu.Lock()
	d.minFree = bytes
	d.mu.Unlock()
}

// Reserve is the free space Put keeps on the filesystem.
func (d *Disk) Reserve() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.minFree
}

func (d *Disk) defaultReserve() int64 {
	var st syscall.Statfs_t
	if err := syscall.Statfs(d.dir, &st); err != nil {
		return 0
	}
	return min(maxMinFree, int64(st.Blocks)*st.Bsize/20)
}

// Reclaim evicts least recently used files until need bytes are freed or
// the cache is empty, and returns the bytes freed. The write spool calls
// it when a write meets ENOSPC: the cache gives way to writes.
func (d *Disk) Reclaim(need int64) int64 {
	d.mu.Lock()
	var victims []string
	var freed int64
	for el := d.ll.Back(); el != nil && freed < need; {
		prev := el.Prev()
		if e := el.Value.(*diskEntry); !e.pending {
			victims = append(victims, e.name)
			freed += e.size
			d.removeLocked(el)
		}
		el = prev
	}
	d.evictions.Add(int64(len(victims)))
	d.reclaimed.Add(freed)
	d.mu.Unlock()
	d.unlink(victims)
	return freed
}

// sweepTemp removes temp files left behind by a crash.
func (d *Disk) sweepTemp() {
	ents, err := os.ReadDir(d.tmp)
	if err != nil {
		return
	}
	for _, e := range ents {
		if info, err := e.Info(); err == nil && d.now().Sub(info.ModTime()) > staleTempAge {
			_ = os.Remove(filepath.Join(d.tmp, e.Name()))
		}
	}
}

func validName(s string) bool {
	if len(s) != 32 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// keyHash is the SHA-256 of the key's string form.
func keyHash(key BlockKey) [32]byte { return sha256.Sum256([]byte(key.String())) }

func diskName(h [32]byte) string { return hex.EncodeToString(h[:16]) }

func (d *Disk) path(name string) string {
	return filepath.Join(d.dir, name[:2], name+diskExt)
}

// Path is the file a block is stored in (tests, diagnostics).
func (d *Disk) Path(key BlockKey) string { return d.path(diskName(keyHash(key))) }

// MaxBytes is the bound given to OpenDisk.
func (d *Disk) MaxBytes() int64 { return d.max }

// Get returns the block if a valid file holds it. A file that fails
// verification is removed and reported as a miss.
func (d *Disk) Get(key BlockKey) ([]byte, bool) {
	if key.ETag == "" {
		d.misses.Add(1)
		return nil, false
	}
	h := keyHash(key)
	name := diskName(h)
	p := d.path(name)
	raw, err := readBlockFile(p)
	if err != nil {
		d.misses.Add(1)
		if errors.Is(err, fs.ErrNotExist) {
			d.forget(name)
		} else if errors.Is(err, errCorrupt) {
			d.corrupt.Add(1)
			d.drop(name, p)
		}
		return nil, false
	}
	data, err := decodeBlock(raw, key, h)
	if err != nil {
		d.misses.Add(1)
		d.corrupt.Add(1)
		d.drop(name, p)
		return nil, false
	}
	d.hits.Add(1)
	now := d.now()
	_ = os.Chtimes(p, now, now) // recency for the next startup scan
	d.mu.Lock()
	victims := d.useLocked(name, int64(len(raw)))
	d.mu.Unlock()
	d.unlink(victims)
	return data, true
}

var errCorrupt = errors.New("cache: corrupt block file")

// readBlockFile reads a whole block file, refusing absurd sizes.
func readBlockFile(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() || info.Size() < diskHdrFixed || info.Size() > diskHdrFixed+1<<16+maxDiskPayload {
		return nil, errCorrupt
	}
	raw := make([]byte, info.Size())
	if _, err := io.ReadFull(f, raw); err != nil {
		return nil, errCorrupt // shrank under us (or I/O error): do not trust it
	}
	return raw, nil
}

// encodeHeader returns the header of a block file for key and payload.
func encodeHeader(key BlockKey, h [32]byte, data []byte) []byte {
	hdr := make([]byte, diskHdrFixed, diskHdrFixed+len(key.ETag))
	copy(hdr, diskMagic)
	copy(hdr[8:], h[:])
	binary.BigEndian.PutUint64(hdr[40:], uint64(key.Index))
	binary.BigEndian.PutUint32(hdr[48:], uint32(len(data)))
	binary.BigEndian.PutUint32(hdr[52:], crc32.Checksum(data, castagnoli))
	binary.BigEndian.PutUint16(hdr[56:], uint16(len(key.ETag)))
	return append(hdr, key.ETag...)
}

// decodeBlock verifies raw as the file of key and returns its payload.
func decodeBlock(raw []byte, key BlockKey, h [32]byte) ([]byte, error) {
	if len(raw) < diskHdrFixed || string(raw[:8]) != diskMagic {
		return nil, errCorrupt
	}
	if !bytes.Equal(raw[8:40], h[:]) || int64(binary.BigEndian.Uint64(raw[40:])) != key.Index {
		return nil, fmt.Errorf("%w: another block", errCorrupt)
	}
	n := int64(binary.BigEndian.Uint32(raw[48:]))
	sum := binary.BigEndian.Uint32(raw[52:])
	elen := int64(binary.BigEndian.Uint16(raw[56:]))
	if int64(len(raw)) != diskHdrFixed+elen+n {
		return nil, fmt.Errorf("%w: size", errCorrupt)
	}
	if string(raw[diskHdrFixed:diskHdrFixed+elen]) != key.ETag {
		return nil, fmt.Errorf("%w: etag", errCorrupt)
	}
	data := raw[diskHdrFixed+elen:]
	if crc32.Checksum(data, castagnoli) != sum {
		return nil, fmt.Errorf("%w: checksum", errCorrupt)
	}
	return data, nil
}

// Put stores a block. It returns without writing when the block is empty,
// has no ETag (it could not be told from another version after a remount),
// is already cached, or cannot fit at all. The file is written to a temp
// file and renamed into place.
func (d *Disk) Put(key BlockKey, data []byte) error {
	if len(data) == 0 || key.ETag == "" || len(key.ETag) > 1<<16-1 || len(data) > maxDiskPayload {
		return nil
	}
	h := keyHash(key)
	name := diskName(h)
	hdr := encodeHeader(key, h, data)
	size := int64(len(hdr) + len(data))
	if size > d.max {
		return nil
	}
	d.mu.Lock()
	_, have := d.items[name]
	d.mu.Unlock()
	if have {
		return nil
	}
	if !d.makeRoom(size) {
		d.noSpace.Add(1)
		return nil
	}
	d.mu.Lock()
	if _, ok := d.items[name]; ok {
		d.mu.Unlock()
		return nil
	}
	e := &diskEntry{name: name, size: size, pending: true}
	d.items[name] = d.ll.PushFront(e)
	d.bytes += size
	victims := d.evictLocked()
	d.mu.Unlock()
	d.unlink(victims)

	err := d.write(name, hdr, data)
	d.mu.Lock()
	e.pending = false
	if err != nil {
		if el, ok := d.items[name]; ok && el.Value == e {
			d.removeLocked(el)
		}
	}
	d.mu.Unlock()
	if err != nil {
		d.writeErrors.Add(1)
		return fmt.Errorf("cache: disk cache write: %w", err)
	}
	d.writes.Add(1)
	return nil
}

// write puts the file in place through a temp file and a rename.
func (d *Disk) write(name string, hdr, data []byte) error {
	f, err := os.CreateTemp(d.tmp, "blk-*")
	if errors.Is(err, fs.ErrNotExist) { // tmp removed underneath (e.g. cache dir wiped)
		if err = os.MkdirAll(d.tmp, 0o700); err == nil {
			f, err = os.CreateTemp(d.tmp, "blk-*")
		}
	}
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(hdr)
	if err == nil {
		_, err = f.Write(data)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		final := d.path(name)
		err = os.Rename(tmp, final)
		if errors.Is(err, fs.ErrNotExist) {
			if err = os.MkdirAll(filepath.Dir(final), 0o700); err == nil {
				err = os.Rename(tmp, final)
			}
		}
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}

// useLocked marks name most recently used, adopting it into the index if
// another process wrote it. It returns files to evict. REQUIRES mu.
func (d *Disk) useLocked(name string, size int64) []string {
	if el, ok := d.items[name]; ok {
		d.ll.MoveToFront(el)
		return nil
	}
	d.items[name] = d.ll.PushFront(&diskEntry{name: name, size: size})
	d.bytes += size
	return d.evictLocked()
}

// evictLocked removes least recently used entries until the cache holds at
// most max bytes, and returns their names for unlinking outside the
// lock. Pending entries are skipped. REQUIRES mu.
func (d *Disk) evictLocked() []string {
	var victims []string
	for el := d.ll.Back(); el != nil && d.bytes > d.max; {
		prev := el.Prev()
		if e := el.Value.(*diskEntry); !e.pending {
			victims = append(victims, e.name)
			d.removeLocked(el)
		}
		el = prev
	}
	d.evictions.Add(int64(len(victims)))
	return victims
}

func (d *Disk) removeLocked(el *list.Element) {
	e := d.ll.Remove(el).(*diskEntry)
	delete(d.items, e.name)
	d.bytes -= e.size
}

func (d *Disk) unlink(names []string) {
	for _, n := range names {
		_ = os.Remove(d.path(n)) // gone already (another process): fine
	}
}

// forget drops name from the index (its file vanished).
func (d *Disk) forget(name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if el, ok := d.items[name]; ok && !el.Value.(*diskEntry).pending {
		d.removeLocked(el)
	}
}

// drop removes a bad file and its index entry.
func (d *Disk) drop(name, p string) {
	d.mu.Lock()
	el, ok := d.items[name]
	pending := ok && el.Value.(*diskEntry).pending
	if ok && !pending {
		d.removeLocked(el)
	}
	d.mu.Unlock()
	if !pending { // a write of ours in progress replaces it anyway
		_ = os.Remove(p)
	}
}

// Stats returns the counters and the current size.
func (d *Disk) Stats() DiskStats {
	d.mu.Lock()
	b, n := d.bytes, len(d.items)
	d.mu.Unlock()
	return DiskStats{Hits: d.hits.Load(), Misses: d.misses.Load(), Evictions: d.evictions.Load(),
		Corrupt: d.corrupt.Load(), Writes: d.writes.Load(), NoSpace: d.noSpace.Load(), Reclaimed: d.reclaimed.Load(), WriteErrors: d.writeErrors.Load(), Bytes: b, Files: n}
}
