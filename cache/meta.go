// Package cache holds obsfs's caches as pure data structures.
//
// This file (meta.go) holds the metadata caches the filesystem layer keeps
// in front of the object store: attributes by object key, negative lookups
// (keys known not to exist), and directory listings. Each is a TTL is a
// bounded LRU map whose entries expire after a time-to-live; a zero or
// negative TTL disables the cache (every Get misses, Put is a no-op), which is
// how stat_cache_expire=0 turns caching off. Local mutations invalidate
// entries at once through Delete / DeletePrefix; the TTL only bounds how long
// a change made elsewhere (another mount, another client) can go unseen.
//
// The package imports nothing of obsfs and nothing of FUSE: values are
// generic and keys are strings (object keys), so prefix invalidation is a
// scan. Every cache counts hits, misses and evictions for the stats file.
package cache

import (
	"container/list"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Stats counts the traffic of one cache.
type Stats struct {
	Hits, Misses, Evictions int64
	Entries                 int
}

// TTL is a bounded, expiring LRU map from string keys to values of type V.
// It is safe for concurrent use.
type TTL[V any] struct {
	ttl time.Duration
	max int // 0 = unbounded
	now func() time.Time

	mu sync.Mutex
	// GUARDED_BY(mu):
	ll    *list.List // front = most recently used; elements are *ttlEntry[V]
	items map[string]*list.Element

	hits, misses, evictions atomic.Int64
}

type ttlEntry[V any] struct {
	key string
	val V
	exp time.Time
}

// NewTTL returns a cache whose entries live for ttl and which holds at most
// max entries (max <= 0: unbounded). ttl <= 0 disables the cache.
func NewTTL[V any](ttl time.Duration, max int) *TTL[V] {
	return &TTL[V]{ttl: ttl, max: max, now: time.Now, ll: list.New(), items: map[string]*list.Element{}}
}

// SetClock replaces the clock (tests).
func (c *TTL[V]) SetClock(now func() time.Time) {
	c.mu.Lock()
	c.now = now
	c.mu.Unlock()
}

// TTL returns the configured time-to-live.
func (c *TTL[V]) TTL() time.Duration { return c.ttl }

// Get returns the live value for key.
func (c *TTL[V]) Get(key string) (V, bool) {
	var zero V
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		c.misses.Add(1)
		return zero, false
	}
	e := el.Value.(*ttlEntry[V])
	if !c.now().Before(e.exp) {
		c.removeLocked(el)
		c.misses.Add(1)
		return zero, false
	}
	c.ll.MoveToFront(el)
	c.hits.Add(1)
	return e.val, true
}

// Put stores val under key for the cache's TTL.
func (c *TTL[V]) Put(key string, val V) { c.PutTTL(key, val, c.ttl) }

// PutTTL stores val under key for ttl (capped by nothing; <= 0 stores nothing
// and drops any previous entry).
func (c *TTL[V]) PutTTL(key string, val V, ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ttl <= 0 || c.ttl <= 0 {
		if el, ok := c.items[key]; ok {
			c.removeLocked(el)
		}
		return
	}
	exp := c.now().Add(ttl)
	if el, ok := c.items[key]; ok {
		e := el.Value.(*ttlEntry[V])
		e.val, e.exp = val, exp
		c.ll.MoveToFront(el)
		return
	}
	c.items[key] = c.ll.PushFront(&ttlEntry[V]{key: key, val: val, exp: exp})
	for c.max > 0 && c.ll.Len() > c.max {
		c.removeLocked(c.ll.Back())
		c.evictions.Add(1)
	}
}

// Delete drops key.
func (c *TTL[V]) Delete(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		c.removeLocked(el)
	}
}

// DeletePrefix drops every key starting with prefix ("" drops everything).
func (c *TTL[V]) DeletePrefix(prefix string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, el := range c.items {
		if strings.HasPrefix(k, prefix) {
			c.removeLocked(el)
		}
	}
}

// Len returns the number of stored entries (expired ones included until
// they are touched).
func (c *TTL[V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}

// Stats returns the counters.
func (c *TTL[V]) Stats() Stats {
	return Stats{Hits: c.hits.Load(), Misses: c.misses.Load(), Evictions: c.evictions.Load(), Entries: c.Len()}
}

func (c *TTL[V]) removeLocked(el *list.Element) {
	c.ll.Remove(el)
	delete(c.items, el.Value.(*ttlEntry[V]).key)
}

// MetaConfig sizes a Meta.
type MetaConfig struct {
	TTL        time.Duration // attributes and listings; <= 0 disables
	NegTTL     time.Duration // negative lookups; 0 means TTL
	MaxEntries int           // per cache; <= 0 unbounded
}

// Meta bundles the three metadata caches of a mount: A is the attribute
// value type, D the directory-listing value type.
type Meta[A, D any] struct {
	Attrs    *TTL[A]        // by object key ("a/b" for a file, "a/b/" for a directory)
	Negative *TTL[struct{}] // object keys known to be absent
	Dirs     *TTL[D]        // by directory prefix ("a/")
}

// NewMeta builds the caches.
func NewMeta[A, D any](cfg MetaConfig) *Meta[A, D] {
	neg := cfg.NegTTL
	if neg == 0 {
		neg = cfg.TTL
	}
	return &Meta[A, D]{
		Attrs:    NewTTL[A](cfg.TTL, cfg.MaxEntries),
		Negative: NewTTL[struct{}](neg, cfg.MaxEntries),
		Dirs:     NewTTL[D](cfg.TTL, cfg.MaxEntries),
	}
}

// Invalidate forgets everything known about key: its attributes, its
// negative entry, and the listing of the directory that contains it.
func (m *Meta[A, D]) Invalidate(key string) {
	m.Attrs.Delete(key)
	m.Negative.Delete(key)
	m.Dirs.Delete(ParentPrefix(key))
}

// InvalidatePrefix forgets every key under prefix, and the listing of the
// directory holding prefix.
func (m *Meta[A, D]) InvalidatePrefix(prefix string) {
	m.Attrs.DeletePrefix(prefix)
	m.Negative.DeletePrefix(prefix)
	m.Dirs.DeletePrefix(prefix)
	m.Dirs.Delete(ParentPrefix(prefix))
}

// ParentPrefix returns the directory prefix holding key: "a/b/c" → "a/b/",
// "a/b/" → "a/", "a" → "".
func ParentPrefix(key string) string {
	k := strings.TrimSuffix(key, "/")
	i := strings.LastIndexByte(k, '/')
	if i < 0 {
		return ""
	}
	return k[:i+1]
}
