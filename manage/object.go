package manage

// Object management attributes: the reserved xattrs user.obs.<name> of a
// file or directory (its marker object). Values are validated before any
// request: a bad one is ErrInvalid and changes nothing.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/obsfs/obsfs/obsclient"
)

// Object is the object an attribute is read or written on, as the caller
// (fs) knows it: values kept in the object's metadata go through the
// caller's metadata path, which also knows about local changes.
type Object interface {
	// Key is the object key.
	Key() string
	// Busy reports uncommitted local data: a server-side change now would
	// be undone by the coming upload (ErrBusy).
	Busy() bool
	// SetContentType changes the content type through the metadata path.
	SetContentType(ctx context.Context, v string) error
	// SetStorageClass rewrites the object's metadata with a new class,
	// keeping every other key.
	SetStorageClass(ctx context.Context, class string) error
	// Changed tells the caller that the object changed on the server.
	Changed()
}

// ObjectAttr is one reserved object attribute.
type ObjectAttr struct {
	name string // after "user.obs."
	dir  bool   // also on directories (marker objects)
	info bool   // get needs the HEAD info
	get  func(ctx context.Context, m *Manager, key string, info obsclient.ObjectInfo) (string, error)
	set  func(ctx context.Context, m *Manager, o Object, v string) error // nil: read-only
	// del removes the attribute; nil: removing it is not permitted.
	del func(ctx context.Context, m *Manager, o Object) error
	// adminRead, adminWrite: reading, writing it is bucket
	// administration (Admins).
	adminRead, adminWrite bool
}

// AdminRead reports whether only administrators may read it.
func (a *ObjectAttr) AdminRead() bool { return a.adminRead }

// AdminWrite reports whether only administrators may write or remove it.
func (a *ObjectAttr) AdminWrite() bool { return a.adminWrite }

// Name is the attribute's name after "user.obs.".
func (a *ObjectAttr) Name() string { return a.name }

// OnDirs reports whether directories (marker objects) have it.
func (a *ObjectAttr) OnDirs() bool { return a.dir }

// Removable reports whether removing the attribute means something.
func (a *ObjectAttr) Removable() bool { return a.del != nil }

// NeedsInfo reports whether Get needs the object's current HEAD info.
func (a *ObjectAttr) NeedsInfo() bool { return a.info }

var objectAttrs = []*ObjectAttr{
	{name: "acl", dir: true, get: getObjACL, set: setObjACL, adminRead: true, adminWrite: true},
	{name: "content_type", dir: true, info: true, get: func(_ context.Context, _ *Manager, _ string, i obsclient.ObjectInfo) (string, error) {
		return i.ContentType, nil
	}, set: setObjContentType},
	{name: "encryption", dir: true, info: true, get: func(_ context.Context, _ *Manager, _ string, i obsclient.ObjectInfo) (string, error) {
		return i.Encryption(), nil // none, kms[:KEYID], sse-obs, sse-c; read-only
	}},
	{name: "etag", dir: true, info: true, get: func(_ context.Context, _ *Manager, _ string, i obsclient.ObjectInfo) (string, error) {
		return i.ETag, nil
	}},
	{name: "object_type", dir: true, info: true, get: func(_ context.Context, _ *Manager, _ string, i obsclient.ObjectInfo) (string, error) {
		if i.Appendable {
			return "Appendable", nil
		}
		return "Normal", nil
	}},
	{name: "restore", info: true, get: func(_ context.Context, _ *Manager, _ string, i obsclient.ObjectInfo) (string, error) {
		if i.Restore == "" {
			return "none", nil
		}
		return i.Restore, nil
	}, set: setObjRestore, adminWrite: true},
	{name: "storage_class", dir: true, info: true, get: func(_ context.Context, _ *Manager, _ string, i obsclient.ObjectInfo) (string, error) {
		if i.StorageClass == "" {
			return "STANDARD", nil
		}
		return i.StorageClass, nil
	}, set: setObjStorageClass, adminWrite: true},
	{name: "tags", dir: true, get: getObjTags, set: setObjTags, del: func(ctx context.Context, m *Manager, o Object) error {
		return m.b.DeleteObjectTagging(ctx, o.Key(), "")
	}},
	{name: "url", info: true, get: func(_ context.Context, m *Manager, key string, _ obsclient.ObjectInfo) (string, error) {
		return m.b.PresignURL(http.MethodGet, key, m.conf.PresignExpires, nil)
	}},
	{name: "version_id", dir: true, info: true, get: func(_ context.Context, _ *Manager, _ string, i obsclient.ObjectInfo) (string, error) {
		if i.VersionID == "" {
			return "null", nil
		}
		return i.VersionID, nil
	}},
}

// ObjectAttrs lists the reserved object attributes.
func (m *Manager) ObjectAttrs() []*ObjectAttr { return objectAttrs }

// ObjectAttr returns the attribute called name (after "user.obs."), or nil.
func (m *Manager) ObjectAttr(name string) *ObjectAttr {
	for _, a := range objectAttrs {
		if a.name == name {
			return a
		}
	}
	return nil
}

// GetObject reads attribute a of the object at key; info is its HEAD
// (needed when a.NeedsInfo()).
func (m *Manager) GetObject(ctx context.Context, a *ObjectAttr, key string, info obsclient.ObjectInfo) (string, error) {
	return a.get(ctx, m, key, info)
}

// SetObject validates v (surrounding space trimmed) and applies it to o.
func (m *Manager) SetObject(ctx context.Context, a *ObjectAttr, o Object, v string) error {
	if a.set == nil {
		return ErrNotWritable
	}
	return a.set(ctx, m, o, strings.TrimSpace(v))
}

// RemoveObject removes attribute a from o (ErrNotWritable where that means
// nothing).
func (m *Manager) RemoveObject(ctx context.Context, a *ObjectAttr, o Object) error {
	if a.del == nil {
		return ErrNotWritable
	}
	return a.del(ctx, m, o)
}

func invalid(err error) error { return fmt.Errorf("%w: %v", ErrInvalid, err) }

func getObjACL(ctx context.Context, m *Manager, key string, _ obsclient.ObjectInfo) (string, error) {
	acl, err := m.b.GetObjectACL(ctx, key, "")
	if err != nil {
		return "", err
	}
	return formatACL(acl), nil
}

func setObjACL(ctx context.Context, m *Manager, o Object, v string) error {
	canned, acl, err := parseACL([]byte(v))
	if err != nil {
		return invalid(err)
	}
	if o.Busy() {
		return ErrBusy
	}
	key := o.Key()
	if canned != "" {
		return m.b.SetObjectCannedACL(ctx, key, "", canned)
	}
	if acl.Owner == "" {
		cur, err := m.b.GetObjectACL(ctx, key, "")
		if err != nil {
			return err
		}
		acl.Owner = cur.Owner
	}
	return m.b.SetObjectACL(ctx, key, "", acl)
}

func setObjContentType(ctx context.Context, _ *Manager, o Object, v string) error {
	if v == "" || strings.ContainsAny(v, "\r\n") {
		return invalid(fmt.Errorf("bad content type %q", v))
	}
	return o.SetContentType(ctx, v)
}

// storageClasses are the classes an object can be given.
var storageClasses = map[string]bool{"STANDARD": true, "WARM": true, "COLD": true, "DEEP_ARCHIVE": true}

var storageClassNames = mapKeys(storageClasses)

func parseStorageClass(v string) (string, error) {
	c := strings.ToUpper(strings.TrimSpace(v))
	if !storageClasses[c] {
		return "", fmt.Errorf("unknown storage class %q (want STANDARD, WARM, COLD or DEEP_ARCHIVE)", v)
	}
	return c, nil
}

func setObjStorageClass(ctx context.Context, _ *Manager, o Object, v string) error {
	c, err := parseStorageClass(v)
	if err != nil {
		return invalid(err)
	}
	if o.Busy() {
		return ErrBusy
	}
	return o.SetStorageClass(ctx, c)
}

// parseRestore reads "days=N[,tier=Expedited|Standard]".
func parseRestore(v string) (int, obsclient.RestoreTier, error) {
	days, tier := 0, obsclient.TierStandard
	for _, part := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return 0, "", fmt.Errorf("restore: want days=N[,tier=Expedited|Standard], got %q", v)
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "days":
			d, err := strconv.Atoi(strings.TrimSpace(val))
			if err != nil || d < 1 || d > 30 {
				return 0, "", fmt.Errorf("restore: days must be 1..30, got %q", val)
			}
			days = d
		case "tier":
			switch strings.ToLower(strings.TrimSpace(val)) {
			case "expedited":
				tier = obsclient.TierExpedited
			case "standard":
				tier = obsclient.TierStandard
			default:
				return 0, "", fmt.Errorf("restore: tier must be Expedited or Standard, got %q", val)
			}
		default:
			return 0, "", fmt.Errorf("restore: unknown setting %q", k)
		}
	}
	if days == 0 {
		return 0, "", errors.New("restore: days=N is required")
	}
	return days, tier, nil
}

func setObjRestore(ctx context.Context, m *Manager, o Object, v string) error {
	days, tier, err := parseRestore(v)
	if err != nil {
		return invalid(err)
	}
	err = m.b.RestoreObject(ctx, o.Key(), "", days, tier)
	o.Changed()
	return err
}

// formatTags renders tags as k=v&k2=v2 (query-escaped).
func formatTags(tags []obsclient.Tag) string {
	parts := make([]string, len(tags))
	for i, t := range tags {
		parts[i] = url.QueryEscape(t.Key) + "=" + url.QueryEscape(t.Value)
	}
	return strings.Join(parts, "&")
}

// parseTags reads k=v&k2=v2 (query-escaped; order kept; "" = no tags).
func parseTags(s string) ([]obsclient.Tag, error) {
	var out []obsclient.Tag
	if s == "" {
		return out, nil
	}
	for _, kv := range strings.Split(s, "&") {
		k, v, _ := strings.Cut(kv, "=")
		uk, err1 := url.QueryUnescape(k)
		uv, err2 := url.QueryUnescape(v)
		if err := errors.Join(err1, err2); err != nil || uk == "" {
			return nil, fmt.Errorf("tags: want k=v&k2=v2, got %q", kv)
		}
		out = append(out, obsclient.Tag{Key: uk, Value: uv})
	}
	return out, nil
}

func getObjTags(ctx context.Context, m *Manager, key string, _ obsclient.ObjectInfo) (string, error) {
	tags, err := m.b.GetObjectTagging(ctx, key, "")
	if err != nil && !(obsclient.IsNotFound(err) && !obsclient.IsCode(err, "NoSuchKey")) {
		return "", err
	}
	return formatTags(tags), nil
}

func setObjTags(ctx context.Context, m *Manager, o Object, v string) error {
	tags, err := parseTags(v)
	if err != nil {
		return invalid(err)
	}
	if o.Busy() {
		return ErrBusy
	}
	if len(tags) == 0 {
		return m.b.DeleteObjectTagging(ctx, o.Key(), "")
	}
	return m.b.SetObjectTagging(ctx, o.Key(), "", tags)
}
