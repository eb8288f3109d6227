package obsclient

// Bucket and object tagging: <Tagging><TagSet><Tag><Key/><Value/></Tag>…
// </TagSet></Tagging>, at most MaxTags tags, sent with Content-MD5.

import (
	"context"
	"encoding/xml"
	"net/http"
	"unicode/utf8"
)

// Tag limits (OBS and S3 agree).
const (
	MaxTags           = 10  // tags per bucket or object
	MaxTagKeyLength   = 128 // characters
	MaxTagValueLength = 256 // characters
)

// Tag is one key/value tag of a bucket or an object.
type Tag struct {
	Key   string `xml:"Key" json:"Key"`
	Value string `xml:"Value" json:"Value"`
}

type xmlTagging struct {
	XMLName xml.Name `xml:"Tagging"`
	Tags    []Tag    `xml:"TagSet>Tag"`
}

// validateTags checks the count, key and value lengths and duplicate keys.
func validateTags(op, key string, tags []Tag) error {
	if len(tags) > MaxTags {
		return invalidConfig(op, key, "%d tags, at most %d allowed", len(tags), MaxTags)
	}
	seen := make(map[string]bool, len(tags))
	for _, t := range tags {
		if t.Key == "" || utf8.RuneCountInString(t.Key) > MaxTagKeyLength {
			return invalidConfig(op, key, "tag key %q must be 1 to %d characters", t.Key, MaxTagKeyLength)
		}
		if utf8.RuneCountInString(t.Value) > MaxTagValueLength {
			return invalidConfig(op, key, "value of tag %q longer than %d characters", t.Key, MaxTagValueLength)
		}
		if seen[t.Key] {
			return invalidConfig(op, key, "duplicate tag key %q", t.Key)
		}
		seen[t.Key] = true
	}
	return nil
}

func taggingDoc(op, key string, tags []Tag) ([]byte, error) {
	if err := validateTags(op, key, tags); err != nil {
		return nil, err
	}
	doc, err := xml.Marshal(xmlTagging{Tags: tags})
	if err != nil {
		return nil, invalidConfig(op, key, "%v", err)
	}
	return doc, nil
}

// GetBucketTagging is GET ?tagging; a bucket without tags is a 404
// NoSuchTagSet (IsNotFound).
func (b *Bucket) GetBucketTagging(ctx context.Context) ([]Tag, error) {
	var x xmlTagging
	if err := b.getConfig(ctx, "GetBucketTagging", "tagging", &x); err != nil {
		return nil, err
	}
	return x.Tags, nil
}

// SetBucketTagging replaces the bucket's tags (PUT ?tagging, Content-MD5).
// An empty list removes them all (DeleteBucketTagging).
func (b *Bucket) SetBucketTagging(ctx context.Context, tags []Tag) error {
	if len(tags) == 0 {
		return b.DeleteBucketTagging(ctx)
	}
	doc, err := taggingDoc("SetBucketTagging", "", tags)
	if err != nil {
		return err
	}
	return b.putConfig(ctx, "SetBucketTagging", "tagging", doc)
}

// DeleteBucketTagging is DELETE ?tagging.
func (b *Bucket) DeleteBucketTagging(ctx context.Context) error {
	return b.deleteConfig(ctx, "DeleteBucketTagging", "tagging")
}

func objectTaggingRequest(op, method, key, versionID string) *request {
	r := newObjectRequest(op, method, key)
	r.query.Set("tagging", "")
	if versionID != "" {
		r.query.Set("versionId", versionID)
	}
	return r
}

// GetObjectTagging is GET /key?tagging (of versionID when not ""). An
// object without tags has an empty list.
func (b *Bucket) GetObjectTagging(ctx context.Context, key, versionID string) ([]Tag, error) {
	r := objectTaggingRequest("GetObjectTagging", http.MethodGet, key, versionID)
	var x xmlTagging
	if _, err := b.doDecode(ctx, r, &x); err != nil {
		return nil, err
	}
	return x.Tags, nil
}

// SetObjectTagging replaces an object's tags (PUT /key?tagging, Content-MD5).
func (b *Bucket) SetObjectTagging(ctx context.Context, key, versionID string, tags []Tag) error {
	doc, err := taggingDoc("SetObjectTagging", key, tags)
	if err != nil {
		return err
	}
	r := objectTaggingRequest("SetObjectTagging", http.MethodPut, key, versionID)
	setXMLBody(r, doc)
	_, err = b.do(ctx, r)
	return err
}

// DeleteObjectTagging removes an object's tags (DELETE /key?tagging).
func (b *Bucket) DeleteObjectTagging(ctx context.Context, key, versionID string) error {
	_, err := b.do(ctx, objectTaggingRequest("DeleteObjectTagging", http.MethodDelete, key, versionID))
	return err
}
