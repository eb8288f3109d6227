package obstest

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Options configures a Server.
type Options struct {
	AccessKey     string // required for signed requests; "" = every signed request is InvalidAccessKeyId
	SecretKey     string
	SecurityToken string // when set, signed requests must carry it (x-obs-/x-amz-security-token)
	Buckets       []string
	FSBuckets     []string // parallel-file-system buckets (x-obs-fs-file-interface: Enabled)
	Versioned     bool     // start every bucket with versioning Enabled
	Root          string   // when set, object bodies are files under Root/blobs-* (removed by Close)
	// Persist (with Root) keeps the whole state under Root/state and the
	// bodies under Root/blobs across restarts (persist.go); a new Server on
	// the same Root serves the same buckets.
	Persist   bool
	Region    string // default "cn-north-4"; V4 signatures must be scoped to it
	AnyRegion bool   // accept V4 signatures scoped to any region
	OwnerID   string // owner/domain id in ACLs and listings
	// Domains are endpoint host names (e.g. "obs.example.test"): a Host
	// "<bucket>.<domain>" is virtual-hosted even when the bucket does not
	// exist (→ NoSuchBucket). Hosts starting with a served bucket's name and
	// a dot are always virtual-hosted.
	Domains []string
	Clock   func() time.Time
	// RestoreDelay is how long a restore of a COLD object takes (0 = done at once).
	RestoreDelay time.Duration
	// Link simulates a network: latency per request, bandwidth per
	// connection (link.go); zero is loopback as it is.
	Link Link
	// Logf, when set, receives one line per request.
	Logf func(format string, args ...any)
}

// Server is an in-process OBS emulator. All methods are safe for concurrent use.
type Server struct {
	// URL is the base URL (http://127.0.0.1:PORT) when started by New.
	URL string

	opts    Options
	blobs   blobStore
	ids     idGen
	stats   statsRegistry
	journal journal
	faults  faultSet
	link    linkState
	hs      *httptest.Server
	persist *persister // nil unless Options.Persist

	mu sync.RWMutex
	// GUARDED_BY(mu):
	buckets map[string]*bucket

	// cfgMu is a leaf lock (taken last, never held while taking another).
	cfgMu sync.RWMutex
	// GUARDED_BY(cfgMu):
	clock        func() time.Time
	restoreDelay time.Duration
}

// New starts an emulator on a loopback port, like httptest.NewServer. It
// panics if opts is unusable (bad Root); use NewUnstarted for an error.
func New(opts Options) *Server {
	s, err := NewUnstarted(opts)
	if err != nil {
		panic(fmt.Sprintf("obstest: %v", err))
	}
	s.startHTTPTest()
	return s
}

// NewTest starts an emulator and closes it when t ends.
func NewTest(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := NewUnstarted(opts)
	if err != nil {
		t.Fatalf("obstest: %v", err)
	}
	s.startHTTPTest()
	t.Cleanup(s.Close)
	return s
}

// startHTTPTest serves s on a loopback port through the link's pacing.
func (s *Server) startHTTPTest() {
	s.hs = httptest.NewUnstartedServer(s)
	s.hs.Listener = s.WrapListener(s.hs.Listener)
	s.hs.Start()
	s.URL = s.hs.URL
}

// NewUnstarted builds an emulator without listening; serve s.Handler()
// yourself (the obs-emulator binary does).
func NewUnstarted(opts Options) (*Server, error) {
	if opts.Region == "" {
		opts.Region = "cn-north-4"
	}
	if opts.OwnerID == "" {
		opts.OwnerID = "0123456789abcdef0123456789abcdef"
	}
	s := &Server{opts: opts, buckets: map[string]*bucket{}, clock: opts.Clock, restoreDelay: opts.RestoreDelay}
	s.link.set(opts.Link)
	if s.clock == nil {
		s.clock = time.Now
	}
	s.blobs = memStore{}
	if opts.Persist {
		if opts.Root == "" {
			return nil, errors.New("option Persist needs a Root")
		}
		p, err := newPersister(opts.Root)
		if err != nil {
			return nil, err
		}
		s.persist, s.blobs = p, p.store
		if err := p.load(s); err != nil {
			return nil, fmt.Errorf("loading state from %s: %w", opts.Root, err)
		}
	} else if opts.Root != "" {
		d, err := newDiskStore(opts.Root)
		if err != nil {
			return nil, err
		}
		s.blobs = d
	}
	for _, name := range opts.Buckets {
		if err := s.CreateBucket(name, false); err != nil && !(s.persist != nil && errors.Is(err, errBucketOwned)) {
			return nil, err
		}
	}
	for _, name := range opts.FSBuckets {
		if err := s.CreateBucket(name, true); err != nil && !(s.persist != nil && errors.Is(err, errBucketOwned)) {
			return nil, err
		}
	}
	if s.persist != nil {
		for _, name := range s.bucketNames() {
			if err := s.persist.save(name, s.bucket(name)); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

// Handler returns the HTTP handler (the Server itself).
func (s *Server) Handler() http.Handler { return s }

// Close stops the listener started by New and frees disk blobs.
func (s *Server) Close() {
	if s.hs != nil {
		s.hs.CloseClientConnections()
		s.hs.Close()
	}
	_ = s.blobs.close()
}

// Addr returns host:port of the listener started by New ("" otherwise).
func (s *Server) Addr() string {
	if s.hs == nil {
		return ""
	}
	return s.hs.Listener.Addr().String()
}

// SetClock replaces the server clock (nil restores time.Now).
func (s *Server) SetClock(now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	s.cfgMu.Lock()
	s.clock = now
	s.cfgMu.Unlock()
}

// SetRestoreDelay changes how long future restores take.
func (s *Server) SetRestoreDelay(d time.Duration) {
	s.cfgMu.Lock()
	s.restoreDelay = d
	s.cfgMu.Unlock()
}

// now reads the server clock.
func (s *Server) now() time.Time {
	s.cfgMu.RLock()
	c := s.clock
	s.cfgMu.RUnlock()
	return c().UTC()
}

// CreateBucket adds a bucket (fs = parallel file system).
func (s *Server) CreateBucket(name string, fs bool) error {
	if !validBucketName(name) {
		return fmt.Errorf("invalid bucket name %q", name)
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.buckets[name]; ok {
		return errBucketOwned
	}
	b := newBucket(name, s.opts.Region, s.opts.OwnerID, fs, now)
	if s.opts.Versioned && !fs {
		b.versioning = "Enabled"
	}
	s.buckets[name] = b
	return nil
}

// bucket returns the named bucket or nil.
func (s *Server) bucket(name string) *bucket {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.buckets[name]
}

// bucketNames returns the served bucket names, sorted.
func (s *Server) bucketNames() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	names := make([]string, 0, len(s.buckets))
	for n := range s.buckets {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// validBucketName applies OBS bucket naming rules (PROTOCOL.md §6).
func validBucketName(n string) bool {
	if len(n) < 3 || len(n) > 63 || net.ParseIP(n) != nil {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	end := func(c byte) bool { return c != '.' && c != '-' }
	if !end(n[0]) || !end(n[len(n)-1]) {
		return false
	}
	return !strings.Contains(n, "..") && !strings.Contains(n, ".-") && !strings.Contains(n, "-.")
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.serveControl(w, r) {
		return
	}
	s.link.delay(r.Context())
	rc := s.newReqCtx(w, r)
	defer rc.finish()
	defer rc.recoverPanic()
	if err := rc.resolve(); err != nil {
		rc.fail(err)
		return
	}
	if s.applyFault(rc) {
		return
	}
	if err := s.authenticate(rc); err != nil {
		rc.fail(err)
		return
	}
	if err := rc.loadBucket(); err != nil {
		rc.fail(err)
		return
	}
	if rc.anonymous && rc.r.Method != http.MethodOptions {
		if err := rc.authorizeAnonymous(); err != nil {
			rc.fail(err)
			return
		}
	}
	rc.applyCORS()
	if err := rc.handler(rc); err != nil {
		rc.fail(err)
	}
	s.persistAfter(rc)
	if rc.w.swallow {
		resetConn(rc.w) // FaultResetAfter: the work is done, the answer is lost
	}
}

// resolve finds bucket, key and operation of the request.
func (rc *reqCtx) resolve() error {
	rc.bucketName, rc.key, rc.virtual = rc.s.splitTarget(rc.r)
	level := levelService
	if rc.bucketName != "" {
		level = levelBucket
	}
	if rc.key != "" {
		level = levelObject
	}
	rc.op, rc.handler = classify(rc.r.Method, rc.query, rc.r.Header, level)
	if len(rc.key) > 1024 {
		return errKeyTooLong
	}
	return nil
}

// loadBucket sets rc.b for bucket and object operations.
func (rc *reqCtx) loadBucket() error {
	if rc.bucketName == "" || rc.op == "CreateBucket" {
		return nil
	}
	rc.b = rc.s.bucket(rc.bucketName)
	if rc.b == nil {
		return errNoSuchBucket
	}
	return nil
}

// splitTarget returns bucket and (decoded) key, and whether the bucket came
// from the Host header (virtual-hosted style).
func (s *Server) splitTarget(r *http.Request) (bucketName, key string, virtual bool) {
	raw := r.URL.EscapedPath()
	if b := s.hostBucket(r.Host); b != "" {
		return b, unescapePath(strings.TrimPrefix(raw, "/")), true
	}
	rest := strings.TrimPrefix(raw, "/")
	if rest == "" {
		return "", "", false
	}
	bucketName, key, _ = strings.Cut(rest, "/")
	return unescapePath(bucketName), unescapePath(key), false
}

// hostBucket returns the served bucket named by a virtual-hosted Host
// ("bucket.endpoint[:port]"), or "".
func (s *Server) hostBucket(host string) string {
	h := strings.ToLower(host)
	if hh, _, err := net.SplitHostPort(h); err == nil {
		h = hh
	}
	if net.ParseIP(h) != nil || !strings.Contains(h, ".") {
		return ""
	}
	for _, name := range s.bucketNames() {
		if strings.HasPrefix(h, name+".") {
			return name
		}
	}
	for _, d := range s.opts.Domains {
		if b, ok := strings.CutSuffix(h, "."+d); ok && b != "" {
			return b
		}
	}
	return ""
}

// unescapePath decodes a path segment (keeps the raw text if malformed).
func unescapePath(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

// serveControl answers the emulator's own endpoints under /-/ (no auth).
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) bool {
	if !strings.HasPrefix(r.URL.Path, "/-/") || s.hostBucket(r.Host) != "" {
		return false
	}
	switch r.URL.Path {
	case "/-/stats":
		s.serveStats(w, r)
	case "/-/faults":
		s.serveFaults(w, r)
	case "/-/link":
		s.serveLink(w, r)
	case "/-/requests":
		s.serveRequests(w, r)
	case "/-/health":
		w.WriteHeader(http.StatusOK)
	default:
		http.NotFound(w, r)
	}
	return true
}

// logf logs if Options.Logf is set.
func (s *Server) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf(format, args...)
	}
}

// errClosed reports whether err is a "use of closed connection"-style error.
func errClosed(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrClosed)
}
