package transfer

// recover.go: the next mount commits what a crashed one left in the
// journal directory (journal.go).
//
// For each record, oldest first: the multipart uploads it started and did
// not finish are aborted; a file with nothing to commit is removed; a file
// whose object on the server is still the base it was written over (same
// ETag; or still absent for a new file) is committed as that object, with
// the metadata of the record and this mount's ACL, storage class and
// encryption; a file whose object changed meanwhile is committed beside
// it, as KEY.obsfs-recovered-<UTC time>, never over another writer's data.
// A file that cannot be rebuilt (its base is gone and some of its bytes
// were never local) is moved to DIR/recovered/ with a log line. A commit
// that fails (server unreachable) keeps the record for the next mount.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/obsfs/obsfs/obsclient"
)

// RecoveredSuffix marks the key a conflicting recovered file is kept under:
// KEY + RecoveredSuffix + "20060102T150405Z".
const RecoveredSuffix = ".obsfs-recovered-"

// RecoverConfig says how to commit recovered files.
type RecoverConfig struct {
	Client   Client
	Uploader *Uploader
	// Options builds the write options of a file from its recorded
	// metadata (fs adds the mount's ACL, storage class, SSE).
	Options func(meta map[string]string, contentType string) obsclient.WriteOptions
	// Head are the options of the HEAD that checks the base (SSE-C key).
	Head obsclient.GetOptions
	Now  func() time.Time
}

// RecoverResult counts what Recover did.
type RecoverResult struct {
	Committed int // committed as their own key
	Conflicts int // committed beside a changed object (RecoveredSuffix)
	Stranded  int // moved to DIR/recovered: could not be rebuilt
	Failed    int // kept for the next mount (commit failed)
	Discarded int // nothing to commit
	Corrupt   int // unreadable records (renamed .corrupt)
	Foreign   int // records of another bucket (left alone)
	Aborted   int // multipart uploads aborted
	Bytes     int64
}

// Recover commits the records left in the journal directory. Call it
// before the mount serves (and while holding the directory's lock).
func (j *Journal) Recover(ctx context.Context, rc RecoverConfig) (RecoverResult, error) {
	var res RecoverResult
	if rc.Now == nil {
		rc.Now = time.Now
	}
	ents, err := os.ReadDir(j.cfg.Dir)
	if err != nil {
		return res, fmt.Errorf("transfer: journal: %w", err)
	}
	type rf struct {
		id  string
		mod time.Time
	}
	var recs []rf
	datas := map[string]bool{}
	for _, e := range ents {
		name := e.Name()
		if id, ok := strings.CutSuffix(name, journalExt); ok {
			if info, err := e.Info(); err == nil {
				recs = append(recs, rf{id, info.ModTime()})
			}
		} else if id, ok := strings.CutSuffix(name, dataExt); ok {
			datas[id] = true
		}
	}
	sort.Slice(recs, func(a, b int) bool { return recs[a].mod.Before(recs[b].mod) })
	var errs []error
	for _, r := range recs {
		delete(datas, r.id)
		if err := j.recoverOne(ctx, rc, r.id, &res); err != nil {
			errs = append(errs, err)
		}
	}
	for id := range datas { // spools that never had anything to commit
		_ = os.Remove(filepath.Join(j.cfg.Dir, id+dataExt))
	}
	return res, errors.Join(errs...)
}

// Sweep removes the data files that have no record (spools with nothing to
// commit), and reports whether the directory holds no record either. Call
// it only when no spool of this journal is in use (at exit).
func (j *Journal) Sweep() (empty bool) {
	ents, err := os.ReadDir(j.cfg.Dir)
	if err != nil {
		return false
	}
	recs := map[string]bool{}
	for _, e := range ents {
		if id, ok := strings.CutSuffix(e.Name(), journalExt); ok {
			recs[id] = true
		}
	}
	empty = true
	for _, e := range ents {
		if id, ok := strings.CutSuffix(e.Name(), dataExt); ok && !recs[id] {
			_ = os.Remove(filepath.Join(j.cfg.Dir, e.Name()))
		} else if e.Name() != ".lock" {
			empty = false
		}
	}
	return empty
}

func (j *Journal) recoverOne(ctx context.Context, rc RecoverConfig, id string, res *RecoverResult) error {
	jp, dp := filepath.Join(j.cfg.Dir, id+journalExt), filepath.Join(j.cfg.Dir, id+dataExt)
	rec, bad, err := readRecord(jp)
	if err != nil {
		res.Corrupt++
		j.log.Error("recovery: unreadable write journal ignored (renamed .corrupt)", zap.String("journal", jp),
			zap.String("why", bad), zap.Error(err))
		_ = os.Rename(jp, jp+corruptExt)
		_ = os.Rename(dp, dp+corruptExt)
		return nil
	}
	log := j.log.With(zap.String("key", rec.Key), zap.String("journal", jp))
	if bad != "" {
		log.Warn("recovery: write journal has a torn or corrupt tail; using the entries before it", zap.String("why", bad))
	}
	if rec.Bucket != j.cfg.Bucket {
		res.Foreign++
		log.Warn("recovery: write journal of another bucket left alone", zap.String("bucket", rec.Bucket))
		return nil
	}
	for uid, k := range rec.Uploads {
		err := rc.Client.AbortMultipartUpload(ctx, k, uid)
		if err != nil && !obsclient.IsNotFound(err) {
			log.Warn("recovery: abort of an unfinished multipart upload failed", zap.String("upload_id", uid), zap.Error(err))
			return fmt.Errorf("recovery of %q: abort upload: %w", rec.Key, err)
		}
		res.Aborted++
		log.Info("recovery: aborted an unfinished multipart upload", zap.String("upload_id", uid))
	}
	if !rec.Changed || rec.Key == "" {
		res.Discarded++
		_ = os.Remove(jp)
		_ = os.Remove(dp)
		return nil
	}
	f, err := os.OpenFile(dp, os.O_RDWR, 0)
	if err != nil {
		log.Error("recovery: data file missing: this file's unsaved data is lost", zap.Error(err))
		res.Stranded++
		_ = os.Rename(jp, jp+corruptExt)
		return nil
	}
	s := newSpoolFile(f, rec.Base, rc.Client)
	s.size, s.baseLen, s.lowSize = rec.Size, rec.BaseLen, rec.Size
	s.dirty = rec.Dirty.Clone()
	s.present = rec.Present.Clone()
	s.changed, s.appendable = true, rec.Appendable
	// Journaled again, so uploads this commit starts are recorded (a crash
	// during recovery leaves none behind) and a failure syncs the record.
	if err := s.adoptRecord(j, id, rec); err != nil {
		log.Warn("recovery: cannot rewrite the write journal; recovering without it", zap.Error(err))
	}
	defer func() {
		s.detachJournal() // Close must not remove what a failure keeps
		_ = s.Close()
	}()

	target, conflict, err := j.recoverTarget(ctx, rc, rec)
	if err != nil {
		res.Failed++
		log.Warn("recovery: cannot check the object; kept for the next mount", zap.Error(err))
		return fmt.Errorf("recovery of %q: %w", rec.Key, err)
	}
	if conflict {
		log.Warn("recovery: the object changed since this file was written; keeping ours beside it",
			zap.String("recovered_key", target))
	}
	_, err = rc.Uploader.CommitWith(ctx, target, s, rc.Options(rec.Meta, rec.ContentType), CommitOptions{NoAppend: conflict, KeepChangedBase: conflict})
	switch {
	case errors.Is(err, ErrStale) || errors.Is(err, ErrAppendConflict):
		dir := filepath.Join(j.cfg.Dir, "recovered")
		_ = os.MkdirAll(dir, 0o700)
		keep := filepath.Join(dir, id+"-"+strings.ReplaceAll(rec.Key, "/", "%2F"))
		_ = os.Rename(dp, keep)
		_ = os.Rename(jp, keep+journalExt)
		res.Stranded++
		log.Error("recovery: the base object is gone and part of the file was never local; local bytes kept",
			zap.String("file", keep), zap.Any("local_ranges", rec.Dirty.Intervals()), zap.Error(err))
		return nil
	case err != nil:
		res.Failed++
		log.Warn("recovery: commit failed; kept for the next mount", zap.Error(err))
		return fmt.Errorf("recovery of %q: %w", rec.Key, err)
	}
	if conflict {
		res.Conflicts++
	} else {
		res.Committed++
	}
	res.Bytes += rec.Size
	log.Info("recovery: committed a file left by a crashed mount", zap.String("as", target), zap.Int64("size", rec.Size))
	_ = os.Remove(jp)
	_ = os.Remove(dp)
	return nil
}

// recoverTarget decides where a recovered file goes: its own key when the
// server still has its base (or nothing, for a new file), else beside it.
func (j *Journal) recoverTarget(ctx context.Context, rc RecoverConfig, rec record) (string, bool, error) {
	info, err := rc.Client.HeadObject(ctx, rec.Key, rc.Head)
	switch {
	case obsclient.IsNotFound(err):
		if rec.Base == nil {
			return rec.Key, false, nil
		}
	case err != nil:
		return "", false, err
	case rec.Base != nil && strings.Trim(info.ETag, `"`) == strings.Trim(rec.Base.ETag, `"`):
		return rec.Key, false, nil
	}
	return rec.Key + RecoveredSuffix + rc.Now().UTC().Format("20060102T150405Z"), true, nil
}
