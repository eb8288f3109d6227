package obstest

// A simulated network link: loopback answers in microseconds with gigabytes
// per second, a real OBS region in 10–50 ms at 50–100 MB/s per connection.
// Benchmarks that should speak for a real link set Link: every request
// (not the /-/ control endpoints) waits Latency before it is served, and
// every connection's bytes, in each direction, are paced to Bandwidth.
// Pacing works on the connection (a wrapped listener), so it holds for
// request bodies, responses and sendfile alike; with Bandwidth 0 the
// wrapped connection hands sendfile straight to the TCP connection.

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Link is the simulated network between clients and the emulator.
type Link struct {
	Latency   time.Duration `json:"latency,omitempty"`   // added before each request is served (JSON: nanoseconds)
	Bandwidth int64         `json:"bandwidth,omitempty"` // bytes per second per connection and direction; 0 = unlimited
}

// linkState holds the current Link; read on every request and I/O.
type linkState struct {
	latency   atomic.Int64 // nanoseconds
	bandwidth atomic.Int64 // bytes/s
}

func (l *linkState) set(k Link) {
	l.latency.Store(int64(k.Latency))
	l.bandwidth.Store(k.Bandwidth)
}

func (l *linkState) get() Link {
	return Link{Latency: time.Duration(l.latency.Load()), Bandwidth: l.bandwidth.Load()}
}

// SetLink changes the simulated link for requests and I/O from now on.
func (s *Server) SetLink(k Link) { s.link.set(k) }

// Link returns the simulated link.
func (s *Server) Link() Link { return s.link.get() }

// WrapListener paces the connections ln accepts to the link's bandwidth.
// New and NewTest do it; a program serving Handler() itself should too.
func (s *Server) WrapListener(ln net.Listener) net.Listener {
	return &linkListener{Listener: ln, l: &s.link}
}

// delay waits out the link's latency, or until ctx ends.
func (l *linkState) delay(ctx context.Context) {
	d := time.Duration(l.latency.Load())
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// serveLink answers GET /-/link (the current Link) and POST (set it, JSON).
func (s *Server) serveLink(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, s.Link())
	case http.MethodPost:
		var k Link
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&k); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if k.Latency < 0 || k.Bandwidth < 0 {
			http.Error(w, "latency and bandwidth must not be negative", http.StatusBadRequest)
			return
		}
		s.SetLink(k)
		w.WriteHeader(http.StatusNoContent)
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

type linkListener struct {
	net.Listener
	l *linkState
}

func (ll *linkListener) Accept() (net.Conn, error) {
	c, err := ll.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &linkConn{Conn: c, l: ll.l}, nil
}

// linkConn paces reads and writes separately: each direction may move
// Bandwidth bytes per second since it last went idle.
type linkConn struct {
	net.Conn
	l           *linkState
	read, write pacer
}

// pacer enforces a rate on a stream of chunks: after n bytes it sleeps until
// n/rate seconds have passed since the stream started. A pause longer than
// a second restarts the stream, so idle time earns no burst.
type pacer struct {
	mu    sync.Mutex
	start time.Time
	bytes int64
}

// chunk bounds one paced read or write, so pacing is smooth.
const chunk = 64 << 10

func (p *pacer) pace(n int, rate int64) {
	if rate <= 0 || n <= 0 {
		return
	}
	p.mu.Lock()
	now := time.Now()
	due := p.start.Add(time.Duration(float64(p.bytes) / float64(rate) * float64(time.Second)))
	if p.start.IsZero() || now.Sub(due) > time.Second {
		p.start, p.bytes = now, 0
	}
	p.bytes += int64(n)
	due = p.start.Add(time.Duration(float64(p.bytes) / float64(rate) * float64(time.Second)))
	p.mu.Unlock()
	if d := time.Until(due); d > 0 {
		time.Sleep(d)
	}
}

func (c *linkConn) Read(b []byte) (int, error) {
	rate := c.l.bandwidth.Load()
	if rate > 0 && len(b) > chunk {
		b = b[:chunk]
	}
	n, err := c.Conn.Read(b)
	c.read.pace(n, rate)
	return n, err
}

func (c *linkConn) Write(b []byte) (int, error) {
	rate := c.l.bandwidth.Load()
	if rate <= 0 {
		return c.Conn.Write(b)
	}
	written := 0
	for len(b) > 0 {
		c.write.pace(min(len(b), chunk), rate) // before: the peer sees the bytes on time, not early
		n, err := c.Conn.Write(b[:min(len(b), chunk)])
		written += n
		if err != nil {
			return written, err
		}
		b = b[n:]
	}
	return written, nil
}

// ReadFrom keeps sendfile when the link is unlimited, and paces otherwise.
func (c *linkConn) ReadFrom(r io.Reader) (int64, error) {
	if c.l.bandwidth.Load() <= 0 {
		if rf, ok := c.Conn.(io.ReaderFrom); ok {
			return rf.ReadFrom(r)
		}
	}
	return io.CopyBuffer(onlyWriter{c}, r, make([]byte, chunk))
}

// CloseWrite and SetLinger reach the TCP connection (resets, half-closes).
func (c *linkConn) CloseWrite() error {
	if tc, ok := c.Conn.(*net.TCPConn); ok {
		return tc.CloseWrite()
	}
	return nil
}

func (c *linkConn) SetLinger(sec int) error {
	if tc, ok := c.Conn.(*net.TCPConn); ok {
		return tc.SetLinger(sec)
	}
	return nil
}
