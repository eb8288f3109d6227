package integration

// The Kubernetes CSI driver without Kubernetes: the community's csi-sanity
// suite against the driver on a unix socket with real mounts of the
// emulator's bucket, then the driver binary end to end — publish, write,
// read through a second publish, unpublish, check the bucket; kill -9 the
// driver while a volume is published and check the mount lives on and is
// adopted; a mount whose obsfs died is detached by the restarted driver.

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	csipb "github.com/container-storage-interface/spec/lib/go/csi"
	"github.com/kubernetes-csi/csi-test/v5/pkg/sanity"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/obsfs/obsfs/csi"
	"github.com/obsfs/obsfs/obsclient"
)

// csiSecrets is the secret every call carries.
func csiSecrets() map[string]string {
	return map[string]string{"accessKeyID": testAccessKey, "secretAccessKey": testSecretKey}
}

func TestCSISanity(t *testing.T) {
	requireFUSE(t)
	e := newEnv(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "csi.sock")
	d, err := csi.New(csi.Config{NodeID: "node-1", Obsfs: obsfsBin(), URL: e.Srv.URL, Options: "use_path_request_style"})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- d.Serve(ctx, "unix://"+sock, "") }()
	t.Cleanup(func() { cancel(); <-served })
	waitSocket(t, sock)

	secrets := "CreateVolumeSecret: &s\n  accessKeyID: " + testAccessKey + "\n  secretAccessKey: " + testSecretKey + "\n"
	for _, k := range []string{"DeleteVolumeSecret", "ControllerValidateVolumeCapabilitiesSecret", "NodePublishVolumeSecret", "NodeStageVolumeSecret"} {
		secrets += k + ": *s\n"
	}
	secretsFile := filepath.Join(dir, "secrets.yaml")
	require.NoError(t, os.WriteFile(secretsFile, []byte(secrets), 0o600))

	cfg := sanity.NewTestConfig()
	cfg.Address = "unix://" + sock
	cfg.TargetPath = filepath.Join(dir, "target")
	cfg.StagingPath = filepath.Join(dir, "staging")
	cfg.SecretsFile = secretsFile
	cfg.TestVolumeParameters = map[string]string{"bucket": testBucket, "prefix": "sanity", "deleteData": "true"}
	cfg.IdempotentCount = 2
	sanity.Test(t, cfg)

	// Every volume the suite created was deleted with its data.
	page, err := e.Client(t).ListObjects(context.Background(), obsclient.ListOptions{Prefix: "sanity/"})
	require.NoError(t, err)
	assert.Empty(t, page.Objects, "keys left under sanity/ after the suite deleted its volumes")
}

func waitSocket(t *testing.T, sock string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(sock); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the driver did not create %s", sock)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// csiDriver is the obsfs-csi binary running on a socket.
type csiDriver struct {
	cmd    *exec.Cmd
	log    *lockedBuffer
	exited chan struct{}
	conn   *grpc.ClientConn
	node   csipb.NodeClient
}

func startCSIDriver(t *testing.T, e *Env, sock, pods string) *csiDriver {
	t.Helper()
	_ = os.Remove(sock)
	d := &csiDriver{log: &lockedBuffer{}, exited: make(chan struct{})}
	d.cmd = exec.Command(filepath.Join(binDir, "obsfs-csi"), "--endpoint", "unix://"+sock, "--node-id", "node-1",
		"--obsfs", obsfsBin(), "--url", e.Srv.URL, "--options", "use_path_request_style", "--pods-dir", pods, "--log-level", "debug")
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	require.NoError(t, d.cmd.Start())
	go func() { _ = d.cmd.Wait(); close(d.exited) }()
	waitSocket(t, sock)
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	d.conn, d.node = conn, csipb.NewNodeClient(conn)
	return d
}

func (d *csiDriver) kill() {
	_ = d.conn.Close()
	_ = d.cmd.Process.Kill()
	<-d.exited
}

func publishReq(volume, target, options string) *csipb.NodePublishVolumeRequest {
	return &csipb.NodePublishVolumeRequest{
		VolumeId: volume, TargetPath: target, Secrets: csiSecrets(),
		VolumeContext: map[string]string{"options": options},
		VolumeCapability: &csipb.VolumeCapability{
			AccessType: &csipb.VolumeCapability_Mount{Mount: &csipb.VolumeCapability_MountVolume{}},
			AccessMode: &csipb.VolumeCapability_AccessMode{Mode: csipb.VolumeCapability_AccessMode_MULTI_NODE_MULTI_WRITER}},
	}
}

func TestCSIDriverEndToEnd(t *testing.T) {
	requireFUSE(t)
	e := newEnv(t)
	e.putObject(t, "vol/seed.txt", []byte("seed"), nil)
	dir := t.TempDir()
	sock, pods := filepath.Join(dir, "csi.sock"), filepath.Join(dir, "pods")
	ctx := context.Background()
	d := startCSIDriver(t, e, sock, pods)
	t.Cleanup(func() {
		for _, m := range mounts() {
			if strings.HasPrefix(m, pods) {
				_ = exec.Command("fusermount3", "-uz", m).Run()
			}
		}
	})
	a, b := filepath.Join(pods, "a", "mount"), filepath.Join(pods, "b", "mount")

	// Options go through obsfs's own table: an unknown one is refused with
	// its message.
	_, err := d.node.NodePublishVolume(ctx, publishReq(testBucket+":/vol", a, "stat_cache_expir=5"))
	assert.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
	assert.Contains(t, status.Convert(err).Message(), `stat_cache_expir`)

	_, err = d.node.NodePublishVolume(ctx, publishReq(testBucket+":/vol", a, "stat_cache_expire=0"))
	require.NoError(t, err, d.log.String())
	got, err := os.ReadFile(filepath.Join(a, "seed.txt"))
	require.NoError(t, err)
	assert.Equal(t, "seed", string(got))
	require.NoError(t, os.WriteFile(filepath.Join(a, "from-a.txt"), []byte("written through a"), 0o644))

	_, err = d.node.NodePublishVolume(ctx, publishReq(testBucket+":/vol", b, "stat_cache_expire=0"))
	require.NoError(t, err, d.log.String())
	got, err = os.ReadFile(filepath.Join(b, "from-a.txt"))
	require.NoError(t, err)
	assert.Equal(t, "written through a", string(got), "the second publish reads what the first wrote")

	// The secret reached obsfs by its environment, which it drops: neither
	// the driver's log nor any obsfs command line holds it.
	assert.NotContains(t, d.log.String(), testSecretKey)
	for _, pid := range daemonPIDs(a) {
		cmdline, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
		assert.NotContains(t, string(cmdline), testSecretKey)
	}

	_, err = d.node.NodeUnpublishVolume(ctx, &csipb.NodeUnpublishVolumeRequest{VolumeId: testBucket + ":/vol", TargetPath: a})
	require.NoError(t, err)
	assert.False(t, isMountpoint(a))
	_, err = os.Stat(a)
	assert.True(t, os.IsNotExist(err), "unpublish removes the target directory")
	body, _ := e.getObject(t, "vol/from-a.txt")
	assert.Equal(t, "written through a", string(body))

	// kill -9 the driver: the published volume stays mounted and served.
	d.kill()
	require.NoError(t, os.WriteFile(filepath.Join(b, "after-kill.txt"), []byte("driver gone"), 0o644))
	got, err = os.ReadFile(filepath.Join(b, "after-kill.txt"))
	require.NoError(t, err)
	assert.Equal(t, "driver gone", string(got))

	// A restarted driver adopts it: publishing again is a success, the
	// volume stats come from it, unpublish unmounts it.
	d = startCSIDriver(t, e, sock, pods)
	_, err = d.node.NodePublishVolume(ctx, publishReq(testBucket+":/vol", b, "stat_cache_expire=0"))
	require.NoError(t, err, d.log.String())
	assert.Len(t, daemonPIDs(b), 1, "adopted, not mounted twice")
	st, err := d.node.NodeGetVolumeStats(ctx, &csipb.NodeGetVolumeStatsRequest{VolumeId: testBucket + ":/vol", VolumePath: b})
	require.NoError(t, err)
	assert.NotEmpty(t, st.GetUsage())

	// A mount whose obsfs died is detached by the next driver at start.
	pids := daemonPIDs(b)
	require.Len(t, pids, 1)
	d.kill()
	require.NoError(t, syscall.Kill(pids[0], syscall.SIGKILL))
	_, err = os.Stat(b)
	require.True(t, errors.Is(err, syscall.ENOTCONN) || errors.Is(err, syscall.ECONNABORTED), "the mount is dead: %v", err)
	d = startCSIDriver(t, e, sock, pods)
	defer d.kill()
	assert.False(t, isMountpoint(b), "the restarted driver detached the dead mount:\n%s", d.log.String())
	_, err = d.node.NodePublishVolume(ctx, publishReq(testBucket+":/vol", b, "stat_cache_expire=0"))
	require.NoError(t, err, d.log.String())
	got, err = os.ReadFile(filepath.Join(b, "after-kill.txt"))
	require.NoError(t, err)
	assert.Equal(t, "driver gone", string(got), "data written while the driver was gone was committed")
	_, err = d.node.NodeUnpublishVolume(ctx, &csipb.NodeUnpublishVolumeRequest{VolumeId: testBucket + ":/vol", TargetPath: b})
	require.NoError(t, err)
	assert.False(t, isMountpoint(b))
}

// lockedBuffer is a bytes.Buffer safe for the process's output goroutine
// and the test reading it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// mounts lists the mount points in /proc/self/mountinfo.
func mounts() []string {
	data, _ := os.ReadFile("/proc/self/mountinfo")
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 4 {
			out = append(out, unescapeMountinfo(f[4]))
		}
	}
	return out
}
