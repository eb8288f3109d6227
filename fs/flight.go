package fs

import (
	"context"
	"sync"
)

// flightGroup runs one call per key at a time; concurrent callers of the
// same key wait for and share its result (a tiny singleflight). Lookups
// join the HEADs a listing or statahead started in the background this
// way.
//
// The call runs in a goroutine of its own, with a context that keeps the
// first caller's values but not its cancellation, so one caller's
// interrupt does not fail the others. Every caller, the first included,
// waits for the result or leaves as soon as its own context ends (a FUSE
// interrupt: Ctrl-C, SIGKILL), so a process waiting on a frozen server can
// always be ended. When the last waiter has left, the call is cancelled
// and forgotten (the next caller starts afresh).
type flightGroup struct {
	mu sync.Mutex
	// GUARDED_BY(mu):
	calls map[string]*flight
}

type flight struct {
	done    chan struct{}
	val     objAttr // set before done is closed
	err     error
	waiters int // GUARDED_BY(flightGroup.mu)
	cancel  context.CancelFunc
}

// do runs fn for key unless a call is in flight, and returns its result.
// fn gets the call's context (see flightGroup).
func (g *flightGroup) do(ctx context.Context, key string, fn func(context.Context) (objAttr, error)) (objAttr, error) {
	g.mu.Lock()
	if g.calls == nil {
		g.calls = map[string]*flight{}
	}
	c, ok := g.calls[key]
	if !ok {
		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		c = &flight{done: make(chan struct{}), cancel: cancel}
		g.calls[key] = c
		go func() {
			val, err := fn(fctx)
			g.mu.Lock()
			c.val, c.err = val, err
			if g.calls[key] == c {
				delete(g.calls, key)
			}
			g.mu.Unlock()
			cancel()
			close(c.done)
		}()
	}
	c.waiters++
	g.mu.Unlock()
	select {
	case <-c.done:
		return c.val, c.err
	case <-ctx.Done():
	}
	g.mu.Lock()
	c.waiters--
	if c.waiters == 0 {
		c.cancel()
		if g.calls[key] == c {
			delete(g.calls, key)
		}
	}
	g.mu.Unlock()
	return objAttr{}, ctx.Err()
}

// inFlight reports whether a call for key is running.
func (g *flightGroup) inFlight(key string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := g.calls[key]
	return ok
}
