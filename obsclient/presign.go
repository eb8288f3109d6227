package obsclient

import (
	"fmt"
	"net/url"
	"time"

	"github.com/obsfs/obsfs/obsclient/signer"
)

// MaxPresignExpiry is the longest V4 presigned URL validity (7 days).
const MaxPresignExpiry = 7 * 24 * time.Hour

// PresignURL returns a URL that performs method on key (or the bucket when
// key is "") without credentials until expires from now, signed in the
// configured dialect (AccessKeyId/Expires/Signature for OBS,
// AWSAccessKeyId for V2, X-Amz-* for V4). query adds sub-resources such as
// versionId or response-content-type.
func (b *Bucket) PresignURL(method, key string, expires time.Duration, query url.Values) (string, error) {
	return b.presignAt(method, key, expires, query, b.c.signingTime())
}

func (b *Bucket) presignAt(method, key string, expires time.Duration, query url.Values, now time.Time) (string, error) {
	if expires <= 0 {
		return "", fmt.Errorf("obsclient: presign expiry must be positive")
	}
	if b.c.cfg.Signature == signer.V4 && expires > MaxPresignExpiry {
		return "", fmt.Errorf("obsclient: V4 presigned URLs last at most %v", MaxPresignExpiry)
	}
	u, t := b.url(key, query)
	return signer.PresignURL(method, u, b.c.cfg.Signature, b.c.cfg.Credentials, t, now, expires), nil
}
