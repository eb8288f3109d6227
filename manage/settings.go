package manage

// The registry of bucket settings: one line per control file (and root
// xattr user.obs.bucket.<name>). Structured settings are JSON (indented,
// with obsclient's json tags); a written document starting with "<" is
// read as the OBS XML document instead. fs/SEMANTICS.md documents each.

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/obsfs/obsfs/obsclient"
)

// Setting is one bucket setting.
type Setting struct {
	name string
	// get returns the current value in its editable form; nil (or a
	// NotFound error) means unset: an empty file.
	get func(ctx context.Context, m *Manager) ([]byte, error)
	// set applies a new value; nil makes the setting read-only. Errors
	// wrapping ErrInvalid (or obsclient.ErrInvalidConfig) are bad values.
	set func(ctx context.Context, m *Manager, data []byte) error
	// del removes the setting; nil: it cannot be deleted.
	del func(ctx context.Context, m *Manager) error
}

// Name is the setting's file name.
func (s *Setting) Name() string { return s.name }

// Writable reports whether the setting can be written.
func (s *Setting) Writable() bool { return s.set != nil }

var settings = []*Setting{
	{name: "acl", get: getBucketACL, set: setBucketACL},
	docSetting("cors", Bucket.GetCORS, Bucket.SetCORS, Bucket.DeleteCORS, nil),
	docSetting("encryption", Bucket.GetEncryption, Bucket.SetEncryption, Bucket.DeleteEncryption, nil),
	docSetting("lifecycle", Bucket.GetLifecycle, Bucket.SetLifecycle, Bucket.DeleteLifecycle, nil),
	{name: "location", get: func(ctx context.Context, m *Manager) ([]byte, error) { return textValue(m.b.Location(ctx)) }},
	docSetting("logging", Bucket.GetLogging, Bucket.SetLogging, nil, nil),
	docSetting("notification", Bucket.GetNotification, Bucket.SetNotification, nil, notificationFromXML),
	{name: "policy", get: getPolicy, set: func(ctx context.Context, m *Manager, b []byte) error {
		return m.b.SetPolicy(ctx, strings.TrimSpace(string(b)))
	}, del: func(ctx context.Context, m *Manager) error { return m.b.DeletePolicy(ctx) }},
	{name: "quota", get: func(ctx context.Context, m *Manager) ([]byte, error) {
		q, err := m.b.Quota(ctx)
		return []byte(strconv.FormatInt(q, 10) + "\n"), err
	}, set: setQuota},
	{name: "stats", get: func(ctx context.Context, m *Manager) ([]byte, error) { return m.conf.Stats() }},
	{name: "storage_class", get: func(ctx context.Context, m *Manager) ([]byte, error) {
		return textValue(m.b.GetBucketStorageClass(ctx))
	}, set: func(ctx context.Context, m *Manager, b []byte) error {
		c, err := parseStorageClass(string(b))
		if err != nil {
			return fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		return m.b.SetBucketStorageClass(ctx, c)
	}},
	{name: "storageinfo", get: func(ctx context.Context, m *Manager) ([]byte, error) {
		si, err := m.b.StorageInfo(ctx)
		return fmt.Appendf(nil, "size: %d\nobjects: %d\n", si.Size, si.ObjectCount), err
	}},
	docSetting("website", Bucket.GetWebsite, Bucket.SetWebsite, Bucket.DeleteWebsite, nil),
	docSetting("tagging", Bucket.GetBucketTagging, Bucket.SetBucketTagging, Bucket.DeleteBucketTagging, tagsFromXML),
	{name: "versioning", get: func(ctx context.Context, m *Manager) ([]byte, error) {
		return textValue(m.b.GetVersioning(ctx))
	}, set: setVersioning},
}

// Settings lists the registry.
func (m *Manager) Settings() []*Setting {
	if m.conf.Stats != nil {
		return settings
	}
	out := make([]*Setting, 0, len(settings))
	for _, s := range settings {
		if s.name != "stats" {
			out = append(out, s)
		}
	}
	return out
}

// Setting returns the setting called name, or nil.
func (m *Manager) Setting(name string) *Setting {
	for _, s := range m.Settings() {
		if s.name == name {
			return s
		}
	}
	return nil
}

// Read returns a setting's current content (nil when unset).
func (m *Manager) Read(ctx context.Context, s *Setting) ([]byte, error) {
	b, err := s.get(ctx, m)
	if err != nil {
		if obsclient.IsNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	return b, nil
}

// Size is the size of a setting's content for stat; a setting that cannot
// be read shows as empty (reading it reports the error).
func (m *Manager) Size(ctx context.Context, s *Setting) uint64 {
	b, err := s.get(ctx, m)
	if err != nil {
		return 0
	}
	return uint64(len(b))
}

// Apply validates and applies a new value of s.
func (m *Manager) Apply(ctx context.Context, s *Setting, data []byte) error {
	if s.set == nil {
		return ErrNotWritable
	}
	return s.set(ctx, m, data)
}

// Delete removes the setting (an absent one is no error); ErrNotWritable
// where OBS has no way to remove it.
func (m *Manager) Delete(ctx context.Context, s *Setting) error {
	if s.del == nil {
		return ErrNotWritable
	}
	if err := s.del(ctx, m); err != nil && !obsclient.IsNotFound(err) {
		return err
	}
	return nil
}

// textValue is a one-line value ("" = unset: an empty file).
func textValue(s string, err error) ([]byte, error) {
	if err != nil || s == "" {
		return nil, err
	}
	return []byte(s + "\n"), nil
}

// docSetting builds a structured setting: JSON out, JSON or XML in. An
// empty write deletes the setting (del), or sets the zero value (which
// disables logging and notification). fromXML overrides xml.Unmarshal for
// types whose Go form is not the wire form.
func docSetting[T any](name string,
	get func(Bucket, context.Context) (T, error),
	set func(Bucket, context.Context, T) error,
	del func(Bucket, context.Context) error,
	fromXML func([]byte) (T, error)) *Setting {
	s := &Setting{name: name}
	s.get = func(ctx context.Context, m *Manager) ([]byte, error) {
		v, err := get(m.b, ctx)
		if err != nil {
			return nil, err
		}
		if rv := reflect.ValueOf(v); !rv.IsValid() || rv.IsZero() || rv.Kind() == reflect.Slice && rv.Len() == 0 {
			return nil, nil
		}
		b, err := json.MarshalIndent(v, "", "  ")
		return append(b, '\n'), err
	}
	s.set = func(ctx context.Context, m *Manager, data []byte) error {
		data = bytes.TrimSpace(data)
		var v T
		switch {
		case len(data) == 0 && del != nil:
			return del(m.b, ctx)
		case len(data) == 0:
		case data[0] == '<' && fromXML != nil:
			var err error
			if v, err = fromXML(data); err != nil {
				return fmt.Errorf("%w: %s XML: %v", ErrInvalid, name, err)
			}
		case data[0] == '<':
			if err := xml.Unmarshal(data, &v); err != nil {
				return fmt.Errorf("%w: %s XML: %v", ErrInvalid, name, err)
			}
		default:
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&v); err != nil {
				return fmt.Errorf("%w: %s JSON: %v", ErrInvalid, name, err)
			}
			if dec.More() {
				return fmt.Errorf("%w: %s JSON: trailing data", ErrInvalid, name)
			}
		}
		return set(m.b, ctx, v)
	}
	if del != nil {
		s.del = func(ctx context.Context, m *Manager) error { return del(m.b, ctx) }
	}
	return s
}

func getBucketACL(ctx context.Context, m *Manager) ([]byte, error) {
	acl, err := m.b.GetBucketACL(ctx)
	if err != nil {
		return nil, err
	}
	return []byte(formatACL(acl)), nil
}

func setBucketACL(ctx context.Context, m *Manager, data []byte) error {
	canned, acl, err := parseACL(data)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if canned != "" {
		return m.b.SetBucketCannedACL(ctx, canned)
	}
	if acl.Owner == "" {
		cur, err := m.b.GetBucketACL(ctx)
		if err != nil {
			return err
		}
		acl.Owner = cur.Owner
	}
	return m.b.SetBucketACL(ctx, acl)
}

func getPolicy(ctx context.Context, m *Manager) ([]byte, error) {
	p, err := m.b.GetPolicy(ctx)
	if err != nil || p == "" {
		return nil, err
	}
	if !strings.HasSuffix(p, "\n") {
		p += "\n"
	}
	return []byte(p), nil
}

func setQuota(ctx context.Context, m *Manager, data []byte) error {
	q, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	if err != nil || q < 0 {
		return fmt.Errorf("%w: quota must be a number of bytes ≥ 0 (0 = none), got %q", ErrInvalid, strings.TrimSpace(string(data)))
	}
	return m.b.SetQuota(ctx, q)
}

func setVersioning(ctx context.Context, m *Manager, data []byte) error {
	s := strings.TrimSpace(string(data))
	if strings.HasPrefix(s, "<") {
		var x struct {
			XMLName xml.Name `xml:"VersioningConfiguration"`
			Status  string   `xml:"Status"`
		}
		if err := xml.Unmarshal([]byte(s), &x); err != nil {
			return fmt.Errorf("%w: versioning XML: %v", ErrInvalid, err)
		}
		s = strings.TrimSpace(x.Status)
	}
	switch strings.ToLower(s) {
	case "enabled":
		s = obsclient.VersioningEnabled
	case "suspended":
		s = obsclient.VersioningSuspended
	default:
		return fmt.Errorf("%w: versioning must be Enabled or Suspended, got %q", ErrInvalid, s)
	}
	return m.b.SetVersioning(ctx, s)
}

// tagsFromXML reads <Tagging><TagSet><Tag>….
func tagsFromXML(b []byte) ([]obsclient.Tag, error) {
	var x struct {
		XMLName xml.Name        `xml:"Tagging"`
		Tags    []obsclient.Tag `xml:"TagSet>Tag"`
	}
	err := xml.Unmarshal(b, &x)
	return x.Tags, err
}

// notificationFromXML reads the OBS form (<Filter><Object>) and the S3
// form (<Filter><S3Key>).
func notificationFromXML(b []byte) (obsclient.NotificationConfiguration, error) {
	type rule = obsclient.FilterRule
	var x struct {
		XMLName xml.Name `xml:"NotificationConfiguration"`
		Topics  []struct {
			ID     string   `xml:"Id"`
			Topic  string   `xml:"Topic"`
			Events []string `xml:"Event"`
			Object []rule   `xml:"Filter>Object>FilterRule"`
			S3Key  []rule   `xml:"Filter>S3Key>FilterRule"`
		} `xml:"TopicConfiguration"`
	}
	var out obsclient.NotificationConfiguration
	if err := xml.Unmarshal(b, &x); err != nil {
		return out, err
	}
	for _, t := range x.Topics {
		ev := make([]string, len(t.Events))
		for i, e := range t.Events {
			ev[i] = strings.TrimPrefix(strings.TrimSpace(e), "s3:")
		}
		out.TopicConfigurations = append(out.TopicConfigurations, obsclient.TopicConfiguration{
			ID: t.ID, Topic: strings.TrimSpace(t.Topic), Events: ev, FilterRules: append(t.Object, t.S3Key...)})
	}
	return out, nil
}
