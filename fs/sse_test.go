package fs

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-obs/obs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/sys/unix"

	"github.com/obsfs/obsfs/obsclient"
	"github.com/obsfs/obsfs/obsclient/obstest"
	"github.com/obsfs/obsfs/obsclient/signer"
)

// Server-side encryption through the mount (issue: SSE end to end). The
// emulator enforces SSE-C as OBS does (HEAD, GET, copy source, part-copy
// source, upload part and append need the key; a key offered to another
// object is refused), so every path that forgets the key fails here.

var (
	sseKey1 = bytes.Repeat([]byte{0x11}, 32)
	sseKey2 = bytes.Repeat([]byte{0x22}, 32)
)

func keyMD5(k []byte) string {
	s := md5.Sum(k)
	return base64.StdEncoding.EncodeToString(s[:])
}

// dialectBucket is a client bucket on the emulator speaking dialect d, with
// log (debug traces included) when not nil.
func (e *env) dialectBucket(d signer.Dialect, log *zap.Logger) *obsclient.Bucket {
	addr := e.srv.Addr()
	c, err := obsclient.New(obsclient.Config{
		Endpoint: e.srv.URL, Signature: d, Logger: log,
		Credentials:    signer.Credentials{AccessKey: testAK, SecretKey: testSK},
		RetryBaseDelay: time.Millisecond, Retries: 2,
		Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}},
	})
	require.NoError(e.t, err)
	b, err := c.Bucket(e.bucket)
	require.NoError(e.t, err)
	return b
}

// sdkGetSSEC reads key with the official SDK and the SSE-C key k.
func (e *env) sdkGetSSEC(key string, k []byte) ([]byte, error) {
	in := &obs.GetObjectInput{}
	in.Bucket, in.Key = e.bucket, key
	if k != nil {
		in.SseHeader = obs.SseCHeader{Encryption: "AES256", Key: base64.StdEncoding.EncodeToString(k)}
	}
	out, err := e.sdk().GetObject(in)
	if err != nil {
		return nil, err
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}

func patterned(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) ^ seed
	}
	return b
}

// A mount with an SSE-C key reads what it wrote, and rename (file and
// directory), chmod, touch, setfattr, a one-byte edit in the middle of a
// multipart-sized file, append, truncate and a remount keep every object
// readable and encrypted with the same key; the SDK with the key reads the
// results. In the OBS dialect and the S3 one.
func TestSSECMountEveryPath(t *testing.T) {
	for _, d := range []signer.Dialect{signer.OBS, signer.V4} {
		t.Run(string(d), func(t *testing.T) {
			e := newEnv(t)
			e.b = e.dialectBucket(d, nil)
			opts := Options{MultipartSize: 128 << 10, SSE: &obsclient.SSE{CustomerKey: sseKey1}}
			e.mount(opts)
			want := map[string][]byte{}
			big := patterned(1<<20+12345, 1)
			small := []byte("small file\n")
			require.NoError(t, os.WriteFile(e.path("big.bin"), big, 0o644))
			require.NoError(t, os.MkdirAll(e.path("d/sub"), 0o755))
			require.NoError(t, os.WriteFile(e.path("d/sub/s.txt"), small, 0o644))
			require.NoError(t, os.WriteFile(e.path("s.txt"), small, 0o644))
			e.remount(opts) // cold: everything below reads from the server
			got, err := os.ReadFile(e.path("big.bin"))
			require.NoError(t, err, "a mount reads what it wrote")
			require.Equal(t, big, got)

			require.NoError(t, os.Rename(e.path("big.bin"), e.path("big2.bin")))
			require.NoError(t, os.Chmod(e.path("big2.bin"), 0o600))
			now := time.Now().Add(-time.Hour)
			require.NoError(t, os.Chtimes(e.path("s.txt"), now, now))
			require.NoError(t, unix.Setxattr(e.path("s.txt"), "user.note", []byte("hi"), 0))
			require.NoError(t, os.Rename(e.path("d"), e.path("d2")))
			// One byte in the middle of the large file (copy-part edit).
			f, err := os.OpenFile(e.path("big2.bin"), os.O_RDWR, 0)
			require.NoError(t, err)
			_, err = f.WriteAt([]byte{'X'}, 600000)
			require.NoError(t, err)
			require.NoError(t, f.Close())
			big[600000] = 'X'
			// Append.
			f, err = os.OpenFile(e.path("big2.bin"), os.O_WRONLY|os.O_APPEND, 0)
			require.NoError(t, err)
			_, err = f.Write([]byte("appended"))
			require.NoError(t, err)
			require.NoError(t, f.Close())
			big = append(big, "appended"...)
			// Truncate a copy of it.
			require.NoError(t, os.WriteFile(e.path("t.bin"), big, 0o644))
			// (ftruncate: truncate(2) right after a close can race the
			// kernel's asynchronous release and be committed later.)
			f, err = os.OpenFile(e.path("t.bin"), os.O_RDWR, 0)
			require.NoError(t, err)
			require.NoError(t, f.Truncate(300000))
			require.NoError(t, f.Close())
			// An appendable object (created with O_APPEND): each append
			// carries the key.
			for _, line := range []string{"one\n", "two\n"} {
				f, err = os.OpenFile(e.path("log.txt"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
				require.NoError(t, err)
				_, err = f.WriteString(line)
				require.NoError(t, err)
				require.NoError(t, f.Close())
			}
			if d == signer.OBS {
				o, _ := e.srv.Object(e.bucket, "log.txt")
				assert.True(t, o.Appendable, "log.txt is appendable")
			}
			want["big2.bin"], want["t.bin"], want["s.txt"], want["d2/sub/s.txt"] = big, big[:300000], small, small
			want["log.txt"] = []byte("one\ntwo\n")

			e.remount(opts)
			for k, w := range want {
				got, err := os.ReadFile(e.path(k))
				require.NoError(t, err, k)
				assert.True(t, bytes.Equal(w, got), "%s after remount: len %d want %d", k, len(got), len(w))
				o, ok := e.srv.Object(e.bucket, k)
				require.True(t, ok, k)
				assert.Equal(t, keyMD5(sseKey1), o.SSECKeyMD5, "%s stays SSE-C with the same key", k)
				sdk, err := e.sdkGetSSEC(k, sseKey1)
				require.NoError(t, err, "SDK reads %s", k)
				assert.True(t, bytes.Equal(w, sdk), k)
			}
			fi, err := os.Stat(e.path("big2.bin"))
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
			v := make([]byte, 16)
			n, err := unix.Getxattr(e.path("s.txt"), "user.note", v)
			require.NoError(t, err)
			assert.Equal(t, "hi", string(v[:n]))
			n, err = unix.Getxattr(e.path("s.txt"), "user.obs.encryption", v)
			require.NoError(t, err)
			assert.Equal(t, "sse-c", string(v[:n]))
		})
	}
}

// capture is a logger that keeps every entry (debug included).
func capture() (*zap.Logger, *observer.ObservedLogs) {
	core, logs := observer.New(zapcore.DebugLevel)
	return zap.New(core), logs
}

// Mixed buckets: unencrypted and SSE-KMS objects stay readable on an SSE-C
// mount; SSE-C objects on a mount without the key, or with another key,
// are EACCES with one log line naming the object and "SSE-C key".
func TestSSEMixedBucket(t *testing.T) {
	e := newEnv(t)
	data := []byte("same bytes everywhere")
	for k, info := range map[string]obstest.ObjectInfo{
		"plain": {}, "kms": {SSE: "kms", SSEKMSKeyID: "kid-7"}, "ssec": {SSECKeyMD5: keyMD5(sseKey1)},
	} {
		_, err := e.srv.PutObject(e.bucket, k, data, info)
		require.NoError(t, err)
	}
	e.mount(Options{SSE: &obsclient.SSE{CustomerKey: sseKey1}})
	enc := map[string]string{"plain": "none", "kms": "kms:kid-7", "ssec": "sse-c"}
	for _, k := range []string{"plain", "kms", "ssec"} {
		got, err := os.ReadFile(e.path(k))
		require.NoError(t, err, k)
		assert.Equal(t, data, got, k)
		v := make([]byte, 64)
		n, err := unix.Getxattr(e.path(k), "user.obs.encryption", v)
		require.NoError(t, err)
		assert.Equal(t, enc[k], string(v[:n]), k)
	}
	wantErrno(t, "user.obs.encryption is read-only", unix.Setxattr(e.path("kms"), "user.obs.encryption", []byte("none"), 0), syscall.EPERM)

	for _, kk := range [][]byte{nil, sseKey2} {
		log, logs := capture()
		o := Options{Logger: log}
		if kk != nil {
			o.SSE = &obsclient.SSE{CustomerKey: kk}
		}
		e.remount(o)
		for _, k := range []string{"plain", "kms"} {
			got, err := os.ReadFile(e.path(k))
			require.NoError(t, err, k)
			assert.Equal(t, data, got)
		}
		_, err := os.ReadFile(e.path("ssec"))
		wantErrno(t, "SSE-C object without its key", err, syscall.EACCES)
		var lines []string
		for _, l := range logs.All() {
			if l.Level < zapcore.InfoLevel {
				continue
			}
			s := l.Message
			for _, f := range l.Context {
				if f.Interface != nil {
					if er, ok := f.Interface.(error); ok {
						s += " " + er.Error()
					}
				}
				s += " " + f.String
			}
			if strings.Contains(s, "SSE-C key") {
				lines = append(lines, s)
			}
		}
		require.Len(t, lines, 1, "one log line: %q", lines)
		assert.Contains(t, lines[0], `"ssec"`)
	}
}

// SSE-KMS is kept by the copies a mount without sse= does: rename, chmod
// and xattr updates, a one-byte edit of a multipart-sized file; and shown.
func TestSSEKMSKept(t *testing.T) {
	for _, d := range []signer.Dialect{signer.OBS, signer.V2} {
		t.Run(string(d), func(t *testing.T) {
			e := newEnv(t)
			e.b = e.dialectBucket(d, nil)
			big := patterned(600000, 3)
			_, err := e.srv.PutObject(e.bucket, "k.bin", big, obstest.ObjectInfo{SSE: "kms", SSEKMSKeyID: "kid-9"})
			require.NoError(t, err)
			_, err = e.srv.PutObject(e.bucket, "dir/k2.bin", []byte("x"), obstest.ObjectInfo{SSE: "kms", SSEKMSKeyID: "kid-9"})
			require.NoError(t, err)
			e.mount(Options{MultipartSize: 128 << 10})
			require.NoError(t, os.Rename(e.path("k.bin"), e.path("m.bin")))
			require.NoError(t, os.Chmod(e.path("m.bin"), 0o640))
			require.NoError(t, unix.Setxattr(e.path("m.bin"), "user.tag", []byte("v"), 0))
			f, err := os.OpenFile(e.path("m.bin"), os.O_RDWR, 0)
			require.NoError(t, err)
			_, err = f.WriteAt([]byte{'Y'}, 300000)
			require.NoError(t, err)
			require.NoError(t, f.Close())
			require.NoError(t, os.Rename(e.path("dir"), e.path("dir2")))
			for _, k := range []string{"m.bin", "dir2/k2.bin"} {
				o, ok := e.srv.Object(e.bucket, k)
				require.True(t, ok, k)
				assert.Equal(t, "kms", o.SSE, k)
				assert.Equal(t, "kid-9", o.SSEKMSKeyID, k)
				v := make([]byte, 64)
				n, err := unix.Getxattr(e.path(k), "user.obs.encryption", v)
				require.NoError(t, err)
				assert.Equal(t, "kms:kid-9", string(v[:n]))
			}
			big[300000] = 'Y'
			got, err := os.ReadFile(e.path("m.bin"))
			require.NoError(t, err)
			assert.True(t, bytes.Equal(big, got))
		})
	}
}

// The SSE-C key never reaches a log line, an error or a debug trace: a
// workload with every log at debug level, the client's request traces
// included, and failures (another key) that log errors.
func TestSSECKeyNeverLogged(t *testing.T) {
	e := newEnv(t)
	log, logs := capture()
	e.b = e.dialectBucket(signer.OBS, log.Named("obs"))
	opts := Options{MultipartSize: 128 << 10, SSE: &obsclient.SSE{CustomerKey: sseKey1}, Logger: log}
	e.mount(opts)
	require.NoError(t, os.WriteFile(e.path("a.bin"), patterned(400000, 5), 0o644))
	_, err := e.srv.PutObject(e.bucket, "other", []byte("x"), obstest.ObjectInfo{SSECKeyMD5: keyMD5(sseKey2)})
	require.NoError(t, err)
	e.remount(opts)
	_, err = os.ReadFile(e.path("a.bin"))
	require.NoError(t, err)
	require.NoError(t, os.Rename(e.path("a.bin"), e.path("b.bin")))
	require.NoError(t, os.Chmod(e.path("b.bin"), 0o600))
	_, err = os.ReadFile(e.path("other"))
	wantErrno(t, "another key", err, syscall.EACCES)
	require.NotEmpty(t, logs.All())
	secrets := []string{base64.StdEncoding.EncodeToString(sseKey1), hex.EncodeToString(sseKey1), string(sseKey1),
		base64.StdEncoding.EncodeToString(sseKey2)}
	sawTrace := false
	for _, l := range logs.All() {
		enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
		buf, err := enc.EncodeEntry(l.Entry, l.Context)
		require.NoError(t, err)
		s := buf.String()
		if strings.Contains(strings.ToLower(s), "server-side-encryption") || strings.Contains(s, "HeadObject") {
			sawTrace = true
		}
		for _, sec := range secrets {
			require.NotContains(t, s, sec, "key material in a log line")
		}
	}
	assert.True(t, sawTrace, "the debug traces were captured")
	_ = filepath.Join
}

// Which requests carry which encryption headers, from the emulator's
// journal: on an SSE-C mount over a bucket holding plain, SSE-KMS and SSE-C
// objects, every request that succeeded on an SSE-C object carried the key
// (as itself, or as copy source), no request to another object did, and the
// learning costs at most one refused request per non-SSE-C object.
func TestSSECRequestHeaders(t *testing.T) {
	for _, d := range []signer.Dialect{signer.OBS, signer.V4} {
		t.Run(string(d), func(t *testing.T) { testSSECRequestHeaders(t, d) })
	}
}

func testSSECRequestHeaders(t *testing.T, d signer.Dialect) {
	e := newEnv(t)
	e.b = e.dialectBucket(d, nil)
	p := "X-Obs-"
	if d != signer.OBS {
		p = "X-Amz-"
	}
	for k, info := range map[string]obstest.ObjectInfo{"plain": {}, "kms": {SSE: "kms", SSEKMSKeyID: "kid"}} {
		_, err := e.srv.PutObject(e.bucket, k, patterned(300000, 9), info)
		require.NoError(t, err)
	}
	opts := Options{MultipartSize: 128 << 10, SSE: &obsclient.SSE{CustomerKey: sseKey1}}
	e.mount(opts)
	require.NoError(t, os.WriteFile(e.path("c.bin"), patterned(300000, 7), 0o644))
	e.remount(opts)
	e.srv.ResetStats()
	for _, k := range []string{"c.bin", "plain", "kms"} {
		_, err := os.ReadFile(e.path(k))
		require.NoError(t, err)
		require.NoError(t, os.Rename(e.path(k), e.path(k+".2")))
		require.NoError(t, os.Chmod(e.path(k+".2"), 0o600))
		f, err := os.OpenFile(e.path(k+".2"), os.O_RDWR, 0)
		require.NoError(t, err)
		_, err = f.WriteAt([]byte("Z"), 150000)
		require.NoError(t, err)
		require.NoError(t, f.Close())
	}
	sseC := func(k string) bool { return strings.HasPrefix(k, "c.bin") }
	table := map[string]map[string]bool{}
	refused := 0
	for _, r := range e.srv.Requests() {
		if r.Key == "" {
			continue
		}
		hasKey := r.Header.Get(p+"Server-Side-Encryption-Customer-Key") != ""
		hasSrcKey := r.Header.Get(p+"Copy-Source-Server-Side-Encryption-Customer-Key") != ""
		src := r.Header.Get(p + "Copy-Source")
		row := table[r.Op]
		if row == nil {
			row = map[string]bool{}
			table[r.Op] = row
		}
		if hasKey {
			row["key"] = true
		}
		if hasSrcKey {
			row["source key"] = true
		}
		if r.Header.Get(p+"Server-Side-Encryption") != "" {
			row["kms"] = true
		}
		if r.Status >= 400 {
			if r.Status == 400 {
				refused++
			}
			continue
		}
		switch r.Op {
		case "HeadObject", "GetObject":
			if r.Key != "plain.2" { // SSE-C once edited (below)
				assert.Equal(t, sseC(r.Key), hasKey, "%s %s: key sent = %v", r.Op, r.Key, hasKey)
			}
		case "PutObject", "UploadPart", "InitiateMultipartUpload", "AppendObject":
			// An edit keeps SSE-KMS; an unencrypted object gets the mount's sse=.
			assert.Equal(t, sseC(r.Key) || r.Key == "plain.2", hasKey, "%s %s: key sent = %v", r.Op, r.Key, hasKey)
		case "CopyObject", "UploadPartCopy":
			assert.Equal(t, strings.Contains(src, "c.bin"), hasSrcKey, "%s %s from %s: source key = %v", r.Op, r.Key, src, hasSrcKey)
			assert.Equal(t, sseC(r.Key) || r.Op == "UploadPartCopy" && r.Key == "plain.2", hasKey, "%s %s: target key = %v", r.Op, r.Key, hasKey)
		}
	}
	assert.LessOrEqual(t, refused, 2, "one refused request per non-SSE-C object at most")
	t.Logf("refused (learning) requests: %d", refused)
	for op, row := range table {
		t.Logf("%-24s %v", op, row)
	}
	for _, k := range []string{"c.bin.2", "plain.2", "kms.2"} {
		o, _ := e.srv.Object(e.bucket, k)
		assert.Equal(t, k != "kms.2", o.SSECKeyMD5 != "", k)
		assert.Equal(t, k == "kms.2", o.SSE == "kms", k)
	}
}
