package cache

import (
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestTTLExpiry(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	c := NewTTL[int](10*time.Second, 0)
	c.SetClock(clk.now)
	c.Put("a", 1)
	if v, ok := c.Get("a"); !ok || v != 1 {
		t.Fatalf("Get = %v %v", v, ok)
	}
	clk.t = clk.t.Add(9 * time.Second)
	if _, ok := c.Get("a"); !ok {
		t.Fatal("expired too early")
	}
	clk.t = clk.t.Add(time.Second)
	if _, ok := c.Get("a"); ok {
		t.Fatal("not expired at TTL")
	}
	if s := c.Stats(); s.Hits != 2 || s.Misses != 1 || s.Entries != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestTTLDisabled(t *testing.T) {
	for _, ttl := range []time.Duration{0, -1} {
		c := NewTTL[string](ttl, 10)
		c.Put("a", "x")
		if _, ok := c.Get("a"); ok {
			t.Fatalf("ttl %v: cached", ttl)
		}
	}
}

func TestTTLBoundedLRU(t *testing.T) {
	c := NewTTL[int](time.Hour, 2)
	c.Put("a", 1)
	c.Put("b", 2)
	c.Get("a") // a is now most recent
	c.Put("c", 3)
	if _, ok := c.Get("b"); ok {
		t.Fatal("LRU victim b still present")
	}
	for _, k := range []string{"a", "c"} {
		if _, ok := c.Get(k); !ok {
			t.Fatalf("%s evicted", k)
		}
	}
	if s := c.Stats(); s.Evictions != 1 || s.Entries != 2 {
		t.Fatalf("stats %+v", s)
	}
}

func TestTTLOverwriteAndDelete(t *testing.T) {
	c := NewTTL[int](time.Hour, 0)
	c.Put("a", 1)
	c.Put("a", 2)
	if v, _ := c.Get("a"); v != 2 {
		t.Fatalf("got %d", v)
	}
	c.PutTTL("a", 3, 0) // zero TTL drops
	if _, ok := c.Get("a"); ok {
		t.Fatal("PutTTL(0) kept entry")
	}
	c.Put("d/x", 1)
	c.Put("d/y/z", 1)
	c.Put("e", 1)
	c.DeletePrefix("d/")
	if c.Len() != 1 {
		t.Fatalf("Len %d after DeletePrefix", c.Len())
	}
	c.Delete("e")
	if c.Len() != 0 {
		t.Fatal("Delete")
	}
}

func TestParentPrefix(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a", ""}, {"a/", ""}, {"a/b", "a/"}, {"a/b/", "a/"}, {"p/a/b/c", "p/a/b/"}, {"", ""},
	} {
		if got := ParentPrefix(tc.in); got != tc.want {
			t.Errorf("ParentPrefix(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMetaInvalidate(t *testing.T) {
	m := NewMeta[int, []string](MetaConfig{TTL: time.Hour, MaxEntries: 100})
	m.Attrs.Put("d/f", 1)
	m.Negative.Put("d/g", struct{}{})
	m.Dirs.Put("d/", []string{"f"})
	m.Invalidate("d/f")
	if _, ok := m.Attrs.Get("d/f"); ok {
		t.Fatal("attr kept")
	}
	if _, ok := m.Dirs.Get("d/"); ok {
		t.Fatal("parent listing kept")
	}
	if _, ok := m.Negative.Get("d/g"); !ok {
		t.Fatal("unrelated negative entry dropped")
	}
	m.Dirs.Put("", []string{"d"})
	m.InvalidatePrefix("d/")
	if _, ok := m.Negative.Get("d/g"); ok {
		t.Fatal("negative under prefix kept")
	}
	if _, ok := m.Dirs.Get(""); ok {
		t.Fatal("listing of parent of prefix kept")
	}
}
