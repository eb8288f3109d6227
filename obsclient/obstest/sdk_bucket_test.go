package obstest

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-obs/obs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Bucket-level APIs, presigned URLs and PFS through the official SDK.

func TestSDKBucketBasics(t *testing.T) {
	forEachEnv(t, Options{}, func(t *testing.T, f *fixture) {
		_, err := f.c.HeadBucket(testBucket)
		require.NoError(t, err)
		_, err = f.c.HeadBucket("nosuchbucket")
		obsErr(t, err, 404, "NoSuchBucket")

		// An actual request with Origin matches rules by its own method (HEAD).
		md, err := f.c.GetBucketMetadata(&obs.GetBucketMetadataInput{Bucket: testBucket})
		require.NoError(t, err)
		assert.Equal(t, "cn-north-4", md.Location)
		assert.Equal(t, obs.StorageClassStandard, md.StorageClass)
		assert.Equal(t, obs.FSStatusDisabled, md.FSStatus)
		fs, err := f.c.GetBucketFSStatus(&obs.GetBucketFSStatusInput{GetBucketMetadataInput: obs.GetBucketMetadataInput{Bucket: testFS}})
		require.NoError(t, err)
		// SDK quirk: GetBucketFSStatusOutput.FSStatus shadows the embedded
		// field and is looked up under the unstripped header name, so it
		// stays empty; the embedded metadata field carries the answer.
		assert.Equal(t, obs.FSStatusEnabled, fs.GetBucketMetadataOutput.FSStatus)

		loc, err := f.c.GetBucketLocation(testBucket)
		require.NoError(t, err)
		assert.Equal(t, "cn-north-4", loc.Location)

		lb, err := f.c.ListBuckets(&obs.ListBucketsInput{QueryLocation: true})
		require.NoError(t, err)
		var names []string
		for _, b := range lb.Buckets {
			names = append(names, b.Name)
		}
		assert.ElementsMatch(t, []string{testBucket, testBucket2, testFS}, names)

		_, err = f.c.SetBucketStoragePolicy(&obs.SetBucketStoragePolicyInput{Bucket: testBucket,
			BucketStoragePolicy: obs.BucketStoragePolicy{StorageClass: obs.StorageClassWarm}})
		require.NoError(t, err)
		sp, err := f.c.GetBucketStoragePolicy(testBucket)
		require.NoError(t, err)
		assert.Contains(t, []string{"WARM", "STANDARD_IA"}, sp.StorageClass)
		f.put(t, testBucket, "inherits", []byte("x"), nil)
		o, _ := f.srv.Object(testBucket, "inherits")
		assert.Equal(t, "WARM", o.StorageClass, "objects inherit the bucket's default class")

		_, err = f.c.SetBucketAcl(&obs.SetBucketAclInput{Bucket: testBucket, ACL: obs.AclPublicRead})
		require.NoError(t, err)
		ba, err := f.c.GetBucketAcl(testBucket)
		require.NoError(t, err)
		assert.True(t, hasAllUsersRead(ba.Grants), "grants %+v", ba.Grants)
	})
}

func TestSDKBucketConfigs(t *testing.T) {
	forEachEnv(t, Options{}, func(t *testing.T, f *fixture) {
		_, err := f.c.GetBucketPolicy(testBucket)
		obsErr(t, err, 404, "NoSuchBucketPolicy")
		policy := `{"Statement":[{"Sid":"1","Effect":"Allow","Principal":{"ID":["*"]},"Action":["GetObject"],"Resource":["bkt/*"]}]}`
		_, err = f.c.SetBucketPolicy(&obs.SetBucketPolicyInput{Bucket: testBucket, Policy: policy})
		require.NoError(t, err)
		gp, err := f.c.GetBucketPolicy(testBucket)
		require.NoError(t, err)
		assert.JSONEq(t, policy, gp.Policy)
		_, err = f.c.SetBucketPolicy(&obs.SetBucketPolicyInput{Bucket: testBucket, Policy: "{not json"})
		obsErr(t, err, 400, "MalformedPolicy")
		_, err = f.c.DeleteBucketPolicy(testBucket)
		require.NoError(t, err)
		_, err = f.c.GetBucketPolicy(testBucket)
		obsErr(t, err, 404, "NoSuchBucketPolicy")

		_, err = f.c.GetBucketLifecycleConfiguration(testBucket)
		obsErr(t, err, 404, "NoSuchLifecycleConfiguration")
		lc := obs.BucketLifecycleConfiguration{LifecycleRules: []obs.LifecycleRule{{ID: "r1", Prefix: "logs/", Status: obs.RuleStatusEnabled,
			Expiration: obs.Expiration{Days: 30}, Transitions: []obs.Transition{{Days: 10, StorageClass: obs.StorageClassCold}}}}}
		_, err = f.c.SetBucketLifecycleConfiguration(&obs.SetBucketLifecycleConfigurationInput{Bucket: testBucket, BucketLifecycleConfiguration: lc})
		require.NoError(t, err)
		glc, err := f.c.GetBucketLifecycleConfiguration(testBucket)
		require.NoError(t, err)
		require.Len(t, glc.LifecycleRules, 1)
		assert.Equal(t, 30, glc.LifecycleRules[0].Expiration.Days)
		_, err = f.c.DeleteBucketLifecycleConfiguration(testBucket)
		require.NoError(t, err)

		_, err = f.c.GetBucketTagging(testBucket)
		obsErr(t, err, 404, "NoSuchTagSet")
		tags := obs.BucketTagging{Tags: []obs.Tag{{Key: "team", Value: "storage"}}}
		_, err = f.c.SetBucketTagging(&obs.SetBucketTaggingInput{Bucket: testBucket, BucketTagging: tags})
		require.NoError(t, err)
		_, err = f.c.SetBucketTagging(&obs.SetBucketTaggingInput{Bucket: testBucket, BucketTagging: tags, EnableSha256: true})
		require.NoError(t, err, "Content-SHA256 replaces Content-MD5")
		gt, err := f.c.GetBucketTagging(testBucket)
		require.NoError(t, err)
		require.Len(t, gt.Tags, 1)
		assert.Equal(t, "storage", gt.Tags[0].Value)
		many := obs.BucketTagging{}
		for i := 0; i < 11; i++ {
			many.Tags = append(many.Tags, obs.Tag{Key: "k" + string(rune('a'+i)), Value: "v"})
		}
		_, err = f.c.SetBucketTagging(&obs.SetBucketTaggingInput{Bucket: testBucket, BucketTagging: many})
		obsErr(t, err, 400, "InvalidTag")

		cors := obs.BucketCors{CorsRules: []obs.CorsRule{{AllowedOrigin: []string{"*"}, AllowedMethod: []string{"GET", "PUT", "HEAD"}, MaxAgeSeconds: 100}}}
		_, err = f.c.SetBucketCors(&obs.SetBucketCorsInput{Bucket: testBucket, BucketCors: cors})
		require.NoError(t, err)
		gc, err := f.c.GetBucketCors(testBucket)
		require.NoError(t, err)
		require.Len(t, gc.CorsRules, 1)
		assert.Equal(t, []string{"GET", "PUT", "HEAD"}, gc.CorsRules[0].AllowedMethod)
		// An actual request with Origin matches rules by its own method (HEAD).
		md, err := f.c.GetBucketMetadata(&obs.GetBucketMetadataInput{Bucket: testBucket, Origin: "https://app.example"})
		require.NoError(t, err)
		assert.Equal(t, "*", md.AllowOrigin)
		assert.Equal(t, 100, md.MaxAgeSeconds)
		client := f.httpClient()
		pre, _ := http.NewRequest(http.MethodOptions, f.objectURL(testBucket, "k"), nil)
		pre.Header.Set("Origin", "https://app.example")
		pre.Header.Set("Access-Control-Request-Method", "PUT")
		resp, err := client.Do(pre)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, 200, resp.StatusCode, "preflight allowed")
		assert.Equal(t, "GET,PUT,HEAD", resp.Header.Get("Access-Control-Allow-Methods"))
		pre.Header.Set("Access-Control-Request-Method", "DELETE")
		resp, err = client.Do(pre)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, 403, resp.StatusCode, "DELETE is not in the rule")
		_, err = f.c.DeleteBucketCors(testBucket)
		require.NoError(t, err)
		_, err = f.c.GetBucketCors(testBucket)
		obsErr(t, err, 404, "NoSuchCORSConfiguration")

		_, err = f.c.SetBucketEncryption(&obs.SetBucketEncryptionInput{Bucket: testBucket,
			BucketEncryptionConfiguration: obs.BucketEncryptionConfiguration{SSEAlgorithm: "kms"}})
		require.NoError(t, err)
		ge, err := f.c.GetBucketEncryption(testBucket)
		require.NoError(t, err)
		assert.Equal(t, "kms", ge.SSEAlgorithm)
		_, err = f.c.DeleteBucketEncryption(testBucket)
		require.NoError(t, err)
		_, err = f.c.GetBucketEncryption(testBucket)
		obsErr(t, err, 404, "NoSuchEncryptionConfiguration")

		web := obs.BucketWebsiteConfiguration{IndexDocument: obs.IndexDocument{Suffix: "index.html"}}
		_, err = f.c.SetBucketWebsiteConfiguration(&obs.SetBucketWebsiteConfigurationInput{Bucket: testBucket, BucketWebsiteConfiguration: web})
		require.NoError(t, err)
		gw, err := f.c.GetBucketWebsiteConfiguration(testBucket)
		require.NoError(t, err)
		assert.Equal(t, "index.html", gw.IndexDocument.Suffix)

		lg, err := f.c.GetBucketLoggingConfiguration(testBucket)
		require.NoError(t, err, "logging is never 404: an empty status means disabled")
		assert.Empty(t, lg.TargetBucket)
	})
}

func TestSDKPresignedURLs(t *testing.T) {
	forEachEnv(t, Options{}, func(t *testing.T, f *fixture) {
		f.put(t, testBucket, "shared/file a+b.txt", []byte("presigned body"), nil)
		out, err := f.c.CreateSignedUrl(&obs.CreateSignedUrlInput{Method: obs.HttpMethodGet, Bucket: testBucket,
			Key: "shared/file a+b.txt", Expires: 60})
		require.NoError(t, err)
		client := f.httpClient()
		resp, body := doURL(t, client, http.MethodGet, out.SignedUrl, out.ActualSignedRequestHeaders, "")
		require.Equal(t, 200, resp.StatusCode, "body: %s\nurl: %s", body, out.SignedUrl)
		assert.Equal(t, "presigned body", body)

		put, err := f.c.CreateSignedUrl(&obs.CreateSignedUrlInput{Method: obs.HttpMethodPut, Bucket: testBucket,
			Key: "up", Expires: 60, Headers: map[string]string{"Content-Type": "text/plain"}})
		require.NoError(t, err)
		resp, body = doURL(t, client, http.MethodPut, put.SignedUrl, put.ActualSignedRequestHeaders, "uploaded")
		require.Equal(t, 200, resp.StatusCode, "body: %s", body)
		o, ok := f.srv.Object(testBucket, "up")
		require.True(t, ok)
		assert.Equal(t, "text/plain", o.Headers["Content-Type"])

		f.srv.SetClock(func() time.Time { return time.Now().Add(2 * time.Minute) })
		resp, body = doURL(t, client, http.MethodGet, out.SignedUrl, out.ActualSignedRequestHeaders, "")
		assert.Equal(t, 403, resp.StatusCode)
		assert.Contains(t, body, "<Code>AccessDenied</Code>")
		f.srv.SetClock(nil)

		tampered := strings.Replace(out.SignedUrl, "file%20a", "file%20b", 1)
		resp, _ = doURL(t, client, http.MethodGet, tampered, out.ActualSignedRequestHeaders, "")
		assert.Equal(t, 403, resp.StatusCode)
	})
}

func TestSDKAnonymous(t *testing.T) {
	forEachEnv(t, Options{}, func(t *testing.T, f *fixture) {
		f.put(t, testBucket, "private", []byte("secret"), nil)
		f.put(t, testBucket, "public", []byte("hello"), func(in *obs.PutObjectInput) { in.ACL = obs.AclPublicRead })
		client := f.httpClient()
		base := f.objectURL(testBucket, "")
		resp, body := doURL(t, client, http.MethodGet, base+"private", nil, "")
		assert.Equal(t, 403, resp.StatusCode)
		assert.Contains(t, body, "<Code>AccessDenied</Code>")
		resp, body = doURL(t, client, http.MethodGet, base+"public", nil, "")
		assert.Equal(t, 200, resp.StatusCode)
		assert.Equal(t, "hello", body)
		resp, _ = doURL(t, client, http.MethodGet, base, nil, "")
		assert.Equal(t, 403, resp.StatusCode, "anonymous listing of a private bucket")

		policy := `{"Statement":[{"Effect":"Allow","Principal":{"ID":["*"]},"Action":["GetObject"],"Resource":["` + testBucket + `/pri*"]}]}`
		_, err := f.c.SetBucketPolicy(&obs.SetBucketPolicyInput{Bucket: testBucket, Policy: policy})
		require.NoError(t, err)
		resp, body = doURL(t, client, http.MethodGet, base+"private", nil, "")
		assert.Equal(t, 200, resp.StatusCode, "a public-read policy opens matching keys")
		assert.Equal(t, "secret", body)
		resp, _ = doURL(t, client, http.MethodGet, base, nil, "")
		assert.Equal(t, 403, resp.StatusCode, "the policy does not grant ListBucket")
	})
}

func TestSDKParallelFileSystem(t *testing.T) {
	forEachEnv(t, Options{}, func(t *testing.T, f *fixture) {
		for _, k := range []string{"d/", "d/a", "d/sub/b"} {
			f.put(t, testFS, k, []byte(k), nil)
		}
		f.put(t, testFS, "file", []byte("0123456789"), nil)
		_, err := f.c.RenameFile(&obs.RenameFileInput{Bucket: testFS, Key: "file", NewObjectKey: "renamed"})
		require.NoError(t, err)
		assert.Equal(t, []string{"d/", "d/a", "d/sub/b", "renamed"}, f.srv.Keys(testFS, ""))
		_, err = f.c.RenameFolder(&obs.RenameFolderInput{Bucket: testFS, Key: "d", NewObjectKey: "e"})
		require.NoError(t, err)
		assert.Equal(t, []string{"e/", "e/a", "e/sub/b", "renamed"}, f.srv.Keys(testFS, ""))
		_, err = f.c.DeleteObject(&obs.DeleteObjectInput{Bucket: testFS, Key: "e/"})
		obsErr(t, err, 409, "DirectoryNotEmpty")

		_, err = f.c.ModifyObject(&obs.ModifyObjectInput{Bucket: testFS, Key: "renamed", Position: 2, Body: strings.NewReader("ab"), ContentLength: 2})
		require.NoError(t, err)
		got, _ := f.srv.ObjectBody(testFS, "renamed")
		assert.Equal(t, "01ab456789", string(got))

		in := &obs.AppendObjectInput{Position: 0, Body: strings.NewReader("x")}
		in.Bucket, in.Key = testFS, "app"
		_, err = f.c.AppendObject(in)
		obsErr(t, err, 405, "FsNotSupport")
		_, err = f.c.RenameFile(&obs.RenameFileInput{Bucket: testBucket, Key: "x", NewObjectKey: "y"})
		obsErr(t, err, 405, "")
	})
}

// httpClient is a plain client dialling the emulator (for presigned URLs).
func (f *fixture) httpClient() *http.Client {
	tr := &http.Transport{DialContext: dialTo(f.hs.Listener.Addr().String())}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// objectURL is the URL of bucket/key (key already escaped) in the fixture's style.
func (f *fixture) objectURL(bucket, escapedKey string) string {
	if f.env.virtual {
		return "http://" + bucket + "." + testDomain + "/" + escapedKey
	}
	return f.hs.URL + "/" + bucket + "/" + escapedKey
}

// doURL sends a request and returns the response and its body.
func doURL(t *testing.T, c *http.Client, method, url string, h http.Header, body string) (*http.Response, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	require.NoError(t, err)
	for k, v := range h {
		if !strings.EqualFold(k, "Host") {
			req.Header[k] = v
		}
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, string(data)
}
