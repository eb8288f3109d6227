package obsclient

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/obsfs/obsfs/obsclient/signer"
)

// Version is reported in the default User-Agent.
const Version = "0.1.0"

// Defaults applied by New to zero Config fields.
const (
	DefaultRegion         = "cn-north-4"
	DefaultConnectTimeout = 10 * time.Second
	DefaultRequestTimeout = 60 * time.Second
	DefaultReadTimeout    = 15 * time.Second
	DefaultIdleTimeout    = 90 * time.Second
	DefaultRetries        = 3
	DefaultRetryBaseDelay = 100 * time.Millisecond
	MaxRetryDelay         = 10 * time.Second
	DefaultMaxConns       = 64
)

// withDefaults returns cfg with zero fields replaced by defaults, or an
// error when a field is invalid.
func (cfg Config) withDefaults() (Config, error) {
	if strings.TrimSpace(cfg.Endpoint) == "" {
		return cfg, fmt.Errorf("obsclient: Config.Endpoint is required")
	}
	if cfg.Credentials.AccessKey == "" || cfg.Credentials.SecretKey == "" {
		return cfg, fmt.Errorf("obsclient: Config.Credentials need an access key and a secret key")
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	if cfg.Signature == "" {
		cfg.Signature = signer.OBS
	}
	d, err := signer.ParseDialect(string(cfg.Signature))
	if err != nil {
		return cfg, fmt.Errorf("obsclient: %w", err)
	}
	cfg.Signature = d
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = DefaultReadTimeout
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.Retries == 0 {
		cfg.Retries = DefaultRetries
	}
	if cfg.RetryBaseDelay <= 0 {
		cfg.RetryBaseDelay = DefaultRetryBaseDelay
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "obsfs/" + Version
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	return cfg, nil
}

// attemptTimeout is the time to response headers of one attempt of a
// request with the given method (0: none).
func (cfg *Config) attemptTimeout(method string) time.Duration {
	d := cfg.RequestTimeout
	if (method == http.MethodGet || method == http.MethodHead) && cfg.ReadTimeout > 0 && (d <= 0 || cfg.ReadTimeout < d) {
		d = cfg.ReadTimeout
	}
	return max(d, 0)
}

// retries is the number of extra attempts (Retries < 0 means none).
func (cfg *Config) retries() int {
	if cfg.Retries < 0 {
		return 0
	}
	return cfg.Retries
}

// newTransport builds the HTTP transport from the timeouts, TLS, proxy and
// pool settings.
func (cfg *Config) newTransport() (*http.Transport, error) {
	tlsCfg := &tls.Config{InsecureSkipVerify: cfg.InsecureSkipVerify} //nolint:gosec // ssl_verify=false is an explicit option
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("obsclient: CAFile: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("obsclient: CAFile %s: no PEM certificates", cfg.CAFile)
		}
		tlsCfg.RootCAs = pool
	}
	if cfg.SkipHostnameVerify && !cfg.InsecureSkipVerify {
		// crypto/tls verifies chain and name together; verify the chain
		// alone here.
		roots := tlsCfg.RootCAs
		tlsCfg.InsecureSkipVerify = true //nolint:gosec // the chain is verified below
		tlsCfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("tls: server sent no certificate")
			}
			opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool()}
			for _, c := range cs.PeerCertificates[1:] {
				opts.Intermediates.AddCert(c)
			}
			if _, err := cs.PeerCertificates[0].Verify(opts); err != nil {
				return &tls.CertificateVerificationError{UnverifiedCertificates: cs.PeerCertificates, Err: err}
			}
			return nil
		}
	}
	proxy := http.ProxyFromEnvironment
	if cfg.Proxy != "" {
		p := cfg.Proxy
		if !strings.Contains(p, "://") {
			p = "http://" + p
		}
		pu, err := url.Parse(p)
		if err != nil || pu.Host == "" {
			return nil, fmt.Errorf("obsclient: invalid Proxy (want http://[user:pass@]host:port)")
		}
		// http.Transport sends pu.User as Proxy-Authorization (basic) on
		// CONNECT and on plain-HTTP proxied requests.
		proxy = http.ProxyURL(pu)
	}
	dialer := &net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second}
	t := &http.Transport{
		Proxy:                 proxy,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       tlsCfg,
		TLSHandshakeTimeout:   cfg.ConnectTimeout,
		MaxIdleConns:          cfg.MaxConns * 2,
		MaxIdleConnsPerHost:   cfg.MaxConns,
		MaxConnsPerHost:       cfg.MaxConns,
		IdleConnTimeout:       cfg.IdleTimeout,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     false, // OBS speaks HTTP/1.1; h2 multiplexing would defeat MaxConns
		DisableCompression:    true,  // ranged reads need the raw bytes and sizes
	}
	if cfg.RequestTimeout > 0 {
		t.ResponseHeaderTimeout = cfg.RequestTimeout
	}
	return t, nil
}

// lockedRand is a small source of jitter safe for concurrent use.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand // GUARDED_BY(mu)
}

func newLockedRand() *lockedRand {
	return &lockedRand{r: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x6f6273))}
}

// int64n returns a uniform value in [0, n).
func (l *lockedRand) int64n(n int64) int64 {
	if n <= 0 {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Int64N(n)
}
