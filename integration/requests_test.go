package integration

// Request counts seen by the emulator for ordinary commands: a listing is
// paged LISTs plus at most one HEAD per entry; within stat_cache_expire a
// second listing may LIST again (freshness) but does not HEAD again, and
// stats of listed names cost nothing.

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

func TestLsRequestCounts(t *testing.T) {
	e := newEnv(t)
	const n = 300
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("many/f%04d", i)
	}
	e.putMany(t, keys)
	m := e.Mount(t, "stat_cache_expire=600")

	var out string
	first := e.Delta(func() { out = sh(t, "", "ls", "-l", m.Path("many")) })
	if lines := strings.Count(out, "\n"); lines != n+1 { // "total" line + n entries
		t.Errorf("ls -l printed %d lines, want %d", lines, n+1)
	}
	t.Logf("first ls -l of %d objects: %s", n, formatStats(first))
	if lists := requests(first, "ListObjects"); lists < 1 || lists > 2 {
		t.Errorf("first ls -l: %d LIST requests, want 1 (one page of %d)", lists, n)
	}
	// One HEAD per entry, plus at most two for the lookup of many itself.
	if heads := requests(first, "HeadObject"); heads > n+2 {
		t.Errorf("first ls -l: %d HEAD requests for %d objects (more than one each)", heads, n)
	}
	if gets := requests(first, "GetObject"); gets != 0 {
		t.Errorf("first ls -l: %d GET requests, want none", gets)
	}

	second := e.Delta(func() { sh(t, "", "ls", "-l", m.Path("many")) })
	t.Logf("second ls -l: %s", formatStats(second))
	if requests(second, "HeadObject", "GetObject") != 0 || requests(second, "ListObjects") > requests(first, "ListObjects") {
		t.Errorf("second ls -l within stat_cache_expire: %s, want no HEAD/GET and no more LISTs than the first", formatStats(second))
	}
	statAll := e.Delta(func() {
		for i := range n {
			if _, err := os.Lstat(m.Path("many", fmt.Sprintf("f%04d", i))); err != nil {
				t.Fatal(err)
			}
		}
	})
	if statAll.Total().Requests != 0 {
		t.Errorf("stat of %d listed files within stat_cache_expire: %s, want no requests", n, formatStats(statAll))
	}
}

func TestNegativeLookupIsCheap(t *testing.T) {
	e := newEnv(t)
	m := e.Mount(t, "stat_cache_expire=600")
	_, _ = os.Lstat(m.Path("missing"))
	again := e.Delta(func() {
		for range 20 {
			if _, err := os.Lstat(m.Path("missing")); !os.IsNotExist(err) {
				t.Fatalf("lstat missing: %v", err)
			}
		}
	})
	if again.Total().Requests > 0 {
		t.Logf("20 repeated lookups of a missing name cost %s", formatStats(again))
	}
	if again.Total().Requests >= 20 {
		t.Errorf("every lookup of a missing name went to the server (%s): no negative cache", formatStats(again))
	}
	// A name created through the mount is visible at once despite that cache.
	must(t, os.WriteFile(m.Path("missing"), []byte("now here"), 0o644))
	checkFile(t, m.Path("missing"), []byte("now here"), "after create")
}
