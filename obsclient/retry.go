package obsclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// Retry policy
//
// An attempt is retried when the request is idempotent (everything except
// append and complete-multipart, which have their own reconciliation) and
// the failure is transient: a transport error other than the caller's
// context ending, any 5xx (SlowDown included), 408 RequestTimeout, 429, or a
// 400 RequestTimeout (S3's form). The delay before attempt i (i ≥ 1) is
// uniform in [0, min(MaxRetryDelay, base·2^(i-1))) ("full jitter"; base is
// four times larger after SlowDown, 503 or 429), or the server's
// Retry-After when it asks for longer (still capped).

// retryable reports whether a failed attempt may be repeated.
func retryable(err error) bool {
	e, ok := AsError(err)
	if !ok {
		return false
	}
	if e.StatusCode == 0 {
		return e.Err != nil && !errors.Is(e.Err, context.Canceled) && !errors.Is(e.Err, context.DeadlineExceeded) &&
			!errors.Is(e.Err, errNotRetryable) && !isCertificateError(e.Err)
	}
	switch {
	case e.StatusCode >= 500:
		return e.StatusCode != http.StatusNotImplemented
	case e.StatusCode == http.StatusRequestTimeout, e.StatusCode == http.StatusTooManyRequests:
		return true
	}
	switch e.Code {
	case "RequestTimeout", "SlowDown", "ServiceUnavailable", "InternalError", "TooManyRequests":
		return true
	}
	return false
}

// isCertificateError reports a TLS verification failure, which no retry
// fixes.
func isCertificateError(err error) bool {
	var v *tls.CertificateVerificationError
	var u x509.UnknownAuthorityError
	var h x509.HostnameError
	return errors.As(err, &v) || errors.As(err, &u) || errors.As(err, &h)
}

// errNotRetryable marks local failures that repeating cannot fix (a body
// that cannot be rewound, a request that cannot be built).
var errNotRetryable = errors.New("not retryable")

// throttleFactor stretches the backoff when the server asks to slow down.
const throttleFactor = 4

// throttled reports a SlowDown, 503 or 429 reply.
func throttled(err error) bool {
	e, ok := AsError(err)
	return ok && (e.Code == "SlowDown" || e.StatusCode == http.StatusServiceUnavailable || e.StatusCode == http.StatusTooManyRequests)
}

// backoff returns the delay before retry number n (1-based): full jitter
// over base·2^(n-1) (times throttleFactor when throttled), capped at
// MaxRetryDelay, or the server's Retry-After if longer.
func (c *Client) backoff(n int, retryAfter time.Duration, throttle bool) time.Duration {
	d := c.cfg.RetryBaseDelay
	if throttle {
		d *= throttleFactor
	}
	for i := 1; i < n && d < MaxRetryDelay; i++ {
		d *= 2
	}
	d = min(d, MaxRetryDelay)
	j := time.Duration(c.rng.int64n(int64(d)))
	if retryAfter > j {
		j = min(retryAfter, MaxRetryDelay)
	}
	return j
}

// parseRetryAfter reads a Retry-After header given in seconds.
func parseRetryAfter(h http.Header) time.Duration {
	s := h.Get("Retry-After")
	if s == "" {
		return 0
	}
	if n, err := strconv.Atoi(s); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	return 0
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Retry budget
//
// A caller that must not fail on a blip (a commit: close, fsync, rename,
// unmount) sets a budget on its context with WithRetryBudget. Every request
// made under that context then retries transient failures (those above,
// including a server that refuses connections or does not answer within
// RequestTimeout) with the same capped, jittered backoff until the budget
// has passed since WithRetryBudget, instead of giving up after Retries
// extra attempts; the last attempt starts at the deadline at the latest.
// Non-idempotent requests (append, complete-multipart) are still sent
// once: their callers reconcile. The caller's cancellation still ends the
// wait at once.

type retryBudgetKey struct{}

// WithRetryBudget returns a context under which requests retry transient
// failures for d from now (d ≤ 0: no budget, Config.Retries applies). A
// budget already on ctx is replaced.
func WithRetryBudget(ctx context.Context, d time.Duration) context.Context {
	if d <= 0 {
		return context.WithValue(ctx, retryBudgetKey{}, time.Time{})
	}
	return context.WithValue(ctx, retryBudgetKey{}, time.Now().Add(d))
}

// WithRequestRetryBudget is WithRetryBudget for long-lived work (the
// background parts of a streaming upload): each request made under the
// returned context gets d from its own first attempt.
func WithRequestRetryBudget(ctx context.Context, d time.Duration) context.Context {
	if d <= 0 {
		return WithRetryBudget(ctx, 0)
	}
	return context.WithValue(ctx, retryBudgetKey{}, d)
}

// retryDeadline returns the retry deadline set on ctx for a request
// starting now, if any.
func retryDeadline(ctx context.Context) (time.Time, bool) {
	switch v := ctx.Value(retryBudgetKey{}).(type) {
	case time.Time:
		return v, !v.IsZero()
	case time.Duration:
		return time.Now().Add(v), true
	}
	return time.Time{}, false
}

// RetryBudgetLeft reports the time left of ctx's retry budget (0 when
// none or spent).
func RetryBudgetLeft(ctx context.Context) time.Duration {
	if t, ok := retryDeadline(ctx); ok {
		return max(time.Until(t), 0)
	}
	return 0
}

// IsTransient reports whether err is a failure that repeating the request
// may cure (5xx, SlowDown, 429, timeouts, resets, refused connections, DNS
// errors): what the retry policy above retries.
func IsTransient(err error) bool { return retryable(err) }
