package obsclient

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Head is HEAD bucket: location, default storage class, API version and
// whether the bucket is a parallel file system.
func (b *Bucket) Head(ctx context.Context) (BucketInfo, error) {
	r := newRequest("HeadBucket", http.MethodHead, "")
	res, err := b.do(ctx, r)
	if err != nil {
		return BucketInfo{}, err
	}
	h := res.resp.Header
	info := BucketInfo{
		Location:     firstHeader(h, "x-obs-bucket-location", "x-amz-bucket-region", "x-amz-bucket-location"),
		StorageClass: firstHeader(h, "x-obs-storage-class", "x-amz-storage-class", "x-default-storage-class"),
		Version:      firstHeader(h, "x-obs-version"),
		FileSystem:   strings.EqualFold(h.Get("x-obs-fs-file-interface"), "Enabled"),
	}
	if info.StorageClass != "" {
		info.StorageClass = normClass(info.StorageClass)
	}
	return info, nil
}

// Location is GET ?location (the bucket's region). Both the OBS reply
// (<Location>) and the S3 one (<LocationConstraint>, possibly nested) are
// understood.
func (b *Bucket) Location(ctx context.Context) (string, error) {
	r := newRequest("GetBucketLocation", http.MethodGet, "")
	r.query.Set("location", "")
	res, err := b.do(ctx, r)
	if err != nil {
		return "", err
	}
	loc, ok := findText(res.body, "Location", "LocationConstraint")
	if !ok {
		return "", b.malformed(r, res, errors.New("no Location in reply"))
	}
	return loc, nil
}

// StorageInfo is GET ?storageinfo: bytes used and object count.
func (b *Bucket) StorageInfo(ctx context.Context) (StorageInfo, error) {
	r := newRequest("GetBucketStorageInfo", http.MethodGet, "")
	r.query.Set("storageinfo", "")
	var x xmlStorageInfo
	if _, err := b.doDecode(ctx, r, &x); err != nil {
		return StorageInfo{}, err
	}
	return StorageInfo{Size: x.Size, ObjectCount: x.ObjectCount}, nil
}

// Quota is the bucket quota in bytes; 0 means unlimited.
func (b *Bucket) Quota(ctx context.Context) (int64, error) {
	r := newRequest("GetBucketQuota", http.MethodGet, "")
	r.query.Set("quota", "")
	var x xmlQuota
	if _, err := b.doDecode(ctx, r, &x); err != nil {
		return 0, err
	}
	return x.StorageQuota, nil
}

// SetQuota sets the bucket quota in bytes (0 removes it).
func (b *Bucket) SetQuota(ctx context.Context, bytes int64) error {
	if bytes < 0 {
		return &Error{Op: "SetBucketQuota", Err: fmt.Errorf("%w: negative quota", errNotRetryable)}
	}
	body, err := xml.Marshal(xmlQuota{StorageQuota: bytes})
	if err != nil {
		return &Error{Op: "SetBucketQuota", Err: err}
	}
	r := newRequest("SetBucketQuota", http.MethodPut, "")
	r.query.Set("quota", "")
	setXMLBody(r, body)
	_, err = b.do(ctx, r)
	return err
}

// RenameObject renames from to to atomically on a parallel file system
// (POST /<from>?name=<to>&rename; directories with "/"-suffixed names).
// Other buckets answer with an error (IsNotSupported). It is sent once;
// after an ambiguous failure it succeeds when to exists and from is gone.
func (b *Bucket) RenameObject(ctx context.Context, from, to string) error {
	if from == "" || to == "" {
		return &Error{Op: "RenameObject", Key: from, Err: fmt.Errorf("%w: empty key", errNotRetryable)}
	}
	r := newObjectRequest("RenameObject", http.MethodPost, from)
	r.query.Set("name", to)
	r.query.Set("rename", "")
	r.once = true
	_, err := b.do(ctx, r)
	if err == nil || !ambiguous(err) || ctx.Err() != nil {
		return err
	}
	if _, herr := b.HeadObject(ctx, to, GetOptions{}); herr != nil {
		return err
	}
	if _, ferr := b.HeadObject(ctx, from, GetOptions{}); IsNotFound(ferr) {
		return nil
	}
	return err
}

// RestoreObject starts restoring an archived (COLD/DEEP_ARCHIVE) object
// for days (1–30). Progress shows in ObjectInfo.Restore. A restore already
// running is IsCode(err, "RestoreAlreadyInProgress").
func (b *Bucket) RestoreObject(ctx context.Context, key, versionID string, days int, tier RestoreTier) error {
	if days < 1 || days > 30 {
		return &Error{Op: "RestoreObject", Key: key, Err: fmt.Errorf("%w: days %d out of 1..30", errNotRetryable, days)}
	}
	body, err := xml.Marshal(xmlRestoreRequest{Days: days, Tier: string(tier)})
	if err != nil {
		return &Error{Op: "RestoreObject", Key: key, Err: err}
	}
	r := newObjectRequest("RestoreObject", http.MethodPost, key)
	r.query.Set("restore", "")
	if versionID != "" {
		r.query.Set("versionId", versionID)
	}
	setXMLBody(r, body)
	_, err = b.do(ctx, r)
	return err
}

// Exists reports whether the bucket exists and is reachable with these
// credentials (HEAD bucket); a 404 is (false, nil).
func (b *Bucket) Exists(ctx context.Context) (bool, error) {
	_, err := b.Head(ctx)
	if err == nil {
		return true, nil
	}
	if IsNotFound(err) {
		return false, nil
	}
	return false, err
}
