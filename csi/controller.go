package csi

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/obsfs/obsfs/obsclient"
	"github.com/obsfs/obsfs/obsclient/signer"
)

var _ csi.ControllerServer = (*Driver)(nil)

// StorageClass parameters of dynamic provisioning.
const (
	paramBucket       = "bucket"       // the bucket prefix volumes are made in (provision=prefix)
	paramPrefix       = "prefix"       // parent prefix of the volumes in it ("" = the bucket root)
	paramProvision    = "provision"    // "prefix" (default) or "bucket"
	paramBucketPrefix = "bucketPrefix" // provision=bucket: bucket name = this + the PV name (default "obsfs-csi-")
	paramDeleteData   = "deleteData"   // "true": DeleteVolume removes the volume's data; default keeps it
)

// Facts kept with a provisioned volume: metadata of its directory marker
// (prefix volumes) or tags of its bucket (bucket volumes).
const (
	metaCapacity   = "obsfs-csi-capacity"
	metaDeleteData = "obsfs-csi-delete-data"
)

// ControllerGetCapabilities: create and delete volumes.
func (d *Driver) ControllerGetCapabilities(context.Context, *csi.ControllerGetCapabilitiesRequest) (*csi.ControllerGetCapabilitiesResponse, error) {
	return &csi.ControllerGetCapabilitiesResponse{Capabilities: []*csi.ControllerServiceCapability{
		{Type: &csi.ControllerServiceCapability_Rpc{Rpc: &csi.ControllerServiceCapability_RPC{
			Type: csi.ControllerServiceCapability_RPC_CREATE_DELETE_VOLUME}}},
	}}, nil
}

// client builds an OBS client from a request's secrets.
func (d *Driver) client(secrets map[string]string, url string) (*obsclient.Client, error) {
	creds, err := credentialsFrom(secrets)
	if err != nil {
		return nil, err
	}
	url = firstNonEmpty(url, secrets[secretURL], d.cfg.URL)
	if url == "" {
		return nil, status.Error(codes.InvalidArgument, "no OBS endpoint: set the url parameter, the secret's url or the driver's --url")
	}
	cfg := obsclient.Config{Endpoint: url, Region: d.cfg.Region, Logger: d.log.Named("obs"),
		Credentials: signer.Credentials{AccessKey: creds.AccessKey, SecretKey: creds.SecretKey, SecurityToken: creds.Token}}
	for _, o := range strings.Split(d.cfg.Options, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(o), "=")
		switch k {
		case "use_path_request_style":
			cfg.Addressing = obsclient.AddressingPath
		case "signature":
			if cfg.Signature, err = signer.ParseDialect(v); err != nil {
				return nil, status.Errorf(codes.InvalidArgument, "driver option signature=%s: %v", v, err)
			}
		case "region":
			cfg.Region = v
		}
	}
	c, err := obsclient.New(cfg)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "OBS client: %v", err)
	}
	return c, nil
}

// CreateVolume makes a prefix (or a bucket) for a new volume. Creating a
// volume of the same name again returns it, or AlreadyExists when it was
// made with another capacity.
func (d *Driver) CreateVolume(ctx context.Context, req *csi.CreateVolumeRequest) (*csi.CreateVolumeResponse, error) {
	name := req.GetName()
	if name == "" {
		return nil, status.Error(codes.InvalidArgument, "volume name missing")
	}
	if len(req.GetVolumeCapabilities()) == 0 {
		return nil, status.Error(codes.InvalidArgument, "volume capabilities missing")
	}
	for _, c := range req.GetVolumeCapabilities() {
		if err := checkCapability(c); err != nil {
			return nil, err
		}
	}
	if req.GetVolumeContentSource() != nil {
		return nil, status.Error(codes.InvalidArgument, "volumes from snapshots or clones are not supported")
	}
	capacity := req.GetCapacityRange().GetRequiredBytes()
	if l := req.GetCapacityRange().GetLimitBytes(); l > 0 && capacity > l {
		return nil, status.Errorf(codes.OutOfRange, "required %d bytes exceed the limit %d", capacity, l)
	}
	p := req.GetParameters()
	deleteData, err := parseBoolParam(p[paramDeleteData])
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "parameter %s: %v", paramDeleteData, err)
	}
	c, err := d.client(req.GetSecrets(), p[attrURL])
	if err != nil {
		return nil, err
	}
	defer c.Close()
	defer d.vol.lock("create/" + name)()
	var vol volumeRef
	switch p[paramProvision] {
	case "", "prefix":
		vol, err = d.createPrefixVolume(ctx, c, p, name, capacity, deleteData)
	case "bucket":
		vol, err = d.createBucketVolume(ctx, c, p, name, capacity, deleteData)
	default:
		return nil, status.Errorf(codes.InvalidArgument, "parameter %s=%q: want prefix or bucket", paramProvision, p[paramProvision])
	}
	if err != nil {
		return nil, err
	}
	vc := map[string]string{}
	for _, k := range []string{attrOptions, attrURL} {
		if v := p[k]; v != "" {
			vc[k] = v
		}
	}
	d.log.Info("volume created", zap.String("volume", vol.String()), zap.String("name", name), zap.Bool("deleteData", deleteData))
	return &csi.CreateVolumeResponse{Volume: &csi.Volume{VolumeId: vol.String(), CapacityBytes: capacity, VolumeContext: vc}}, nil
}

func parseBoolParam(v string) (bool, error) {
	if v == "" {
		return false, nil
	}
	return strconv.ParseBool(v)
}

// createPrefixVolume writes the directory marker "<prefix>/<name>/" that
// carries the volume's facts.
func (d *Driver) createPrefixVolume(ctx context.Context, c *obsclient.Client, p map[string]string, name string, capacity int64, deleteData bool) (volumeRef, error) {
	if p[paramBucket] == "" {
		return volumeRef{}, status.Errorf(codes.InvalidArgument, "parameter %s missing", paramBucket)
	}
	parent := strings.Trim(p[paramPrefix], "/")
	id := p[paramBucket] + ":/" + strings.TrimPrefix(parent+"/"+name, "/")
	vol, err := parseVolumeID(id)
	if err != nil {
		return volumeRef{}, status.Errorf(codes.InvalidArgument, "%v", err)
	}
	b, err := c.Bucket(vol.Bucket)
	if err != nil {
		return volumeRef{}, status.Error(codes.InvalidArgument, err.Error())
	}
	info, err := b.HeadObject(ctx, vol.Prefix, obsclient.GetOptions{})
	switch {
	case err == nil:
		if got := info.Metadata[metaCapacity]; got != strconv.FormatInt(capacity, 10) {
			return volumeRef{}, status.Errorf(codes.AlreadyExists, "volume %s exists with capacity %s, not %d", vol, got, capacity)
		}
		return vol, nil
	case !obsclient.IsNotFound(err):
		return volumeRef{}, obsStatus(err)
	}
	meta := map[string]string{metaCapacity: strconv.FormatInt(capacity, 10), metaDeleteData: strconv.FormatBool(deleteData)}
	if _, err := b.PutObject(ctx, vol.Prefix, bytes.NewReader(nil), 0, obsclient.WriteOptions{Metadata: meta}); err != nil {
		return volumeRef{}, obsStatus(err)
	}
	return vol, nil
}

var notBucketChars = regexp.MustCompile(`[^a-z0-9-]+`)

// createBucketVolume creates a bucket named after the volume.
func (d *Driver) createBucketVolume(ctx context.Context, c *obsclient.Client, p map[string]string, name string, capacity int64, deleteData bool) (volumeRef, error) {
	bp, ok := p[paramBucketPrefix]
	if !ok {
		bp = "obsfs-csi-"
	}
	bn := notBucketChars.ReplaceAllString(strings.ToLower(bp+name), "-")
	bn = strings.Trim(bn[:min(len(bn), 63)], "-")
	b, err := c.Bucket(bn)
	if err != nil {
		return volumeRef{}, status.Errorf(codes.InvalidArgument, "bucket for volume %q: %v", name, err)
	}
	tags := []obsclient.Tag{{Key: metaCapacity, Value: strconv.FormatInt(capacity, 10)}, {Key: metaDeleteData, Value: strconv.FormatBool(deleteData)}}
	err = b.CreateBucket(ctx, "")
	switch {
	case obsclient.IsCode(err, "BucketAlreadyOwnedByYou") || obsclient.IsCode(err, "BucketAlreadyExists"):
		old, terr := b.GetBucketTagging(ctx)
		if terr != nil && !obsclient.IsNotFound(terr) {
			return volumeRef{}, obsStatus(terr)
		}
		if got := tagValue(old, metaCapacity); got != tags[0].Value {
			return volumeRef{}, status.Errorf(codes.AlreadyExists, "bucket %s exists and is not volume %s of capacity %d", bn, name, capacity)
		}
		return volumeRef{Bucket: bn}, nil
	case err != nil:
		return volumeRef{}, obsStatus(err)
	}
	if err := b.SetBucketTagging(ctx, tags); err != nil {
		return volumeRef{}, obsStatus(err)
	}
	return volumeRef{Bucket: bn}, nil
}

func tagValue(tags []obsclient.Tag, key string) string {
	for _, t := range tags {
		if t.Key == key {
			return t.Value
		}
	}
	return ""
}

// DeleteVolume forgets a provisioned volume; its data goes only when it
// was created with deleteData=true. A volume that is gone is a success.
func (d *Driver) DeleteVolume(ctx context.Context, req *csi.DeleteVolumeRequest) (*csi.DeleteVolumeResponse, error) {
	if req.GetVolumeId() == "" {
		return nil, status.Error(codes.InvalidArgument, "volume id missing")
	}
	vol, err := parseVolumeID(req.GetVolumeId())
	if err != nil {
		return &csi.DeleteVolumeResponse{}, nil // never ours: nothing to delete
	}
	c, err := d.client(req.GetSecrets(), "")
	if err != nil {
		return nil, err
	}
	defer c.Close()
	defer d.vol.lock("create/" + vol.String())()
	b, err := c.Bucket(vol.Bucket)
	if err != nil {
		return &csi.DeleteVolumeResponse{}, nil
	}
	deleteData, err := d.volumeDeletesData(ctx, b, vol)
	if err != nil {
		if obsclient.IsNotFound(err) {
			return &csi.DeleteVolumeResponse{}, nil
		}
		return nil, obsStatus(err)
	}
	if !deleteData {
		d.log.Info("volume deleted; its data is kept (deleteData is not set)", zap.String("volume", vol.String()))
		return &csi.DeleteVolumeResponse{}, nil
	}
	if err := deleteUnder(ctx, b, vol.Prefix); err != nil {
		return nil, obsStatus(err)
	}
	if vol.Prefix == "" {
		if err := b.DeleteBucket(ctx); err != nil && !obsclient.IsNotFound(err) {
			return nil, obsStatus(err)
		}
	}
	d.log.Info("volume and its data deleted", zap.String("volume", vol.String()))
	return &csi.DeleteVolumeResponse{}, nil
}

// volumeDeletesData reads the deletion policy a volume was created with
// (NotFound when there is no such volume).
func (d *Driver) volumeDeletesData(ctx context.Context, b *obsclient.Bucket, vol volumeRef) (bool, error) {
	if vol.Prefix != "" {
		info, err := b.HeadObject(ctx, vol.Prefix, obsclient.GetOptions{})
		if err != nil {
			return false, err
		}
		return info.Metadata[metaDeleteData] == "true", nil
	}
	tags, err := b.GetBucketTagging(ctx)
	if err != nil {
		return false, err
	}
	return tagValue(tags, metaDeleteData) == "true", nil
}

// deleteUnder removes every key under prefix ("" = the whole bucket).
func deleteUnder(ctx context.Context, b *obsclient.Bucket, prefix string) error {
	marker := ""
	for {
		page, err := b.ListObjects(ctx, obsclient.ListOptions{Prefix: prefix, Marker: marker})
		if err != nil {
			return err
		}
		var ids []obsclient.ObjectID
		for _, o := range page.Objects {
			ids = append(ids, obsclient.ObjectID{Key: o.Key})
		}
		if len(ids) > 0 {
			if _, err := b.DeleteObjects(ctx, ids); err != nil {
				return err
			}
		}
		if !page.IsTruncated {
			return nil
		}
		marker = page.NextMarker
	}
}

// ValidateVolumeCapabilities confirms the capabilities obsfs supports for
// an existing volume.
func (d *Driver) ValidateVolumeCapabilities(ctx context.Context, req *csi.ValidateVolumeCapabilitiesRequest) (*csi.ValidateVolumeCapabilitiesResponse, error) {
	if req.GetVolumeId() == "" {
		return nil, status.Error(codes.InvalidArgument, "volume id missing")
	}
	if len(req.GetVolumeCapabilities()) == 0 {
		return nil, status.Error(codes.InvalidArgument, "volume capabilities missing")
	}
	vol, err := parseVolumeID(req.GetVolumeId())
	if err != nil {
		return nil, status.Error(codes.NotFound, err.Error())
	}
	c, err := d.client(req.GetSecrets(), req.GetVolumeContext()[attrURL])
	if err != nil {
		return nil, err
	}
	defer c.Close()
	b, err := c.Bucket(vol.Bucket)
	if err != nil {
		return nil, status.Error(codes.NotFound, err.Error())
	}
	if err := volumeExists(ctx, b, vol); err != nil {
		return nil, err
	}
	for _, cp := range req.GetVolumeCapabilities() {
		if err := checkCapability(cp); err != nil {
			return &csi.ValidateVolumeCapabilitiesResponse{Message: status.Convert(err).Message()}, nil
		}
	}
	return &csi.ValidateVolumeCapabilitiesResponse{Confirmed: &csi.ValidateVolumeCapabilitiesResponse_Confirmed{
		VolumeContext: req.GetVolumeContext(), VolumeCapabilities: req.GetVolumeCapabilities(), Parameters: req.GetParameters()}}, nil
}

// volumeExists: the bucket exists and, for a prefix volume, its marker or
// any key under it.
func volumeExists(ctx context.Context, b *obsclient.Bucket, vol volumeRef) error {
	if vol.Prefix == "" {
		ok, err := b.Exists(ctx)
		if err != nil {
			return obsStatus(err)
		}
		if !ok {
			return status.Errorf(codes.NotFound, "bucket %s does not exist", vol.Bucket)
		}
		return nil
	}
	page, err := b.ListObjects(ctx, obsclient.ListOptions{Prefix: vol.Prefix, MaxKeys: 1})
	if err != nil {
		if obsclient.IsNotFound(err) {
			return status.Errorf(codes.NotFound, "bucket %s does not exist", vol.Bucket)
		}
		return obsStatus(err)
	}
	if len(page.Objects) == 0 {
		return status.Errorf(codes.NotFound, "volume %s does not exist", vol)
	}
	return nil
}

// obsStatus maps an OBS error to a gRPC status.
func obsStatus(err error) error {
	switch {
	case obsclient.IsNotFound(err):
		return status.Error(codes.NotFound, err.Error())
	case obsclient.IsAccessDenied(err):
		return status.Error(codes.PermissionDenied, err.Error())
	case obsclient.IsConflict(err):
		return status.Error(codes.FailedPrecondition, err.Error())
	}
	return status.Error(codes.Unavailable, fmt.Sprintf("OBS: %v", err))
}
