package obstest

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obsfs/obsfs/obsclient/signer"
)

// TestPersistAcrossRestart: a second server on the same Root (as after a
// kill -9 of obs-emulator) serves the same objects, versions, metadata,
// bucket settings and multipart upload in progress; a blob left by a body
// being received when the process died is removed at start.
func TestPersistAcrossRestart(t *testing.T) {
	root := t.TempDir()
	e := newRaw(t, signer.OBS, Options{Root: root, Persist: true})
	st, _, body := e.call(http.MethodPut, testBucket, "", "versioning", "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>", nil)
	require.Equal(t, 200, st, body)
	h1 := e.put("dir/a.txt", "one", func(r *http.Request) { r.Header.Set("x-obs-meta-mode", "33188") })
	e.put("dir/a.txt", "two", func(r *http.Request) { r.Header.Set("x-obs-meta-mode", "33261") })
	e.put("gone", "x", nil)
	st, _, _ = e.call(http.MethodDelete, testBucket, "gone", "", "", nil)
	require.Equal(t, 204, st)
	st, _, body = e.call(http.MethodPost, testBucket, "mp", "uploads", "", nil)
	require.Equal(t, 200, st, body)
	id := between(body, "<UploadId>", "</UploadId>")
	part := strings.Repeat("p", minPartSize)
	st, ph, _ := e.call(http.MethodPut, testBucket, "mp", fmt.Sprintf("partNumber=1&uploadId=%s", id), part, nil)
	require.Equal(t, 200, st)
	// What the server was receiving when it died: a blob no state names.
	orphan := filepath.Join(root, "blobs", "ffffffffffffffff.blob")
	require.NoError(t, os.WriteFile(orphan, []byte("half"), 0o644))
	e.srv.Close() // state is already on disk; Close only stops the listener

	e2 := newRaw(t, signer.OBS, Options{Root: root, Persist: true})
	st, h, got := e2.call(http.MethodGet, testBucket, "dir/a.txt", "", "", nil)
	require.Equal(t, 200, st)
	assert.Equal(t, "two", got)
	assert.Equal(t, "33261", h.Get("x-obs-meta-mode"))
	st, _, got = e2.call(http.MethodGet, testBucket, "dir/a.txt", "versionId="+h1.Get("x-obs-version-id"), "", nil)
	require.Equal(t, 200, st)
	assert.Equal(t, "one", got, "older versions survive")
	st, _, _ = e2.call(http.MethodHead, testBucket, "gone", "", "", nil)
	assert.Equal(t, 404, st, "a deleted object stays deleted")
	st, _, body = e2.call(http.MethodGet, testBucket, "", "versioning", "", nil)
	require.Equal(t, 200, st)
	assert.Contains(t, body, "Enabled")
	doc := fmt.Sprintf("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part></CompleteMultipartUpload>", ph.Get("ETag"))
	st, _, body = e2.call(http.MethodPost, testBucket, "mp", "uploadId="+id, doc, nil)
	require.Equal(t, 200, st, "the upload in progress survives: %s", body)
	st, _, got = e2.call(http.MethodGet, testBucket, "mp", "", "", nil)
	require.Equal(t, 200, st)
	assert.Equal(t, part, got)
	_, err := os.Stat(orphan)
	assert.True(t, os.IsNotExist(err), "an unreferenced blob is removed at start")
	// A new object after the restart does not reuse a blob name.
	e2.put("new", "fresh", nil)
	st, _, got = e2.call(http.MethodGet, testBucket, "dir/a.txt", "", "", nil)
	require.Equal(t, 200, st)
	assert.Equal(t, "two", got)
}

// TestPersistRemovesReleasedBlobs: overwritten and deleted bodies do not
// pile up under Root/blobs.
func TestPersistRemovesReleasedBlobs(t *testing.T) {
	root := t.TempDir()
	e := newRaw(t, signer.OBS, Options{Root: root, Persist: true})
	for i := 0; i < 5; i++ {
		e.put("k", fmt.Sprint("v", i), nil)
	}
	e.call(http.MethodDelete, testBucket, "k", "", "", nil)
	e.put("other", "x", nil)
	assert.Equal(t, 1, countFiles(filepath.Join(root, "blobs")))
}

// TestPersistConcurrent: concurrent overwrites and deletes (blobs released
// under the bucket lock while states are being saved) neither deadlock nor
// lose the state; a restart serves the last bodies.
func TestPersistConcurrent(t *testing.T) {
	root := t.TempDir()
	e := newRaw(t, signer.OBS, Options{Root: root, Persist: true})
	done := make(chan struct{})
	for i := 0; i < 4; i++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for j := 0; j < 25; j++ {
				key := fmt.Sprintf("c%d", i)
				e.call(http.MethodPut, testBucket, key, "", fmt.Sprint(j), nil)
				e.call(http.MethodPut, testBucket, "tmp", "", "x", nil)
				e.call(http.MethodDelete, testBucket, "tmp", "", "", nil)
			}
		}()
	}
	for i := 0; i < 4; i++ {
		<-done
	}
	e.srv.Close()
	e2 := newRaw(t, signer.OBS, Options{Root: root, Persist: true})
	for i := 0; i < 4; i++ {
		st, _, got := e2.call(http.MethodGet, testBucket, fmt.Sprintf("c%d", i), "", "", nil)
		require.Equal(t, 200, st)
		assert.Equal(t, "24", got)
	}
}
