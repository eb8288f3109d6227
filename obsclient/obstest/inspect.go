package obstest

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"strings"
)

// Test hooks: direct inspection and seeding of stored state, bypassing the
// HTTP API (no stats are counted).

// Buckets lists the served bucket names.
func (s *Server) Buckets() []string { return s.bucketNames() }

// Object returns the latest live version of key (false if absent or deleted).
func (s *Server) Object(bucketName, key string) (ObjectInfo, bool) {
	b := s.bucket(bucketName)
	if b == nil {
		return ObjectInfo{}, false
	}
	now := s.now()
	b.mu.RLock()
	defer b.mu.RUnlock()
	v := b.latest(key)
	if v == nil || v.DeleteMarker {
		return ObjectInfo{}, false
	}
	return v.info(now), true
}

// Versions returns every version of key, newest first (delete markers included).
func (s *Server) Versions(bucketName, key string) []ObjectInfo {
	b := s.bucket(bucketName)
	if b == nil {
		return nil
	}
	now := s.now()
	b.mu.RLock()
	defer b.mu.RUnlock()
	var out []ObjectInfo
	for _, v := range b.objects[key] {
		out = append(out, v.info(now))
	}
	return out
}

// Keys lists the live keys under prefix, sorted.
func (s *Server) Keys(bucketName, prefix string) []string {
	b := s.bucket(bucketName)
	if b == nil {
		return nil
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	var out []string
	for _, k := range b.keys {
		if v := b.latest(k); strings.HasPrefix(k, prefix) && v != nil && !v.DeleteMarker {
			out = append(out, k)
		}
	}
	return out
}

// ObjectBody returns the content of the latest live version of key.
func (s *Server) ObjectBody(bucketName, key string) ([]byte, error) {
	b := s.bucket(bucketName)
	if b == nil {
		return nil, fmt.Errorf("no bucket %q", bucketName)
	}
	v, err := snapshot(b, key, "")
	if err != nil {
		return nil, err
	}
	defer v.body.release()
	rd, done, err := v.body.openReader(0, v.Size)
	if err != nil {
		return nil, err
	}
	defer done()
	return io.ReadAll(rd)
}

// PutObject stores data as the new latest version of key. From info it
// takes Headers, Metadata, StorageClass, Appendable, ExpiresDays and the
// encryption (SSE, SSEKMSKeyID, SSECKeyMD5: base64 MD5 of the SSE-C key).
func (s *Server) PutObject(bucketName, key string, data []byte, info ObjectInfo) (ObjectInfo, error) {
	b := s.bucket(bucketName)
	if b == nil {
		return ObjectInfo{}, fmt.Errorf("no bucket %q", bucketName)
	}
	class, err := parseClass(info.StorageClass)
	if err != nil {
		return ObjectInfo{}, err
	}
	hr := newHashingReader(bytes.NewReader(data), maxPut)
	ref, err := s.blobs.create(hr)
	if err != nil {
		return ObjectInfo{}, err
	}
	v := &version{ObjectInfo: ObjectInfo{Key: key, Headers: maps.Clone(info.Headers), Metadata: maps.Clone(info.Metadata),
		StorageClass: class, Appendable: info.Appendable, ExpiresDays: info.ExpiresDays,
		SSE: info.SSE, SSEKMSKeyID: info.SSEKMSKeyID, SSECKeyMD5: info.SSECKeyMD5}, acl: cannedACL("private", s.opts.OwnerID)}
	if v.Appendable {
		v.AppendCount = 1
	}
	v.body, v.Size, v.ETag = bodyOf(ref), ref.b.size(), quote(fmt.Sprintf("%x", hr.sum()))
	now := s.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	v.LastModified = now
	b.store(v, func() string { return s.ids.next(now) })
	return v.info(now), nil
}

// Usage returns a bucket's stored bytes and object-version count.
func (s *Server) Usage(bucketName string) (bytes, objects int64) {
	b := s.bucket(bucketName)
	if b == nil {
		return 0, 0
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.used, b.count
}

// authorizeAnonymous lets unsigned requests through only where an ACL or
// the bucket policy makes the target public (policy.go).
func (rc *reqCtx) authorizeAnonymous() error {
	if rc.b == nil {
		return errAccessDenied
	}
	rc.b.mu.RLock()
	defer rc.b.mu.RUnlock()
	policy := rc.b.configs["policy"]
	switch rc.op {
	case "ListObjects", "ListObjectsV2", "HeadBucket":
		if rc.b.acl.publicRead() || policyAllowsAnonymous(policy, "ListBucket", rc.bucketName) {
			return nil
		}
	case "GetObject", "HeadObject":
		v, err := rc.b.find(rc.key, rc.query.Get("versionId"))
		if err == nil && (v.acl.publicRead() || (rc.b.acl.Delivered && rc.b.acl.publicRead())) {
			return nil
		}
		if policyAllowsAnonymous(policy, "GetObject", rc.bucketName+"/"+rc.key) {
			return nil
		}
	}
	return errAccessDenied
}
