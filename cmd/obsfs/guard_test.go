package main

import (
	"context"
	"errors"
	"log/syslog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	mi "github.com/obsfs/obsfs/internal/mountinfo"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/obsfs/obsfs/obsclient/signer"
)

// TestTLSFailureNamesTheWayOut: a certificate the client does not trust
// fails the mount with a message naming cafile= and ssl_verify=false.
func TestTLSFailureNamesTheWayOut(t *testing.T) {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	c := parseOK(t, "bkt", "/mnt", "-o", "url="+srv.URL+",use_path_request_style,retries=0,connect_timeout=5")
	_, _, err := openBucket(context.Background(), c, signer.Credentials{AccessKey: "AK", SecretKey: "SK"}, "test", zap.NewNop())
	require.Error(t, err)
	assert.Equal(t, exitEndpoint, exitCode(err))
	assert.Contains(t, err.Error(), "TLS certificate of "+srv.URL+" not accepted")
	assert.Contains(t, err.Error(), "cafile=FILE")
	assert.Contains(t, err.Error(), "ssl_verify=false")
}

func TestStartupWarnings(t *testing.T) {
	assert.Empty(t, startupWarnings(parseOK(t, withURL()...)))
	for _, opt := range []string{"ssl_verify=false", "no_check_certificate"} {
		w := startupWarnings(parseOK(t, withURL("-o", opt)...))
		require.Len(t, w, 1, opt)
		assert.Contains(t, w[0], "not verified", opt)
	}
	assert.Contains(t, startupWarnings(parseOK(t, withURL("-o", "ssl_verify_hostname=0")...))[0], "host name")
}

// TestAlreadyMounted: a mount point whose visible mount is obsfs is
// refused with exit 4; another file system there is not our business.
func TestAlreadyMounted(t *testing.T) {
	dir := t.TempDir()
	info := filepath.Join(t.TempDir(), "mountinfo")
	esc := strings.ReplaceAll(dir, " ", `\040`)
	write := func(lines ...string) {
		require.NoError(t, os.WriteFile(info, []byte(strings.Join(lines, "\n")+"\n"), 0o600))
	}
	old := mountinfo
	mountinfo = info
	t.Cleanup(func() { mountinfo = old })

	write("22 1 0:21 / / rw - ext4 /dev/sda1 rw",
		"90 22 0:50 / "+esc+" rw,nosuid,nodev - fuse.obsfs obsfs:bkt rw,user_id=0")
	err := checkMountpoint(&Config{Mountpoint: dir})
	assert.Equal(t, exitMountpoint, exitCode(err))
	assert.Contains(t, err.Error(), "is already mounted (obsfs:bkt)")
	err = checkMountpoint(&Config{Mountpoint: dir, NonEmpty: true})
	assert.Contains(t, err.Error(), "already mounted", "nonempty does not allow stacking")

	write("90 22 0:50 / "+esc+" rw - fuse.obsfs obsfs:bkt rw",
		"91 90 0:51 / "+esc+" rw - tmpfs tmpfs rw") // tmpfs on top is visible
	assert.NoError(t, checkMountpoint(&Config{Mountpoint: dir}))
	assert.Equal(t, "a b\\c", mi.Unescape(`a\040b\134c`))
}

func TestRedactURLs(t *testing.T) {
	for in, want := range map[string]string{
		"url=http://h:1,proxy=http://u:pw@p:3128,ro": "url=http://h:1,proxy=http://u:xxxxx@p:3128,ro",
		"-oproxy=u:pw@p:3128":                        "-oproxy=u:xxxxx@p:3128",
		"/mnt/a@b":                                   "/mnt/a@b",
		"bkt":                                        "bkt",
	} {
		assert.Equal(t, want, redactURLs(in), in)
	}
	assert.Equal(t, "https://k:xxxxx@obs.example.com", redactURLValue("https://k:pw@obs.example.com"))
}

// TestBackgroundLogFallback: without syslog, background logs go to a file
// and the note says where; if that fails too, the note warns.
func TestBackgroundLogFallback(t *testing.T) {
	oldDial, oldPath := dialSyslog, fallbackLogFile
	t.Cleanup(func() { dialSyslog, fallbackLogFile = oldDial, oldPath })
	dialSyslog = func() (*syslog.Writer, error) { return nil, errors.New("unix /dev/log: no such file") }
	path := filepath.Join(t.TempDir(), "state", "obsfs", "obsfs.log")
	fallbackLogFile = func() string { return path }

	c := parseOK(t, withURL()...)
	log, closeLog, note, err := newLogger(c, true, nil)
	require.NoError(t, err)
	log.Info("hello from the daemon")
	closeLog()
	assert.Equal(t, "no syslog socket (/dev/log): logging to "+path, note)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Contains(t, string(data), "hello from the daemon")

	fallbackLogFile = func() string { return "/nonexistent-root/x/obsfs.log" }
	if os.Geteuid() == 0 {
		fallbackLogFile = func() string { return "/proc/obsfs-cannot/obsfs.log" }
	}
	_, _, note, err = newLogger(c, true, nil)
	require.NoError(t, err)
	assert.Contains(t, note, "warning: background logs are discarded")
	assert.Contains(t, note, "logfile=FILE")
}

// TestHandoffRoundTrip: the daemon's argv is redacted, its environment
// lacks the credentials, and the hand-off carries both.
func TestHandoffRoundTrip(t *testing.T) {
	assert.True(t, secretEnv("OBS_SECRET_ACCESS_KEY"))
	assert.True(t, secretEnv("AWS_SESSION_TOKEN"))
	assert.False(t, secretEnv("OBS_ENDPOINT"))
	// Raw fds: readHandoff takes ownership of the read end and closes it
	// (an *os.File here would close the number again when collected).
	var fds [2]int
	require.NoError(t, syscall.Pipe2(fds[:], syscall.O_CLOEXEC))
	w := os.NewFile(uintptr(fds[1]), "w")
	go func() {
		_, _ = w.WriteString(`{"Args":["bkt","/mnt","-o","proxy=http://u:pw@p:1"],"Env":{"OBS_SECRET_ACCESS_KEY":"SK"}}` + "\n")
		w.Close()
	}()
	env := envOf(map[string]string{daemonArgsEnv: strconv.Itoa(fds[0]), "HOME": "/h"})
	args, getenv, err := readHandoff(env)
	require.NoError(t, err)
	assert.Equal(t, []string{"bkt", "/mnt", "-o", "proxy=http://u:pw@p:1"}, args)
	assert.Equal(t, "SK", getenv("OBS_SECRET_ACCESS_KEY"))
	assert.Equal(t, "/h", getenv("HOME"))
	_, _, err = readHandoff(envOf(nil))
	assert.Error(t, err)
}

// TestCaptureStderr: what is written to fd 2 during fn comes back, and fd
// 2 is restored afterwards.
func TestCaptureStderr(t *testing.T) {
	said, err := captureStderr(func() error {
		_, _ = os.Stderr.WriteString("fusermount3: failed to open /dev/fuse: Permission denied\n")
		return errors.New("fusermount exited with code 256")
	})
	assert.EqualError(t, err, "fusermount exited with code 256")
	assert.Equal(t, "fusermount3: failed to open /dev/fuse: Permission denied\n", said)
	said, err = captureStderr(func() error { return nil })
	assert.NoError(t, err)
	assert.Empty(t, said)
}

func TestSplitDaemonEnv(t *testing.T) {
	env, withheld := splitDaemonEnv([]string{"PATH=/bin", "OBS_ACCESS_KEY_ID=AK", "OBS_SECRET_ACCESS_KEY=SK",
		"AWS_SESSION_TOKEN=TOK", "HTTPS_PROXY=http://u:pw@p:1", "http_proxy=http://p:2", "OBSFS_DAEMON_FD=9", "OBS_ENDPOINT=h"})
	assert.Equal(t, []string{"OBSFS_DAEMON_FD=3", "OBSFS_DAEMON_ARGS_FD=4", "PATH=/bin", "http_proxy=http://p:2", "OBS_ENDPOINT=h"}, env)
	assert.Equal(t, map[string]string{"OBS_ACCESS_KEY_ID": "AK", "OBS_SECRET_ACCESS_KEY": "SK", "AWS_SESSION_TOKEN": "TOK",
		"HTTPS_PROXY": "http://u:pw@p:1"}, withheld)
}
