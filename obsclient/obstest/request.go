package obstest

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// handlerFunc serves one OBS operation. A returned error is rendered as an
// OBS error response unless the handler already started its response.
type handlerFunc func(rc *reqCtx) error

// reqCtx is the state of one API request.
type reqCtx struct {
	s       *Server
	w       *respWriter
	r       *http.Request
	query   url.Values
	in      *countingReader
	id      string
	hostID  string
	started time.Time

	op      string
	handler handlerFunc

	bucketName string
	key        string
	virtual    bool
	b          *bucket

	s3        bool // S3 dialect (V2/V4): response headers use x-amz-
	anonymous bool
}

func (s *Server) newReqCtx(w http.ResponseWriter, r *http.Request) *reqCtx {
	now := s.now()
	rc := &reqCtx{s: s, r: r, started: time.Now()}
	rc.w = &respWriter{ResponseWriter: w, status: http.StatusOK, declared: -1}
	rc.w.beforeLast = rc.account
	rc.query = parseQuery(r.URL.RawQuery)
	rc.in = &countingReader{r: r.Body}
	r.Body = io.NopCloser(rc.in)
	rc.id = s.ids.next(now)
	rc.hostID = base64.StdEncoding.EncodeToString([]byte(rc.id + "obstest"))
	rc.s3 = detectS3(r, rc.query)
	h := w.Header()
	h.Set("Server", "OBS")
	h.Set("Date", now.Format(http.TimeFormat))
	rc.setHdr("request-id", rc.id)
	rc.setHdr("id-2", rc.hostID)
	return rc
}

// parseQuery parses a raw query leniently (bad escapes keep raw text).
func parseQuery(raw string) url.Values {
	q := url.Values{}
	for _, kv := range strings.Split(raw, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		q.Add(queryUnescape(k), queryUnescape(v))
	}
	return q
}

func queryUnescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// detectS3 reports whether the request speaks the S3 dialect (V2 or V4).
func detectS3(r *http.Request, q url.Values) bool {
	auth := r.Header.Get("Authorization")
	if strings.HasPrefix(auth, "AWS") {
		return true
	}
	return q.Has("AWSAccessKeyId") || q.Has("X-Amz-Signature")
}

// has reports whether the query carries sub-resource k.
func (rc *reqCtx) has(k string) bool { return rc.query.Has(k) }

// hdr returns request header x-obs-<name>, else x-amz-<name>.
func (rc *reqCtx) hdr(name string) string {
	if v := rc.r.Header.Get("x-obs-" + name); v != "" {
		return v
	}
	return rc.r.Header.Get("x-amz-" + name)
}

// prefix returns the dialect's header prefix.
func (rc *reqCtx) prefix() string {
	if rc.s3 {
		return "x-amz-"
	}
	return "x-obs-"
}

// setHdr sets response header <prefix><name> in the request's dialect.
func (rc *reqCtx) setHdr(name, value string) {
	rc.w.Header().Set(rc.prefix()+name, value)
}

// fail renders err unless the response already started.
func (rc *reqCtx) fail(err error) {
	if rc.w.wroteHeader {
		return
	}
	rc.writeError(asAPIError(err))
}

// recoverPanic turns a handler panic into 500 InternalError.
func (rc *reqCtx) recoverPanic() {
	p := recover()
	if p == nil {
		return
	}
	if p == http.ErrAbortHandler {
		panic(p)
	}
	rc.s.logf("obstest: panic serving %s %s: %v\n%s", rc.r.Method, rc.r.URL, p, debug.Stack())
	rc.fail(errInternal)
}

// finish records stats (unless already done when the last body byte was
// about to be written) and logs the request.
func (rc *reqCtx) finish() {
	if !rc.w.accounted {
		rc.account(rc.w.n)
	}
	rc.s.logf("obstest: %s %s %s -> %d (%s)", rc.opName(), rc.r.Method, rc.r.URL.RequestURI(), rc.w.status, time.Since(rc.started).Round(time.Microsecond))
}

// opName is the operation name for stats.
func (rc *reqCtx) opName() string {
	if rc.op == "" {
		return "Unknown"
	}
	return rc.op
}

// account records the request in Stats and the journal with out bytes sent.
// It runs before the last body byte leaves, so a client that has read a
// whole response always finds it counted.
func (rc *reqCtx) account(out int64) {
	rc.w.accounted = true
	op := rc.opName()
	rc.s.stats.record(op, rc.in.n.Load(), out, rc.w.status)
	rc.record(op, out)
}

// writeXML sends v as an XML document with status.
func (rc *reqCtx) writeXML(status int, v any) error {
	out, err := xml.Marshal(v)
	if err != nil {
		return err
	}
	out = append([]byte(xml.Header), out...)
	h := rc.w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(len(out)))
	rc.w.WriteHeader(status)
	if rc.r.Method != http.MethodHead {
		_, _ = rc.w.Write(out)
	}
	return nil
}

// noContent sends an empty response with status.
func (rc *reqCtx) noContent(status int) error {
	rc.w.Header().Set("Content-Length", "0")
	rc.w.WriteHeader(status)
	return nil
}

// readSmallBody reads a request document of at most limit bytes, verifying
// Content-MD5 when present (or mandatory when needMD5).
func (rc *reqCtx) readSmallBody(limit int64, needMD5 bool) ([]byte, error) {
	want, err := rc.contentMD5()
	if err != nil {
		return nil, err
	}
	sha := rc.r.Header.Get("Content-SHA256") // the SDK's alternative to Content-MD5
	if needMD5 && want == nil && sha == "" {
		return nil, errMissingMD5
	}
	data, err := io.ReadAll(io.LimitReader(rc.r.Body, limit+1))
	if err != nil {
		return nil, bodyError(err)
	}
	if int64(len(data)) > limit {
		return nil, errf(http.StatusBadRequest, "EntityTooLarge", "request document too large")
	}
	if want != nil {
		if got := md5.Sum(data); !bytes.Equal(got[:], want) {
			return nil, errBadDigest
		}
	}
	if sha != "" && !sha256Matches(data, sha) {
		return nil, errBadDigest
	}
	return data, nil
}

// sha256Matches accepts a Content-SHA256 in base64 or hex.
func sha256Matches(data []byte, v string) bool {
	sum := sha256.Sum256(data)
	return v == base64.StdEncoding.EncodeToString(sum[:]) || strings.EqualFold(v, hex.EncodeToString(sum[:]))
}

// readXML decodes the request body into v (MalformedXML on failure).
func (rc *reqCtx) readXML(v any, limit int64, needMD5 bool) error {
	data, err := rc.readSmallBody(limit, needMD5)
	if err != nil {
		return err
	}
	if err := xml.Unmarshal(data, v); err != nil {
		return errMalformedXML
	}
	return nil
}

// contentMD5 decodes the Content-MD5 header (nil when absent).
func (rc *reqCtx) contentMD5() ([]byte, error) {
	v := rc.r.Header.Get("Content-MD5")
	if v == "" {
		return nil, nil
	}
	sum, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(sum) != md5.Size {
		return nil, errInvalidDigest
	}
	return sum, nil
}

// bodyError maps a request body read failure to an OBS error.
func bodyError(err error) error {
	if ae := (*apiError)(nil); asAPI(err, &ae) {
		return ae
	}
	if err == errTooLarge {
		return errEntityTooLarge
	}
	if err == io.ErrUnexpectedEOF {
		return errIncompleteBody
	}
	return errRequestTimeout
}

// asAPI is errors.As for *apiError.
func asAPI(err error, target **apiError) bool {
	for err != nil {
		if e, ok := err.(*apiError); ok {
			*target = e
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}

// countingReader counts request body bytes (for stats).
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.r == nil {
		return 0, io.EOF
	}
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// respWriter counts response bytes and can cut the body short (fault
// injection).
type respWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
	n           int64
	truncate    bool  // fault: cut the body after truncateAt bytes and drop the connection
	truncateAt  int64 // <= 0 at WriteHeader: half the Content-Length
	cut         bool
	declared    int64             // Content-Length at WriteHeader, -1 if none
	beforeLast  func(total int64) // called once, before the last declared body byte is written
	accounted   bool              // beforeLast (or finish) has recorded the request
	swallow     bool              // fault: serve, discard the response, then reset (see finishFault)
}

// aboutToWrite calls beforeLast when n more bytes complete the body.
func (w *respWriter) aboutToWrite(n int64) {
	if !w.accounted && w.declared >= 0 && w.n+n >= w.declared && w.beforeLast != nil {
		w.beforeLast(w.n + n)
	}
}

func (w *respWriter) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	w.wroteHeader = true
	w.status = code
	if w.swallow {
		return
	}
	if cl, err := strconv.ParseInt(w.Header().Get("Content-Length"), 10, 64); err == nil {
		w.declared = cl
	}
	if w.truncate && w.truncateAt <= 0 {
		w.truncateAt = max(w.declared, 0) / 2
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *respWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.swallow {
		w.n += int64(len(p))
		return len(p), nil
	}
	if w.cut {
		return 0, net.ErrClosed
	}
	if w.truncate && w.n+int64(len(p)) > w.truncateAt {
		keep := w.truncateAt - w.n
		n, _ := w.ResponseWriter.Write(p[:keep])
		w.n += int64(n)
		w.dropConn()
		return n, net.ErrClosed
	}
	w.aboutToWrite(int64(len(p)))
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

// ReadFrom lets sendfile-capable sources (an *os.File behind an
// io.LimitedReader) reach the connection directly; a truncate fault falls
// back to Write.
func (w *respWriter) ReadFrom(r io.Reader) (int64, error) {
	rf, ok := w.ResponseWriter.(io.ReaderFrom)
	if w.truncate || w.swallow || !ok {
		return copyBuffered(onlyWriter{w}, r)
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.declared >= 0 {
		w.aboutToWrite(w.declared - w.n)
	}
	n, err := rf.ReadFrom(r)
	w.n += n
	return n, err
}

// dropConn flushes what was written and closes the connection.
func (w *respWriter) dropConn() {
	w.cut = true
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
	hj, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	flushAndClose(conn, buf)
}

// flushAndClose writes out buffered data and closes conn.
func flushAndClose(conn net.Conn, buf *bufio.ReadWriter) {
	if buf != nil {
		_ = buf.Flush()
	}
	_ = conn.Close()
}

// Hijack exposes the underlying connection (for the reset fault).
func (w *respWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, fmt.Errorf("hijack not supported")
	}
	w.cut = true
	w.wroteHeader = true
	return hj.Hijack()
}
