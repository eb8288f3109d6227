package integration

// Direct access to the bucket through obsclient, bypassing the mount: to
// plant objects (s3fs-style metadata, many keys) and to check what a
// workload left on the server.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/obsfs/obsfs/obsclient"
)

// putObject writes key with body and custom metadata directly.
func (e *Env) putObject(t *testing.T, key string, body []byte, meta map[string]string) {
	t.Helper()
	_, err := e.Client(t).PutObject(context.Background(), key, bytes.NewReader(body), int64(len(body)),
		obsclient.WriteOptions{Metadata: meta})
	if err != nil {
		t.Fatalf("PutObject %q: %v", key, err)
	}
}

// getObject reads key directly: its bytes and what the server says of it.
func (e *Env) getObject(t *testing.T, key string) ([]byte, obsclient.ObjectInfo) {
	t.Helper()
	r, err := e.Client(t).GetObject(context.Background(), key, obsclient.GetOptions{})
	if err != nil {
		t.Fatalf("GetObject %q: %v", key, err)
	}
	defer r.Close()
	body, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("GetObject %q body: %v", key, err)
	}
	return body, r.Info
}

// headObject returns the object's info, or ok=false when it does not exist.
func (e *Env) headObject(t *testing.T, key string) (obsclient.ObjectInfo, bool) {
	t.Helper()
	info, err := e.Client(t).HeadObject(context.Background(), key, obsclient.GetOptions{})
	if obsclient.IsNotFound(err) {
		return info, false
	}
	if err != nil {
		t.Fatalf("HeadObject %q: %v", key, err)
	}
	return info, true
}

// keys lists every key under prefix (no delimiter, all pages).
func (e *Env) keys(t *testing.T, prefix string) []string {
	t.Helper()
	l := e.Client(t).NewLister(obsclient.ListOptions{Prefix: prefix})
	var keys []string
	for l.More() {
		page, err := l.Next(context.Background())
		if err != nil {
			t.Fatalf("list %q: %v", prefix, err)
		}
		for _, o := range page.Objects {
			keys = append(keys, o.Key)
		}
	}
	return keys
}

// putMany writes empty objects at keys, 16 at a time.
func (e *Env) putMany(t *testing.T, keys []string) {
	t.Helper()
	b := e.Client(t)
	var mu sync.Mutex
	var firstErr error
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for _, k := range keys {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			_, err := b.PutObject(context.Background(), k, bytes.NewReader(nil), 0, obsclient.WriteOptions{})
			mu.Lock()
			if err != nil && firstErr == nil {
				firstErr = fmt.Errorf("PutObject %q: %w", k, err)
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
}
