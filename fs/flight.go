package fs

import (
	"context"
	"sync"
)

// flightGroup runs one call per key at a time; concurrent callers of the
// same key wait for and share its result (a tiny singleflight). Lookups
// join the HEADs a listing or statahead started in the background this
// way.
type flightGroup struct {
	mu sync.Mutex
	// GUARDED_BY(mu):
	calls map[string]*flight
}

type flight struct {
	done chan struct{}
	val  objAttr
	err  error
}

// do runs fn for key unless a call is in flight, and returns its result.
// A waiter whose ctx ends stops waiting (the call goes on).
func (g *flightGroup) do(ctx context.Context, key string, fn func() (objAttr, error)) (objAttr, error) {
	g.mu.Lock()
	if g.calls == nil {
		g.calls = map[string]*flight{}
	}
	if c, ok := g.calls[key]; ok {
		g.mu.Unlock()
		select {
		case <-c.done:
			return c.val, c.err
		case <-ctx.Done():
			return objAttr{}, ctx.Err()
		}
	}
	c := &flight{done: make(chan struct{})}
	g.calls[key] = c
	g.mu.Unlock()
	c.val, c.err = fn()
	g.mu.Lock()
	delete(g.calls, key)
	g.mu.Unlock()
	close(c.done)
	return c.val, c.err
}

// inFlight reports whether a call for key is running.
func (g *flightGroup) inFlight(key string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := g.calls[key]
	return ok
}
