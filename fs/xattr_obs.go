package fs

// Reserved xattrs user.obs.*: OBS facts and actions on the object behind a
// file or directory (its marker object), and on the mount root the bucket's
// settings as user.obs.bucket.<name> (the control files' registry,
// control_bucket.go). fs/SEMANTICS.md lists names, formats and errors.
//
// Reads HEAD the object (facts must be current, not cached). Writes are
// validated before any request: a bad value is EINVAL with a log line and
// changes nothing. Read-only names are EPERM on write, like the hidden POSIX
// keys. user.obs.content_type goes through the metadata path (folded into
// the upload of a file open for writing); the other writes need the object
// on the server and are EBUSY while the file has uncommitted data.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"

	"github.com/obsfs/obsfs/obsclient"
)

const (
	xattrObs       = "user.obs."
	xattrObsBucket = "user.obs.bucket."
)

// obsAttr is one reserved object xattr.
type obsAttr struct {
	name  string // after "user.obs."
	dir   bool   // also on directories (marker objects)
	get   func(ctx context.Context, n *node, key string, info obsclient.ObjectInfo) (string, error)
	set   func(ctx context.Context, n *node, key string, v string) syscall.Errno // nil: read-only
	needs bool                                                                   // get needs the HEAD info
}

var obsAttrs = []obsAttr{
	{name: "acl", dir: true, get: getObjACL, set: setObjACL},
	{name: "content_type", dir: true, needs: true, get: func(_ context.Context, _ *node, _ string, i obsclient.ObjectInfo) (string, error) {
		return i.ContentType, nil
	}, set: setObjContentType},
	{name: "encryption", dir: true, needs: true, get: func(_ context.Context, _ *node, _ string, i obsclient.ObjectInfo) (string, error) {
		return i.Encryption(), nil // none, kms[:KEYID], sse-obs, sse-c; read-only
	}},
	{name: "etag", dir: true, needs: true, get: func(_ context.Context, _ *node, _ string, i obsclient.ObjectInfo) (string, error) {
		return i.ETag, nil
	}},
	{name: "object_type", dir: true, needs: true, get: func(_ context.Context, _ *node, _ string, i obsclient.ObjectInfo) (string, error) {
		if i.Appendable {
			return "Appendable", nil
		}
		return "Normal", nil
	}},
	{name: "restore", needs: true, get: func(_ context.Context, _ *node, _ string, i obsclient.ObjectInfo) (string, error) {
		if i.Restore == "" {
			return "none", nil
		}
		return i.Restore, nil
	}, set: setObjRestore},
	{name: "storage_class", dir: true, needs: true, get: func(_ context.Context, _ *node, _ string, i obsclient.ObjectInfo) (string, error) {
		if i.StorageClass == "" {
			return "STANDARD", nil
		}
		return i.StorageClass, nil
	}, set: setObjStorageClass},
	{name: "tags", dir: true, get: getObjTags, set: setObjTags},
	{name: "url", needs: true, get: func(_ context.Context, n *node, key string, i obsclient.ObjectInfo) (string, error) {
		f := n.fsys
		if f.adm == nil {
			return "", syscall.ENOTSUP
		}
		return f.adm.PresignURL(http.MethodGet, key, f.opts.PresignExpires, nil)
	}},
	{name: "version_id", dir: true, needs: true, get: func(_ context.Context, _ *node, _ string, i obsclient.ObjectInfo) (string, error) {
		if i.VersionID == "" {
			return "null", nil
		}
		return i.VersionID, nil
	}},
}

func lookupObsAttr(name string) *obsAttr {
	for i := range obsAttrs {
		if obsAttrs[i].name == name {
			return &obsAttrs[i]
		}
	}
	return nil
}

// isObsXattr reports a name in the reserved user.obs. namespace.
func isObsXattr(attr string) bool {
	return strings.HasPrefix(strings.ToLower(attr), xattrObs)
}

// obsXattrNames lists the reserved names n offers (for listxattr).
func (n *node) obsXattrNames() []string {
	var out []string
	if n.IsRoot() {
		for _, c := range n.fsys.bucketSettings() {
			out = append(out, xattrObsBucket+c.name)
		}
		return out
	}
	for _, a := range obsAttrs {
		if a.dir || !n.IsDir() {
			out = append(out, xattrObs+a.name)
		}
	}
	return out
}

// replyXattr copies v to dest (the size alone when dest is empty).
func replyXattr(v []byte, dest []byte) (uint32, syscall.Errno) {
	if len(dest) == 0 {
		return uint32(len(v)), 0
	}
	if len(dest) < len(v) {
		return uint32(len(v)), syscall.ERANGE
	}
	return uint32(copy(dest, v)), 0
}

// obsTarget resolves the node's object key, or an errno when n has none
// the attribute can be about.
func (n *node) obsTarget(a *obsAttr) (string, syscall.Errno) {
	if a == nil || n.IsDir() && !a.dir {
		return "", enoattr
	}
	p, ok := n.path()
	if !ok {
		return "", syscall.ENOENT
	}
	return n.key(p), 0
}

func (n *node) getObsXattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	name := strings.ToLower(attr[len(xattrObs):])
	if n.IsRoot() {
		return n.fsys.getBucketXattr(ctx, name, dest)
	}
	a := lookupObsAttr(name)
	key, en := n.obsTarget(a)
	if en != 0 {
		return 0, en
	}
	if n.isPendingLocal() {
		return 0, enoattr // not on the server yet
	}
	f := n.fsys
	var info obsclient.ObjectInfo
	if a.needs {
		var err error
		if info, err = f.st.HeadObject(ctx, key, f.getOptions()); err != nil {
			if obsclient.IsNotFound(err) && n.IsDir() {
				return 0, enoattr // implicit directory: no marker object
			}
			return 0, f.errno("getxattr "+attr, key, err)
		}
	}
	v, err := a.get(ctx, n, key, info)
	if err != nil {
		if obsclient.IsNotFound(err) && n.IsDir() {
			return 0, enoattr
		}
		return 0, f.adminErrno("getxattr "+attr, key, err)
	}
	return replyXattr([]byte(v), dest)
}

func (n *node) setObsXattr(ctx context.Context, attr string, data []byte) syscall.Errno {
	name := strings.ToLower(attr[len(xattrObs):])
	if n.IsRoot() {
		return n.fsys.setBucketXattr(ctx, name, data)
	}
	a := lookupObsAttr(name)
	if a == nil {
		return syscall.EPERM // reserved namespace
	}
	key, en := n.obsTarget(a)
	if en == enoattr {
		return syscall.EPERM
	}
	if en != 0 {
		return en
	}
	if a.set == nil {
		return syscall.EPERM
	}
	if n.fsys.adm == nil {
		return syscall.ENOTSUP
	}
	return a.set(ctx, n, key, strings.TrimSpace(string(data)))
}

func (n *node) removeObsXattr(ctx context.Context, attr string) syscall.Errno {
	name := strings.ToLower(attr[len(xattrObs):])
	if n.IsRoot() {
		return n.fsys.removeBucketXattr(ctx, name)
	}
	a := lookupObsAttr(name)
	if a == nil {
		return enoattr
	}
	if a.name == "tags" && n.fsys.adm != nil {
		key, en := n.obsTarget(a)
		if en != 0 {
			return en
		}
		err := n.fsys.adm.DeleteObjectTagging(ctx, key, "")
		return n.fsys.adminErrno("removexattr user.obs.tags", key, err)
	}
	return syscall.EPERM
}

// isPendingLocal reports a file created locally and not yet uploaded.
func (n *node) isPendingLocal() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.w != nil && n.w.pending
}

// hasLocalData reports uncommitted data: server-side changes would race
// with (and be undone by) the coming upload.
func (n *node) hasLocalData() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.w != nil && (n.w.dirty || n.w.pending)
}

func getObjACL(ctx context.Context, n *node, key string, _ obsclient.ObjectInfo) (string, error) {
	if n.fsys.adm == nil {
		return "", syscall.ENOTSUP
	}
	acl, err := n.fsys.adm.GetObjectACL(ctx, key, "")
	if err != nil {
		return "", err
	}
	return formatACL(acl), nil
}

func setObjACL(ctx context.Context, n *node, key, v string) syscall.Errno {
	f := n.fsys
	canned, acl, err := parseACL([]byte(v))
	if err != nil {
		return f.invalid("setxattr user.obs.acl", key, err)
	}
	if n.hasLocalData() {
		return syscall.EBUSY
	}
	if canned != "" {
		err = f.adm.SetObjectCannedACL(ctx, key, "", canned)
	} else {
		if acl.Owner == "" {
			cur, gerr := f.adm.GetObjectACL(ctx, key, "")
			if gerr != nil {
				return f.adminErrno("setxattr user.obs.acl", key, gerr)
			}
			acl.Owner = cur.Owner
		}
		err = f.adm.SetObjectACL(ctx, key, "", acl)
	}
	return f.adminErrno("setxattr user.obs.acl", key, err)
}

func setObjContentType(ctx context.Context, n *node, key, v string) syscall.Errno {
	if v == "" || strings.ContainsAny(v, "\r\n") {
		return n.fsys.invalid("setxattr user.obs.content_type", key, fmt.Errorf("bad content type %q", v))
	}
	return n.updateMeta(ctx, func(a *objAttr) syscall.Errno {
		a.ContentType = v
		return 0
	})
}

// storageClasses are the classes an object can be given.
var storageClasses = map[string]bool{"STANDARD": true, "WARM": true, "COLD": true, "DEEP_ARCHIVE": true}

func parseStorageClass(v string) (string, error) {
	c := strings.ToUpper(strings.TrimSpace(v))
	if !storageClasses[c] {
		return "", fmt.Errorf("unknown storage class %q (want STANDARD, WARM, COLD or DEEP_ARCHIVE)", v)
	}
	return c, nil
}

// setObjStorageClass rewrites the object's metadata (PUT ?metadata) with the
// new class, keeping every metadata key and the content type.
func setObjStorageClass(ctx context.Context, n *node, key, v string) syscall.Errno {
	f := n.fsys
	c, err := parseStorageClass(v)
	if err != nil {
		return f.invalid("setxattr user.obs.storage_class", key, err)
	}
	if n.hasLocalData() {
		return syscall.EBUSY
	}
	a, en := n.completeAttr(ctx)
	if en != 0 {
		return en
	}
	if n.IsDir() && a.Implicit {
		return syscall.EPERM // no marker object to classify
	}
	o := metaOptions(a)
	o.StorageClass = c
	err = f.st.SetObjectMetadata(ctx, key, obsclient.MetadataReplace, o)
	f.invalidate(key)
	return f.adminErrno("setxattr user.obs.storage_class", key, err)
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

func setObjRestore(ctx context.Context, n *node, key, v string) syscall.Errno {
	f := n.fsys
	days, tier, err := parseRestore(v)
	if err != nil {
		return f.invalid("setxattr user.obs.restore", key, err)
	}
	err = f.adm.RestoreObject(ctx, key, "", days, tier)
	f.invalidate(key)
	return f.adminErrno("setxattr user.obs.restore", key, err)
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

func getObjTags(ctx context.Context, n *node, key string, _ obsclient.ObjectInfo) (string, error) {
	if n.fsys.adm == nil {
		return "", syscall.ENOTSUP
	}
	tags, err := n.fsys.adm.GetObjectTagging(ctx, key, "")
	if err != nil && !(obsclient.IsNotFound(err) && !obsclient.IsCode(err, "NoSuchKey")) {
		return "", err
	}
	return formatTags(tags), nil
}

func setObjTags(ctx context.Context, n *node, key, v string) syscall.Errno {
	f := n.fsys
	tags, err := parseTags(v)
	if err != nil {
		return f.invalid("setxattr user.obs.tags", key, err)
	}
	if n.hasLocalData() {
		return syscall.EBUSY
	}
	if len(tags) == 0 {
		err = f.adm.DeleteObjectTagging(ctx, key, "")
	} else {
		err = f.adm.SetObjectTagging(ctx, key, "", tags)
	}
	return f.adminErrno("setxattr user.obs.tags", key, err)
}
