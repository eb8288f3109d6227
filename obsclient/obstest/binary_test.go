package obstest

import (
	"bufio"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obsfs/obsfs/obsclient/signer"
)

// TestBinary builds cmd/obs-emulator, starts it on port 0, checks the
// announcement line, talks to it and stops it with SIGTERM.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	bin := filepath.Join(t.TempDir(), "obs-emulator")
	out, err := exec.Command("go", "build", "-o", bin, "../../cmd/obs-emulator").CombinedOutput()
	require.NoError(t, err, string(out))
	cmd := exec.Command(bin, "--listen", "127.0.0.1:0", "--access-key", testAK, "--secret-key", testSK,
		"--bucket", testBucket, "--bucket", testBucket2, "--fs-bucket", testFS, "--root", t.TempDir())
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "obs-emulator listening on ")
	require.True(t, ok, line)
	require.True(t, strings.HasPrefix(url, "http://127.0.0.1:") && !strings.HasSuffix(url, ":0"), url)

	r, _ := http.NewRequest(http.MethodPut, url+"/"+testBucket+"/hello", strings.NewReader("hi"))
	signer.SignRequest(r, signer.OBS, signer.Credentials{AccessKey: testAK, SecretKey: testSK},
		signer.Target{Bucket: testBucket, EscapedKey: "hello"}, time.Now())
	resp, err := http.DefaultClient.Do(r)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	resp, err = http.Get(url + "/-/stats")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		assert.NoError(t, err, "clean exit on SIGTERM")
	case <-time.After(10 * time.Second):
		t.Fatal("emulator did not stop on SIGTERM")
	}
}
