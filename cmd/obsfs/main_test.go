package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obsfs/obsfs/obsclient/obstest"
)

// TestMain lets the test binary stand in for obsfs: the daemon tests re-exec
// /proc/self/exe, which must then behave as the command.
func TestMain(m *testing.M) {
	if os.Getenv("OBSFS_TEST_AS_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// startupEnv is an emulator with bucket "bkt1" and keys AK/SK, a passwd file
// for them, an empty mount point and a clean environment.
type startupEnv struct {
	srv    *obstest.Server
	passwd string
	mnt    string
	env    map[string]string
}

func newStartupEnv(t *testing.T) *startupEnv {
	t.Helper()
	dir := t.TempDir()
	old := systemPasswdFile
	systemPasswdFile = filepath.Join(dir, "no-system-passwd")
	t.Cleanup(func() { systemPasswdFile = old })
	mnt := filepath.Join(dir, "mnt")
	require.NoError(t, os.Mkdir(mnt, 0o755))
	return &startupEnv{
		srv:    obstest.NewTest(t, obstest.Options{AccessKey: "AKTEST", SecretKey: "SKTEST", Buckets: []string{"bkt1"}}),
		passwd: writeFile(t, dir, "passwd", "AKTEST:SKTEST\n", 0o600),
		mnt:    mnt,
		env:    map[string]string{"HOME": dir},
	}
}

// run runs the command and returns its exit code and stderr.
func (e *startupEnv) run(args ...string) (int, string) {
	var out, errOut bytes.Buffer
	code := run(args, envOf(e.env), &out, &errOut)
	return code, errOut.String()
}

// opts is the -o list that would mount successfully, plus extra options.
func (e *startupEnv) opts(extra ...string) string {
	return strings.Join(append([]string{"url=" + e.srv.URL, "passwd_file=" + e.passwd, "use_path_request_style", "retries=0"}, extra...), ",")
}

// TestStartupErrors covers each check before the mount, in the foreground:
// one line on stderr, the documented exit code.
func TestStartupErrors(t *testing.T) {
	e := newStartupEnv(t)
	file := writeFile(t, t.TempDir(), "file", "x", 0o600)
	full := t.TempDir()
	writeFile(t, full, "something", "x", 0o600)
	open := writeFile(t, t.TempDir(), "pw", "AKTEST:SKTEST\n", 0o644)
	wrong := writeFile(t, t.TempDir(), "pw", "AKTEST:WRONG\n", 0o600)

	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"bad option", []string{"bkt1", e.mnt, "-f", "-o", e.opts("multipart_size=abc")}, exitUsage, `obsfs: option multipart_size: invalid size "abc"`},
		{"unknown option", []string{"bkt1", e.mnt, "-f", "-o", e.opts("foo")}, exitUsage, "obsfs: unknown option 'foo'"},
		{"no credentials", []string{"bkt1", e.mnt, "-f", "-o", "url=" + e.srv.URL}, exitCredentials, "obsfs: no credentials: set -o passwd_file=FILE"},
		{"passwd file too open", []string{"bkt1", e.mnt, "-f", "-o", e.opts("passwd_file=" + open)}, exitCredentials, "obsfs: passwd file " + open + " is readable by group/other (mode 0644; chmod 600)"},
		{"mountpoint missing", []string{"bkt1", e.mnt + "/nope", "-f", "-o", e.opts()}, exitMountpoint, "obsfs: mountpoint " + e.mnt + "/nope does not exist"},
		{"mountpoint is a file", []string{"bkt1", file, "-f", "-o", e.opts()}, exitMountpoint, "obsfs: mountpoint " + file + " is not a directory"},
		{"mountpoint not empty", []string{"bkt1", full, "-f", "-o", e.opts()}, exitMountpoint, "obsfs: mountpoint " + full + " is not empty (use -o nonempty to mount over it)"},
		{"endpoint unreachable", []string{"bkt1", e.mnt, "-f", "-o", e.opts("url=http://127.0.0.1:1")}, exitEndpoint, "obsfs: cannot reach http://127.0.0.1:1: dial tcp 127.0.0.1:1: connect: connection refused"},
		{"wrong secret", []string{"bkt1", e.mnt, "-f", "-o", e.opts("passwd_file=" + wrong)}, exitAccess, "obsfs: " + e.srv.URL + ` says the signature does not match (SignatureDoesNotMatch): check the secret key from passwd file ` + wrong + ", and signature= (now obs)"},
		{"no such bucket", []string{"nope", e.mnt, "-f", "-o", e.opts()}, exitNoBucket, `obsfs: bucket "nope" does not exist at ` + e.srv.URL},
		{"non-empty allowed, then bucket checked", []string{"nope", full, "-f", "-o", e.opts("nonempty")}, exitNoBucket, `obsfs: bucket "nope" does not exist`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stderr := e.run(tc.args...)
			assert.Equal(t, tc.code, code, stderr)
			assert.Equal(t, 1, strings.Count(stderr, "\n"), "want exactly one line, got %q", stderr)
			assert.True(t, strings.HasPrefix(stderr, tc.msg), "got %q\nwant prefix %q", stderr, tc.msg)
			assert.NotContains(t, stderr, "SKTEST")
		})
	}
}

func TestAllowOtherNeedsFuseConf(t *testing.T) {
	dir := t.TempDir()
	old := fuseConf
	t.Cleanup(func() { fuseConf = old })
	fuseConf = writeFile(t, dir, "fuse.conf", "# mount_max = 1000\n#user_allow_other\n", 0o644)
	c := &Config{AllowOther: true}
	err := checkAllowOther(c, 1000)
	require.Error(t, err)
	assert.Equal(t, exitMount, exitCode(err))
	assert.Equal(t, "allow_other needs a line user_allow_other in "+fuseConf+" when not mounting as root", err.Error())
	assert.NoError(t, checkAllowOther(c, 0), "root needs no fuse.conf")
	assert.NoError(t, checkAllowOther(&Config{}, 1000), "no allow_other, no check")
	writeFile(t, dir, "fuse.conf", "mount_max = 1000\n  user_allow_other  \n", 0o644)
	assert.NoError(t, checkAllowOther(c, 1000))
}

// TestDaemonReportsChildError runs the real background path: the parent
// re-execs this test binary (as obsfs, see TestMain), the child fails a
// check after detaching, and the parent prints the child's line and exits
// with its code.
func TestDaemonReportsChildError(t *testing.T) {
	e := newStartupEnv(t)
	t.Setenv("OBSFS_TEST_AS_MAIN", "1")
	t.Setenv("HOME", e.env["HOME"])
	var out, errOut bytes.Buffer
	code := run([]string{"nope", e.mnt, "-o", e.opts()}, os.Getenv, &out, &errOut)
	assert.Equal(t, exitNoBucket, code)
	assert.Equal(t, `obsfs: bucket "nope" does not exist at `+e.srv.URL+"\n", errOut.String())

	logfile := filepath.Join(t.TempDir(), "obsfs.log")
	errOut.Reset()
	code = run([]string{"bkt1", e.mnt + "/nope", "-o", e.opts("logfile=" + logfile)}, os.Getenv, &out, &errOut)
	assert.Equal(t, exitMountpoint, code)
	assert.Equal(t, "obsfs: mountpoint "+e.mnt+"/nope does not exist\n", errOut.String())
	log, err := os.ReadFile(logfile)
	require.NoError(t, err)
	assert.Contains(t, string(log), "mount failed")
	st, err := os.Stat(logfile)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
}
