package manage

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obsfs/obsfs/obsclient"
)

// fakeBucket records the calls management makes. Methods a test does not
// expect panic (the embedded nil interface).
type fakeBucket struct {
	Bucket
	calls      []string
	versioning string
	policy     string
	encryption obsclient.BucketEncryption
	objACL     obsclient.ACL
	setErr     error
}

func (b *fakeBucket) GetVersioning(context.Context) (string, error) {
	b.calls = append(b.calls, "GetVersioning")
	return b.versioning, nil
}

func (b *fakeBucket) SetVersioning(_ context.Context, s string) error {
	b.calls = append(b.calls, "SetVersioning")
	b.versioning = s
	return b.setErr
}

func (b *fakeBucket) GetPolicy(context.Context) (string, error) {
	b.calls = append(b.calls, "GetPolicy")
	if b.policy == "" {
		return "", &obsclient.Error{StatusCode: 404, Code: "NoSuchBucketPolicy"}
	}
	return b.policy, nil
}

func (b *fakeBucket) SetPolicy(_ context.Context, p string) error {
	b.calls = append(b.calls, "SetPolicy")
	b.policy = p
	return nil
}

func (b *fakeBucket) DeletePolicy(context.Context) error {
	b.calls = append(b.calls, "DeletePolicy")
	b.policy = ""
	return nil
}

func (b *fakeBucket) SetEncryption(_ context.Context, e obsclient.BucketEncryption) error {
	b.calls = append(b.calls, "SetEncryption")
	b.encryption = e
	return nil
}

func (b *fakeBucket) DeleteEncryption(context.Context) error {
	b.calls = append(b.calls, "DeleteEncryption")
	return nil
}

func (b *fakeBucket) GetObjectACL(context.Context, string, string) (obsclient.ACL, error) {
	b.calls = append(b.calls, "GetObjectACL")
	return b.objACL, nil
}

func (b *fakeBucket) SetObjectACL(_ context.Context, _, _ string, acl obsclient.ACL) error {
	b.calls = append(b.calls, "SetObjectACL")
	b.objACL = acl
	return nil
}

func (b *fakeBucket) SetObjectCannedACL(context.Context, string, string, string) error {
	b.calls = append(b.calls, "SetObjectCannedACL")
	return nil
}

// fakeObject is an object as the caller (fs) would present it.
type fakeObject struct {
	busy    bool
	class   string
	changed int
}

func (o *fakeObject) Key() string                                  { return "k" }
func (o *fakeObject) Busy() bool                                   { return o.busy }
func (o *fakeObject) SetContentType(context.Context, string) error { return nil }
func (o *fakeObject) SetStorageClass(_ context.Context, c string) error {
	o.class = c
	return nil
}
func (o *fakeObject) Changed() { o.changed++ }

func TestSettingsRegistry(t *testing.T) {
	ctx := context.Background()
	fb := &fakeBucket{}
	m := New(fb, Config{})
	assert.Nil(t, m.Setting("stats"), "stats without a Stats func")
	assert.NotNil(t, New(fb, Config{Stats: func() ([]byte, error) { return nil, nil }}).Setting("stats"))
	assert.False(t, m.Setting("location").Writable())

	v := m.Setting("versioning")
	require.NoError(t, m.Apply(ctx, v, []byte("enabled\n")))
	assert.Equal(t, obsclient.VersioningEnabled, fb.versioning)
	fb.calls = nil
	err := m.Apply(ctx, v, []byte("Bogus\n"))
	assert.ErrorIs(t, err, ErrInvalid)
	assert.Empty(t, fb.calls, "a bad value sends nothing")
	got, err := m.Read(ctx, v)
	require.NoError(t, err)
	assert.Equal(t, "Enabled\n", string(got))

	assert.ErrorIs(t, m.Apply(ctx, m.Setting("location"), []byte("x")), ErrNotWritable)
	assert.ErrorIs(t, m.Delete(ctx, v), ErrNotWritable, "versioning cannot be deleted")

	p := m.Setting("policy")
	got, err = m.Read(ctx, p)
	require.NoError(t, err, "an unset setting reads as empty")
	assert.Empty(t, got)
	require.NoError(t, m.Delete(ctx, p))

	fb.calls = nil
	require.NoError(t, m.Apply(ctx, m.Setting("encryption"), []byte(`{"SSEAlgorithm":"kms"}`)))
	assert.Equal(t, []string{"SetEncryption"}, fb.calls)
	assert.ErrorIs(t, m.Apply(ctx, m.Setting("encryption"), []byte(`{"SSEAlgorithm":`)), ErrInvalid)
	assert.ErrorIs(t, m.Apply(ctx, m.Setting("encryption"), []byte(`{"Nope":1}`)), ErrInvalid)

	fb.setErr = errors.New("boom")
	assert.EqualError(t, m.Apply(ctx, v, []byte("Suspended")), "boom", "client errors pass through")
}

func TestObjectAttrs(t *testing.T) {
	ctx := context.Background()
	fb := &fakeBucket{objACL: obsclient.ACL{Owner: "o1"}}
	m := New(fb, Config{})
	assert.Nil(t, m.ObjectAttr("nope"))
	etag := m.ObjectAttr("etag")
	assert.ErrorIs(t, m.SetObject(ctx, etag, &fakeObject{}, "x"), ErrNotWritable)
	assert.False(t, etag.Removable())
	v, err := m.GetObject(ctx, etag, "k", obsclient.ObjectInfo{ETag: "e1"})
	require.NoError(t, err)
	assert.Equal(t, "e1", v)

	sc := m.ObjectAttr("storage_class")
	o := &fakeObject{busy: true}
	assert.ErrorIs(t, m.SetObject(ctx, sc, o, "GLACIER"), ErrInvalid, "validation comes before the busy check")
	assert.ErrorIs(t, m.SetObject(ctx, sc, o, "warm"), ErrBusy)
	o.busy = false
	require.NoError(t, m.SetObject(ctx, sc, o, " warm\n"))
	assert.Equal(t, "WARM", o.class)

	acl := m.ObjectAttr("acl")
	fb.calls = nil
	require.NoError(t, m.SetObject(ctx, acl, o, "Everyone:READ"))
	assert.Equal(t, []string{"GetObjectACL", "SetObjectACL"}, fb.calls, "a document without owner= keeps the current owner")
	assert.Equal(t, "o1", fb.objACL.Owner)
	text, err := m.GetObject(ctx, acl, "k", obsclient.ObjectInfo{})
	require.NoError(t, err)
	assert.Equal(t, "owner=o1\nEveryone:READ\n", text)
	assert.ErrorIs(t, m.SetObject(ctx, acl, o, "Everyone:SOMETIMES"), ErrInvalid)
}

// TestSettingsCheck: how a value being written is classified (sysfs
// semantics, fs/SEMANTICS.md 34): complete and valid (applied by the write
// that completes it), incomplete (kept for the next write) or invalid (that
// write fails).
func TestSettingsCheck(t *testing.T) {
	m := New(&fakeBucket{}, Config{})
	const ok, more, bad = "ok", "incomplete", "invalid"
	for _, c := range []struct{ setting, value, want string }{
		{"versioning", "Enabled\n", ok},
		{"versioning", "suspended", ok},
		{"versioning", "Ena", more},
		{"versioning", "Ena\n", bad},
		{"versioning", "Bogus", bad},
		{"versioning", "Bogus\n", bad},
		{"versioning", "Enabled\nx", bad},
		{"versioning", "\n", bad},
		{"versioning", "", more},
		{"versioning", "<VersioningConfiguration><Status>Enabled</Status>", more},
		{"versioning", "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>", ok},
		{"quota", "1048576\n", ok},
		{"quota", "lots", bad},
		{"storage_class", "WA", more},
		{"storage_class", "WARM\n", ok},
		{"storage_class", "SHINY", bad},
		{"encryption", `{"SSEAlgorithm":"kms"}`, ok},
		{"encryption", `{"SSEAlgorithm":`, more},
		{"encryption", `{"SSEAlgorithm":"kms"} {`, bad},
		{"encryption", `{"Bogus":1}`, bad},
		{"encryption", "  \n", bad},
		{"policy", `{"Statement":[{"Sid":"a"}`, more},
		{"policy", `{"Statement":[{"Sid":"a"}]}` + "\n", ok},
		{"policy", `{"Statement":]`, bad},
		{"tagging", `<Tagging><TagSet><Tag>`, more},
		{"tagging", `[{"Key":"a","Value":"b"}]`, ok},
		{"acl", "public-read\n", ok},
		{"acl", "public-re", more},
		{"acl", "owner=o1\nEveryone:RE", more},
		{"acl", "owner=o1\nEveryone:SOMETIMES", bad},
		{"acl", "Everyone:SOMETIMES\n", bad},
		{"acl", `{"Owner":"o1","Grants":[`, more},
	} {
		err := m.Check(m.Setting(c.setting), []byte(c.value))
		got := ok
		switch {
		case errors.Is(err, ErrIncomplete):
			got = more
		case errors.Is(err, ErrInvalid):
			got = bad
		case err != nil:
			got = err.Error()
		}
		assert.Equal(t, c.want, got, "%s %q: %v", c.setting, c.value, err)
	}
	// Apply never sends an incomplete value: it is invalid there.
	assert.ErrorIs(t, m.Apply(context.Background(), m.Setting("versioning"), []byte("Ena")), ErrInvalid)
	assert.ErrorIs(t, m.Check(m.Setting("location"), []byte("x")), ErrNotWritable)
}

// TestAdmins: root, the mount's owner and the named users administer.
func TestAdmins(t *testing.T) {
	a := Admins{Owner: 1000, UIDs: []uint32{2000}}
	for uid, want := range map[uint32]error{0: nil, 1000: nil, 2000: nil, 1001: ErrNotAdmin, 65534: ErrNotAdmin} {
		assert.Equal(t, want, a.Allow(uid), "uid %d", uid)
	}
	m := New(&fakeBucket{}, Config{Admins: Admins{Owner: 5}})
	assert.NoError(t, m.Allow(5))
	assert.ErrorIs(t, m.Allow(6), ErrNotAdmin)
	assert.True(t, m.Setting("acl").Private())
	assert.True(t, m.Setting("policy").Private())
	assert.False(t, m.Setting("versioning").Private())
	assert.True(t, m.ObjectAttr("acl").AdminRead())
	assert.True(t, m.ObjectAttr("storage_class").AdminWrite())
	assert.True(t, m.ObjectAttr("restore").AdminWrite())
	assert.False(t, m.ObjectAttr("tags").AdminWrite())
}
