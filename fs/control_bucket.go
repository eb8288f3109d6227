package fs

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

var settings = []*setting{
	{name: "acl", get: getBucketACL, set: setBucketACL},
	docSetting("cors", (*obsclient.Bucket).GetCORS, (*obsclient.Bucket).SetCORS, (*obsclient.Bucket).DeleteCORS, nil),
	docSetting("encryption", (*obsclient.Bucket).GetEncryption, (*obsclient.Bucket).SetEncryption, (*obsclient.Bucket).DeleteEncryption, nil),
	docSetting("lifecycle", (*obsclient.Bucket).GetLifecycle, (*obsclient.Bucket).SetLifecycle, (*obsclient.Bucket).DeleteLifecycle, nil),
	{name: "location", get: func(ctx context.Context, f *FS) ([]byte, error) { return textValue(f.adm.Location(ctx)) }},
	docSetting("logging", (*obsclient.Bucket).GetLogging, (*obsclient.Bucket).SetLogging, nil, nil),
	docSetting("notification", (*obsclient.Bucket).GetNotification, (*obsclient.Bucket).SetNotification, nil, notificationFromXML),
	{name: "policy", get: getPolicy, set: func(ctx context.Context, f *FS, b []byte) error {
		return f.adm.SetPolicy(ctx, strings.TrimSpace(string(b)))
	}, del: func(ctx context.Context, f *FS) error { return f.adm.DeletePolicy(ctx) }},
	{name: "quota", get: func(ctx context.Context, f *FS) ([]byte, error) {
		q, err := f.adm.Quota(ctx)
		return []byte(strconv.FormatInt(q, 10) + "\n"), err
	}, set: setQuota},
	{name: "stats", get: func(ctx context.Context, f *FS) ([]byte, error) { return f.statsJSON() }},
	{name: "storage_class", get: func(ctx context.Context, f *FS) ([]byte, error) {
		return textValue(f.adm.GetBucketStorageClass(ctx))
	}, set: func(ctx context.Context, f *FS, b []byte) error {
		c, err := parseStorageClass(string(b))
		if err != nil {
			return fmt.Errorf("%w: %v", errInvalid, err)
		}
		return f.adm.SetBucketStorageClass(ctx, c)
	}},
	{name: "storageinfo", get: func(ctx context.Context, f *FS) ([]byte, error) {
		si, err := f.adm.StorageInfo(ctx)
		return fmt.Appendf(nil, "size: %d\nobjects: %d\n", si.Size, si.ObjectCount), err
	}},
	docSetting("website", (*obsclient.Bucket).GetWebsite, (*obsclient.Bucket).SetWebsite, (*obsclient.Bucket).DeleteWebsite, nil),
	docSetting("tagging", (*obsclient.Bucket).GetBucketTagging, (*obsclient.Bucket).SetBucketTagging, (*obsclient.Bucket).DeleteBucketTagging, tagsFromXML),
	{name: "versioning", get: func(ctx context.Context, f *FS) ([]byte, error) {
		return textValue(f.adm.GetVersioning(ctx))
	}, set: setVersioning},
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
	get func(*obsclient.Bucket, context.Context) (T, error),
	set func(*obsclient.Bucket, context.Context, T) error,
	del func(*obsclient.Bucket, context.Context) error,
	fromXML func([]byte) (T, error)) *setting {
	s := &setting{name: name}
	s.get = func(ctx context.Context, f *FS) ([]byte, error) {
		v, err := get(f.adm, ctx)
		if err != nil {
			return nil, err
		}
		if rv := reflect.ValueOf(v); !rv.IsValid() || rv.IsZero() || rv.Kind() == reflect.Slice && rv.Len() == 0 {
			return nil, nil
		}
		b, err := json.MarshalIndent(v, "", "  ")
		return append(b, '\n'), err
	}
	s.set = func(ctx context.Context, f *FS, data []byte) error {
		data = bytes.TrimSpace(data)
		var v T
		switch {
		case len(data) == 0 && del != nil:
			return del(f.adm, ctx)
		case len(data) == 0:
		case data[0] == '<' && fromXML != nil:
			var err error
			if v, err = fromXML(data); err != nil {
				return fmt.Errorf("%w: %s XML: %v", errInvalid, name, err)
			}
		case data[0] == '<':
			if err := xml.Unmarshal(data, &v); err != nil {
				return fmt.Errorf("%w: %s XML: %v", errInvalid, name, err)
			}
		default:
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&v); err != nil {
				return fmt.Errorf("%w: %s JSON: %v", errInvalid, name, err)
			}
			if dec.More() {
				return fmt.Errorf("%w: %s JSON: trailing data", errInvalid, name)
			}
		}
		return set(f.adm, ctx, v)
	}
	if del != nil {
		s.del = func(ctx context.Context, f *FS) error { return del(f.adm, ctx) }
	}
	return s
}

func getBucketACL(ctx context.Context, f *FS) ([]byte, error) {
	acl, err := f.adm.GetBucketACL(ctx)
	if err != nil {
		return nil, err
	}
	return []byte(formatACL(acl)), nil
}

func setBucketACL(ctx context.Context, f *FS, data []byte) error {
	canned, acl, err := parseACL(data)
	if err != nil {
		return fmt.Errorf("%w: %v", errInvalid, err)
	}
	if canned != "" {
		return f.adm.SetBucketCannedACL(ctx, canned)
	}
	if acl.Owner == "" {
		cur, err := f.adm.GetBucketACL(ctx)
		if err != nil {
			return err
		}
		acl.Owner = cur.Owner
	}
	return f.adm.SetBucketACL(ctx, acl)
}

func getPolicy(ctx context.Context, f *FS) ([]byte, error) {
	p, err := f.adm.GetPolicy(ctx)
	if err != nil || p == "" {
		return nil, err
	}
	if !strings.HasSuffix(p, "\n") {
		p += "\n"
	}
	return []byte(p), nil
}

func setQuota(ctx context.Context, f *FS, data []byte) error {
	q, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	if err != nil || q < 0 {
		return fmt.Errorf("%w: quota must be a number of bytes ≥ 0 (0 = none), got %q", errInvalid, strings.TrimSpace(string(data)))
	}
	return f.adm.SetQuota(ctx, q)
}

func setVersioning(ctx context.Context, f *FS, data []byte) error {
	s := strings.TrimSpace(string(data))
	if strings.HasPrefix(s, "<") {
		var x struct {
			XMLName xml.Name `xml:"VersioningConfiguration"`
			Status  string   `xml:"Status"`
		}
		if err := xml.Unmarshal([]byte(s), &x); err != nil {
			return fmt.Errorf("%w: versioning XML: %v", errInvalid, err)
		}
		s = strings.TrimSpace(x.Status)
	}
	switch strings.ToLower(s) {
	case "enabled":
		s = obsclient.VersioningEnabled
	case "suspended":
		s = obsclient.VersioningSuspended
	default:
		return fmt.Errorf("%w: versioning must be Enabled or Suspended, got %q", errInvalid, s)
	}
	return f.adm.SetVersioning(ctx, s)
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
