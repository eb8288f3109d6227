package csi

import (
	"context"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

var _ csi.NodeServer = (*Driver)(nil)

// Volume attributes (PersistentVolume volumeAttributes, StorageClass
// parameters carried to the volume context).
const (
	attrOptions = "options" // obsfs -o options, comma-separated
	attrURL     = "url"     // OBS endpoint
)

// NodeGetCapabilities: volume stats (statfs) and fsGroup handed to the
// driver (VOLUME_MOUNT_GROUP: kubelet does not chown the bucket).
func (d *Driver) NodeGetCapabilities(context.Context, *csi.NodeGetCapabilitiesRequest) (*csi.NodeGetCapabilitiesResponse, error) {
	caps := []csi.NodeServiceCapability_RPC_Type{
		csi.NodeServiceCapability_RPC_GET_VOLUME_STATS,
		csi.NodeServiceCapability_RPC_VOLUME_MOUNT_GROUP,
	}
	out := &csi.NodeGetCapabilitiesResponse{}
	for _, c := range caps {
		out.Capabilities = append(out.Capabilities, &csi.NodeServiceCapability{
			Type: &csi.NodeServiceCapability_Rpc{Rpc: &csi.NodeServiceCapability_RPC{Type: c}}})
	}
	return out, nil
}

// NodeGetInfo names the node; buckets are reachable from every node.
func (d *Driver) NodeGetInfo(context.Context, *csi.NodeGetInfoRequest) (*csi.NodeGetInfoResponse, error) {
	if d.cfg.NodeID == "" {
		return nil, status.Error(codes.FailedPrecondition, "the driver runs without a node id (--node-id)")
	}
	return &csi.NodeGetInfoResponse{NodeId: d.cfg.NodeID}, nil
}

// NodePublishVolume mounts the volume on the target path with obsfs.
// Publishing a volume that is already mounted there is a success.
func (d *Driver) NodePublishVolume(ctx context.Context, req *csi.NodePublishVolumeRequest) (*csi.NodePublishVolumeResponse, error) {
	target := req.GetTargetPath()
	switch {
	case req.GetVolumeId() == "":
		return nil, status.Error(codes.InvalidArgument, "volume id missing")
	case target == "":
		return nil, status.Error(codes.InvalidArgument, "target path missing")
	case req.GetVolumeCapability() == nil:
		return nil, status.Error(codes.InvalidArgument, "volume capability missing")
	}
	vol, err := parseVolumeID(req.GetVolumeId())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if err := checkCapability(req.GetVolumeCapability()); err != nil {
		return nil, err
	}
	opts, err := d.mountOptions(req)
	if err != nil {
		return nil, err
	}
	creds, err := credentialsFrom(req.GetSecrets())
	if err != nil {
		return nil, err
	}
	defer d.vol.lock(target)()

	if e, ok := findMount(target); ok && e.FSType == "fuse.obsfs" {
		if deadMount(target) {
			if err := detach(ctx, target); err != nil {
				return nil, status.Errorf(codes.Internal, "detach the dead mount on %s: %v", target, err)
			}
		} else if e.Source == vol.fsName() {
			return &csi.NodePublishVolumeResponse{}, nil // already published (a retry, or a restarted driver)
		} else {
			return nil, status.Errorf(codes.AlreadyExists, "%s already holds %s, not %s", target, e.Source, vol.fsName())
		}
	}
	if err := os.MkdirAll(target, 0o750); err != nil {
		return nil, status.Errorf(codes.Internal, "create target %s: %v", target, err)
	}
	if err := d.m.mount(ctx, vol.String(), target, opts, creds); err != nil {
		return nil, err
	}
	d.log.Info("published", zap.String("volume", vol.String()), zap.String("target", target), zap.Strings("options", opts))
	return &csi.NodePublishVolumeResponse{}, nil
}

// mountOptions assembles obsfs's -o list: the driver's, the endpoint, the
// volume's, the capability's mount flags, ro and fsGroup, allow_other.
func (d *Driver) mountOptions(req *csi.NodePublishVolumeRequest) ([]string, error) {
	var opts []string
	add := func(list string) {
		for _, o := range strings.Split(list, ",") {
			if o = strings.TrimSpace(o); o != "" {
				opts = append(opts, o)
			}
		}
	}
	add(d.cfg.Options)
	vc := req.GetVolumeContext()
	url := firstNonEmpty(vc[attrURL], req.GetSecrets()[secretURL], d.cfg.URL)
	if url != "" {
		opts = append(opts, "url="+url)
	}
	add(vc[attrOptions])
	mnt := req.GetVolumeCapability().GetMount()
	for _, f := range mnt.GetMountFlags() {
		add(f)
	}
	for _, o := range opts {
		k, _, _ := strings.Cut(o, "=")
		if k == "passwd_file" {
			return nil, status.Error(codes.InvalidArgument, "option passwd_file: credentials come from the node-publish secret")
		}
	}
	has := func(key string) bool {
		return slices.ContainsFunc(opts, func(o string) bool { k, _, _ := strings.Cut(o, "="); return k == key })
	}
	mode := req.GetVolumeCapability().GetAccessMode().GetMode()
	if req.GetReadonly() || mode == csi.VolumeCapability_AccessMode_MULTI_NODE_READER_ONLY ||
		mode == csi.VolumeCapability_AccessMode_SINGLE_NODE_READER_ONLY {
		opts = append(opts, "ro")
	}
	if g := mnt.GetVolumeMountGroup(); g != "" {
		if _, err := strconv.ParseUint(g, 10, 32); err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "volume mount group %q is not a numeric gid", g)
		}
		if !has("gid") {
			opts = append(opts, "gid="+g)
		}
		if !has("umask") {
			opts = append(opts, "umask=002") // the group writes, as fsGroup promises
		}
	}
	if !has("allow_other") {
		opts = append(opts, "allow_other")
	}
	return opts, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// checkCapability accepts mount volumes with the access modes an object
// store can honour; block volumes are refused.
func checkCapability(c *csi.VolumeCapability) error {
	if c.GetBlock() != nil {
		return status.Error(codes.InvalidArgument, "block volumes are not supported: a bucket is a filesystem")
	}
	if c.GetMount() == nil {
		return status.Error(codes.InvalidArgument, "access type missing: want mount")
	}
	if fs := c.GetMount().GetFsType(); fs != "" && fs != "fuse.obsfs" && fs != "obsfs" {
		return status.Errorf(codes.InvalidArgument, "fsType %q: obsfs volumes are fuse.obsfs", fs)
	}
	switch c.GetAccessMode().GetMode() {
	case csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER, csi.VolumeCapability_AccessMode_SINGLE_NODE_READER_ONLY,
		csi.VolumeCapability_AccessMode_MULTI_NODE_READER_ONLY, csi.VolumeCapability_AccessMode_MULTI_NODE_MULTI_WRITER:
		return nil
	}
	return status.Errorf(codes.InvalidArgument, "access mode %v is not supported", c.GetAccessMode().GetMode())
}

// NodeUnpublishVolume unmounts the target (waiting for obsfs to upload
// what is dirty) and removes the directory. A target that is not mounted
// is a success.
func (d *Driver) NodeUnpublishVolume(ctx context.Context, req *csi.NodeUnpublishVolumeRequest) (*csi.NodeUnpublishVolumeResponse, error) {
	target := req.GetTargetPath()
	switch {
	case req.GetVolumeId() == "":
		return nil, status.Error(codes.InvalidArgument, "volume id missing")
	case target == "":
		return nil, status.Error(codes.InvalidArgument, "target path missing")
	}
	defer d.vol.lock(target)()
	if e, ok := findMount(target); ok {
		if e.FSType != "fuse.obsfs" {
			return nil, status.Errorf(codes.FailedPrecondition, "%s holds a %s mount, not obsfs", target, e.FSType)
		}
		if err := d.m.unmount(ctx, target); err != nil {
			return nil, err
		}
		d.log.Info("unpublished", zap.String("volume", req.GetVolumeId()), zap.String("target", target))
	}
	if err := os.Remove(target); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, status.Errorf(codes.Internal, "remove target %s: %v", target, err)
	}
	return &csi.NodeUnpublishVolumeResponse{}, nil
}

// NodeGetVolumeStats reports statfs of a published volume.
func (d *Driver) NodeGetVolumeStats(ctx context.Context, req *csi.NodeGetVolumeStatsRequest) (*csi.NodeGetVolumeStatsResponse, error) {
	path := req.GetVolumePath()
	switch {
	case req.GetVolumeId() == "":
		return nil, status.Error(codes.InvalidArgument, "volume id missing")
	case path == "":
		return nil, status.Error(codes.InvalidArgument, "volume path missing")
	}
	vol, err := parseVolumeID(req.GetVolumeId())
	if err != nil {
		return nil, status.Error(codes.NotFound, err.Error())
	}
	e, ok := findMount(path)
	if !ok || e.FSType != "fuse.obsfs" || e.Source != vol.fsName() {
		return nil, status.Errorf(codes.NotFound, "volume %s is not published on %s", vol, path)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		if errors.Is(err, syscall.ENOTCONN) || errors.Is(err, syscall.ECONNABORTED) {
			return nil, status.Errorf(codes.FailedPrecondition, "the obsfs process serving %s is gone (transport endpoint not connected); republish the volume", path)
		}
		return nil, status.Errorf(codes.Internal, "statfs %s: %v", path, err)
	}
	bs := st.Bsize
	return &csi.NodeGetVolumeStatsResponse{
		Usage: []*csi.VolumeUsage{
			{Unit: csi.VolumeUsage_BYTES, Total: int64(st.Blocks) * bs, Available: int64(st.Bavail) * bs,
				Used: int64(st.Blocks-st.Bfree) * bs},
			{Unit: csi.VolumeUsage_INODES, Total: int64(st.Files), Available: int64(st.Ffree), Used: int64(st.Files - st.Ffree)},
		},
	}, nil
}
