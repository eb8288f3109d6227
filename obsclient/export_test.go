package obsclient

import (
	"context"
	"net/http"
	"time"
)

// SetClockForTest replaces the signing clock of c (tests only).
func SetClockForTest(c *Client, now func() time.Time) { c.now = now }

// PresignAtForTest presigns with a fixed clock.
func PresignAtForTest(b *Bucket, method, key string, expires time.Duration, now time.Time) (string, error) {
	return b.presignAt(method, key, expires, nil, now)
}

// PutConfigRawForTest PUTs doc to the bucket sub-resource ?sub as is, with
// or without its Content-MD5, to see what the server makes of documents
// the typed setters would refuse.
func PutConfigRawForTest(ctx context.Context, b *Bucket, sub string, doc []byte, withMD5 bool) error {
	r := configRequest("PutConfigRaw", http.MethodPut, sub)
	setXMLBody(r, doc)
	if !withMD5 {
		r.header.Del("Content-MD5")
	}
	_, err := b.do(ctx, r)
	return err
}
