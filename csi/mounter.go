package csi

// Mounting by running the obsfs command line, and reading the state of
// mounts from /proc/self/mountinfo.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/obsfs/obsfs/internal/mountinfo"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// credentials are the node-publish secret's.
type credentials struct {
	AccessKey, SecretKey, Token string
}

// Secret keys the driver reads (node-publish, provisioner and deleter
// secrets alike).
const (
	secretAccessKey = "accessKeyID"
	secretSecretKey = "secretAccessKey"
	secretToken     = "sessionToken"
	secretURL       = "url" // optional: the endpoint, when the StorageClass or PV does not give it
)

func credentialsFrom(secrets map[string]string) (credentials, error) {
	c := credentials{AccessKey: secrets[secretAccessKey], SecretKey: secrets[secretSecretKey], Token: secrets[secretToken]}
	if c.AccessKey == "" || c.SecretKey == "" {
		return c, status.Errorf(codes.InvalidArgument, "the secret must hold %s and %s", secretAccessKey, secretSecretKey)
	}
	return c, nil
}

// env is the environment obsfs reads them from (and drops).
func (c credentials) env() []string {
	e := []string{"OBS_ACCESS_KEY_ID=" + c.AccessKey, "OBS_SECRET_ACCESS_KEY=" + c.SecretKey}
	if c.Token != "" {
		e = append(e, "OBS_SECURITY_TOKEN="+c.Token)
	}
	return e
}

// mounter runs obsfs.
type mounter struct {
	obsfs   string        // path of the obsfs binary
	timeout time.Duration // for one mount to go live
}

// exit codes of obsfs (cmd/obsfs/main.go) and what they are in gRPC terms.
var exitCodes = map[int]codes.Code{
	2: codes.InvalidArgument,    // bad option
	3: codes.Unauthenticated,    // credentials missing or malformed
	4: codes.FailedPrecondition, // mount point
	5: codes.Unavailable,        // endpoint unreachable
	6: codes.PermissionDenied,   // access denied
	7: codes.NotFound,           // no such bucket
}

// mount runs "obsfs SOURCE TARGET -o OPTIONS" with the credentials in the
// environment. obsfs returns once the mount is live (its daemon then runs
// in its own session) or with one line saying why not.
func (m *mounter) mount(ctx context.Context, source, target string, opts []string, creds credentials) error {
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, m.obsfs, source, target, "-o", strings.Join(opts, ","))
	cmd.Env = append(baseEnv(), creds.env()...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err == nil {
		return nil
	}
	msg := strings.TrimSpace(out.String())
	if msg == "" {
		msg = err.Error()
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if c, ok := exitCodes[ee.ExitCode()]; ok {
			return status.Error(c, msg)
		}
	}
	if ctx.Err() != nil {
		return status.Errorf(codes.DeadlineExceeded, "obsfs did not mount within %v: %s", m.timeout, msg)
	}
	return status.Error(codes.Internal, msg)
}

// baseEnv is the driver's environment without credentials of its own:
// obsfs must take the volume's, never the driver's.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "OBS_ACCESS_KEY_ID", "OBS_SECRET_ACCESS_KEY", "OBS_SECURITY_TOKEN",
			"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "OBS_ENDPOINT":
			continue
		}
		env = append(env, kv)
	}
	return env
}

// unmount unmounts target and waits for the obsfs serving it to finish its
// uploads and exit. A dead mount (its obsfs gone) is detached.
func (m *mounter) unmount(ctx context.Context, target string) error {
	pids := servingPIDs(target)
	var err error
	for _, argv := range [][]string{{"fusermount3", "-u", target}, {"umount", target}} {
		out, e := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
		if e == nil {
			err = nil
			break
		}
		err = fmt.Errorf("%s: %v: %s", argv[0], e, bytes.TrimSpace(out))
	}
	if err != nil && deadMount(target) {
		err = detach(ctx, target)
	}
	if err != nil {
		return status.Errorf(codes.Internal, "unmount %s: %v", target, err)
	}
	for _, pid := range pids {
		for processAlive(pid) {
			select {
			case <-ctx.Done():
				return status.Errorf(codes.DeadlineExceeded, "obsfs (pid %d) still uploading for %s", pid, target)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}

// detach lazily unmounts a dead FUSE mount.
func detach(ctx context.Context, target string) error {
	out, err := exec.CommandContext(ctx, "fusermount3", "-uz", target).CombinedOutput()
	if err != nil {
		if out2, err2 := exec.CommandContext(ctx, "umount", "-l", target).CombinedOutput(); err2 != nil {
			return fmt.Errorf("fusermount3 -uz: %v: %s; umount -l: %v: %s", err, bytes.TrimSpace(out), err2, bytes.TrimSpace(out2))
		}
	}
	return nil
}

// mountEntry is one line of /proc/self/mountinfo.
type mountEntry struct {
	Dir, FSType, Source, Options string
}

// findMount returns the entry mounted on dir (the last, topmost one).
func findMount(dir string) (mountEntry, bool) {
	var found mountEntry
	ok := false
	for _, e := range mounts() {
		if e.Dir == dir {
			found, ok = e, true
		}
	}
	return found, ok
}

// mounts parses /proc/self/mountinfo.
func mounts() []mountEntry {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var out []mountEntry
	for _, line := range strings.Split(string(data), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 6 || len(g) < 2 {
			continue
		}
		out = append(out, mountEntry{Dir: mountinfo.Unescape(f[4]), Options: f[5], FSType: g[0], Source: mountinfo.Unescape(g[1])})
	}
	return out
}

// deadMount reports whether dir is a FUSE mount whose server is gone:
// ENOTCONN once the connection is torn down, ECONNABORTED while the kernel
// still holds it aborted.
func deadMount(dir string) bool {
	var st syscall.Stat_t
	err := syscall.Stat(dir, &st)
	return errors.Is(err, syscall.ENOTCONN) || errors.Is(err, syscall.ECONNABORTED)
}

// servingPIDs are the obsfs processes whose command line names dir as
// their mount point.
func servingPIDs(dir string) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
		if len(args) >= 3 && strings.Contains(args[0], "obsfs") && args[2] == dir {
			pids = append(pids, pid)
		}
	}
	return pids
}

// processAlive reports whether pid runs (zombies count as gone).
func processAlive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(data, ')')
	return i < 0 || i+2 >= len(data) || data[i+2] != 'Z'
}
