package obsclient_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-obs/obs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obsfs/obsfs/obsclient"
	"github.com/obsfs/obsfs/obsclient/obstest"
	"github.com/obsfs/obsfs/obsclient/signer"
)

// configEnv is one dialect's client and the official SDK as a second
// client on the same emulator. OBS signing runs virtual-hosted (the SDK
// turns path-style OBS into V2), V2 and V4 path style.
type configEnv struct {
	b       *obsclient.Bucket
	sdk     *obs.ObsClient
	srv     *obstest.Server
	dialect signer.Dialect
}

func newConfigEnv(t *testing.T, d signer.Dialect) *configEnv {
	t.Helper()
	srv := newEmulator(t)
	virtual := d == signer.OBS
	c := newClient(t, srv, clientOpts{dialect: d, virtual: virtual})
	addr := srv.Addr()
	_, port, _ := net.SplitHostPort(addr)
	sdkSig := map[signer.Dialect]obs.SignatureType{signer.OBS: obs.SignatureObs, signer.V2: obs.SignatureV2, signer.V4: obs.SignatureV4}[d]
	opts := listOf(obs.WithSignature(sdkSig), obs.WithMaxRetryCount(0), obs.WithRegion("cn-north-4"))
	endpoint := srv.URL
	if virtual {
		endpoint = "http://obs.example.test:" + port
		opts = append(opts, obs.WithHttpTransport(&http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}}))
	} else {
		opts = append(opts, obs.WithPathStyle(true))
	}
	sdk, err := obs.New(testAK, testSK, endpoint, opts...)
	require.NoError(t, err)
	t.Cleanup(sdk.Close)
	return &configEnv{b: mustBucket(t, c, testBucket), sdk: sdk, srv: srv, dialect: d}
}

// sdkClass maps the S3 class names the SDK hands back under V2/V4 to
// OBS's (the wire carries S3 names there, as the SDK itself sends them).
func sdkClass(c string) string {
	switch c {
	case "STANDARD_IA":
		return "WARM"
	case "GLACIER":
		return "COLD"
	}
	return c
}

// listOf makes a slice of an unexported element type (the SDK's options).
func listOf[T any](xs ...T) []T { return xs }

// TestBucketConfig runs set → get → (SDK get) → delete → get-is-NotFound for
// every bucket configuration, under the three signatures.
func TestBucketConfig(t *testing.T) {
	for _, d := range dialects {
		t.Run(dialectName(d), func(t *testing.T) {
			env := newConfigEnv(t, d)
			t.Run("Versioning", func(t *testing.T) { testConfigVersioning(t, env) })
			t.Run("ACL", func(t *testing.T) { testConfigACL(t, env) })
			t.Run("Policy", func(t *testing.T) { testConfigPolicy(t, env) })
			t.Run("Lifecycle", func(t *testing.T) { testConfigLifecycle(t, env) })
			t.Run("Tagging", func(t *testing.T) { testConfigTagging(t, env) })
			t.Run("CORS", func(t *testing.T) { testConfigCORS(t, env) })
			t.Run("Website", func(t *testing.T) { testConfigWebsite(t, env) })
			t.Run("Logging", func(t *testing.T) { testConfigLogging(t, env) })
			t.Run("Notification", func(t *testing.T) { testConfigNotification(t, env) })
			t.Run("Encryption", func(t *testing.T) { testConfigEncryption(t, env) })
			t.Run("StorageClass", func(t *testing.T) { testConfigStorageClass(t, env) })
			t.Run("ObjectTagging", func(t *testing.T) { testObjectTagging(t, env) })
			t.Run("InvalidDocuments", func(t *testing.T) { testInvalidConfigDocuments(t, env) })
		})
	}
}

// requireJSONRoundTrip checks that a configuration survives its JSON form
// unchanged (the file system edits it as JSON).
func requireJSONRoundTrip[T any](t *testing.T, v T) {
	t.Helper()
	p, err := json.Marshal(v)
	require.NoError(t, err)
	var back T
	require.NoError(t, json.Unmarshal(p, &back))
	require.Equal(t, v, back, "JSON form %s", p)
}

func requireInvalid(t *testing.T, err error) {
	t.Helper()
	require.Error(t, err)
	assert.ErrorIs(t, err, obsclient.ErrInvalidConfig)
	assert.True(t, obsclient.IsInvalidConfig(err))
}

func testConfigVersioning(t *testing.T, env *configEnv) {
	ctx, b := ctxT(t), env.b
	st, err := b.GetVersioning(ctx)
	require.NoError(t, err)
	assert.Equal(t, "", st)
	require.NoError(t, b.SetVersioning(ctx, obsclient.VersioningEnabled))
	st, err = b.GetVersioning(ctx)
	require.NoError(t, err)
	assert.Equal(t, "Enabled", st)
	out, err := env.sdk.GetBucketVersioning(testBucket)
	require.NoError(t, err)
	assert.EqualValues(t, "Enabled", out.Status)
	require.NoError(t, b.SetVersioning(ctx, obsclient.VersioningSuspended))
	st, err = b.GetVersioning(ctx)
	require.NoError(t, err)
	assert.Equal(t, "Suspended", st)
	requireInvalid(t, b.SetVersioning(ctx, "Disabled"))
}

func testConfigACL(t *testing.T, env *configEnv) {
	ctx, b := ctxT(t), env.b
	before, err := b.GetBucketACL(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, before.Owner)
	acl := obsclient.ACL{Owner: before.Owner, Grants: []obsclient.Grant{
		{ID: before.Owner, Permission: "FULL_CONTROL"},
		{Canned: "Everyone", Permission: "READ", Delivered: true},
	}}
	require.NoError(t, b.SetBucketACL(ctx, acl))
	got, err := b.GetBucketACL(ctx)
	require.NoError(t, err)
	assert.Equal(t, before.Owner, got.Owner)
	require.Len(t, got.Grants, 2)
	assert.Equal(t, before.Owner, got.Grants[0].ID)
	assert.Equal(t, "FULL_CONTROL", got.Grants[0].Permission)
	assert.Equal(t, "Everyone", got.Grants[1].Canned)
	assert.Equal(t, "READ", got.Grants[1].Permission)
	if env.dialect == signer.OBS {
		assert.True(t, got.Grants[1].Delivered, "OBS bucket grants carry <Delivered>")
		assert.False(t, got.Grants[0].Delivered)
	}
	requireJSONRoundTrip(t, got)

	out, err := env.sdk.GetBucketAcl(testBucket)
	require.NoError(t, err)
	require.Len(t, out.Grants, 2)
	assert.EqualValues(t, "READ", out.Grants[1].Permission)
	assert.Contains(t, string(out.Grants[1].Grantee.URI), "AllUsers")
	if env.dialect == signer.OBS {
		assert.True(t, out.Grants[1].Delivered)
	}

	require.NoError(t, b.SetBucketCannedACL(ctx, "private"))
	got, err = b.GetBucketACL(ctx)
	require.NoError(t, err)
	for _, g := range got.Grants {
		assert.Empty(t, g.Canned, "private leaves no group grant")
	}
	requireInvalid(t, b.SetBucketACL(ctx, obsclient.ACL{Grants: []obsclient.Grant{{Permission: "READ"}}}))
	requireInvalid(t, b.SetBucketCannedACL(ctx, ""))
}

func testConfigPolicy(t *testing.T, env *configEnv) {
	ctx, b := ctxT(t), env.b
	_, err := b.GetPolicy(ctx)
	require.True(t, obsclient.IsNotFound(err), "%v", err)
	assert.True(t, obsclient.IsCode(err, "NoSuchBucketPolicy"), "%v", err)
	policy := `{"Statement":[{"Sid":"pub","Effect":"Allow","Principal":{"ID":["*"]},"Action":["GetObject"],"Resource":["` + testBucket + `/*"]}]}`
	require.NoError(t, b.SetPolicy(ctx, policy))
	got, err := b.GetPolicy(ctx)
	require.NoError(t, err)
	assert.JSONEq(t, policy, got)
	out, err := env.sdk.GetBucketPolicy(testBucket)
	require.NoError(t, err)
	assert.JSONEq(t, policy, out.Policy)
	require.NoError(t, b.DeletePolicy(ctx))
	_, err = b.GetPolicy(ctx)
	assert.True(t, obsclient.IsNotFound(err), "%v", err)

	requireInvalid(t, b.SetPolicy(ctx, "not json"))
	requireInvalid(t, b.SetPolicy(ctx, `["a"]`))
	err = b.SetPolicy(ctx, `{"Version":"2008-10-17"}`) // no Statement: the server refuses
	assert.True(t, obsclient.IsCode(err, "MalformedPolicy"), "%v", err)
	assert.True(t, obsclient.IsInvalidConfig(err))
}

func testConfigLifecycle(t *testing.T, env *configEnv) {
	ctx, b := ctxT(t), env.b
	_, err := b.GetLifecycle(ctx)
	require.True(t, obsclient.IsNotFound(err), "%v", err)
	cfg := obsclient.LifecycleConfiguration{Rules: []obsclient.LifecycleRule{
		{
			ID: "archive-logs", Prefix: "logs/", Status: "Enabled",
			Transitions: []obsclient.LifecycleTransition{{Days: 30, StorageClass: "WARM"}, {Days: 60, StorageClass: "COLD"}},
			Expiration:  &obsclient.LifecycleExpiration{Days: 365},
			NoncurrentVersionTransitions: []obsclient.NoncurrentVersionTransition{
				{NoncurrentDays: 10, StorageClass: "WARM"}},
			NoncurrentVersionExpiration:    &obsclient.NoncurrentVersionExpiration{NoncurrentDays: 90},
			AbortIncompleteMultipartUpload: &obsclient.AbortIncompleteMultipartUpload{DaysAfterInitiation: 7},
		},
		{
			ID: "dated", Prefix: "tmp/", Status: "Disabled",
			Transitions: []obsclient.LifecycleTransition{{Date: "2030-01-01T00:00:00.000Z", StorageClass: "COLD"}},
			Expiration:  &obsclient.LifecycleExpiration{Date: "2031-01-01T00:00:00.000Z"},
		},
	}}
	require.NoError(t, b.SetLifecycle(ctx, cfg))
	got, err := b.GetLifecycle(ctx)
	require.NoError(t, err)
	assert.Equal(t, cfg, got)
	requireJSONRoundTrip(t, got)

	out, err := env.sdk.GetBucketLifecycleConfiguration(testBucket)
	require.NoError(t, err)
	require.Len(t, out.LifecycleRules, 2)
	r := out.LifecycleRules[0]
	assert.Equal(t, "archive-logs", r.ID)
	assert.Equal(t, "logs/", r.Prefix)
	assert.EqualValues(t, "Enabled", r.Status)
	require.Len(t, r.Transitions, 2)
	assert.Equal(t, 30, r.Transitions[0].Days)
	assert.Equal(t, "WARM", sdkClass(string(r.Transitions[0].StorageClass)))
	assert.Equal(t, "COLD", sdkClass(string(r.Transitions[1].StorageClass)))
	assert.Equal(t, 365, r.Expiration.Days)
	assert.Equal(t, 90, r.NoncurrentVersionExpiration.NoncurrentDays)
	assert.Equal(t, 7, r.AbortIncompleteMultipartUpload.DaysAfterInitiation)
	assert.Equal(t, 2030, out.LifecycleRules[1].Transitions[0].Date.Year())

	require.NoError(t, b.DeleteLifecycle(ctx))
	_, err = b.GetLifecycle(ctx)
	assert.True(t, obsclient.IsCode(err, "NoSuchLifecycleConfiguration"), "%v", err)

	requireInvalid(t, b.SetLifecycle(ctx, obsclient.LifecycleConfiguration{}))
	requireInvalid(t, b.SetLifecycle(ctx, obsclient.LifecycleConfiguration{Rules: []obsclient.LifecycleRule{{Status: "Enabled",
		Expiration: &obsclient.LifecycleExpiration{Date: "next tuesday"}}}}))
	requireInvalid(t, b.SetLifecycle(ctx, obsclient.LifecycleConfiguration{Rules: []obsclient.LifecycleRule{{Status: "On", Expiration: &obsclient.LifecycleExpiration{Days: 1}}}}))
	requireInvalid(t, b.SetLifecycle(ctx, obsclient.LifecycleConfiguration{Rules: []obsclient.LifecycleRule{{Status: "Enabled"}}}))
	requireInvalid(t, b.SetLifecycle(ctx, obsclient.LifecycleConfiguration{Rules: []obsclient.LifecycleRule{{Status: "Enabled",
		Expiration: &obsclient.LifecycleExpiration{Days: 1, Date: "2030-01-01T00:00:00.000Z"}}}}))
	// A storage class the server does not know is its InvalidArgument.
	err = b.SetLifecycle(ctx, obsclient.LifecycleConfiguration{Rules: []obsclient.LifecycleRule{{Status: "Enabled",
		Transitions: []obsclient.LifecycleTransition{{Days: 3, StorageClass: "PLATINUM"}}}}})
	assert.True(t, obsclient.IsCode(err, "InvalidArgument"), "%v", err)
}

func testConfigTagging(t *testing.T, env *configEnv) {
	ctx, b := ctxT(t), env.b
	_, err := b.GetBucketTagging(ctx)
	require.True(t, obsclient.IsNotFound(err), "%v", err)
	tags := []obsclient.Tag{{Key: "env", Value: "prod"}, {Key: "owner", Value: "ops team"}, {Key: "ü", Value: ""}}
	require.NoError(t, b.SetBucketTagging(ctx, tags))
	got, err := b.GetBucketTagging(ctx)
	require.NoError(t, err)
	assert.ElementsMatch(t, tags, got)
	requireJSONRoundTrip(t, got)
	out, err := env.sdk.GetBucketTagging(testBucket)
	require.NoError(t, err)
	require.Len(t, out.Tags, 3)
	sdkTags := map[string]string{}
	for _, tg := range out.Tags {
		sdkTags[tg.Key] = tg.Value
	}
	assert.Equal(t, map[string]string{"env": "prod", "owner": "ops team", "ü": ""}, sdkTags)
	require.NoError(t, b.DeleteBucketTagging(ctx))
	_, err = b.GetBucketTagging(ctx)
	assert.True(t, obsclient.IsCode(err, "NoSuchTagSet"), "%v", err)

	eleven := make([]obsclient.Tag, 11)
	for i := range eleven {
		eleven[i] = obsclient.Tag{Key: string(rune('a' + i)), Value: "v"}
	}
	require.NoError(t, b.SetBucketTagging(ctx, tags))
	require.NoError(t, b.SetBucketTagging(ctx, nil), "an empty list deletes")
	_, err = b.GetBucketTagging(ctx)
	assert.True(t, obsclient.IsNotFound(err), "%v", err)
	requireInvalid(t, b.SetBucketTagging(ctx, eleven))
	requireInvalid(t, b.SetBucketTagging(ctx, []obsclient.Tag{{Key: "", Value: "x"}}))
	requireInvalid(t, b.SetBucketTagging(ctx, []obsclient.Tag{{Key: "k", Value: "1"}, {Key: "k", Value: "2"}}))
	requireInvalid(t, b.SetBucketTagging(ctx, []obsclient.Tag{{Key: strings.Repeat("k", 129)}}))
	requireInvalid(t, b.SetBucketTagging(ctx, []obsclient.Tag{{Key: "k", Value: strings.Repeat("v", 257)}}))
}

func testConfigCORS(t *testing.T, env *configEnv) {
	ctx, b := ctxT(t), env.b
	_, err := b.GetCORS(ctx)
	require.True(t, obsclient.IsNotFound(err), "%v", err)
	cfg := obsclient.CORSConfiguration{Rules: []obsclient.CORSRule{
		{ID: "web", AllowedMethods: []string{"GET", "HEAD"}, AllowedOrigins: []string{"https://*.example.com"},
			AllowedHeaders: []string{"*"}, MaxAgeSeconds: 600, ExposeHeaders: []string{"ETag", "x-obs-request-id"}},
		{AllowedMethods: []string{"PUT"}, AllowedOrigins: []string{"*"}},
	}}
	require.NoError(t, b.SetCORS(ctx, cfg))
	got, err := b.GetCORS(ctx)
	require.NoError(t, err)
	assert.Equal(t, cfg, got)
	requireJSONRoundTrip(t, got)
	out, err := env.sdk.GetBucketCors(testBucket)
	require.NoError(t, err)
	require.Len(t, out.CorsRules, 2)
	assert.Equal(t, "web", out.CorsRules[0].ID)
	assert.Equal(t, []string{"GET", "HEAD"}, out.CorsRules[0].AllowedMethod)
	assert.Equal(t, 600, out.CorsRules[0].MaxAgeSeconds)
	assert.Equal(t, []string{"ETag", "x-obs-request-id"}, out.CorsRules[0].ExposeHeader)
	require.NoError(t, b.DeleteCORS(ctx))
	_, err = b.GetCORS(ctx)
	assert.True(t, obsclient.IsCode(err, "NoSuchCORSConfiguration"), "%v", err)

	requireInvalid(t, b.SetCORS(ctx, obsclient.CORSConfiguration{}))
	requireInvalid(t, b.SetCORS(ctx, obsclient.CORSConfiguration{Rules: []obsclient.CORSRule{{AllowedMethods: []string{"GET"}}}}))
	err = b.SetCORS(ctx, obsclient.CORSConfiguration{Rules: []obsclient.CORSRule{{AllowedMethods: []string{"PATCH"}, AllowedOrigins: []string{"*"}}}})
	assert.True(t, obsclient.IsCode(err, "InvalidRequest"), "%v", err)
}

func testConfigWebsite(t *testing.T, env *configEnv) {
	ctx, b := ctxT(t), env.b
	_, err := b.GetWebsite(ctx)
	require.True(t, obsclient.IsNotFound(err), "%v", err)
	cfg := obsclient.WebsiteConfiguration{
		IndexDocument: &obsclient.IndexDocument{Suffix: "index.html"},
		ErrorDocument: &obsclient.ErrorDocument{Key: "error.html"},
		RoutingRules: []obsclient.RoutingRule{
			{Condition: &obsclient.RoutingRuleCondition{KeyPrefixEquals: "docs/"},
				Redirect: obsclient.RoutingRuleRedirect{ReplaceKeyPrefixWith: "documents/", HttpRedirectCode: "301"}},
			{Condition: &obsclient.RoutingRuleCondition{HttpErrorCodeReturnedEquals: "404"},
				Redirect: obsclient.RoutingRuleRedirect{HostName: "www.example.com", Protocol: "https"}},
		},
	}
	require.NoError(t, b.SetWebsite(ctx, cfg))
	got, err := b.GetWebsite(ctx)
	require.NoError(t, err)
	assert.Equal(t, cfg, got)
	requireJSONRoundTrip(t, got)
	out, err := env.sdk.GetBucketWebsiteConfiguration(testBucket)
	require.NoError(t, err)
	assert.Equal(t, "index.html", out.IndexDocument.Suffix)
	assert.Equal(t, "error.html", out.ErrorDocument.Key)
	require.Len(t, out.RoutingRules, 2)
	assert.Equal(t, "docs/", out.RoutingRules[0].Condition.KeyPrefixEquals)
	assert.Equal(t, "documents/", out.RoutingRules[0].Redirect.ReplaceKeyPrefixWith)

	redirect := obsclient.WebsiteConfiguration{RedirectAllRequestsTo: &obsclient.RedirectAllRequestsTo{HostName: "example.com", Protocol: "https"}}
	require.NoError(t, b.SetWebsite(ctx, redirect))
	got, err = b.GetWebsite(ctx)
	require.NoError(t, err)
	assert.Equal(t, redirect, got)
	out, err = env.sdk.GetBucketWebsiteConfiguration(testBucket)
	require.NoError(t, err)
	assert.Equal(t, "example.com", out.RedirectAllRequestsTo.HostName)
	assert.EqualValues(t, "https", out.RedirectAllRequestsTo.Protocol)

	require.NoError(t, b.DeleteWebsite(ctx))
	_, err = b.GetWebsite(ctx)
	assert.True(t, obsclient.IsCode(err, "NoSuchWebsiteConfiguration"), "%v", err)
	requireInvalid(t, b.SetWebsite(ctx, obsclient.WebsiteConfiguration{}))
	requireInvalid(t, b.SetWebsite(ctx, obsclient.WebsiteConfiguration{RedirectAllRequestsTo: &obsclient.RedirectAllRequestsTo{HostName: "h"},
		IndexDocument: &obsclient.IndexDocument{Suffix: "index.html"}}))
}

func testConfigLogging(t *testing.T, env *configEnv) {
	ctx, b := ctxT(t), env.b
	got, err := b.GetLogging(ctx)
	require.NoError(t, err)
	assert.Equal(t, obsclient.BucketLoggingStatus{}, got)
	cfg := obsclient.BucketLoggingStatus{LoggingEnabled: &obsclient.LoggingEnabled{
		TargetBucket: testBucket, TargetPrefix: "access-logs/",
		TargetGrants: []obsclient.Grant{{Canned: "Everyone", Permission: "READ"}, {ID: "user-1", Permission: "FULL_CONTROL"}},
	}}
	if env.dialect == signer.OBS {
		cfg.Agency = "obs-logging-agency"
	}
	require.NoError(t, b.SetLogging(ctx, cfg))
	got, err = b.GetLogging(ctx)
	require.NoError(t, err)
	assert.Equal(t, cfg, got)
	requireJSONRoundTrip(t, got)
	out, err := env.sdk.GetBucketLoggingConfiguration(testBucket)
	require.NoError(t, err)
	assert.Equal(t, testBucket, out.TargetBucket)
	assert.Equal(t, "access-logs/", out.TargetPrefix)
	assert.Equal(t, cfg.Agency, out.Agency)
	require.Len(t, out.TargetGrants, 2)
	assert.EqualValues(t, "FULL_CONTROL", out.TargetGrants[1].Permission)
	assert.Equal(t, "user-1", out.TargetGrants[1].Grantee.ID)

	require.NoError(t, b.SetLogging(ctx, obsclient.BucketLoggingStatus{})) // disables
	got, err = b.GetLogging(ctx)
	require.NoError(t, err)
	assert.Nil(t, got.LoggingEnabled)
	requireInvalid(t, b.SetLogging(ctx, obsclient.BucketLoggingStatus{LoggingEnabled: &obsclient.LoggingEnabled{}}))
}

func testConfigNotification(t *testing.T, env *configEnv) {
	ctx, b := ctxT(t), env.b
	got, err := b.GetNotification(ctx)
	require.NoError(t, err)
	assert.Empty(t, got.TopicConfigurations)
	cfg := obsclient.NotificationConfiguration{TopicConfigurations: []obsclient.TopicConfiguration{{
		ID: "uploads", Topic: "urn:smn:cn-north-4:0123456789:obs-events",
		Events:      []string{"ObjectCreated:*", "ObjectRemoved:Delete"},
		FilterRules: []obsclient.FilterRule{{Name: "prefix", Value: "images/"}, {Name: "suffix", Value: ".jpg"}},
	}}}
	require.NoError(t, b.SetNotification(ctx, cfg))
	got, err = b.GetNotification(ctx)
	require.NoError(t, err)
	assert.Equal(t, cfg, got)
	requireJSONRoundTrip(t, got)
	out, err := env.sdk.GetBucketNotification(testBucket)
	require.NoError(t, err)
	require.Len(t, out.TopicConfigurations, 1)
	tc := out.TopicConfigurations[0]
	assert.Equal(t, "uploads", tc.ID)
	assert.Equal(t, cfg.TopicConfigurations[0].Topic, tc.Topic)
	assert.EqualValues(t, []obs.EventType{obs.ObjectCreatedAll, obs.ObjectRemovedDelete}, tc.Events)
	if env.dialect == signer.OBS { // the SDK reads S3 filters only in its S3 model
		require.Len(t, tc.FilterRules, 2)
		assert.Equal(t, "images/", tc.FilterRules[0].Value)
	}

	require.NoError(t, b.SetNotification(ctx, obsclient.NotificationConfiguration{})) // disables
	got, err = b.GetNotification(ctx)
	require.NoError(t, err)
	assert.Empty(t, got.TopicConfigurations)
	requireInvalid(t, b.SetNotification(ctx, obsclient.NotificationConfiguration{TopicConfigurations: []obsclient.TopicConfiguration{{Topic: "t"}}}))
	requireInvalid(t, b.SetNotification(ctx, obsclient.NotificationConfiguration{TopicConfigurations: []obsclient.TopicConfiguration{{
		Topic: "t", Events: []string{"ObjectCreated:*"}, FilterRules: []obsclient.FilterRule{{Name: "middle", Value: "x"}}}}}))
}

func testConfigEncryption(t *testing.T, env *configEnv) {
	ctx, b := ctxT(t), env.b
	_, err := b.GetEncryption(ctx)
	require.True(t, obsclient.IsNotFound(err), "%v", err)
	for _, cfg := range []obsclient.BucketEncryption{
		{SSEAlgorithm: "kms", KMSMasterKeyID: "cn-north-4:0123:key/abcd", ProjectID: "p-1"},
		{SSEAlgorithm: "AES256"},
	} {
		require.NoError(t, b.SetEncryption(ctx, cfg))
		got, err := b.GetEncryption(ctx)
		require.NoError(t, err)
		assert.Equal(t, cfg, got)
		requireJSONRoundTrip(t, got)
		out, err := env.sdk.GetBucketEncryption(testBucket)
		require.NoError(t, err)
		assert.Equal(t, cfg.KMSMasterKeyID, out.KMSMasterKeyID)
		assert.Contains(t, []string{cfg.SSEAlgorithm, "aws:" + cfg.SSEAlgorithm}, out.SSEAlgorithm)
	}
	require.NoError(t, b.DeleteEncryption(ctx))
	_, err = b.GetEncryption(ctx)
	assert.True(t, obsclient.IsCode(err, "NoSuchEncryptionConfiguration"), "%v", err)
	requireInvalid(t, b.SetEncryption(ctx, obsclient.BucketEncryption{SSEAlgorithm: "rot13"}))
	requireInvalid(t, b.SetEncryption(ctx, obsclient.BucketEncryption{SSEAlgorithm: "AES256", KMSMasterKeyID: "k"}))
}

func testConfigStorageClass(t *testing.T, env *configEnv) {
	ctx, b := ctxT(t), env.b
	c, err := b.GetBucketStorageClass(ctx)
	require.NoError(t, err)
	assert.Equal(t, "STANDARD", c)
	for _, class := range []string{"WARM", "COLD", "STANDARD"} {
		require.NoError(t, b.SetBucketStorageClass(ctx, class))
		c, err = b.GetBucketStorageClass(ctx)
		require.NoError(t, err)
		assert.Equal(t, class, c)
		info, err := b.Head(ctx)
		require.NoError(t, err)
		assert.Equal(t, class, info.StorageClass)
		out, err := env.sdk.GetBucketStoragePolicy(testBucket)
		require.NoError(t, err)
		assert.Equal(t, class, sdkClass(out.StorageClass))
	}
	requireInvalid(t, b.SetBucketStorageClass(ctx, ""))
	err = b.SetBucketStorageClass(ctx, "PLATINUM")
	require.Error(t, err)
	assert.Equal(t, http.StatusBadRequest, obsclient.StatusCode(err), "%v", err)
}

func testObjectTagging(t *testing.T, env *configEnv) {
	ctx, b := ctxT(t), env.b
	key := "tagged/a b+é.txt"
	_, err := b.PutObject(ctx, key, strings.NewReader("x"), 1, obsclient.WriteOptions{})
	require.NoError(t, err)
	got, err := b.GetObjectTagging(ctx, key, "")
	require.NoError(t, err)
	assert.Empty(t, got)
	tags := []obsclient.Tag{{Key: "class", Value: "secret"}, {Key: "team", Value: "a&b <c>"}}
	require.NoError(t, b.SetObjectTagging(ctx, key, "", tags))
	got, err = b.GetObjectTagging(ctx, key, "")
	require.NoError(t, err)
	assert.ElementsMatch(t, tags, got)
	require.NoError(t, b.DeleteObjectTagging(ctx, key, ""))
	got, err = b.GetObjectTagging(ctx, key, "")
	require.NoError(t, err)
	assert.Empty(t, got)

	_, err = b.GetObjectTagging(ctx, "tagged/missing", "")
	assert.True(t, obsclient.IsNotFound(err), "%v", err)
	err = b.SetObjectTagging(ctx, "tagged/missing", "", tags)
	assert.True(t, obsclient.IsNotFound(err), "%v", err)
	requireInvalid(t, b.SetObjectTagging(ctx, key, "", make([]obsclient.Tag, 11)))
	_, err = b.GetObjectTagging(ctx, "", "")
	require.Error(t, err)

	// Versioned: tags belong to one version.
	require.NoError(t, b.SetVersioning(ctx, obsclient.VersioningEnabled))
	t.Cleanup(func() { _ = b.SetVersioning(context.Background(), obsclient.VersioningSuspended) })
	v1, err := b.PutObject(ctx, key, strings.NewReader("1"), 1, obsclient.WriteOptions{})
	require.NoError(t, err)
	v2, err := b.PutObject(ctx, key, strings.NewReader("2"), 1, obsclient.WriteOptions{})
	require.NoError(t, err)
	require.NotEqual(t, v1.VersionID, v2.VersionID)
	require.NoError(t, b.SetObjectTagging(ctx, key, v1.VersionID, []obsclient.Tag{{Key: "v", Value: "1"}}))
	got, err = b.GetObjectTagging(ctx, key, v1.VersionID)
	require.NoError(t, err)
	assert.Equal(t, []obsclient.Tag{{Key: "v", Value: "1"}}, got)
	got, err = b.GetObjectTagging(ctx, key, "")
	require.NoError(t, err)
	assert.Empty(t, got, "the latest version has no tags")
	require.NoError(t, b.DeleteObjectTagging(ctx, key, v1.VersionID))
	got, err = b.GetObjectTagging(ctx, key, v1.VersionID)
	require.NoError(t, err)
	assert.Empty(t, got)
}

// testInvalidConfigDocuments sends documents the typed setters refuse and
// checks the emulator answers with the real error codes.
func testInvalidConfigDocuments(t *testing.T, env *configEnv) {
	ctx, b := ctxT(t), env.b
	cases := []struct {
		sub, doc string
		md5      bool
		code     string
	}{
		{"lifecycle", `<LifecycleConfiguration><Rule><Status>Enabled</Status>`, true, "MalformedXML"},
		{"lifecycle", `<Wrong/>`, true, "MalformedXML"},
		{"lifecycle", `<LifecycleConfiguration></LifecycleConfiguration>`, true, "MalformedXML"},
		{"lifecycle", `<LifecycleConfiguration><Rule><Prefix/><Status>Maybe</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>`, true, "MalformedXML"},
		{"lifecycle", `<LifecycleConfiguration><Rule><Prefix/><Status>Enabled</Status></Rule></LifecycleConfiguration>`, true, "InvalidRequest"},
		{"lifecycle", `<LifecycleConfiguration><Rule><Prefix/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>`, false, "InvalidRequest"},
		{"tagging", `<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag></TagSet></Tagging>`, false, "InvalidRequest"},
		{"tagging", `<Tagging><TagSet>` + strings.Repeat(`<Tag><Key>k</Key><Value>v</Value></Tag>`, 2) + `</TagSet></Tagging>`, true, "InvalidTag"},
		{"tagging", `<Tagging><TagSet>`, true, "MalformedXML"},
		{"cors", `<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>`, true, "MalformedXML"},
		{"cors", `<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod><AllowedOrigin>*</AllowedOrigin></CORSRule></CORSConfiguration>`, false, "InvalidRequest"},
		{"website", `<WebsiteConfiguration><ErrorDocument><Key>e</Key></ErrorDocument></WebsiteConfiguration>`, true, "InvalidArgument"},
		{"website", `<WebsiteConfiguration>`, true, "MalformedXML"},
		{"encryption", `<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>DES</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>`, true, "MalformedXML"},
		{"logging", `<NotLogging/>`, true, "MalformedXML"},
		{"notification", `<NotificationConfiguration>`, true, "MalformedXML"},
		{"versioning", `<VersioningConfiguration><Status>Off</Status></VersioningConfiguration>`, true, "MalformedXML"},
		{"storageClass", `<StorageClass></StorageClass>`, true, "MalformedXML"},
	}
	for _, c := range cases {
		err := obsclient.PutConfigRawForTest(ctx, b, c.sub, []byte(c.doc), c.md5)
		if assert.Error(t, err, "?%s %s", c.sub, c.doc) {
			assert.True(t, obsclient.IsCode(err, c.code), "?%s %s: got %v, want %s", c.sub, c.doc, err, c.code)
			assert.Equal(t, http.StatusBadRequest, obsclient.StatusCode(err), "?%s: %v", c.sub, err)
			assert.True(t, obsclient.IsInvalidConfig(err))
		}
	}
}

// TestBucketConfigMalformedReplies feeds every getter broken replies: each
// is a MalformedResponse error, never a panic.
func TestBucketConfigMalformedReplies(t *testing.T) {
	bodies := []string{"", "not xml", "<Unrelated/>", "<LifecycleConfiguration><Rule>", "<Tagging><TagSet><Tag><Key>",
		"<StoragePolicy/>", "<VersioningConfiguration><Status>", "{", "<a><b></a>"}
	for _, d := range dialects {
		for _, body := range bodies {
			srv := newEmulator(t)
			c := newClient(t, srv, clientOpts{dialect: d, mod: func(cfg *obsclient.Config) { cfg.Retries = -1 },
				wrap: func(http.RoundTripper) http.RoundTripper {
					return roundTripFunc(func(r *http.Request) (*http.Response, error) {
						return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/xml"}},
							Body: io.NopCloser(bytes.NewReader([]byte(body))), ContentLength: int64(len(body)), Request: r}, nil
					})
				}})
			b := mustBucket(t, c, testBucket)
			ctx := ctxT(t)
			gets := map[string]func() error{
				"versioning":   func() error { _, err := b.GetVersioning(ctx); return err },
				"acl":          func() error { _, err := b.GetBucketACL(ctx); return err },
				"policy":       func() error { _, err := b.GetPolicy(ctx); return err },
				"lifecycle":    func() error { _, err := b.GetLifecycle(ctx); return err },
				"tagging":      func() error { _, err := b.GetBucketTagging(ctx); return err },
				"cors":         func() error { _, err := b.GetCORS(ctx); return err },
				"website":      func() error { _, err := b.GetWebsite(ctx); return err },
				"logging":      func() error { _, err := b.GetLogging(ctx); return err },
				"notification": func() error { _, err := b.GetNotification(ctx); return err },
				"encryption":   func() error { _, err := b.GetEncryption(ctx); return err },
				"storageclass": func() error { _, err := b.GetBucketStorageClass(ctx); return err },
				"objtagging":   func() error { _, err := b.GetObjectTagging(ctx, "k", ""); return err },
			}
			for name, get := range gets {
				err := get()
				if !assert.Error(t, err, "%s %s %q", dialectName(d), name, body) {
					continue
				}
				var e *obsclient.Error
				require.True(t, errors.As(err, &e))
				assert.Equal(t, "MalformedResponse", e.Code, "%s %s %q: %v", dialectName(d), name, body, err)
			}
		}
	}
}

// TestBucketConfigSetBySDK is the other direction: the official SDK writes
// each configuration in its dialect's form and our client reads it back.
func TestBucketConfigSetBySDK(t *testing.T) {
	for _, d := range dialects {
		t.Run(dialectName(d), func(t *testing.T) {
			env := newConfigEnv(t, d)
			ctx, b, sdk := ctxT(t), env.b, env.sdk

			ver := &obs.SetBucketVersioningInput{Bucket: testBucket}
			ver.Status = obs.VersioningStatusEnabled
			_, err := sdk.SetBucketVersioning(ver)
			require.NoError(t, err)
			st, err := b.GetVersioning(ctx)
			require.NoError(t, err)
			assert.Equal(t, "Enabled", st)

			before, err := b.GetBucketACL(ctx)
			require.NoError(t, err)
			acl := &obs.SetBucketAclInput{Bucket: testBucket}
			acl.Owner.ID = before.Owner
			acl.Grants = []obs.Grant{
				{Grantee: obs.Grantee{Type: obs.GranteeUser, ID: before.Owner}, Permission: obs.PermissionFullControl},
				{Grantee: obs.Grantee{Type: obs.GranteeGroup, URI: obs.GroupAllUsers}, Permission: obs.PermissionRead, Delivered: true},
			}
			_, err = sdk.SetBucketAcl(acl)
			require.NoError(t, err)
			got, err := b.GetBucketACL(ctx)
			require.NoError(t, err)
			require.Len(t, got.Grants, 2)
			assert.Equal(t, obsclient.Grant{ID: before.Owner, Permission: "FULL_CONTROL"}, got.Grants[0])
			assert.Equal(t, obsclient.Grant{Canned: "Everyone", Permission: "READ", Delivered: d == signer.OBS}, got.Grants[1])

			lc := &obs.SetBucketLifecycleConfigurationInput{Bucket: testBucket}
			lc.LifecycleRules = []obs.LifecycleRule{{ID: "r1", Prefix: "logs/", Status: obs.RuleStatusEnabled,
				Transitions:                  []obs.Transition{{Days: 30, StorageClass: obs.StorageClassWarm}},
				Expiration:                   obs.Expiration{Days: 90},
				NoncurrentVersionTransitions: []obs.NoncurrentVersionTransition{{NoncurrentDays: 5, StorageClass: obs.StorageClassCold}},
				NoncurrentVersionExpiration:  obs.NoncurrentVersionExpiration{NoncurrentDays: 40},
			}}
			_, err = sdk.SetBucketLifecycleConfiguration(lc)
			require.NoError(t, err)
			lcGot, err := b.GetLifecycle(ctx)
			require.NoError(t, err)
			assert.Equal(t, obsclient.LifecycleConfiguration{Rules: []obsclient.LifecycleRule{{ID: "r1", Prefix: "logs/", Status: "Enabled",
				Transitions:                  []obsclient.LifecycleTransition{{Days: 30, StorageClass: "WARM"}},
				Expiration:                   &obsclient.LifecycleExpiration{Days: 90},
				NoncurrentVersionTransitions: []obsclient.NoncurrentVersionTransition{{NoncurrentDays: 5, StorageClass: "COLD"}},
				NoncurrentVersionExpiration:  &obsclient.NoncurrentVersionExpiration{NoncurrentDays: 40},
			}}}, lcGot)

			tg := &obs.SetBucketTaggingInput{Bucket: testBucket}
			tg.Tags = []obs.Tag{{Key: "k1", Value: "v1"}, {Key: "k2", Value: "v2"}}
			_, err = sdk.SetBucketTagging(tg)
			require.NoError(t, err)
			tags, err := b.GetBucketTagging(ctx)
			require.NoError(t, err)
			assert.ElementsMatch(t, []obsclient.Tag{{Key: "k1", Value: "v1"}, {Key: "k2", Value: "v2"}}, tags)

			cors := &obs.SetBucketCorsInput{Bucket: testBucket}
			cors.CorsRules = []obs.CorsRule{{ID: "c", AllowedMethod: []string{"GET"}, AllowedOrigin: []string{"*"}, MaxAgeSeconds: 30}}
			_, err = sdk.SetBucketCors(cors)
			require.NoError(t, err)
			cc, err := b.GetCORS(ctx)
			require.NoError(t, err)
			assert.Equal(t, obsclient.CORSConfiguration{Rules: []obsclient.CORSRule{{ID: "c", AllowedMethods: []string{"GET"},
				AllowedOrigins: []string{"*"}, MaxAgeSeconds: 30}}}, cc)

			lg := &obs.SetBucketLoggingConfigurationInput{Bucket: testBucket}
			lg.TargetBucket, lg.TargetPrefix = testBucket, "logs/"
			lg.TargetGrants = []obs.Grant{{Grantee: obs.Grantee{Type: obs.GranteeGroup, URI: obs.GroupAllUsers}, Permission: obs.PermissionRead}}
			if d == signer.OBS {
				lg.Agency = "agency"
			}
			_, err = sdk.SetBucketLoggingConfiguration(lg)
			require.NoError(t, err)
			ls, err := b.GetLogging(ctx)
			require.NoError(t, err)
			assert.Equal(t, lg.Agency, ls.Agency)
			require.NotNil(t, ls.LoggingEnabled)
			assert.Equal(t, obsclient.LoggingEnabled{TargetBucket: testBucket, TargetPrefix: "logs/",
				TargetGrants: []obsclient.Grant{{Canned: "Everyone", Permission: "READ"}}}, *ls.LoggingEnabled)

			nt := &obs.SetBucketNotificationInput{Bucket: testBucket}
			nt.TopicConfigurations = []obs.TopicConfiguration{{ID: "n", Topic: "urn:smn:x", Events: []obs.EventType{obs.ObjectCreatedAll},
				FilterRules: []obs.FilterRule{{Name: "suffix", Value: ".png"}}}}
			_, err = sdk.SetBucketNotification(nt)
			require.NoError(t, err)
			nc, err := b.GetNotification(ctx)
			require.NoError(t, err)
			assert.Equal(t, obsclient.NotificationConfiguration{TopicConfigurations: []obsclient.TopicConfiguration{{ID: "n", Topic: "urn:smn:x",
				Events: []string{"ObjectCreated:*"}, FilterRules: []obsclient.FilterRule{{Name: "suffix", Value: ".png"}}}}}, nc)

			enc := &obs.SetBucketEncryptionInput{Bucket: testBucket}
			enc.SSEAlgorithm, enc.KMSMasterKeyID = "kms", "key-1"
			if d != signer.OBS {
				enc.SSEAlgorithm = obs.DEFAULT_SSE_KMS_ENCRYPTION
			}
			_, err = sdk.SetBucketEncryption(enc)
			require.NoError(t, err)
			e, err := b.GetEncryption(ctx)
			require.NoError(t, err)
			assert.Equal(t, obsclient.BucketEncryption{SSEAlgorithm: "kms", KMSMasterKeyID: "key-1"}, e)

			sp := &obs.SetBucketStoragePolicyInput{Bucket: testBucket}
			sp.StorageClass = obs.StorageClassCold
			_, err = sdk.SetBucketStoragePolicy(sp)
			require.NoError(t, err)
			c, err := b.GetBucketStorageClass(ctx)
			require.NoError(t, err)
			assert.Equal(t, "COLD", c)

			web := &obs.SetBucketWebsiteConfigurationInput{Bucket: testBucket}
			web.IndexDocument.Suffix, web.ErrorDocument.Key = "index.html", "404.html"
			_, err = sdk.SetBucketWebsiteConfiguration(web)
			require.NoError(t, err)
			w, err := b.GetWebsite(ctx)
			require.NoError(t, err)
			assert.Equal(t, obsclient.WebsiteConfiguration{IndexDocument: &obsclient.IndexDocument{Suffix: "index.html"},
				ErrorDocument: &obsclient.ErrorDocument{Key: "404.html"}}, w)

			pol := `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"GetObject","Resource":"` + testBucket + `/*"}]}`
			_, err = sdk.SetBucketPolicy(&obs.SetBucketPolicyInput{Bucket: testBucket, Policy: pol})
			require.NoError(t, err)
			p, err := b.GetPolicy(ctx)
			require.NoError(t, err)
			assert.JSONEq(t, pol, p)
		})
	}
}

// TestConfigJSONShapes pins the JSON form the file system's control files
// expose (PascalCase names as in the OBS/S3 documents, empty parts omitted).
func TestConfigJSONShapes(t *testing.T) {
	cases := []struct {
		v    any
		want string
	}{
		{obsclient.LifecycleConfiguration{Rules: []obsclient.LifecycleRule{{ID: "r", Prefix: "p/", Status: "Enabled",
			Transitions: []obsclient.LifecycleTransition{{Days: 30, StorageClass: "WARM"}},
			Expiration:  &obsclient.LifecycleExpiration{Date: "2030-01-01T00:00:00.000Z"}}}},
			`{"Rules":[{"ID":"r","Prefix":"p/","Status":"Enabled","Transitions":[{"Days":30,"StorageClass":"WARM"}],"Expiration":{"Date":"2030-01-01T00:00:00.000Z"}}]}`},
		{[]obsclient.Tag{{Key: "k", Value: "v"}}, `[{"Key":"k","Value":"v"}]`},
		{obsclient.CORSConfiguration{Rules: []obsclient.CORSRule{{AllowedMethods: []string{"GET"}, AllowedOrigins: []string{"*"}}}},
			`{"CORSRules":[{"AllowedMethods":["GET"],"AllowedOrigins":["*"]}]}`},
		{obsclient.WebsiteConfiguration{IndexDocument: &obsclient.IndexDocument{Suffix: "index.html"}},
			`{"IndexDocument":{"Suffix":"index.html"}}`},
		{obsclient.BucketLoggingStatus{LoggingEnabled: &obsclient.LoggingEnabled{TargetBucket: "b",
			TargetGrants: []obsclient.Grant{{Canned: "Everyone", Permission: "READ"}}}},
			`{"LoggingEnabled":{"TargetBucket":"b","TargetGrants":[{"Canned":"Everyone","Permission":"READ"}]}}`},
		{obsclient.NotificationConfiguration{TopicConfigurations: []obsclient.TopicConfiguration{{Topic: "urn", Events: []string{"ObjectCreated:*"}}}},
			`{"TopicConfigurations":[{"Topic":"urn","Events":["ObjectCreated:*"]}]}`},
		{obsclient.BucketEncryption{SSEAlgorithm: "kms"}, `{"SSEAlgorithm":"kms"}`},
		{obsclient.ACL{Owner: "o", Grants: []obsclient.Grant{{ID: "u", Permission: "READ", Delivered: true}}},
			`{"Owner":"o","Grants":[{"ID":"u","Permission":"READ","Delivered":true}]}`},
	}
	for _, c := range cases {
		p, err := json.Marshal(c.v)
		require.NoError(t, err)
		assert.JSONEq(t, c.want, string(p))
	}
}
