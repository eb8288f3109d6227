package transfer

// journal.go: the write-back cache survives the process.
//
// With a Journal, a spool's data file is a named file in the journal
// directory (<id>.data) and, from the moment the spool holds something to
// commit, a record beside it (<id>.jnl) says what that data is: the key,
// the base object (ETag, size, version, appendable state), the object
// metadata (mode, uid, gid, times, xattrs, content type), the logical size,
// the bytes that differ from the base, and the multipart uploads the spool
// started and has not finished. The next mount with the same directory
// replays the records (Recover) and commits each file, so data written to
// the mount survives kill -9, an OOM kill or a reboot.
//
// # Record format
//
// A record is a sequence of entries, each
//
//	length  4 bytes  payload length, little endian
//	crc     4 bytes  CRC-32C (Castagnoli) of the payload, little endian
//	payload length bytes: one JSON object (jEntry)
//
// The first entry is a full state ("state"); the others are deltas applied
// in order: "write" (bytes [off, end) written), "have" (base bytes
// [off, end) fetched into the data file), "trunc" (new size),
// "describe" (key and metadata changed), "upload" / "uploaded" (a multipart
// upload started / completed or aborted), or a new full "state" (after a
// commit). Each entry is one write(2) of the whole entry, so a process
// killed at any point leaves whole entries (the page cache keeps them); a
// machine that loses power may leave a torn or garbage tail. Replay stops
// at the first entry that is short, too long or fails its CRC, with a log
// line: the entries before it are a consistent history. A record whose
// first entry is bad is ignored (renamed to .corrupt, with a log line),
// never a panic.
//
// # Durability
//
// Appending an entry costs one write(2), no fsync: a killed process loses
// nothing the kernel has. fsync (data file, record, directory) runs where
// a promise is made: when a commit fails (the data of a failed close or
// fsync survives a reboot) and when a multipart upload starts (so a reboot
// does not forget an upload that costs storage). A record whose spool
// becomes clean after a commit is removed; so are both files when the
// spool closes or its file is deleted (Forget). A record that grew past
// compactAt is replaced, atomically, by one state entry.
//
// Nothing secret goes into a record: the mount's ACL, storage class and
// SSE settings (with an SSE-C key) are applied again by the mount that
// recovers.

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"go.uber.org/zap"
)

const (
	journalExt = ".jnl"
	dataExt    = ".data"
	corruptExt = ".corrupt"
	// maxJournalEntry bounds one entry's payload (a state lists intervals).
	maxJournalEntry = 64 << 20
)

var journalCRC = crc32.MakeTable(crc32.Castagnoli)

// JournalConfig configures a Journal.
type JournalConfig struct {
	// Dir holds the spools' data files and their records. It must be on
	// a persistent filesystem for recovery across a reboot.
	Dir string
	// Bucket is written into every record; Recover skips records of
	// another bucket (a cache dir reused by another mount).
	Bucket string
	// Reclaim frees local disk space (the disk block cache) when a spool
	// write meets ENOSPC; it returns the bytes freed. Optional.
	Reclaim func(need int64) int64
	Logger  *zap.Logger
}

// Journal creates journaled spools in one directory and recovers them.
type Journal struct {
	cfg JournalConfig
	log *zap.Logger
}

// OpenJournal prepares the directory (mode 0700).
func OpenJournal(cfg JournalConfig) (*Journal, error) {
	if cfg.Dir == "" {
		return nil, errors.New("transfer: journal needs a directory")
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("transfer: journal: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	return &Journal{cfg: cfg, log: cfg.Logger}, nil
}

// Dir is the journal directory.
func (j *Journal) Dir() string { return j.cfg.Dir }

// NewSpool is transfer.NewSpool with a named data file in the journal
// directory; the spool writes its record once it has something to commit
// (a new file from the start), after Describe named its key.
func (j *Journal) NewSpool(base *Base, src ObjectSource) (*Spool, error) {
	f, err := os.CreateTemp(j.cfg.Dir, "*"+dataExt)
	if err != nil {
		return nil, fmt.Errorf("transfer: create spool: %w", err)
	}
	s := newSpoolFile(f, base, src)
	s.jr = j
	s.reclaim = j.cfg.Reclaim
	s.jid = strings.TrimSuffix(filepath.Base(f.Name()), dataExt)
	return s, nil
}

// jEntry is one journal entry (see the file comment).
type jEntry struct {
	Op string `json:"op"`
	// state
	Bucket      string            `json:"bucket,omitempty"`
	Key         string            `json:"key,omitempty"`
	Meta        map[string]string `json:"meta,omitempty"`
	ContentType string            `json:"ctype,omitempty"`
	Base        *Base             `json:"base,omitempty"`
	Size        int64             `json:"size,omitempty"`
	BaseLen     int64             `json:"baselen,omitempty"`
	Dirty       []Interval        `json:"dirty,omitempty"`
	Present     []Interval        `json:"present,omitempty"` // local bytes (base bytes fetched too)
	Appendable  bool              `json:"appendable,omitempty"`
	Changed     bool              `json:"changed,omitempty"`
	Uploads     map[string]string `json:"uploads,omitempty"` // upload id → key
	// write: [Off, End); trunc: Size
	Off int64 `json:"off,omitempty"`
	End int64 `json:"end,omitempty"`
	// upload, uploaded
	UploadID string `json:"upload,omitempty"`
}

// encodeEntry frames e.
func encodeEntry(e jEntry) ([]byte, error) {
	payload, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 8+len(payload))
	binary.LittleEndian.PutUint32(buf[0:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(buf[4:], crc32.Checksum(payload, journalCRC))
	copy(buf[8:], payload)
	return buf, nil
}

// decodeEntries splits raw into entries. It stops at the first bad entry
// and reports why (bad == "" when raw ended cleanly).
func decodeEntries(raw []byte) (out []jEntry, bad string) {
	for off := 0; off < len(raw); {
		if len(raw)-off < 8 {
			return out, fmt.Sprintf("torn entry header at offset %d", off)
		}
		n := int(binary.LittleEndian.Uint32(raw[off:]))
		sum := binary.LittleEndian.Uint32(raw[off+4:])
		if n <= 0 || n > maxJournalEntry || n > len(raw)-off-8 {
			return out, fmt.Sprintf("torn or oversized entry at offset %d (length %d)", off, n)
		}
		payload := raw[off+8 : off+8+n]
		if crc32.Checksum(payload, journalCRC) != sum {
			return out, fmt.Sprintf("checksum mismatch at offset %d", off)
		}
		var e jEntry
		if err := json.Unmarshal(payload, &e); err != nil {
			return out, fmt.Sprintf("undecodable entry at offset %d: %v", off, err)
		}
		out = append(out, e)
		off += 8 + n
	}
	return out, ""
}

// record is a replayed journal: what a crashed spool held.
type record struct {
	Bucket, Key string
	Meta        map[string]string
	ContentType string
	Base        *Base
	Size        int64
	BaseLen     int64
	Dirty       Ranges
	Present     Ranges // local bytes: dirty ones and fetched base bytes
	Appendable  bool
	Changed     bool
	Uploads     map[string]string // open multipart uploads: id → key
}

// replay folds entries into a record. The first entry must be a state;
// an entry that makes no sense (negative sizes, unknown op) ends the replay
// like a torn one.
func replay(es []jEntry) (rec record, used int, bad string) {
	if len(es) == 0 {
		return rec, 0, "empty journal"
	}
	for i, e := range es {
		switch {
		case e.Op == "state":
			if e.Size < 0 || e.BaseLen < 0 || e.BaseLen > e.Size || e.Base != nil && e.BaseLen > e.Base.Size {
				return rec, i, fmt.Sprintf("entry %d: inconsistent state", i)
			}
			rec = record{Bucket: e.Bucket, Key: e.Key, Meta: e.Meta, ContentType: e.ContentType, Base: e.Base,
				Size: e.Size, BaseLen: e.BaseLen, Appendable: e.Appendable, Changed: e.Changed, Uploads: map[string]string{}}
			for _, iv := range e.Dirty {
				if iv.Start < 0 || iv.End > e.Size || iv.Start >= iv.End {
					return rec, i, fmt.Sprintf("entry %d: interval out of range", i)
				}
				rec.Dirty.Add(iv.Start, iv.End)
				rec.Present.Add(iv.Start, iv.End)
			}
			for _, iv := range e.Present {
				if iv.Start < 0 || iv.End > e.Size || iv.Start >= iv.End {
					return rec, i, fmt.Sprintf("entry %d: interval out of range", i)
				}
				rec.Present.Add(iv.Start, iv.End)
			}
			for id, k := range e.Uploads {
				rec.Uploads[id] = k
			}
		case i == 0:
			return rec, 0, "journal does not start with a state"
		case e.Op == "write" && e.Off >= 0 && e.End > e.Off:
			from := min(e.Off, rec.Size)
			rec.Dirty.Add(from, e.End)
			rec.Present.Add(from, e.End)
			rec.Size = max(rec.Size, e.End)
			rec.Changed = true
		case e.Op == "trunc" && e.Size >= 0:
			if e.Size < rec.Size {
				rec.Dirty.Remove(e.Size, rec.Size)
				rec.Present.Remove(e.Size, rec.Size)
				rec.BaseLen = min(rec.BaseLen, e.Size)
			} else if e.Size > rec.Size {
				rec.Dirty.Add(rec.Size, e.Size)
				rec.Present.Add(rec.Size, e.Size)
			}
			if e.Size != rec.Size {
				rec.Changed = true
			}
			rec.Size = e.Size
		case e.Op == "have" && e.Off >= 0 && e.End > e.Off:
			rec.Present.Add(e.Off, min(e.End, rec.Size))
		case e.Op == "describe" && e.Key != "":
			rec.Key, rec.Meta, rec.ContentType = e.Key, e.Meta, e.ContentType
		case e.Op == "upload" && e.UploadID != "":
			rec.Uploads[e.UploadID] = e.Key
		case e.Op == "uploaded" && e.UploadID != "":
			delete(rec.Uploads, e.UploadID)
		default:
			return rec, i, fmt.Sprintf("entry %d: bad %q entry", i, e.Op)
		}
	}
	return rec, len(es), ""
}

// readRecord reads and replays one journal file.
func readRecord(path string) (record, string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return record{}, "", err
	}
	es, bad := decodeEntries(raw)
	rec, used, rbad := replay(es)
	if rbad != "" {
		if used == 0 {
			return rec, rbad, errCorruptJournal
		}
		bad = rbad
	}
	if len(es) == 0 {
		return rec, bad, errCorruptJournal
	}
	return rec, bad, nil
}

var errCorruptJournal = errors.New("transfer: corrupt journal")

// ---- the spool's side ----

// Describe names the object the spool will be committed as (key) and its
// metadata; a journaled spool records them (fs calls it when the write
// state is created, renamed, or its metadata changes). A new file is
// dirty from the start, so its record is written now.
func (s *Spool) Describe(key string, meta map[string]string, contentType string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jkey, s.jmeta, s.jctype = key, copyMeta(meta), contentType
	if s.jr == nil || s.closed {
		return
	}
	if s.jf != nil {
		s.jAppendLocked(jEntry{Op: "describe", Key: key, Meta: s.jmeta, ContentType: contentType})
		return
	}
	if s.changed {
		s.jStartLocked()
	}
}

func copyMeta(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// stateLocked is the full state entry. REQUIRES mu.
func (s *Spool) stateLocked() jEntry {
	e := jEntry{Op: "state", Bucket: s.jr.cfg.Bucket, Key: s.jkey, Meta: s.jmeta, ContentType: s.jctype,
		Size: s.size, BaseLen: s.baseLen, Dirty: s.dirty.Intervals(), Present: s.present.Intervals(),
		Appendable: s.appendable, Changed: s.changed}
	if s.base != nil {
		b := *s.base
		e.Base = &b
	}
	if len(s.juploads) > 0 {
		e.Uploads = copyMeta(s.juploads)
	}
	return e
}

// jStartLocked creates the record with the current state. REQUIRES mu.
func (s *Spool) jStartLocked() {
	if s.jr == nil || s.jf != nil || s.jbroken || s.jkey == "" {
		return
	}
	f, err := os.OpenFile(s.journalPath(), os.O_RDWR|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o600)
	if err != nil {
		s.jBreakLocked(err)
		return
	}
	s.jf, s.jnew, s.jsize = f, true, 0
	s.jAppendLocked(s.stateLocked())
}

// jNoteLocked records a mutation (the record is created by the first).
// REQUIRES mu.
func (s *Spool) jNoteLocked(e jEntry) {
	if s.jr == nil || s.jbroken {
		return
	}
	if s.jf == nil {
		s.jStartLocked() // the state includes this mutation
		return
	}
	s.jAppendLocked(e)
}

// jAppendLocked writes one entry; a failure (after reclaiming space once
// on ENOSPC) drops the record: better no recovery than a wrong one.
// REQUIRES mu.
func (s *Spool) jAppendLocked(e jEntry) {
	if s.jf == nil {
		return
	}
	if s.jsize > compactAt {
		if st, err := encodeEntry(s.stateLocked()); err == nil && s.jsize > 4*int64(len(st)) {
			if err := s.jRewriteLocked(); err != nil {
				s.jBreakLocked(err)
			}
			return // the new state holds e: entries are written after their change
		}
	}
	buf, err := encodeEntry(e)
	if err == nil {
		s.jsize += int64(len(buf))
		_, err = s.jf.Write(buf)
		if errors.Is(err, syscall.ENOSPC) && s.reclaim != nil && s.reclaim(int64(len(buf))+reclaimSlack) > 0 {
			// A short write left a torn tail: rewrite the whole state.
			if err = s.jf.Truncate(0); err == nil {
				buf, err = encodeEntry(s.stateLocked())
				if err == nil {
					s.jsize = int64(len(buf))
					_, err = s.jf.Write(buf)
				}
			}
		}
	}
	if err != nil {
		s.jBreakLocked(err)
	}
}

// jBreakLocked gives up journaling this spool. REQUIRES mu.
func (s *Spool) jBreakLocked(err error) {
	s.jr.log.Warn("write journal failed: this file's unsaved data will not survive a crash",
		zap.String("key", s.jkey), zap.Error(err))
	s.jbroken = true
	s.jDropLocked()
}

// jDropLocked removes the record (the data file stays). REQUIRES mu.
func (s *Spool) jDropLocked() {
	if s.jf != nil {
		_ = s.jf.Close()
		s.jf = nil
	}
	if s.jr != nil {
		_ = os.Remove(s.journalPath())
	}
}

// jRebasedLocked follows a commit: a clean spool needs no record, a spool
// written meanwhile gets its full state. REQUIRES mu.
func (s *Spool) jRebasedLocked() {
	if s.jr == nil || s.jbroken {
		return
	}
	if !s.changed && len(s.juploads) == 0 {
		s.jDropLocked()
		return
	}
	if s.jf != nil {
		s.jAppendLocked(s.stateLocked())
	} else {
		s.jStartLocked()
	}
}

func (s *Spool) journalPath() string { return filepath.Join(s.jr.cfg.Dir, s.jid+journalExt) }
func (s *Spool) dataPath() string    { return filepath.Join(s.jr.cfg.Dir, s.jid+dataExt) }

// noteCommit records the key and metadata a commit writes (they may have
// changed since Describe).
func (s *Spool) noteCommit(key string, meta map[string]string, contentType string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.jr == nil || s.closed || key == s.jkey && s.jctype == contentType && sameStrings(meta, s.jmeta) {
		return
	}
	s.jkey, s.jmeta, s.jctype = key, copyMeta(meta), contentType
	if s.jf != nil {
		s.jAppendLocked(jEntry{Op: "describe", Key: key, Meta: s.jmeta, ContentType: contentType})
	}
}

func sameStrings(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// noteUpload records a multipart upload started for this spool, durably:
// a reboot must not forget an upload that holds storage.
func (s *Spool) noteUpload(key, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.jr == nil || s.closed {
		return
	}
	if s.juploads == nil {
		s.juploads = map[string]string{}
	}
	s.juploads[id] = key
	if s.jf == nil {
		s.jStartLocked()
	} else {
		s.jAppendLocked(jEntry{Op: "upload", Key: key, UploadID: id})
	}
	s.jSyncLocked(false)
}

// noteUploadDone records that an upload was completed or aborted.
func (s *Spool) noteUploadDone(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.jr == nil || s.closed || s.juploads[id] == "" {
		return
	}
	delete(s.juploads, id)
	s.jAppendLocked(jEntry{Op: "uploaded", UploadID: id})
}

// Sync makes the spool's data and record durable (fsync of the data file,
// the record and, when the record is new, the directory). Uploader calls
// it when a commit fails, so the data of a failed close survives a reboot.
func (s *Spool) Sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.jr == nil || s.closed {
		return nil
	}
	if s.jf == nil && s.changed {
		s.jStartLocked()
	}
	return s.jSyncLocked(true)
}

// jSyncLocked fsyncs the record (and the data file with data). REQUIRES mu.
func (s *Spool) jSyncLocked(data bool) error {
	if s.jf == nil {
		return nil
	}
	var errs []error
	if data {
		errs = append(errs, s.f.Sync())
	}
	errs = append(errs, s.jf.Sync())
	if s.jnew {
		if d, err := os.Open(s.jr.cfg.Dir); err == nil {
			errs = append(errs, d.Sync())
			d.Close()
		}
		s.jnew = false
	}
	return errors.Join(errs...)
}

// Forget stops journaling and removes the spool's files (the open file
// stays usable until Close): fs calls it when the file is deleted, so a
// crash does not bring it back.
func (s *Spool) Forget() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forgetLocked()
}

func (s *Spool) forgetLocked() {
	if s.jr == nil {
		return
	}
	s.jDropLocked()
	_ = os.Remove(s.dataPath())
	s.jr = nil
}

// adoptRecord journals a spool rebuilt by Recover in its old record,
// replaced atomically by one fresh state (a torn tail is gone).
func (s *Spool) adoptRecord(j *Journal, id string, rec record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jr, s.jid = j, id
	s.jkey, s.jmeta, s.jctype = rec.Key, rec.Meta, rec.ContentType
	err := s.jRewriteLocked()
	if err != nil {
		s.jr, s.jf = nil, nil
	}
	return err
}

// jRewriteLocked replaces the record by one state entry, atomically (a
// temp file renamed over it) and reopens it for appending. REQUIRES mu.
func (s *Spool) jRewriteLocked() error {
	buf, err := encodeEntry(s.stateLocked())
	if err != nil {
		return err
	}
	tmp := s.journalPath() + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(buf)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, s.journalPath())
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if s.jf != nil {
		_ = s.jf.Close()
	}
	s.jf, err = os.OpenFile(s.journalPath(), os.O_WRONLY|os.O_APPEND, 0)
	s.jsize = int64(len(buf))
	return err
}

// compactAt: a record that grew past this (and past 4× its state) is
// rewritten as one state entry, so a file written for hours keeps a small
// record.
const compactAt = 4 << 20

// detachJournal stops journaling without touching the files.
func (s *Spool) detachJournal() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.jf != nil {
		_ = s.jf.Close()
		s.jf = nil
	}
	s.jr = nil
}

// reclaimSlack is asked for beyond the bytes a failed write needed, so a
// burst of writes does not reclaim block by block.
const reclaimSlack = 4 << 20

// SetReclaim installs a function that frees local disk space when a
// spool write meets ENOSPC (the disk block cache gives way to writes).
func (s *Spool) SetReclaim(fn func(need int64) int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reclaim = fn
}

// writeFileLocked writes p at off of the data file; on ENOSPC it asks
// reclaim for space and retries the rest once. REQUIRES mu.
func (s *Spool) writeFileLocked(p []byte, off int64) (int, error) {
	n, err := s.f.WriteAt(p, off)
	if err != nil && errors.Is(err, syscall.ENOSPC) && s.reclaim != nil {
		if s.reclaim(int64(len(p)-n)+reclaimSlack) > 0 {
			var m int
			m, err = s.f.WriteAt(p[n:], off+int64(n))
			n += m
		}
	}
	return n, err
}

var _ io.WriterAt = (*os.File)(nil)
