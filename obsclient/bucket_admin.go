package obsclient

import (
	"context"
	"encoding/xml"
	"net/http"
)

// CreateBucket creates the bucket (PUT /) in region ("" = the client's
// region), for provisioning volumes of whole buckets. OBS answers 409
// BucketAlreadyOwnedByYou for a bucket this account has (IsCode).
func (b *Bucket) CreateBucket(ctx context.Context, region string) error {
	if region == "" {
		region = b.c.cfg.Region
	}
	body, err := xml.Marshal(struct {
		XMLName  xml.Name `xml:"CreateBucketConfiguration"`
		Location string   `xml:"Location"`
	}{Location: region})
	if err != nil {
		return &Error{Op: "CreateBucket", Err: err}
	}
	r := newRequest("CreateBucket", http.MethodPut, "")
	setXMLBody(r, body)
	_, err = b.do(ctx, r)
	return err
}

// DeleteBucket deletes the bucket (DELETE /); it must be empty (409
// BucketNotEmpty otherwise).
func (b *Bucket) DeleteBucket(ctx context.Context) error {
	_, err := b.do(ctx, newRequest("DeleteBucket", http.MethodDelete, ""))
	return err
}
