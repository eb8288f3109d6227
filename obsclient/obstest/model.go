package obstest

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"
)

// ObjectInfo describes one stored object version (test inspection API).
type ObjectInfo struct {
	Key          string
	VersionID    string // "null" when created while versioning was off
	IsLatest     bool
	DeleteMarker bool
	Size         int64
	ETag         string // quoted, as sent in the ETag header
	LastModified time.Time
	// Headers holds the stored standard headers (Content-Type,
	// Content-Encoding, Content-Disposition, Content-Language, Cache-Control,
	// Expires), canonical names.
	Headers      map[string]string
	Metadata     map[string]string // user metadata, names lowercased, no prefix
	StorageClass string            // "" means STANDARD
	Appendable   bool
	AppendCount  int
	UploadID     string // set when created by CompleteMultipartUpload
	SSE          string // "kms", "AES256" or "" (SSE-C: see SSECKeyMD5)
	SSEKMSKeyID  string
	SSECKeyMD5   string
	ExpiresDays  int
	Tags         map[string]string
	// Restore is "", "ongoing" or "restored" for COLD / DEEP_ARCHIVE objects.
	Restore string
}

// clone returns a deep copy (maps duplicated).
func (o ObjectInfo) clone() ObjectInfo {
	o.Headers = maps.Clone(o.Headers)
	o.Metadata = maps.Clone(o.Metadata)
	o.Tags = maps.Clone(o.Tags)
	return o
}

// restoreState tracks a restore of an archived object.
type restoreState struct {
	doneAt time.Time // restore completes at this time
	expiry time.Time // restored copy expires at this time
}

// version is one stored object version.
type version struct {
	ObjectInfo
	body    body
	acl     acl
	restore *restoreState
}

// archived reports whether reads need a restore first.
func (v *version) archived() bool {
	return v.StorageClass == "COLD" || v.StorageClass == "DEEP_ARCHIVE"
}

// restored reports whether an archived object is readable at now.
func (v *version) restored(now time.Time) bool {
	r := v.restore
	return r != nil && !now.Before(r.doneAt) && now.Before(r.expiry)
}

// restoreOngoing reports whether a restore has been requested but not finished.
func (v *version) restoreOngoing(now time.Time) bool {
	return v.restore != nil && now.Before(v.restore.doneAt)
}

// info snapshots v for the inspection API.
func (v *version) info(now time.Time) ObjectInfo {
	o := v.ObjectInfo.clone()
	switch {
	case v.restoreOngoing(now):
		o.Restore = "ongoing"
	case v.restored(now):
		o.Restore = "restored"
	}
	return o
}

// part is one uploaded multipart part.
type part struct {
	num      int
	body     body
	etag     string // quoted
	modified time.Time
}

// upload is an in-progress multipart upload.
type upload struct {
	id        string
	key       string
	initiated time.Time
	tmpl      *version      // headers, metadata, ACL, class, SSE from initiate
	parts     map[int]*part // GUARDED_BY(bucket.mu)
}

// bucket is one served bucket.
//
// LOCK ORDERING: Server.mu before bucket.mu; Server.cfgMu (clock) is a leaf
// and may be taken while holding either. Body I/O (network or disk) never
// happens while mu is held, except removing files of released blobs.
type bucket struct {
	name    string
	created time.Time
	region  string
	pfs     bool // parallel file system

	mu sync.RWMutex
	// GUARDED_BY(mu):
	objects      map[string][]*version // key → versions, newest first
	keys         []string              // INVARIANT: sorted keys of objects
	uploads      map[string]*upload    // upload id → upload
	versioning   string                // "", "Enabled" or "Suspended"
	quota        int64                 // bytes, 0 = unlimited
	storageClass string                // default class; "" = STANDARD
	acl          acl
	configs      map[string][]byte // sub-resource → stored document (policy, lifecycle, …)
	used         int64             // bytes of all stored versions
	count        int64             // number of stored versions that are not delete markers
}

func newBucket(name, region, owner string, pfs bool, now time.Time) *bucket {
	return &bucket{
		name: name, created: now, region: region, pfs: pfs,
		objects: map[string][]*version{}, uploads: map[string]*upload{},
		acl: cannedACL("private", owner), configs: map[string][]byte{},
	}
}

// latest returns the current version of key, or nil. Caller holds mu.
func (b *bucket) latest(key string) *version {
	if vs := b.objects[key]; len(vs) > 0 {
		return vs[0]
	}
	return nil
}

// find returns the given version (or the latest when id is ""). It fails with
// NoSuchKey / NoSuchVersion. Delete markers are returned as found. Caller holds mu.
func (b *bucket) find(key, id string) (*version, error) {
	vs := b.objects[key]
	if id == "" {
		if len(vs) == 0 {
			return nil, errNoSuchKey
		}
		return vs[0], nil
	}
	for _, v := range vs {
		if v.VersionID == id {
			return v, nil
		}
	}
	if len(vs) == 0 && id == "null" {
		return nil, errNoSuchKey
	}
	return nil, errNoSuchVersion
}

// store makes v the latest version of its key, assigning its version id and
// retaining its body. Without versioning the previous "null" version is
// dropped. Caller holds mu (write).
func (b *bucket) store(v *version, newID func() string) {
	v.VersionID = "null"
	if b.versioning == "Enabled" {
		v.VersionID = newID()
	}
	vs := b.objects[v.Key]
	if len(vs) == 0 {
		b.insertKey(v.Key)
	}
	vs = slices.DeleteFunc(vs, func(o *version) bool {
		if o.VersionID == v.VersionID {
			b.account(o, -1)
			o.body.release()
			return true
		}
		return false
	})
	for _, o := range vs {
		o.IsLatest = false
	}
	v.IsLatest = true
	v.body.retain()
	b.account(v, 1)
	b.objects[v.Key] = append([]*version{v}, vs...)
}

// remove deletes one version (by pointer). Caller holds mu (write).
func (b *bucket) remove(v *version) {
	vs := slices.DeleteFunc(b.objects[v.Key], func(o *version) bool { return o == v })
	b.account(v, -1)
	v.body.release()
	if len(vs) == 0 {
		delete(b.objects, v.Key)
		b.deleteKey(v.Key)
		return
	}
	vs[0].IsLatest = true
	b.objects[v.Key] = vs
}

// account adds (sign 1) or subtracts (-1) v from the usage counters.
func (b *bucket) account(v *version, sign int64) {
	if v.DeleteMarker {
		return
	}
	b.used += sign * v.Size
	b.count += sign
}

// checkQuota fails with InsufficientStorageSpace when adding extra bytes
// would exceed the quota. Caller holds mu.
func (b *bucket) checkQuota(extra int64) error {
	if b.quota > 0 && b.used+extra > b.quota {
		return errInsufficientStorage
	}
	return nil
}

// insertKey adds key to the sorted key list. Caller holds mu (write).
func (b *bucket) insertKey(key string) {
	i := sort.SearchStrings(b.keys, key)
	b.keys = slices.Insert(b.keys, i, key)
}

// deleteKey removes key from the sorted key list. Caller holds mu (write).
func (b *bucket) deleteKey(key string) {
	i := sort.SearchStrings(b.keys, key)
	if i < len(b.keys) && b.keys[i] == key {
		b.keys = slices.Delete(b.keys, i, i+1)
	}
}

// idGen produces unique ids for versions, uploads and requests.
type idGen struct {
	mu  sync.Mutex
	seq uint64 // GUARDED_BY(mu)
}

// next returns a 32-character upper-case hex id, increasing over time.
func (g *idGen) next(now time.Time) string {
	g.mu.Lock()
	g.seq++
	n := g.seq
	g.mu.Unlock()
	return fmt.Sprintf("%016X%016X", uint64(now.UnixNano()), n)
}
