package obsclient_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obsfs/obsfs/obsclient"
	"github.com/obsfs/obsfs/obsclient/obstest"
	"github.com/obsfs/obsfs/obsclient/signer"
)

// recorder is a RoundTripper wrapper that remembers the Date and
// Authorization of every request it forwards.
type recorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	reqs []recorded // GUARDED_BY(mu)
}

type recorded struct{ method, query, date, auth string }

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, recorded{req.Method, req.URL.RawQuery, requestDate(req.Header), req.Header.Get("Authorization")})
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

func (r *recorder) all() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.reqs...)
}

// requestDate is the request's signing date: X-Amz-Date (V4) or Date.
func requestDate(h http.Header) string {
	if d := h.Get("X-Amz-Date"); d != "" {
		return d
	}
	return h.Get("Date")
}

// steppingClock advances 20 s per call, so every signature has its own Date.
func steppingClock() func() time.Time {
	base := time.Now().Add(-2 * time.Minute)
	var n atomic.Int64
	return func() time.Time { return base.Add(time.Duration(n.Add(1)) * 20 * time.Second) }
}

func TestRetryResignsEachAttempt(t *testing.T) {
	for _, d := range dialects {
		t.Run(dialectName(d), func(t *testing.T) {
			srv := newEmulator(t)
			rec := &recorder{}
			c := newClient(t, srv, clientOpts{dialect: d, wrap: func(rt http.RoundTripper) http.RoundTripper { rec.next = rt; return rec }})
			obsclient.SetClockForTest(c, steppingClock())
			b := mustBucket(t, c, testBucket)
			ctx := ctxT(t)

			// 503 SlowDown twice, then success: the body is rewound and
			// every attempt is signed afresh (the emulator verifies the last).
			require.NoError(t, srv.InjectFault(obstest.Fault{Op: "PutObject", Kind: obstest.FaultSlowDown, Count: 2}))
			data := []byte("retry me please")
			body := bytes.NewReader(data)
			_, err := body.Seek(6, io.SeekStart) // the body starts where the reader is
			require.NoError(t, err)
			_, err = b.PutObject(ctx, "k", body, int64(len(data)-6), obsclient.WriteOptions{})
			require.NoError(t, err)
			assert.EqualValues(t, 3, srv.Stats()["PutObject"].Requests)
			got, err := srv.ObjectBody(testBucket, "k")
			require.NoError(t, err)
			assert.Equal(t, "me please", string(got))
			reqs := rec.all()
			require.Len(t, reqs, 3)
			dates, auths := map[string]bool{}, map[string]bool{}
			for _, r := range reqs {
				dates[r.date], auths[r.auth] = true, true
			}
			assert.Len(t, dates, 3, "a fresh Date per attempt")
			assert.Len(t, auths, 3, "a fresh signature per attempt")

			// Connection reset before any response, then 429, then 408.
			srv.ResetStats()
			require.NoError(t, srv.InjectFault(obstest.Fault{Op: "GetObject", Kind: obstest.FaultReset}))
			require.NoError(t, srv.InjectFault(obstest.Fault{Op: "GetObject", Kind: obstest.FaultStatus, Status: 429, Code: "TooManyRequests"}))
			require.NoError(t, srv.InjectFault(obstest.Fault{Op: "GetObject", Kind: obstest.FaultStatus, Status: 408, Code: "RequestTimeout"}))
			r, err := b.GetObject(ctx, "k", obsclient.GetOptions{})
			require.NoError(t, err)
			assert.Equal(t, "me please", string(readAll(t, r)))
			assert.EqualValues(t, 4, srv.Stats()["GetObject"].Requests)

			// 500 on a listing and on a copy.
			require.NoError(t, srv.InjectFault(obstest.Fault{Op: "ListObjects", Kind: obstest.FaultStatus500}))
			page, err := b.ListObjects(ctx, obsclient.ListOptions{})
			require.NoError(t, err)
			assert.Len(t, page.Objects, 1)
			require.NoError(t, srv.InjectFault(obstest.Fault{Op: "CopyObject", Kind: obstest.FaultStatus500}))
			_, err = b.CopyObject(ctx, "k2", obsclient.CopySource{Key: "k"}, obsclient.CopyOptions{})
			require.NoError(t, err)
		})
	}
}

func TestRetryGivesUp(t *testing.T) {
	srv := newEmulator(t)
	c := newClient(t, srv, clientOpts{dialect: signer.OBS, mod: func(c *obsclient.Config) { c.Retries = 2 }})
	b := mustBucket(t, c, testBucket)
	require.NoError(t, srv.InjectFault(obstest.Fault{Op: "HeadObject", Kind: obstest.FaultStatus500, Count: -1}))
	_, err := b.HeadObject(ctx(t), "k", obsclient.GetOptions{})
	assert.True(t, obsclient.IsCode(err, "InternalError"), "%v", err)
	assert.EqualValues(t, 3, srv.Stats()["HeadObject"].Requests)
	srv.ClearFaults()

	// No retries at all.
	c = newClient(t, srv, clientOpts{dialect: signer.OBS, mod: func(c *obsclient.Config) { c.Retries = -1 }})
	b = mustBucket(t, c, testBucket)
	srv.ResetStats()
	require.NoError(t, srv.InjectFault(obstest.Fault{Op: "HeadObject", Kind: obstest.FaultSlowDown}))
	_, err = b.HeadObject(ctx(t), "k", obsclient.GetOptions{})
	assert.True(t, obsclient.IsCode(err, "SlowDown"), "%v", err)
	assert.EqualValues(t, 1, srv.Stats()["HeadObject"].Requests)

	// Client errors are final.
	srv.ResetStats()
	c = newClient(t, srv, clientOpts{dialect: signer.OBS})
	b = mustBucket(t, c, testBucket)
	require.NoError(t, srv.InjectFault(obstest.Fault{Op: "HeadObject", Kind: obstest.FaultStatus, Status: 403, Code: "AccessDenied"}))
	_, err = b.HeadObject(ctx(t), "k", obsclient.GetOptions{})
	assert.True(t, obsclient.IsAccessDenied(err), "%v", err)
	assert.EqualValues(t, 1, srv.Stats()["HeadObject"].Requests)
}

func ctx(t *testing.T) context.Context { return ctxT(t) }

func TestWrongCredentials(t *testing.T) {
	srv := newEmulator(t)
	for _, d := range dialects {
		c := newClient(t, srv, clientOpts{dialect: d, mod: func(c *obsclient.Config) { c.Credentials.SecretKey = "wrong" }})
		_, err := mustBucket(t, c, testBucket).HeadObject(ctx(t), "k", obsclient.GetOptions{})
		assert.True(t, obsclient.IsAccessDenied(err), "%s: %v", d, err)
		_, err = mustBucket(t, c, testBucket).ListObjects(ctx(t), obsclient.ListOptions{})
		assert.True(t, obsclient.IsCode(err, "SignatureDoesNotMatch"), "%s: %v", d, err)
		e, ok := obsclient.AsError(err)
		require.True(t, ok)
		assert.Equal(t, 403, e.StatusCode)
		assert.NotEmpty(t, e.RequestID)
	}
}

// dropReply performs matching requests on the server but tells the client
// the connection broke: the ambiguous failure of a non-idempotent request.
func dropReply(match func(*http.Request) bool, n *atomic.Int32) func(http.RoundTripper) http.RoundTripper {
	return func(next http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			resp, err := next.RoundTrip(r)
			if err == nil && match(r) && n.Add(-1) >= 0 {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return nil, errors.New("connection reset by peer (test)")
			}
			return resp, err
		})
	}
}

func TestAppendAfterAmbiguousFailure(t *testing.T) {
	for _, d := range dialects {
		t.Run(dialectName(d), func(t *testing.T) {
			srv := newEmulator(t)
			var drops atomic.Int32
			isAppend := func(r *http.Request) bool { return r.URL.Query().Has("append") }
			c := newClient(t, srv, clientOpts{dialect: d, wrap: dropReply(isAppend, &drops)})
			b := mustBucket(t, c, testBucket)
			_, err := b.AppendObject(ctx(t), "log", 0, strings.NewReader("abc"), 3, obsclient.WriteOptions{})
			require.NoError(t, err)

			// The append landed but the reply was lost: a HEAD settles it.
			srv.ResetStats()
			drops.Store(1)
			res, err := b.AppendObject(ctx(t), "log", 3, strings.NewReader("defg"), 4, obsclient.WriteOptions{})
			require.NoError(t, err)
			assert.EqualValues(t, 7, res.NextAppendPosition)
			assert.Equal(t, md5hex([]byte("defg")), res.ETag)
			st := srv.Stats()
			assert.EqualValues(t, 1, st["AppendObject"].Requests, "never resent")
			assert.EqualValues(t, 1, st["HeadObject"].Requests)

			// A 500 (the append did not land): one attempt, HEAD, error.
			srv.ResetStats()
			require.NoError(t, srv.InjectFault(obstest.Fault{Op: "AppendObject", Kind: obstest.FaultStatus500}))
			_, err = b.AppendObject(ctx(t), "log", 7, strings.NewReader("h"), 1, obsclient.WriteOptions{})
			assert.True(t, obsclient.IsCode(err, "InternalError"), "%v", err)
			st = srv.Stats()
			assert.EqualValues(t, 1, st["AppendObject"].Requests, "never resent")
			assert.EqualValues(t, 1, st["HeadObject"].Requests)

			// A definite refusal needs no HEAD.
			srv.ResetStats()
			_, err = b.AppendObject(ctx(t), "log", 2, strings.NewReader("h"), 1, obsclient.WriteOptions{})
			assert.True(t, obsclient.IsCode(err, "PositionNotEqualToLength"), "%v", err)
			assert.Zero(t, srv.Stats()["HeadObject"].Requests)

			got, err := srv.ObjectBody(testBucket, "log")
			require.NoError(t, err)
			assert.Equal(t, "abcdefg", string(got))
		})
	}
}

func TestCompleteAfterAmbiguousFailure(t *testing.T) {
	for _, d := range dialects {
		t.Run(dialectName(d), func(t *testing.T) {
			srv := newEmulator(t)
			var drops atomic.Int32
			isComplete := func(r *http.Request) bool {
				return r.Method == http.MethodPost && r.URL.Query().Has("uploadId")
			}
			c := newClient(t, srv, clientOpts{dialect: d, wrap: dropReply(isComplete, &drops)})
			b := mustBucket(t, c, testBucket)
			upload := func(key string) (string, []obsclient.Part) {
				id, err := b.InitiateMultipartUpload(ctx(t), key, obsclient.WriteOptions{})
				require.NoError(t, err)
				p, err := b.UploadPart(ctx(t), key, id, 1, strings.NewReader("only part"), 9)
				require.NoError(t, err)
				return id, []obsclient.Part{p}
			}

			// Reply lost after the server completed: HEAD shows the upload id.
			id, parts := upload("a")
			srv.ResetStats()
			drops.Store(1)
			res, err := b.CompleteMultipartUpload(ctx(t), "a", id, parts)
			require.NoError(t, err)
			assert.True(t, strings.HasSuffix(res.ETag, "-1"), res.ETag)
			assert.EqualValues(t, 1, srv.Stats()["CompleteMultipartUpload"].Requests, "never resent")

			// A 500 before completing: HEAD misses, ListParts shows the
			// upload, one more attempt succeeds.
			id, parts = upload("b")
			srv.ResetStats()
			require.NoError(t, srv.InjectFault(obstest.Fault{Op: "CompleteMultipartUpload", Kind: obstest.FaultStatus500}))
			_, err = b.CompleteMultipartUpload(ctx(t), "b", id, parts)
			require.NoError(t, err)
			st := srv.Stats()
			assert.EqualValues(t, 2, st["CompleteMultipartUpload"].Requests)
			assert.EqualValues(t, 1, st["ListParts"].Requests)

			// Persistent failure: at most two attempts.
			id, parts = upload("c")
			srv.ResetStats()
			require.NoError(t, srv.InjectFault(obstest.Fault{Op: "CompleteMultipartUpload", Kind: obstest.FaultStatus500, Count: -1}))
			_, err = b.CompleteMultipartUpload(ctx(t), "c", id, parts)
			assert.True(t, obsclient.IsCode(err, "InternalError"), "%v", err)
			assert.EqualValues(t, 2, srv.Stats()["CompleteMultipartUpload"].Requests)
			srv.ClearFaults()

			// A definite error is returned at once.
			srv.ResetStats()
			_, err = b.CompleteMultipartUpload(ctx(t), "c", id, []obsclient.Part{{Number: 1, ETag: "0123"}})
			assert.True(t, obsclient.IsCode(err, "InvalidPart"), "%v", err)
			assert.Zero(t, srv.Stats()["HeadObject"].Requests)
		})
	}
}

func TestTruncatedBodyIsAnError(t *testing.T) {
	srv := newEmulator(t)
	c := newClient(t, srv, clientOpts{dialect: signer.OBS})
	b := mustBucket(t, c, testBucket)
	data := bytes.Repeat([]byte("0123456789"), 10000)
	_, err := b.PutObject(ctx(t), "big", bytes.NewReader(data), int64(len(data)), obsclient.WriteOptions{})
	require.NoError(t, err)
	srv.ResetStats()
	require.NoError(t, srv.InjectFault(obstest.Fault{Op: "GetObject", Kind: obstest.FaultTruncate, After: 1000}))
	r, err := b.GetObject(ctx(t), "big", obsclient.GetOptions{})
	require.NoError(t, err)
	got, err := io.ReadAll(r)
	r.Close()
	require.Error(t, err)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	_, isObs := obsclient.AsError(err)
	assert.True(t, isObs, "%T", err)
	assert.Less(t, len(got), len(data))
	assert.Equal(t, data[:len(got)], got)
	// The emulator counts a request when its handler finishes, which may be
	// just after the client saw the cut.
	assert.Eventually(t, func() bool { return srv.Stats()["GetObject"].Requests == 1 }, 5*time.Second, 10*time.Millisecond)
	assert.EqualValues(t, 1, srv.Stats()["GetObject"].Requests, "not retried inside GetObject")

	// The caller resumes with a range pinned to the ETag.
	r, err = b.GetObject(ctx(t), "big", obsclient.GetOptions{Range: &obsclient.Range{Start: int64(len(got)), End: -1}, IfMatch: r.Info.ETag})
	require.NoError(t, err)
	rest := readAll(t, r)
	assert.Equal(t, data, append(got, rest...))
}

func TestCancellationAndAttemptTimeout(t *testing.T) {
	srv := newEmulator(t)
	c := newClient(t, srv, clientOpts{dialect: signer.OBS, mod: func(c *obsclient.Config) { c.RequestTimeout = 100 * time.Millisecond }})
	b := mustBucket(t, c, testBucket)
	_, err := b.PutObject(ctx(t), "k", strings.NewReader("v"), 1, obsclient.WriteOptions{})
	require.NoError(t, err)

	// A slow first attempt times out and is retried.
	srv.ResetStats()
	require.NoError(t, srv.InjectFault(obstest.Fault{Op: "HeadObject", Kind: obstest.FaultDelay, Delay: time.Second}))
	_, err = b.HeadObject(ctx(t), "k", obsclient.GetOptions{})
	require.NoError(t, err)

	// The caller's cancellation is final and prompt.
	require.NoError(t, srv.InjectFault(obstest.Fault{Op: "GetObject", Kind: obstest.FaultDelay, Delay: 2 * time.Second, Count: -1}))
	c2 := newClient(t, srv, clientOpts{dialect: signer.OBS})
	b2 := mustBucket(t, c2, testBucket)
	cctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = b2.GetObject(cctx, "k", obsclient.GetOptions{})
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 1500*time.Millisecond)
	srv.ClearFaults()
}

// TestCompleteSettledByETag: when HEAD carries no upload id (older
// servers), a vanished upload plus an ETag ending in -N settles it.
func TestCompleteSettledByETag(t *testing.T) {
	srv := newEmulator(t)
	var drops atomic.Int32
	isComplete := func(r *http.Request) bool { return r.Method == http.MethodPost && r.URL.Query().Has("uploadId") }
	strip := func(next http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			resp, err := next.RoundTrip(r)
			if err == nil {
				resp.Header.Del("x-obs-uploadId")
				resp.Header.Del("x-amz-uploadId")
			}
			return resp, err
		})
	}
	c := newClient(t, srv, clientOpts{dialect: signer.OBS, wrap: func(rt http.RoundTripper) http.RoundTripper {
		return dropReply(isComplete, &drops)(strip(rt))
	}})
	b := mustBucket(t, c, testBucket)
	id, err := b.InitiateMultipartUpload(ctx(t), "e", obsclient.WriteOptions{})
	require.NoError(t, err)
	p1, err := b.UploadPart(ctx(t), "e", id, 1, bytes.NewReader(make([]byte, 100<<10)), 100<<10)
	require.NoError(t, err)
	p2, err := b.UploadPart(ctx(t), "e", id, 2, strings.NewReader("tail"), 4)
	require.NoError(t, err)
	srv.ResetStats()
	drops.Store(1)
	res, err := b.CompleteMultipartUpload(ctx(t), "e", id, []obsclient.Part{p1, p2})
	require.NoError(t, err)
	assert.True(t, strings.HasSuffix(res.ETag, "-2"), res.ETag)
	st := srv.Stats()
	assert.EqualValues(t, 1, st["CompleteMultipartUpload"].Requests)
	assert.EqualValues(t, 1, st["ListParts"].Requests)

	// With a different part count the ETag does not match: the error stays.
	id, err = b.InitiateMultipartUpload(ctx(t), "e", obsclient.WriteOptions{})
	require.NoError(t, err)
	p1, err = b.UploadPart(ctx(t), "e", id, 1, strings.NewReader("only"), 4)
	require.NoError(t, err)
	require.NoError(t, b.AbortMultipartUpload(ctx(t), "e", id))
	drops.Store(1)
	_, err = b.CompleteMultipartUpload(ctx(t), "e", id, []obsclient.Part{p1})
	assert.Error(t, err, "the existing object is not this upload's result")
}

// TestClockSkewIsCorrected: a client whose clock is an hour off is refused
// once (RequestTimeTooSkewed), learns the offset from the server's Date
// and signs correctly from then on, even for non-idempotent requests.
func TestClockSkewIsCorrected(t *testing.T) {
	for _, d := range dialects {
		srv := newEmulator(t)
		c := newClient(t, srv, clientOpts{dialect: d})
		obsclient.SetClockForTest(c, func() time.Time { return time.Now().Add(-time.Hour) })
		b := mustBucket(t, c, testBucket)
		_, err := b.AppendObject(ctx(t), "skew", 0, strings.NewReader("x"), 1, obsclient.WriteOptions{})
		require.NoError(t, err, d)
		_, err = b.HeadObject(ctx(t), "skew", obsclient.GetOptions{})
		require.NoError(t, err, d)
		assert.EqualValues(t, 2, srv.Stats()["AppendObject"].Requests, "refused once, then accepted")
		assert.EqualValues(t, 1, srv.Stats()["HeadObject"].Requests)
		u, err := b.PresignURL(http.MethodGet, "skew", time.Minute, nil)
		require.NoError(t, err)
		resp, err := (&http.Client{Transport: c.Config().Transport}).Get(u)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, "presigned URLs use the corrected clock")
	}
}

// TestRetryBudget: under WithRetryBudget a persistent SlowDown (or a
// server that refuses connections) is retried until the budget is spent,
// not given up after Retries extra attempts; without a budget the count
// rules; non-idempotent requests are still sent once.
func TestRetryBudget(t *testing.T) {
	srv := newEmulator(t)
	c := newClient(t, srv, clientOpts{dialect: signer.OBS, mod: func(c *obsclient.Config) { c.RetryBaseDelay = time.Millisecond }})
	b := mustBucket(t, c, testBucket)
	_, err := b.PutObject(ctx(t), "k", strings.NewReader("v"), 1, obsclient.WriteOptions{})
	require.NoError(t, err)

	// Ten SlowDowns: the default count (3 retries) gives up…
	require.NoError(t, srv.InjectFault(obstest.Fault{Op: "HeadObject", Kind: obstest.FaultSlowDown, Count: 10}))
	_, err = b.HeadObject(ctx(t), "k", obsclient.GetOptions{})
	assert.True(t, obsclient.IsCode(err, "SlowDown"), "%v", err)
	assert.True(t, obsclient.IsTransient(err))
	// …a budget rides them out.
	srv.ResetStats()
	bctx := obsclient.WithRetryBudget(ctx(t), 5*time.Minute)
	_, err = b.HeadObject(bctx, "k", obsclient.GetOptions{})
	require.NoError(t, err)
	assert.EqualValues(t, 7, srv.Stats()["HeadObject"].Requests, "6 SlowDowns left, then success")

	// A spent budget ends the retries with the last error.
	srv.ResetStats()
	require.NoError(t, srv.InjectFault(obstest.Fault{Op: "HeadObject", Kind: obstest.FaultStatus500, Count: -1}))
	_, err = b.HeadObject(obsclient.WithRetryBudget(ctx(t), 200*time.Millisecond), "k", obsclient.GetOptions{})
	assert.True(t, obsclient.IsCode(err, "InternalError"), "%v", err)
	assert.Greater(t, srv.Stats()["HeadObject"].Requests, int64(4))
	// The caller's cancellation ends a budgeted wait.
	cctx, cancel := context.WithCancel(obsclient.WithRetryBudget(ctx(t), time.Hour))
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err = b.HeadObject(cctx, "k", obsclient.GetOptions{})
	assert.ErrorIs(t, err, context.Canceled)
	srv.ClearFaults()

	// Append is not idempotent: one attempt, budget or not.
	srv.ResetStats()
	require.NoError(t, srv.InjectFault(obstest.Fault{Op: "AppendObject", Kind: obstest.FaultStatus500, Count: 3}))
	_, err = b.AppendObject(obsclient.WithRetryBudget(ctx(t), time.Minute), "ap", 0, strings.NewReader("x"), 1, obsclient.WriteOptions{})
	assert.Error(t, err)
	assert.EqualValues(t, 1, srv.Stats()["AppendObject"].Requests)
}

// TestReadTimeout: requests without side effects (HEAD, GET) give up an
// attempt after ReadTimeout (a frozen server), requests that change things
// wait RequestTimeout.
func TestReadTimeout(t *testing.T) {
	srv := newEmulator(t)
	c := newClient(t, srv, clientOpts{dialect: signer.OBS, mod: func(c *obsclient.Config) {
		c.RequestTimeout, c.ReadTimeout, c.RetryBaseDelay = time.Minute, 100*time.Millisecond, time.Millisecond
	}})
	b := mustBucket(t, c, testBucket)
	require.NoError(t, srv.InjectFault(obstest.Fault{Op: "PutObject", Kind: obstest.FaultDelay, Delay: time.Second}))
	_, err := b.PutObject(ctx(t), "k", strings.NewReader("v"), 1, obsclient.WriteOptions{})
	require.NoError(t, err)
	assert.EqualValues(t, 1, srv.Stats()["PutObject"].Requests, "a PUT waits up to RequestTimeout")
	require.NoError(t, srv.InjectFault(obstest.Fault{Op: "HeadObject", Kind: obstest.FaultDelay, Delay: time.Second}))
	_, err = b.HeadObject(ctx(t), "k", obsclient.GetOptions{})
	require.NoError(t, err)
	// The abandoned attempt is counted when its handler ends (after Delay).
	assert.Eventually(t, func() bool { return srv.Stats()["HeadObject"].Requests == 2 }, 10*time.Second, 20*time.Millisecond,
		"a HEAD attempt gives up after ReadTimeout and is retried")
}

// TestInitiateLostAnswerLeavesNoUpload: the server created the upload but
// its answer was lost (connection reset after the work); the retry creates
// a second one, and the first, whose id nobody knows, is aborted.
func TestInitiateLostAnswerLeavesNoUpload(t *testing.T) {
	srv := newEmulator(t)
	c := newClient(t, srv, clientOpts{dialect: signer.OBS})
	b := mustBucket(t, c, testBucket)
	require.NoError(t, srv.InjectFault(obstest.Fault{Op: "InitiateMultipartUpload", Kind: obstest.FaultResetAfter}))
	id, err := b.InitiateMultipartUpload(ctx(t), "mp", obsclient.WriteOptions{})
	require.NoError(t, err)
	ups := srv.Uploads(testBucket)
	require.Len(t, ups, 1, "the upload of the lost answer is aborted")
	assert.Equal(t, id, ups[0].UploadID)
}
