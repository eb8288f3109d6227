package csi

import (
	"fmt"
	"strings"

	"github.com/obsfs/obsfs/obsclient"
)

// volumeRef is a volume id: a bucket and a key prefix ("" or ending in "/").
type volumeRef struct {
	Bucket string
	Prefix string
}

// parseVolumeID reads "bucket" or "bucket:/prefix".
func parseVolumeID(id string) (volumeRef, error) {
	bucket, prefix, hasPrefix := strings.Cut(id, ":")
	if err := obsclient.ValidateBucketName(bucket); err != nil {
		return volumeRef{}, fmt.Errorf("volume id %q: %v", id, err)
	}
	if !hasPrefix {
		return volumeRef{Bucket: bucket}, nil
	}
	p := strings.Trim(strings.TrimPrefix(prefix, "/"), "/")
	if !strings.HasPrefix(prefix, "/") || p == "" {
		return volumeRef{}, fmt.Errorf("volume id %q: want BUCKET or BUCKET:/PREFIX", id)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return volumeRef{}, fmt.Errorf("volume id %q: bad prefix segment %q", id, seg)
		}
	}
	return volumeRef{Bucket: bucket, Prefix: p + "/"}, nil
}

// String is the volume id, and the mount source obsfs takes.
func (v volumeRef) String() string {
	if v.Prefix == "" {
		return v.Bucket
	}
	return v.Bucket + ":/" + strings.TrimSuffix(v.Prefix, "/")
}

// fsName is the source obsfs shows in /proc/self/mountinfo.
func (v volumeRef) fsName() string { return "obsfs:" + v.String() }
