package obstest

// Persistence (Options.Persist, obs-emulator --persist)
//
// With Persist and a Root, the whole state of every bucket — settings,
// configuration documents, ACLs, every object version with its metadata,
// and multipart uploads in progress with their parts — is written to
// Root/state/<bucket>.json after every request that may change it, before
// the response leaves (net/http sends a small response only when the
// handler returns, and the state is written just before that). Bodies are
// the blob files under Root/blobs, named once and never rewritten. So an
// emulator killed with SIGKILL (or frozen and restarted) and started again
// on the same Root serves the same buckets; outage tests rely on that.
//
// A blob whose last reference goes away is removed only after the next
// state write, so a state file never names a removed blob. At start, blob
// files no state names (a body that was being received when the process
// died) are removed. Each snapshot is the whole bucket, so persistence
// costs O(objects) per changing request: meant for tests, not benchmarks.
// Changes made through the Go test API (PutObject, SetQuota, …) are saved
// with the next changing request to that bucket.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// stateVersion is the format version of the state files.
const stateVersion = 1

// persister writes bucket states under root/state.
type persister struct {
	dir   string // root/state
	store *diskStore

	mu sync.Mutex // serializes saves; taken before bucket.mu

	// doomMu is a leaf lock: doom runs under bucket.mu (a release).
	doomMu sync.Mutex
	// GUARDED_BY(doomMu):
	doomed []string // blob files to remove after the next write
}

type stateFile struct {
	Version      int               `json:"version"`
	Name         string            `json:"name"`
	Created      time.Time         `json:"created"`
	Region       string            `json:"region"`
	PFS          bool              `json:"pfs,omitempty"`
	Versioning   string            `json:"versioning,omitempty"`
	Quota        int64             `json:"quota,omitempty"`
	StorageClass string            `json:"storage_class,omitempty"`
	ACL          acl               `json:"acl"`
	Configs      map[string][]byte `json:"configs,omitempty"`
	Objects      []stateVersionRec `json:"objects"` // per key, newest first
	Uploads      []stateUpload     `json:"uploads,omitempty"`
}

type stateSeg struct {
	Blob string `json:"blob"`
	Off  int64  `json:"off"`
	N    int64  `json:"n"`
}

type stateVersionRec struct {
	Info      ObjectInfo `json:"info"`
	Segs      []stateSeg `json:"segs,omitempty"`
	ACL       acl        `json:"acl"`
	RestoreAt *time.Time `json:"restore_done,omitempty"`
	ExpiresAt *time.Time `json:"restore_expiry,omitempty"`
}

type statePart struct {
	Num      int        `json:"num"`
	Segs     []stateSeg `json:"segs,omitempty"`
	ETag     string     `json:"etag"`
	Modified time.Time  `json:"modified"`
}

type stateUpload struct {
	ID        string          `json:"id"`
	Key       string          `json:"key"`
	Initiated time.Time       `json:"initiated"`
	Tmpl      stateVersionRec `json:"tmpl"`
	Parts     []statePart     `json:"parts,omitempty"`
}

// newPersister prepares root/state and the stable blob directory root/blobs.
func newPersister(root string) (*persister, error) {
	dir := filepath.Join(root, "state")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	bdir := filepath.Join(root, "blobs")
	if err := os.MkdirAll(bdir, 0o755); err != nil {
		return nil, err
	}
	p := &persister{dir: dir}
	p.store = &diskStore{dir: bdir, keep: true, doom: p.doom}
	return p, nil
}

// doom schedules a released blob file for removal after the next write.
func (p *persister) doom(path string) {
	p.doomMu.Lock()
	p.doomed = append(p.doomed, path)
	p.doomMu.Unlock()
}

// undoom puts back blobs whose removal must wait for a later write.
func (p *persister) undoom(paths []string) {
	p.doomMu.Lock()
	p.doomed = append(paths, p.doomed...)
	p.doomMu.Unlock()
}

func segsOf(b body) []stateSeg {
	out := make([]stateSeg, 0, len(b.segs))
	for _, s := range b.segs {
		out = append(out, stateSeg{Blob: filepath.Base(s.ref.b.(*diskBlob).path), Off: s.off, N: s.n})
	}
	return out
}

func recOf(v *version) stateVersionRec {
	r := stateVersionRec{Info: v.ObjectInfo.clone(), Segs: segsOf(v.body), ACL: v.acl}
	if v.restore != nil {
		d, e := v.restore.doneAt, v.restore.expiry
		r.RestoreAt, r.ExpiresAt = &d, &e
	}
	return r
}

// snapshot encodes b. Caller holds no lock.
func snapshotBucket(b *bucket) ([]byte, error) {
	b.mu.RLock()
	st := stateFile{Version: stateVersion, Name: b.name, Created: b.created, Region: b.region, PFS: b.pfs,
		Versioning: b.versioning, Quota: b.quota, StorageClass: b.storageClass, ACL: b.acl, Configs: b.configs}
	for _, k := range b.keys {
		for _, v := range b.objects[k] {
			st.Objects = append(st.Objects, recOf(v))
		}
	}
	ids := make([]string, 0, len(b.uploads))
	for id := range b.uploads {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		u := b.uploads[id]
		su := stateUpload{ID: u.id, Key: u.key, Initiated: u.initiated}
		if u.tmpl != nil {
			su.Tmpl = recOf(u.tmpl)
		}
		nums := make([]int, 0, len(u.parts))
		for n := range u.parts {
			nums = append(nums, n)
		}
		slices.Sort(nums)
		for _, n := range nums {
			pt := u.parts[n]
			su.Parts = append(su.Parts, statePart{Num: pt.num, Segs: segsOf(pt.body), ETag: pt.etag, Modified: pt.modified})
		}
		st.Uploads = append(st.Uploads, su)
	}
	data, err := json.Marshal(&st)
	b.mu.RUnlock()
	return data, err
}

// stateName is the file of bucket name (bucket names are file-name safe).
func (p *persister) stateName(name string) string { return filepath.Join(p.dir, name+".json") }

// save writes the state of bucket name (b nil: the bucket is gone), then
// removes the blobs released before the snapshot.
func (p *persister) save(name string, b *bucket) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	// Released before the snapshot below, so it cannot name them.
	p.doomMu.Lock()
	doomed := p.doomed
	p.doomed = nil
	p.doomMu.Unlock()
	path := p.stateName(name)
	if b == nil {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	} else {
		data, err := snapshotBucket(b)
		if err != nil {
			p.undoom(doomed)
			return err
		}
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, data, 0o644); err != nil {
			p.undoom(doomed)
			return err
		}
		if err := os.Rename(tmp, path); err != nil {
			p.undoom(doomed)
			return err
		}
	}
	for _, f := range doomed {
		_ = os.Remove(f)
	}
	return nil
}

// load reads every state file, rebuilding buckets on the blobs under
// root/blobs, and removes the blob files no state names.
func (p *persister) load(s *Server) error {
	ents, err := os.ReadDir(p.dir)
	if err != nil {
		return err
	}
	refs := map[string]*blobRef{}
	var maxSeq uint64
	ref := func(name string) (*blobRef, error) {
		if r := refs[name]; r != nil {
			return r, nil
		}
		path := filepath.Join(p.store.dir, name)
		fi, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("state names blob %s: %w", name, err)
		}
		r := &blobRef{b: &diskBlob{path: path, n: fi.Size(), st: p.store}}
		refs[name] = r
		return r, nil
	}
	bodyFrom := func(segs []stateSeg) (body, error) {
		var out body
		for _, sg := range segs {
			r, err := ref(sg.Blob)
			if err != nil {
				return body{}, err
			}
			out.segs = append(out.segs, segment{ref: r, off: sg.Off, n: sg.N})
			out.size += sg.N
		}
		return out, nil
	}
	versionFrom := func(r stateVersionRec) (*version, error) {
		bd, err := bodyFrom(r.Segs)
		if err != nil {
			return nil, err
		}
		v := &version{ObjectInfo: r.Info, body: bd, acl: r.ACL}
		if r.RestoreAt != nil && r.ExpiresAt != nil {
			v.restore = &restoreState{doneAt: *r.RestoreAt, expiry: *r.ExpiresAt}
		}
		return v, nil
	}
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || e.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(p.dir, e.Name()))
		if err != nil {
			return err
		}
		var st stateFile
		if err := json.Unmarshal(data, &st); err != nil {
			return fmt.Errorf("state of bucket %s: %w", name, err)
		}
		if st.Version != stateVersion || st.Name != name {
			return fmt.Errorf("state of bucket %s: unknown format %d", name, st.Version)
		}
		b := newBucket(st.Name, st.Region, s.opts.OwnerID, st.PFS, st.Created)
		b.versioning, b.quota, b.storageClass, b.acl = st.Versioning, st.Quota, st.StorageClass, st.ACL
		if st.Configs != nil {
			b.configs = st.Configs
		}
		for _, r := range st.Objects {
			v, err := versionFrom(r)
			if err != nil {
				return fmt.Errorf("bucket %s key %q: %w", name, r.Info.Key, err)
			}
			if len(b.objects[v.Key]) == 0 {
				b.insertKey(v.Key)
			}
			b.objects[v.Key] = append(b.objects[v.Key], v) // newest first, as saved
			v.body.retain()
			b.account(v, 1)
		}
		for _, su := range st.Uploads {
			tmpl, err := versionFrom(su.Tmpl)
			if err != nil {
				return err
			}
			u := &upload{id: su.ID, key: su.Key, initiated: su.Initiated, tmpl: tmpl, parts: map[int]*part{}}
			for _, sp := range su.Parts {
				bd, err := bodyFrom(sp.Segs)
				if err != nil {
					return fmt.Errorf("bucket %s upload %s: %w", name, su.ID, err)
				}
				bd.retain()
				u.parts[sp.Num] = &part{num: sp.Num, body: bd, etag: sp.ETag, modified: sp.Modified}
			}
			b.uploads[u.id] = u
		}
		s.buckets[b.name] = b
	}
	// Blobs no state names were being received when the process ended.
	blobs, err := os.ReadDir(p.store.dir)
	if err != nil {
		return err
	}
	for _, e := range blobs {
		if n, err := strconv.ParseUint(strings.TrimSuffix(e.Name(), ".blob"), 16, 64); err == nil && n > maxSeq {
			maxSeq = n
		}
		if refs[e.Name()] == nil {
			_ = os.Remove(filepath.Join(p.store.dir, e.Name()))
		}
	}
	p.store.seq.Store(maxSeq)
	return nil
}

// persistAfter saves the state of the request's bucket when the request
// may have changed it (anything but GET, HEAD and OPTIONS).
func (s *Server) persistAfter(rc *reqCtx) {
	if s.persist == nil || rc.bucketName == "" {
		return
	}
	switch rc.r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return
	}
	if err := s.persist.save(rc.bucketName, s.bucket(rc.bucketName)); err != nil {
		s.logf("obstest: persisting bucket %s: %v", rc.bucketName, err)
	}
}
