package integration

// The official Huawei OBS SDK as a second client: what obsfs writes must read
// back through it unchanged.

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-obs/obs"
)

// sdkClient returns an SDK client for the emulator (path style: IP endpoint).
func (e *Env) sdkClient(t *testing.T) *obs.ObsClient {
	t.Helper()
	c, err := obs.New(testAccessKey, testSecretKey, e.Srv.URL,
		obs.WithSignature(obs.SignatureObs), obs.WithPathStyle(true), obs.WithMaxRetryCount(0))
	if err != nil {
		t.Fatalf("obs.New: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// sdkObject is an object as the SDK reads it.
type sdkObject struct {
	Body     []byte
	Metadata map[string]string
	Size     int64
}

// sdkGet reads key through the SDK.
func (e *Env) sdkGet(t *testing.T, key string) sdkObject {
	t.Helper()
	c := e.sdkClient(t)
	in := &obs.GetObjectInput{}
	in.Bucket, in.Key = e.Bucket, key
	out, err := c.GetObject(in)
	if err != nil {
		t.Fatalf("SDK GetObject %q: %v", key, err)
	}
	defer out.Body.Close()
	body, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatalf("SDK GetObject %q body: %v", key, err)
	}
	return sdkObject{Body: body, Metadata: out.Metadata, Size: out.ContentLength}
}

func TestSDKReadsWhatMountWrote(t *testing.T) {
	e := newEnv(t)
	m := e.Mount(t, "multipart_size=5") // the 12 MiB file goes up in parts
	files := map[string][]byte{
		"empty":              nil,
		"small.txt":          []byte("small"),
		"dir/ünï name+%.bin": content("u", 70_000),
		"big/twelve-mib.bin": content("big", 12*MiB+5),
		"exec.sh":            []byte("#!/bin/sh\n"),
	}
	st := e.Delta(func() {
		for rel, body := range files {
			must(t, os.MkdirAll(filepath.Dir(m.Path(rel)), 0o755))
			must(t, os.WriteFile(m.Path(rel), body, 0o644))
		}
	})
	if requests(st, "UploadPart") < 3 {
		t.Errorf("writing a 12 MiB file with multipart_size=5: %s, want at least 3 UploadPart", formatStats(st))
	}
	must(t, os.Chmod(m.Path("exec.sh"), 0o755))
	must(t, os.Symlink("small.txt", m.Path("link")))
	for rel, body := range files {
		got := e.sdkGet(t, rel)
		if !bytes.Equal(got.Body, body) {
			t.Errorf("SDK read of %q: %d bytes differ from the %d written", rel, len(got.Body), len(body))
		}
	}
	if got := e.sdkGet(t, "exec.sh"); got.Metadata["mode"] != strconv.Itoa(syscall.S_IFREG|0o755) {
		t.Errorf("SDK metadata of exec.sh: %v, want mode %d", got.Metadata, syscall.S_IFREG|0o755)
	}
	if got := e.sdkGet(t, "link"); string(got.Body) != "small.txt" || got.Metadata["mode"] != strconv.Itoa(syscall.S_IFLNK|0o777) {
		t.Errorf("SDK read of symlink: body %q metadata %v", got.Body, got.Metadata)
	}
}
