package obsclient

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Client talks to one OBS endpoint with one set of credentials. It is safe
// for concurrent use; create one per mount and share it.
type Client struct {
	cfg     Config // with defaults applied; never mutated after New
	base    *url.URL
	virtual bool // virtual-hosted addressing
	http    *http.Client
	log     *zap.Logger
	rng     *lockedRand
	now     func() time.Time // signing clock; tests replace it (export_test.go)
	skew    atomic.Int64     // server time minus local time (ns), learnt from RequestTimeTooSkewed
}

// New validates cfg, applies the defaults documented on Config and builds
// the HTTP transport.
func New(cfg Config) (*Client, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	base, err := ParseEndpoint(cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	rt := cfg.Transport
	if rt == nil {
		if rt, err = cfg.newTransport(); err != nil {
			return nil, err
		}
	}
	c := &Client{
		cfg:     cfg,
		base:    base,
		virtual: useVirtual(cfg.Addressing, base.Hostname()),
		http: &http.Client{
			Transport:     rt,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		log: cfg.Logger,
		rng: newLockedRand(),
		now: time.Now,
	}
	return c, nil
}

// Config returns the configuration in effect (defaults applied). The
// credentials are included; their String method redacts the secrets.
func (c *Client) Config() Config { return c.cfg }

// signingTime is the local clock corrected by any skew learnt from the
// server.
func (c *Client) signingTime() time.Time {
	return c.now().Add(time.Duration(c.skew.Load()))
}

// learnSkew records the offset between the server's Date header and the
// local clock after a RequestTimeTooSkewed refusal; it reports whether the
// header was usable.
func (c *Client) learnSkew(h http.Header) bool {
	server, err := http.ParseTime(h.Get("Date"))
	if err != nil {
		return false
	}
	off := server.Sub(c.now())
	c.skew.Store(int64(off))
	c.log.Warn("obs: local clock differs from the server's; correcting signatures", zap.Duration("offset", off))
	return true
}

// Close releases idle keep-alive connections. The client stays usable.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// VirtualHosted reports whether requests put the bucket in the host name.
func (c *Client) VirtualHosted() bool { return c.virtual }

// ParseEndpoint turns an endpoint as configured ("obs.cn-north-4.myhuaweicloud.com",
// "https://host", "http://127.0.0.1:9000") into a base URL. No scheme means
// https; a path, query or user info is rejected.
func ParseEndpoint(endpoint string) (*url.URL, error) {
	e := strings.TrimSpace(endpoint)
	if e == "" {
		return nil, fmt.Errorf("obsclient: empty endpoint")
	}
	if !strings.Contains(e, "://") {
		e = "https://" + e
	}
	u, err := url.Parse(e)
	if err != nil {
		return nil, fmt.Errorf("obsclient: endpoint %q: %w", endpoint, err)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("obsclient: endpoint %q: scheme must be http or https", endpoint)
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.Trim(u.Path, "/") != "" {
		return nil, fmt.Errorf("obsclient: endpoint %q: want [scheme://]host[:port]", endpoint)
	}
	u.Path, u.RawPath = "", ""
	return u, nil
}

// useVirtual decides the addressing style: auto means path style for IP
// literals and localhost, virtual-hosted otherwise.
func useVirtual(style AddressingStyle, host string) bool {
	switch style {
	case AddressingPath:
		return false
	case AddressingVirtual:
		return true
	}
	h := strings.ToLower(host)
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return false
	}
	return net.ParseIP(strings.Trim(h, "[]")) == nil
}

// Bucket is a handle on one bucket; it holds no state beyond its name and
// is cheap to create.
type Bucket struct {
	c    *Client
	name string
	enc  atomic.Pointer[encState] // per-object encryption policy; nil: off (sse.go)
}

// Bucket returns a handle on the named bucket after checking OBS bucket
// naming rules (it does not contact the server; see Bucket.Head).
func (c *Client) Bucket(name string) (*Bucket, error) {
	if err := ValidateBucketName(name); err != nil {
		return nil, err
	}
	return &Bucket{c: c, name: name}, nil
}

// Name returns the bucket name.
func (b *Bucket) Name() string { return b.name }

// Client returns the client the bucket handle belongs to.
func (b *Bucket) Client() *Client { return b.c }

// ValidateBucketName checks the OBS naming rules: 3–63 characters of
// a-z 0-9 . -, starting and ending with a letter or digit, not shaped like
// an IPv4 address, and without "..", ".-" or "-.".
func ValidateBucketName(name string) error {
	bad := func(why string) error { return fmt.Errorf("obsclient: invalid bucket name %q: %s", name, why) }
	if len(name) < 3 || len(name) > 63 {
		return bad("length must be 3 to 63")
	}
	for i := 0; i < len(name); i++ {
		ch := name[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '.' || ch == '-') {
			return bad("only a-z, 0-9, '.' and '-' are allowed")
		}
	}
	if !isAlnum(name[0]) || !isAlnum(name[len(name)-1]) {
		return bad("must start and end with a letter or digit")
	}
	for _, s := range []string{"..", ".-", "-."} {
		if strings.Contains(name, s) {
			return bad("must not contain " + s)
		}
	}
	if ip := net.ParseIP(name); ip != nil {
		return bad("must not look like an IP address")
	}
	return nil
}

func isAlnum(ch byte) bool { return ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' }
