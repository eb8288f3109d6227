package csi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"go.uber.org/zap"
	"google.golang.org/grpc"
)

// DefaultName is the driver's CSI name (CSIDriver object, StorageClass
// provisioner).
const DefaultName = "obs.csi.obsfs.io"

// Config configures a Driver.
type Config struct {
	Name     string // CSI driver name; default DefaultName
	Version  string // reported by GetPluginInfo
	NodeID   string // this node's id (NodeGetInfo); required for the node service
	Obsfs    string // path of the obsfs binary; default "obsfs" from PATH
	URL      string // default OBS endpoint, when neither the secret nor the volume gives one
	Options  string // -o options added to every mount and used by the controller's client (e.g. use_path_request_style)
	Region   string // region of buckets the controller creates; default the endpoint's (cn-north-4)
	Timeout  time.Duration
	Logger   *zap.Logger
	MaxFiles int64 // reported as inodes total by NodeGetVolumeStats; default 1<<32
}

// Driver serves the CSI Identity, Controller and Node services.
type Driver struct {
	csi.UnimplementedIdentityServer
	csi.UnimplementedControllerServer
	csi.UnimplementedNodeServer

	cfg Config
	m   mounter
	log *zap.Logger
	vol keyedMutex // one operation per volume id / target path at a time
}

// New checks cfg and builds a Driver.
func New(cfg Config) (*Driver, error) {
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	if cfg.Obsfs == "" {
		cfg.Obsfs = "obsfs"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.MaxFiles <= 0 {
		cfg.MaxFiles = 1 << 32
	}
	if strings.Contains(cfg.Options, "passwd_file") {
		return nil, errors.New("driver options: credentials come from secrets, not passwd_file")
	}
	return &Driver{cfg: cfg, m: mounter{obsfs: cfg.Obsfs, timeout: cfg.Timeout}, log: cfg.Logger}, nil
}

// Serve listens on endpoint ("unix:///csi/csi.sock" or a path) and serves
// until ctx ends. At start it cleans up dead obsfs mounts under
// cleanupRoot (the kubelet's pods directory; "" = none).
func (d *Driver) Serve(ctx context.Context, endpoint, cleanupRoot string) error {
	path, err := socketPath(endpoint)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if cleanupRoot != "" { // before the socket appears: a CO's first publish finds dead mounts gone
		d.CleanupDeadMounts(ctx, cleanupRoot)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return err
	}
	srv := grpc.NewServer(grpc.UnaryInterceptor(d.logCalls))
	csi.RegisterIdentityServer(srv, d)
	csi.RegisterControllerServer(srv, d)
	csi.RegisterNodeServer(srv, d)
	go func() {
		<-ctx.Done()
		srv.GracefulStop()
	}()
	d.log.Info("serving", zap.String("endpoint", path), zap.String("name", d.cfg.Name), zap.String("node", d.cfg.NodeID))
	return srv.Serve(ln)
}

// socketPath accepts "unix:///path", "unix:/path" or a plain path.
func socketPath(endpoint string) (string, error) {
	if !strings.Contains(endpoint, "://") && !strings.HasPrefix(endpoint, "unix:") {
		return endpoint, nil
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "unix" {
		return "", fmt.Errorf("endpoint %q: want unix:///path/to/csi.sock", endpoint)
	}
	if u.Path == "" {
		return u.Opaque, nil
	}
	return u.Path, nil
}

// logCalls logs each call's method, duration and error, never its request
// (requests carry secrets).
func (d *Driver) logCalls(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	start := time.Now()
	resp, err := h(ctx, req)
	fields := []zap.Field{zap.String("method", info.FullMethod), zap.Duration("took", time.Since(start))}
	if v, ok := req.(interface{ GetVolumeId() string }); ok && v.GetVolumeId() != "" {
		fields = append(fields, zap.String("volume", v.GetVolumeId()))
	}
	if err != nil {
		d.log.Warn("call failed", append(fields, zap.Error(err))...)
	} else {
		d.log.Debug("call", fields...)
	}
	return resp, err
}

// CleanupDeadMounts detaches fuse.obsfs mounts under root whose obsfs died
// (ENOTCONN), so a later publish of the volume can mount again. Live
// mounts are left alone: they are this driver's, adopted as they are.
func (d *Driver) CleanupDeadMounts(ctx context.Context, root string) (cleaned []string) {
	for _, e := range mounts() {
		if e.FSType != "fuse.obsfs" || !strings.HasPrefix(e.Dir, strings.TrimSuffix(root, "/")+"/") {
			continue
		}
		if !deadMount(e.Dir) {
			continue
		}
		if err := detach(ctx, e.Dir); err != nil {
			d.log.Warn("cannot detach a dead obsfs mount", zap.String("target", e.Dir), zap.Error(err))
			continue
		}
		d.log.Info("detached a dead obsfs mount", zap.String("target", e.Dir), zap.String("source", e.Source))
		cleaned = append(cleaned, e.Dir)
	}
	return cleaned
}
