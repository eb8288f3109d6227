package obsclient

import "time"

// SetClockForTest replaces the signing clock of c (tests only).
func SetClockForTest(c *Client, now func() time.Time) { c.now = now }

// PresignAtForTest presigns with a fixed clock.
func PresignAtForTest(b *Bucket, method, key string, expires time.Duration, now time.Time) (string, error) {
	return b.presignAt(method, key, expires, nil, now)
}
