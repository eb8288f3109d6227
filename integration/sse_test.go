package integration

// Server-side encryption with the built binary (fs/SEMANTICS.md 46): an
// SSE-C mount (-o sse=c:FILE) reads what it wrote through cp, mv, chmod,
// touch, setfattr, dd, >>, truncate and a remount, in the OBS and the S3
// dialect; the SDK with the key reads the results; a mount without the key
// gets EACCES and one log line; the key is in no log line and not on the
// daemon's command line.

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-obs/obs"
	"golang.org/x/sys/unix"
)

func TestSSECEndToEnd(t *testing.T) {
	t.Setenv("OBSFS_IT_DEBUG", "1") // FUSE traces (-d) in the log too
	for _, sig := range []string{"obs", "v4"} {
		t.Run(sig, func(t *testing.T) {
			e := newEnv(t)
			key := bytes.Repeat([]byte{0x5a}, 32)
			key[0], key[31] = 0x01, 0xfe
			keyFile := filepath.Join(t.TempDir(), "ssec.key")
			if err := os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			opts := []string{"sse=c:" + keyFile, "signature=" + sig, "multipart_size=5", "dbglevel=debug"}
			m := e.Mount(t, opts...)
			local := t.TempDir()
			src := filepath.Join(local, "20MB.bin")
			data := make([]byte, 12<<20+4321)
			for i := range data {
				data[i] = byte(i*31 + i>>11)
			}
			if err := os.WriteFile(src, data, 0o644); err != nil {
				t.Fatal(err)
			}
			sh(t, local, "cp", src, m.Path("c.bin"))
			sh(t, local, "cmp", src, m.Path("c.bin"))
			m.Remount()
			sh(t, local, "cmp", src, m.Path("c.bin")) // cold: ranged GETs with the key

			sh(t, m.Dir, "mv", "c.bin", "d.bin")
			sh(t, m.Dir, "chmod", "600", "d.bin")
			if err := unix.Setxattr(m.Path("d.bin"), "user.color", []byte("blue"), 0); err != nil {
				t.Fatal(err)
			}
			// One byte in the middle of a multipart-sized file.
			sh(t, m.Dir, "dd", "of=d.bin", "bs=1", "seek=6000000", "count=1", "conv=notrunc", "status=none", "if=/dev/zero")
			data[6000000] = 0
			sh(t, m.Dir, "sh", "-c", "printf tail >> d.bin")
			data = append(data, "tail"...)
			sh(t, m.Dir, "touch", "-d", "2001-02-03", "d.bin")
			sh(t, m.Dir, "mkdir", "-p", "dir/sub")
			sh(t, m.Dir, "cp", "d.bin", "dir/sub/e.bin")
			sh(t, m.Dir, "truncate", "-s", "7000000", "dir/sub/e.bin")
			sh(t, m.Dir, "mv", "dir", "dir2")
			m.Remount()
			checkFile(t, m.Path("d.bin"), data, "edited SSE-C file after remount")
			checkFile(t, m.Path("dir2/sub/e.bin"), data[:7000000], "truncated copy after directory rename and remount")
			if fi, err := os.Stat(m.Path("d.bin")); err != nil || fi.Mode().Perm() != 0o600 || fi.ModTime().Year() != 2001 {
				t.Errorf("d.bin: %v %v", fi, err)
			}
			v := make([]byte, 32)
			if n, err := unix.Getxattr(m.Path("d.bin"), "user.obs.encryption", v); err != nil || string(v[:n]) != "sse-c" {
				t.Errorf("user.obs.encryption = %q, %v", v[:n], err)
			}

			// The official SDK with the same key reads the results.
			c := e.sdkClient(t)
			for k, want := range map[string][]byte{"d.bin": data, "dir2/sub/e.bin": data[:7000000]} {
				in := &obs.GetObjectInput{}
				in.Bucket, in.Key = e.Bucket, k
				in.SseHeader = obs.SseCHeader{Encryption: "AES256", Key: base64.StdEncoding.EncodeToString(key)}
				out, err := c.GetObject(in)
				if err != nil {
					t.Fatalf("SDK GetObject %s with the key: %v", k, err)
				}
				got, _ := io.ReadAll(out.Body)
				out.Body.Close()
				if !bytes.Equal(got, want) {
					t.Errorf("SDK read of %s differs (len %d, want %d)", k, len(got), len(want))
				}
			}

			// The key file's path may show; the key never does.
			cmdline, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(m.PID()), "cmdline"))
			logText, _ := os.ReadFile(m.log)
			if !strings.Contains(string(logText), "HeadObject") && !strings.Contains(string(logText), "debug") {
				t.Logf("log has no debug traces?\n%s", tail(m.log, 20))
			}
			for _, secret := range []string{base64.StdEncoding.EncodeToString(key), hex.EncodeToString(key), string(key)} {
				if bytes.Contains(cmdline, []byte(secret)) {
					t.Errorf("the SSE-C key is on the command line")
				}
				if bytes.Contains(logText, []byte(secret)) {
					t.Errorf("the SSE-C key is in the log")
				}
			}

			// Without the key: EACCES and one log line naming the object.
			m.Unmount()
			m2 := e.Mount(t, "signature="+sig)
			_, err := os.ReadFile(m2.Path("d.bin"))
			if !errors.Is(err, syscall.EACCES) {
				t.Errorf("read without the key: %v, want EACCES", err)
			}
			m2.Unmount()
			logText, _ = os.ReadFile(m2.log)
			n := 0
			for _, l := range strings.Split(string(logText), "\n") {
				if strings.Contains(l, "SSE-C key") && strings.Contains(l, "d.bin") {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%d log lines name d.bin and the SSE-C key, want 1:\n%s", n, logText)
			}
		})
	}
}
