package manage

import (
	"context"
	"errors"
	"net/url"
	"time"

	"github.com/obsfs/obsfs/obsclient"
)

// Bucket is the subset of *obsclient.Bucket that management calls,
// declared by its consumer: tests pass a fake.
type Bucket interface {
	// bucket settings
	GetBucketACL(ctx context.Context) (obsclient.ACL, error)
	SetBucketACL(ctx context.Context, acl obsclient.ACL) error
	SetBucketCannedACL(ctx context.Context, canned string) error
	GetCORS(ctx context.Context) (obsclient.CORSConfiguration, error)
	SetCORS(ctx context.Context, c obsclient.CORSConfiguration) error
	DeleteCORS(ctx context.Context) error
	GetEncryption(ctx context.Context) (obsclient.BucketEncryption, error)
	SetEncryption(ctx context.Context, e obsclient.BucketEncryption) error
	DeleteEncryption(ctx context.Context) error
	GetLifecycle(ctx context.Context) (obsclient.LifecycleConfiguration, error)
	SetLifecycle(ctx context.Context, c obsclient.LifecycleConfiguration) error
	DeleteLifecycle(ctx context.Context) error
	Location(ctx context.Context) (string, error)
	GetLogging(ctx context.Context) (obsclient.BucketLoggingStatus, error)
	SetLogging(ctx context.Context, s obsclient.BucketLoggingStatus) error
	GetNotification(ctx context.Context) (obsclient.NotificationConfiguration, error)
	SetNotification(ctx context.Context, c obsclient.NotificationConfiguration) error
	GetPolicy(ctx context.Context) (string, error)
	SetPolicy(ctx context.Context, policy string) error
	DeletePolicy(ctx context.Context) error
	Quota(ctx context.Context) (int64, error)
	SetQuota(ctx context.Context, bytes int64) error
	GetBucketStorageClass(ctx context.Context) (string, error)
	SetBucketStorageClass(ctx context.Context, class string) error
	StorageInfo(ctx context.Context) (obsclient.StorageInfo, error)
	GetWebsite(ctx context.Context) (obsclient.WebsiteConfiguration, error)
	SetWebsite(ctx context.Context, w obsclient.WebsiteConfiguration) error
	DeleteWebsite(ctx context.Context) error
	GetBucketTagging(ctx context.Context) ([]obsclient.Tag, error)
	SetBucketTagging(ctx context.Context, tags []obsclient.Tag) error
	DeleteBucketTagging(ctx context.Context) error
	GetVersioning(ctx context.Context) (string, error)
	SetVersioning(ctx context.Context, status string) error

	// objects
	GetObjectACL(ctx context.Context, key, versionID string) (obsclient.ACL, error)
	SetObjectACL(ctx context.Context, key, versionID string, acl obsclient.ACL) error
	SetObjectCannedACL(ctx context.Context, key, versionID, canned string) error
	GetObjectTagging(ctx context.Context, key, versionID string) ([]obsclient.Tag, error)
	SetObjectTagging(ctx context.Context, key, versionID string, tags []obsclient.Tag) error
	DeleteObjectTagging(ctx context.Context, key, versionID string) error
	RestoreObject(ctx context.Context, key, versionID string, days int, tier obsclient.RestoreTier) error
	PresignURL(method, key string, expires time.Duration, query url.Values) (string, error)

	// listings
	ListVersions(ctx context.Context, o obsclient.ListVersionsOptions) (*obsclient.ListVersionsResult, error)
	ListMultipartUploads(ctx context.Context, o obsclient.ListUploadsOptions) (*obsclient.ListUploadsResult, error)
}

var _ Bucket = (*obsclient.Bucket)(nil)

// Errors of management decided before any request. The caller maps them
// (fs/errno.go: EINVAL, EPERM, ENODATA, EBUSY, EPERM); errors of the
// bucket client pass through unchanged.
var (
	// ErrInvalid wraps a value refused by its parser.
	ErrInvalid = errors.New("invalid value")
	// ErrIncomplete wraps a value that is not valid yet but may become
	// valid with more bytes (Check); Apply treats it as ErrInvalid.
	ErrIncomplete = errors.New("incomplete value")
	// ErrNotWritable: the setting or attribute cannot be written (or
	// deleted) at all.
	ErrNotWritable = errors.New("not writable")
	// ErrNoAttr: no such attribute on this object.
	ErrNoAttr = errors.New("no such attribute")
	// ErrBusy: the object has local changes not yet uploaded; a
	// server-side change now would be undone by the coming upload.
	ErrBusy = errors.New("object has uncommitted data")
	// ErrNotAdmin: the caller may not administer the bucket (Admins).
	ErrNotAdmin = errors.New("bucket administration is not permitted to this user")
)

// Config configures a Manager.
type Config struct {
	// Stats returns the content of the read-only "stats" setting (the
	// caller's counters); nil leaves the setting out.
	Stats func() ([]byte, error)
	// PresignExpires is the lifetime of user.obs.url (> 0).
	PresignExpires time.Duration
	// Admins may change bucket settings and object ACLs, storage classes
	// and restores, and read ACLs and the policy.
	Admins Admins
}

// Admins are the users allowed to administer the bucket through the
// mount: root, the mount's owner (the uid that mounted) and UIDs.
type Admins struct {
	Owner uint32
	UIDs  []uint32
}

// Allow returns nil when uid may administer the bucket, else ErrNotAdmin.
func (a Admins) Allow(uid uint32) error {
	if uid == 0 || uid == a.Owner {
		return nil
	}
	for _, u := range a.UIDs {
		if u == uid {
			return nil
		}
	}
	return ErrNotAdmin
}

// Allow reports whether uid may administer the bucket (Config.Admins).
func (m *Manager) Allow(uid uint32) error { return m.conf.Admins.Allow(uid) }

// Manager administers one bucket.
type Manager struct {
	b    Bucket
	conf Config
}

// New returns a Manager over b.
func New(b Bucket, c Config) *Manager {
	if c.PresignExpires <= 0 {
		c.PresignExpires = time.Hour
	}
	return &Manager{b: b, conf: c}
}
