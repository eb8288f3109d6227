package obsclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/obsfs/obsfs/obsclient/signer"
)

// request describes one logical operation; do turns it into one or more
// HTTP attempts.
type request struct {
	op       string // operation name for errors and logs
	method   string
	key      string // object key; "" addresses the bucket
	query    url.Values
	header   http.Header
	body     io.ReadSeeker // nil: no body
	size     int64         // body length
	once     bool          // not idempotent: a single attempt (callers reconcile)
	stream   bool          // hand back the response with its body open (GET)
	errIn200 bool          // a 2xx body may be an <Error> document (copy, complete)
	object   bool          // addresses an object: key must be 1–1024 bytes
}

// result is a successful response. When the request streamed, resp.Body is
// open and the caller closes it; otherwise body holds the whole body.
type result struct {
	resp     *http.Response
	body     []byte
	attempts int
}

// maxXMLBody bounds the bodies read into memory (listings of 1000 keys of
// 1 KiB are about 1.5 MB).
const maxXMLBody = 32 << 20

// errAttemptTimeout is the cause of an attempt cancelled because the
// response headers took longer than Config.RequestTimeout.
var errAttemptTimeout = errors.New("timeout awaiting response headers")

// newRequest starts a request description.
func newRequest(op, method, key string) *request {
	return &request{op: op, method: method, key: key, query: url.Values{}, header: http.Header{}}
}

// newObjectRequest starts a request on an object key; do refuses an empty
// key (which would address the bucket) or one over 1024 bytes.
func newObjectRequest(op, method, key string) *request {
	r := newRequest(op, method, key)
	r.object = true
	return r
}

// MaxKeyLength is the longest object key OBS accepts, in bytes.
const MaxKeyLength = 1024

// prefix is the dialect's header prefix, "x-obs-" or "x-amz-".
func (b *Bucket) prefix() string { return b.c.cfg.Signature.HeaderPrefix() }

// isOBS reports whether the client speaks the OBS dialect.
func (b *Bucket) isOBS() bool { return b.c.cfg.Signature == signer.OBS }

// url builds the request URL and the signer's view of it.
func (b *Bucket) url(key string, query url.Values) (*url.URL, signer.Target) {
	c := b.c
	u := *c.base
	esc := ""
	if key != "" {
		esc = signer.EscapeKey(key)
	}
	t := signer.Target{Bucket: b.name, EscapedKey: esc, VirtualHosted: c.virtual, Region: c.cfg.Region}
	if c.virtual {
		u.Host = b.name + "." + c.base.Host
		u.Path, u.RawPath = "/"+key, "/"+esc
	} else if key == "" {
		u.Path = "/" + b.name
	} else {
		u.Path, u.RawPath = "/"+b.name+"/"+key, "/"+b.name+"/"+esc
	}
	u.RawQuery = encodeQuery(query)
	return &u, t
}

// encodeQuery renders query sorted by name, values escaped, and an empty
// value as a bare name ("?acl", "?uploads"), as the SDK does. Spaces are
// sent as %20, not "+": the V4 canonical query encodes them so, and a
// server that signs the raw query string sees the same bytes.
func encodeQuery(q url.Values) string {
	if len(q) == 0 {
		return ""
	}
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		for _, v := range q[k] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(queryEscape(k))
			if v != "" {
				b.WriteString("=" + queryEscape(v))
			}
		}
	}
	return b.String()
}

// do runs r, retrying transient failures of idempotent requests with capped
// exponential backoff and full jitter. Each attempt rewinds the body and is
// signed afresh (new Date).
func (b *Bucket) do(ctx context.Context, r *request) (*result, error) {
	if r.object && (r.key == "" || len(r.key) > MaxKeyLength) {
		return nil, &Error{Op: r.op, Key: r.key, Err: fmt.Errorf("%w: object key must be 1 to %d bytes", errNotRetryable, MaxKeyLength)}
	}
	if err := checkHeaders(r.header); err != nil {
		return nil, &Error{Op: r.op, Key: r.key, Err: fmt.Errorf("%w: %v", errNotRetryable, err)}
	}
	attempts := 1
	if !r.once {
		attempts += b.c.cfg.retries()
	}
	var start int64
	if r.body != nil {
		var err error
		if start, err = r.body.Seek(0, io.SeekCurrent); err != nil {
			return nil, &Error{Op: r.op, Key: r.key, Err: fmt.Errorf("body not seekable: %w", err)}
		}
	}
	var last error
	skewFixed, wait := false, true
	deadline, budget := retryDeadline(ctx)
	for n := 1; n <= attempts || (budget && !r.once); n++ {
		if n > 1 && wait {
			var ra time.Duration
			if e, ok := AsError(last); ok {
				ra = e.retryAfter
			}
			d := b.c.backoff(n-1, ra, throttled(last))
			if budget && n > attempts {
				d = min(d, time.Until(deadline)) // one last attempt at the deadline
			}
			if err := sleep(ctx, d); err != nil {
				return nil, &Error{Op: r.op, Key: r.key, Err: fmt.Errorf("%w while waiting to retry after: %v", err, last)}
			}
		}
		res, err := b.attempt(ctx, r, start, n)
		if err == nil {
			res.attempts = n
			return res, nil
		}
		last = err
		if ctx.Err() != nil {
			break
		}
		// A skewed clock is refused before anything happens, so even a
		// non-idempotent request may be re-sent once with corrected time.
		if e, ok := AsError(err); ok && e.Code == "RequestTimeTooSkewed" && !skewFixed && b.c.learnSkew(e.header) {
			skewFixed, wait = true, false
			attempts++
			continue
		}
		wait = true
		if !retryable(err) {
			break
		}
		if n >= attempts && (!budget || r.once || !time.Now().Before(deadline)) {
			break
		}
		if n < attempts || budget {
			b.c.log.Debug("obs retrying", zap.String("op", r.op), zap.String("bucket", b.name), zap.String("key", r.key),
				zap.Int("attempt", n))
		}
	}
	return nil, last
}

// attempt sends r once.
func (b *Bucket) attempt(ctx context.Context, r *request, start int64, n int) (*result, error) {
	t0 := time.Now()
	actx, cancel := context.WithCancelCause(ctx)
	req, err := b.httpRequest(actx, r, start)
	if err != nil {
		cancel(nil)
		return nil, err
	}
	var timer *time.Timer
	if d := b.c.cfg.attemptTimeout(r.method); d > 0 {
		timer = time.AfterFunc(d, func() { cancel(errAttemptTimeout) })
	}
	resp, err := b.c.http.Do(req)
	if timer != nil {
		timer.Stop()
	}
	if err != nil {
		e := b.transportError(ctx, actx, r, err)
		cancel(nil)
		b.logAttempt(r, n, 0, "", time.Since(t0), e)
		return nil, e
	}
	// From here the body owns the attempt's context: closing it cancels,
	// and a read that stalls longer than RequestTimeout fails.
	resp.Body = newStreamBody(actx, resp.Body, cancel, b.c.cfg.RequestTimeout)
	if resp.StatusCode >= 300 {
		e := b.responseError(r, resp)
		b.logAttempt(r, n, resp.StatusCode, e.RequestID, time.Since(t0), e)
		return nil, e
	}
	res := &result{resp: resp}
	if r.stream {
		b.logAttempt(r, n, resp.StatusCode, requestID(resp.Header), time.Since(t0), nil)
		return res, nil
	}
	res.body, err = io.ReadAll(io.LimitReader(resp.Body, maxXMLBody))
	resp.Body.Close()
	if err != nil {
		e := b.transportError(ctx, actx, r, err)
		e.StatusCode, e.RequestID = 0, requestID(resp.Header)
		b.logAttempt(r, n, resp.StatusCode, e.RequestID, time.Since(t0), e)
		return nil, e
	}
	if r.errIn200 && rootName(res.body) == "Error" {
		e := b.bodyError(r, resp, res.body)
		b.logAttempt(r, n, resp.StatusCode, e.RequestID, time.Since(t0), e)
		return nil, e
	}
	b.logAttempt(r, n, resp.StatusCode, requestID(resp.Header), time.Since(t0), nil)
	return res, nil
}

// httpRequest builds and signs the HTTP request of one attempt.
func (b *Bucket) httpRequest(ctx context.Context, r *request, start int64) (*http.Request, error) {
	u, target := b.url(r.key, r.query)
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), nil)
	if err != nil {
		return nil, &Error{Op: r.op, Key: r.key, Err: fmt.Errorf("%w: %v", errNotRetryable, err)}
	}
	req.URL = u // keep RawPath exactly as escaped
	for k, vs := range r.header {
		req.Header[k] = append([]string(nil), vs...)
	}
	req.Header.Set("User-Agent", b.c.cfg.UserAgent)
	if r.body != nil && r.size > 0 {
		if _, err := r.body.Seek(start, io.SeekStart); err != nil {
			return nil, &Error{Op: r.op, Key: r.key, Err: fmt.Errorf("%w: rewinding body: %v", errNotRetryable, err)}
		}
		req.Body = io.NopCloser(&exactReader{r: r.body, left: r.size})
		req.ContentLength = r.size
	} else if r.method == http.MethodPut || r.method == http.MethodPost {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	signer.SignRequest(req, b.c.cfg.Signature, b.c.cfg.Credentials, target, b.c.signingTime())
	return req, nil
}

// transportError wraps a failure to get a response. When the caller's
// context ended, that is the cause (and the error is not retried).
func (b *Bucket) transportError(ctx, actx context.Context, r *request, err error) *Error {
	e := &Error{Op: r.op, Key: r.key, Err: err}
	switch {
	case ctx.Err() != nil:
		e.Err = fmt.Errorf("%w (%v)", ctx.Err(), err)
	case errors.Is(context.Cause(actx), errAttemptTimeout):
		e.Err = fmt.Errorf("%w after %v", errAttemptTimeout, b.c.cfg.attemptTimeout(r.method))
	}
	return e
}

// responseError turns a non-2xx response into an *Error: the <Error> body
// when there is one (any namespace), else the x-obs-error-code /
// x-obs-error-message headers HEAD replies carry, else a code implied by
// the status.
func (b *Bucket) responseError(r *request, resp *http.Response) *Error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	e := b.bodyError(r, resp, body)
	if e.Code == "" {
		e.Code = defaultCode(resp.StatusCode, r.key != "")
	}
	return e
}

// bodyError builds an *Error from a response and its (possibly empty or
// malformed) <Error> body.
func (b *Bucket) bodyError(r *request, resp *http.Response, body []byte) *Error {
	h := resp.Header
	e := &Error{Op: r.op, Key: r.key, StatusCode: resp.StatusCode, RequestID: requestID(h), HostID: hostID(h),
		retryAfter: parseRetryAfter(h), header: h}
	var x xmlError
	if len(body) > 0 && decodeXML(body, &x) == nil {
		e.Code, e.Message, e.Resource = x.Code, x.Message, x.Resource
		if x.RequestID != "" {
			e.RequestID = x.RequestID
		}
		if x.HostID != "" {
			e.HostID = x.HostID
		}
	}
	if e.Code == "" {
		e.Code = firstHeader(h, "x-obs-error-code", "x-amz-error-code")
	}
	if e.Message == "" {
		e.Message = firstHeader(h, "x-obs-error-message", "x-amz-error-message")
	}
	return e
}

// defaultCode names the error of a bodiless reply.
func defaultCode(status int, object bool) string {
	switch status {
	case http.StatusNotModified:
		return "NotModified"
	case http.StatusNotFound:
		if object {
			return "NoSuchKey"
		}
		return "NoSuchBucket"
	case http.StatusForbidden:
		return "AccessDenied"
	case http.StatusPreconditionFailed:
		return "PreconditionFailed"
	case http.StatusRequestedRangeNotSatisfiable:
		return "InvalidRange"
	case http.StatusConflict:
		return "Conflict"
	case http.StatusServiceUnavailable:
		return "ServiceUnavailable"
	case http.StatusInternalServerError:
		return "InternalError"
	}
	return ""
}

func firstHeader(h http.Header, names ...string) string {
	for _, n := range names {
		if v := h.Get(n); v != "" {
			return v
		}
	}
	return ""
}

func requestID(h http.Header) string { return firstHeader(h, "x-obs-request-id", "x-amz-request-id") }
func hostID(h http.Header) string    { return firstHeader(h, "x-obs-id-2", "x-amz-id-2") }

// decodeInto decodes an XML reply; a malformed one is an *Error (never a
// panic) carrying the status and request id.
func (b *Bucket) decodeInto(r *request, res *result, v any) error {
	if err := decodeXML(res.body, v); err != nil {
		return &Error{Op: r.op, Key: r.key, StatusCode: res.resp.StatusCode, Code: "MalformedResponse",
			RequestID: requestID(res.resp.Header), Err: fmt.Errorf("malformed XML reply: %w", err)}
	}
	return nil
}

// doDecode sends r and decodes its XML reply into v; the reply is returned
// for its headers.
func (b *Bucket) doDecode(ctx context.Context, r *request, v any) (*result, error) {
	res, err := b.do(ctx, r)
	if err != nil {
		return nil, err
	}
	if err := b.decodeInto(r, res, v); err != nil {
		return nil, err
	}
	return res, nil
}

// malformed reports a reply that parsed as XML but made no sense.
func (b *Bucket) malformed(r *request, res *result, err error) *Error {
	return &Error{Op: r.op, Key: r.key, StatusCode: res.resp.StatusCode, Code: "MalformedResponse",
		RequestID: requestID(res.resp.Header), Err: err}
}

func errUnexpectedRoot(name string) error {
	return fmt.Errorf("unexpected XML root element <%s>", name)
}

// queryEscape is url.QueryEscape with a space as %20.
func queryEscape(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }
