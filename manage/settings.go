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
	"errors"
	"fmt"
	"io"
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
	// parse reads a written value (surrounding space trimmed, never
	// empty; ended: the raw value ends in a newline, so a one-line value
	// is finished) and returns the request that applies it; nil makes the
	// setting read-only. Errors wrap ErrInvalid (or ErrIncomplete: more
	// bytes may still make the value valid).
	parse func(v []byte, ended bool) (send, error)
	// del removes the setting; nil: it cannot be deleted.
	del func(ctx context.Context, m *Manager) error
}

// send is the one request that applies a parsed value.
type send func(ctx context.Context, m *Manager) error

// Name is the setting's file name.
func (s *Setting) Name() string { return s.name }

// Private reports a setting only administrators may read (Admins): the
// ACL and the policy say who may do what to the bucket.
func (s *Setting) Private() bool { return s.name == "acl" || s.name == "policy" }

// Writable reports whether the setting can be written.
func (s *Setting) Writable() bool { return s.parse != nil }

var settings = []*Setting{
	{name: "acl", get: getBucketACL, parse: parseBucketACL},
	docSetting("cors", Bucket.GetCORS, Bucket.SetCORS, Bucket.DeleteCORS, nil),
	docSetting("encryption", Bucket.GetEncryption, Bucket.SetEncryption, Bucket.DeleteEncryption, nil),
	docSetting("lifecycle", Bucket.GetLifecycle, Bucket.SetLifecycle, Bucket.DeleteLifecycle, nil),
	{name: "location", get: func(ctx context.Context, m *Manager) ([]byte, error) { return textValue(m.b.Location(ctx)) }},
	docSetting("logging", Bucket.GetLogging, Bucket.SetLogging, nil, nil),
	docSetting("notification", Bucket.GetNotification, Bucket.SetNotification, nil, notificationFromXML),
	{name: "policy", get: getPolicy, parse: parsePolicy,
		del: func(ctx context.Context, m *Manager) error { return m.b.DeletePolicy(ctx) }},
	{name: "quota", get: func(ctx context.Context, m *Manager) ([]byte, error) {
		q, err := m.b.Quota(ctx)
		return []byte(strconv.FormatInt(q, 10) + "\n"), err
	}, parse: parseQuota},
	{name: "stats", get: func(ctx context.Context, m *Manager) ([]byte, error) { return m.conf.Stats() }},
	{name: "storage_class", get: func(ctx context.Context, m *Manager) ([]byte, error) {
		return textValue(m.b.GetBucketStorageClass(ctx))
	}, parse: func(v []byte, ended bool) (send, error) {
		c, err := parseStorageClass(string(v))
		if err != nil {
			return nil, wordError(v, ended, err, storageClassNames...)
		}
		return func(ctx context.Context, m *Manager) error { return m.b.SetBucketStorageClass(ctx, c) }, nil
	}},
	{name: "storageinfo", get: func(ctx context.Context, m *Manager) ([]byte, error) {
		si, err := m.b.StorageInfo(ctx)
		return fmt.Appendf(nil, "size: %d\nobjects: %d\n", si.Size, si.ObjectCount), err
	}},
	docSetting("website", Bucket.GetWebsite, Bucket.SetWebsite, Bucket.DeleteWebsite, nil),
	docSetting("tagging", Bucket.GetBucketTagging, Bucket.SetBucketTagging, Bucket.DeleteBucketTagging, tagsFromXML),
	{name: "versioning", get: func(ctx context.Context, m *Manager) ([]byte, error) {
		return textValue(m.b.GetVersioning(ctx))
	}, parse: parseVersioning},
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

// Check classifies data written so far as a new value of s, without
// sending anything: nil when it is a complete, valid value (Apply would
// send it); an error wrapping ErrIncomplete when more bytes may still make
// it one (an unfinished JSON or XML document, the first letters of a
// word); an error wrapping ErrInvalid when no continuation can. An empty
// value (only white space, ending in a newline) is invalid: deleting a
// setting is Delete, never a write.
func (m *Manager) Check(s *Setting, data []byte) error {
	_, err := s.prepare(data)
	return err
}

// Apply validates data as a complete new value of s and sends it in one
// request; an incomplete value is invalid here.
func (m *Manager) Apply(ctx context.Context, s *Setting, data []byte) error {
	do, err := s.prepare(data)
	if errors.Is(err, ErrIncomplete) {
		return fmt.Errorf("%w: %s: %v", ErrInvalid, s.name, err)
	}
	if err != nil {
		return err
	}
	return do(ctx, m)
}

func (s *Setting) prepare(data []byte) (send, error) {
	if s.parse == nil {
		return nil, ErrNotWritable
	}
	v := bytes.TrimSpace(data)
	if len(v) == 0 {
		if bytes.ContainsAny(data, "\n") {
			return nil, fmt.Errorf("%w: %s: empty value (rm deletes a setting)", ErrInvalid, s.name)
		}
		return nil, fmt.Errorf("%w: empty so far", ErrIncomplete)
	}
	return s.parse(v, data[len(data)-1] == '\n')
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

// docSetting builds a structured setting: JSON out, JSON or XML in. The
// zero value (e.g. {}) disables logging and notification; del (where OBS
// has it) removes the others. fromXML overrides xml.Unmarshal for types
// whose Go form is not the wire form.
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
	s.parse = func(data []byte, _ bool) (send, error) {
		var v T
		if data[0] == '<' {
			if fromXML == nil {
				fromXML = func(b []byte) (T, error) {
					var v T
					err := xml.Unmarshal(b, &v)
					return v, err
				}
			}
			var err error
			if v, err = fromXML(data); err != nil {
				return nil, docError(name+" XML", err)
			}
		} else if err := decodeJSON(data, &v, true); err != nil {
			return nil, docError(name+" JSON", err)
		}
		return func(ctx context.Context, m *Manager) error { return set(m.b, ctx, v) }, nil
	}
	if del != nil {
		s.del = func(ctx context.Context, m *Manager) error { return del(m.b, ctx) }
	}
	return s
}

// decodeJSON reads exactly one JSON value (strict: no unknown fields) from
// data.
func decodeJSON(data []byte, v any, strict bool) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}

// docError classifies a document parser's error: the input ended early
// (ErrIncomplete: more bytes may complete it), or it is wrong (ErrInvalid).
func docError(what string, err error) error {
	var se *xml.SyntaxError
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.As(err, &se) && strings.Contains(se.Msg, "unexpected EOF") {
		return fmt.Errorf("%w: %s: %v", ErrIncomplete, what, err)
	}
	return fmt.Errorf("%w: %s: %v", ErrInvalid, what, err)
}

// wordError classifies a one-word value that is not valid: the first
// letters of one of words without a newline yet (ErrIncomplete), or wrong.
func wordError(v []byte, ended bool, err error, words ...string) error {
	if !ended && !bytes.ContainsAny(v, "\n") {
		for _, w := range words {
			if len(v) < len(w) && strings.HasPrefix(strings.ToLower(w), strings.ToLower(string(v))) {
				return fmt.Errorf("%w: %v", ErrIncomplete, err)
			}
		}
	}
	return fmt.Errorf("%w: %v", ErrInvalid, err)
}

func getBucketACL(ctx context.Context, m *Manager) ([]byte, error) {
	acl, err := m.b.GetBucketACL(ctx)
	if err != nil {
		return nil, err
	}
	return []byte(formatACL(acl)), nil
}

func parseBucketACL(data []byte, ended bool) (send, error) {
	canned, acl, err := parseACL(data)
	if err != nil {
		return nil, aclError(data, ended, err)
	}
	return func(ctx context.Context, m *Manager) error {
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
	}, nil
}

// aclError classifies an ACL parse error: a JSON or XML document that
// ended early may still become valid, and so may text whose last line is
// unfinished (no newline yet) when the lines before it are valid and the
// last is the start of a canned name or a grant.
func aclError(data []byte, ended bool, err error) error {
	if data[0] == '{' || data[0] == '<' {
		if e := errors.Unwrap(err); e != nil {
			return docError("ACL", e)
		}
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if ended {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	done, last := "", string(data)
	if i := strings.LastIndexByte(last, '\n'); i >= 0 {
		done, last = last[:i], strings.TrimSpace(last[i+1:])
		if acl, err := parseACLText(done); err != nil || validateACL(acl) != nil {
			return fmt.Errorf("%w: %v", ErrInvalid, errors.Join(err, validateACL(acl)))
		}
	}
	if done == "" && errors.Is(wordError([]byte(last), false, err, cannedNames()...), ErrIncomplete) {
		return fmt.Errorf("%w: %v", ErrIncomplete, err)
	}
	if !strings.Contains(last, ":") && !strings.Contains(last, "=") {
		return fmt.Errorf("%w: %v", ErrIncomplete, err) // a grantee being written
	}
	if i := strings.LastIndexByte(last, ':'); i >= 0 {
		tail := strings.ToUpper(strings.TrimSpace(last[i+1:]))
		for _, w := range append(permissionNames(), "DELIVERED") {
			if len(tail) < len(w) && strings.HasPrefix(w, tail) {
				return fmt.Errorf("%w: %v", ErrIncomplete, err)
			}
		}
	}
	return fmt.Errorf("%w: %v", ErrInvalid, err)
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

// parsePolicy checks that the policy is one complete JSON document (OBS
// checks what it says).
func parsePolicy(data []byte, _ bool) (send, error) {
	var doc json.RawMessage
	if err := decodeJSON(data, &doc, false); err != nil {
		return nil, docError("policy JSON", err)
	}
	p := string(data)
	return func(ctx context.Context, m *Manager) error { return m.b.SetPolicy(ctx, p) }, nil
}

func parseQuota(data []byte, _ bool) (send, error) {
	q, err := strconv.ParseInt(string(data), 10, 64)
	if err != nil || q < 0 {
		return nil, fmt.Errorf("%w: quota must be a number of bytes ≥ 0 (0 = none), got %q", ErrInvalid, data)
	}
	return func(ctx context.Context, m *Manager) error { return m.b.SetQuota(ctx, q) }, nil
}

func parseVersioning(data []byte, ended bool) (send, error) {
	s := string(data)
	if strings.HasPrefix(s, "<") {
		var x struct {
			XMLName xml.Name `xml:"VersioningConfiguration"`
			Status  string   `xml:"Status"`
		}
		if err := xml.Unmarshal(data, &x); err != nil {
			return nil, docError("versioning XML", err)
		}
		s = strings.TrimSpace(x.Status)
	}
	switch strings.ToLower(s) {
	case "enabled":
		s = obsclient.VersioningEnabled
	case "suspended":
		s = obsclient.VersioningSuspended
	default:
		err := fmt.Errorf("versioning must be Enabled or Suspended, got %q", s)
		if strings.HasPrefix(string(data), "<") {
			return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		return nil, wordError(data, ended, err, "Enabled", "Suspended")
	}
	return func(ctx context.Context, m *Manager) error { return m.b.SetVersioning(ctx, s) }, nil
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
