package obsclient_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obsfs/obsfs/obsclient"
	"github.com/obsfs/obsfs/obsclient/signer"
)

// These tests feed the client replies the emulator would never send
// (garbage, namespaces, <Error> inside a 200) from a tiny local server:
// they test the response parser, over real HTTP.

func fakeBucket(t *testing.T, h http.HandlerFunc) (*obsclient.Bucket, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	c, err := obsclient.New(obsclient.Config{Endpoint: srv.URL, Credentials: signer.Credentials{AccessKey: "ak", SecretKey: "sk"},
		RetryBaseDelay: 1})
	require.NoError(t, err)
	b, err := c.Bucket("bkt")
	require.NoError(t, err)
	return b, &n
}

func reply(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-obs-request-id", "RID1")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

func TestMalformedRepliesAreErrors(t *testing.T) {
	bodies := []string{
		"", "garbage", "<ListBucketResult><Contents><Key>a</Key>", "<?xml version=\"1.0\"?><", "\x00\x01\x02",
		"<ListBucketResult><MaxKeys>notanumber</MaxKeys></ListBucketResult>",
		"<ListBucketResult><Contents><Size>-x</Size></Contents></ListBucketResult>",
		"<a><b></a></b>", strings.Repeat("<x>", 10000),
	}
	for _, body := range bodies {
		b, _ := fakeBucket(t, reply(200, body))
		c := context.Background()
		_, err := b.ListObjects(c, obsclient.ListOptions{})
		assert.Error(t, err, "%q", body)
		_, err = b.ListVersions(c, obsclient.ListVersionsOptions{})
		assert.Error(t, err, "%q", body)
		_, err = b.InitiateMultipartUpload(c, "k", obsclient.WriteOptions{})
		assert.Error(t, err, "%q", body)
		_, err = b.CopyObject(c, "k", obsclient.CopySource{Key: "s"}, obsclient.CopyOptions{})
		assert.Error(t, err, "%q", body)
		_, err = b.UploadPartCopy(c, "k", "u", 1, obsclient.CopySource{Key: "s"}, obsclient.Range{Start: 0, End: 9})
		assert.Error(t, err, "%q", body)
		_, err = b.CompleteMultipartUpload(c, "k", "u", []obsclient.Part{{Number: 1, ETag: "e"}})
		assert.Error(t, err, "%q", body)
		_, err = b.GetObjectACL(c, "k", "")
		assert.Error(t, err, "%q", body)
		_, err = b.StorageInfo(c)
		assert.Error(t, err, "%q", body)
		_, err = b.Quota(c)
		assert.Error(t, err, "%q", body)
		_, err = b.ListParts(c, "k", "u")
		assert.Error(t, err, "%q", body)
		_, err = b.ListMultipartUploads(c, obsclient.ListUploadsOptions{})
		assert.Error(t, err, "%q", body)
		e, ok := obsclient.AsError(err)
		require.True(t, ok)
		assert.Equal(t, "RID1", e.RequestID)
	}
}

func TestErrorReplies(t *testing.T) {
	// An <Error> in any namespace, with status 404.
	b, _ := fakeBucket(t, reply(404, `<?xml version="1.0" encoding="UTF-8"?>
<Error xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Code>NoSuchKey</Code><Message>gone</Message>
<Resource>/bkt/k</Resource><RequestId>RID9</RequestId><HostId>HID</HostId></Error>`))
	_, err := b.GetObject(context.Background(), "k", obsclient.GetOptions{})
	e, ok := obsclient.AsError(err)
	require.True(t, ok)
	assert.Equal(t, &obsclient.Error{Op: "GetObject", Key: "k", StatusCode: 404, Code: "NoSuchKey", Message: "gone",
		RequestID: "RID9", HostID: "HID", Resource: "/bkt/k"}, stripUnexported(e))
	assert.True(t, obsclient.IsNotFound(err))
	assert.Contains(t, err.Error(), "NoSuchKey")

	// HEAD errors come from headers.
	b, _ = fakeBucket(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-obs-error-code", "NoSuchBucket")
		w.Header().Set("x-obs-error-message", "no bucket")
		w.WriteHeader(404)
	})
	_, err = b.HeadObject(context.Background(), "k", obsclient.GetOptions{})
	assert.True(t, obsclient.IsCode(err, "NoSuchBucket"), "%v", err)

	// A 200 whose body is an <Error> (copy, upload part copy, complete).
	for _, code := range []string{"InternalError", "AccessDenied"} {
		b, n := fakeBucket(t, reply(200, `<Error><Code>`+code+`</Code><Message>m</Message></Error>`))
		_, err = b.CopyObject(context.Background(), "k", obsclient.CopySource{Key: "s"}, obsclient.CopyOptions{})
		assert.True(t, obsclient.IsCode(err, code), "%v", err)
		if code == "InternalError" {
			assert.EqualValues(t, 4, n.Load(), "copy is idempotent: retried")
		} else {
			assert.EqualValues(t, 1, n.Load())
		}
		_, err = b.UploadPartCopy(context.Background(), "k", "u", 1, obsclient.CopySource{Key: "s"}, obsclient.Range{End: -1})
		assert.True(t, obsclient.IsCode(err, code), "%v", err)
	}

	// A CopyPartResult without ETag is a failure.
	b, _ = fakeBucket(t, reply(200, `<CopyPartResult><LastModified>2024-01-01T00:00:00.000Z</LastModified></CopyPartResult>`))
	_, err = b.UploadPartCopy(context.Background(), "k", "u", 1, obsclient.CopySource{Key: "s"}, obsclient.Range{End: -1})
	assert.Error(t, err)

	// 503 SlowDown with Retry-After is retried; garbage error bodies too.
	b, n := fakeBucket(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(503)
		io.WriteString(w, "<<<not xml")
	})
	_, err = b.HeadObject(context.Background(), "k", obsclient.GetOptions{})
	assert.Equal(t, 503, obsclient.StatusCode(err))
	assert.EqualValues(t, 4, n.Load())
}

func stripUnexported(e *obsclient.Error) *obsclient.Error {
	return &obsclient.Error{Op: e.Op, Key: e.Key, StatusCode: e.StatusCode, Code: e.Code, Message: e.Message,
		RequestID: e.RequestID, HostID: e.HostID, Resource: e.Resource, Err: e.Err}
}

func TestListParsing(t *testing.T) {
	// S3 namespace, encoded keys, no NextMarker on a truncated page.
	var markers []string
	b, _ := fakeBucket(t, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		markers = append(markers, q.Get("marker"))
		assert.Equal(t, "url", q.Get("encoding-type"))
		assert.Equal(t, "1000", q.Get("max-keys"))
		if q.Get("marker") == "" {
			io.WriteString(w, `<?xml version="1.0"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
<Name>bkt</Name><IsTruncated>true</IsTruncated><EncodingType>url</EncodingType>
<Contents><Key>a%20b%2Bc</Key><LastModified>2018-01-01T00:00:00.000Z</LastModified><ETag>"abc"</ETag><Size>3</Size>
<Owner><ID>o</ID></Owner><StorageClass>STANDARD_IA</StorageClass><Type>APPENDABLE</Type></Contents>
<CommonPrefixes><Prefix>d%C3%A9/</Prefix></CommonPrefixes></ListBucketResult>`)
			return
		}
		io.WriteString(w, `<ListBucketResult><IsTruncated>false</IsTruncated><EncodingType>url</EncodingType>
<Contents><Key>z</Key><Size>1</Size></Contents></ListBucketResult>`)
	})
	l := b.NewLister(obsclient.ListOptions{MaxKeys: 5000})
	p1, err := l.Next(context.Background())
	require.NoError(t, err)
	require.Len(t, p1.Objects, 1)
	o := p1.Objects[0]
	assert.Equal(t, "a b+c", o.Key)
	assert.Equal(t, "abc", o.ETag)
	assert.Equal(t, "WARM", o.StorageClass)
	assert.True(t, o.Appendable)
	assert.Equal(t, "o", o.Owner)
	assert.Equal(t, []string{"dé/"}, p1.CommonPrefixes)
	assert.Equal(t, "dé/", p1.NextMarker, "falls back to the greatest key or prefix")
	require.True(t, l.More())
	p2, err := l.Next(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "z", p2.Objects[0].Key)
	assert.False(t, l.More())
	assert.Equal(t, []string{"", "dé/"}, markers)
}

// A server that ignores encoding-type=url (versitygw) does not echo it and
// sends raw keys: they are taken as sent, so "+" and "%" survive.
func TestListRawKeysWithoutEncodingType(t *testing.T) {
	b, _ := fakeBucket(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `<ListBucketResult><IsTruncated>false</IsTruncated><EncodingType></EncodingType>
<Contents><Key>plus+sign %41.txt</Key><Size>1</Size></Contents><CommonPrefixes><Prefix>a+b%/</Prefix></CommonPrefixes></ListBucketResult>`)
	})
	res, err := b.ListObjects(context.Background(), obsclient.ListOptions{Delimiter: "/"})
	require.NoError(t, err)
	require.Len(t, res.Objects, 1)
	assert.Equal(t, "plus+sign %41.txt", res.Objects[0].Key)
	assert.Equal(t, []string{"a+b%/"}, res.CommonPrefixes)
}

func TestDeleteObjectsPartialFailure(t *testing.T) {
	var got []string
	b, _ := fakeBucket(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got = append(got, string(body))
		assert.NotEmpty(t, r.Header.Get("Content-MD5"))
		assert.Equal(t, int64(len(body)), r.ContentLength)
		io.WriteString(w, `<DeleteResult xmlns="http://obs.myhwclouds.com/doc/2015-06-30/"><Error><Key>b</Key><Code>AccessDenied</Code><Message>no</Message></Error></DeleteResult>`)
	})
	deleted, err := b.DeleteObjects(context.Background(), []obsclient.ObjectID{{Key: "a"}, {Key: "b"}, {Key: "c", VersionID: "v1"}})
	var de *obsclient.DeleteErrors
	require.True(t, errors.As(err, &de), "%v", err)
	assert.Equal(t, []obsclient.DeleteError{{Key: "b", Code: "AccessDenied", Message: "no"}}, de.Errors)
	assert.Equal(t, []obsclient.DeleteResult{{Key: "a"}, {Key: "c", VersionID: "v1"}}, deleted)
	require.Len(t, got, 1)
	assert.Contains(t, got[0], "<Quiet>true</Quiet>")
	assert.Contains(t, got[0], "<VersionId>v1</VersionId>")
}

func TestACLParsingS3Form(t *testing.T) {
	b, _ := fakeBucket(t, reply(200, `<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<Owner><ID>owner1</ID><DisplayName>x</DisplayName></Owner><AccessControlList>
<Grant><Grantee xsi:type="CanonicalUser"><ID>owner1</ID></Grantee><Permission>FULL_CONTROL</Permission></Grant>
<Grant><Grantee xsi:type="Group"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission></Grant>
</AccessControlList></AccessControlPolicy>`))
	acl, err := b.GetObjectACL(context.Background(), "k", "")
	require.NoError(t, err)
	assert.Equal(t, obsclient.ACL{Owner: "owner1", Grants: []obsclient.Grant{
		{ID: "owner1", Permission: "FULL_CONTROL"}, {Canned: "Everyone", Permission: "READ"}}}, acl)
}

func TestStalledBodyFails(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(200)
		io.WriteString(w, "0123456789")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c, err := obsclient.New(obsclient.Config{Endpoint: srv.URL, Credentials: creds, RequestTimeout: 200 * time.Millisecond})
	require.NoError(t, err)
	r, err := mustBucket(t, c, "bkt").GetObject(context.Background(), "k", obsclient.GetOptions{})
	require.NoError(t, err)
	defer r.Close()
	start := time.Now()
	got, err := io.ReadAll(r)
	assert.Equal(t, "0123456789", string(got))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "stalled")
	assert.Less(t, time.Since(start), 3*time.Second)
}

func TestSlowConsumerIsNotAStall(t *testing.T) {
	srv := newEmulator(t)
	const timeout = time.Second // generous: a loaded machine must not turn the PUT or the GET's headers into a stall
	c := newClient(t, srv, clientOpts{dialect: signer.OBS, mod: func(c *obsclient.Config) { c.RequestTimeout = timeout }})
	b := mustBucket(t, c, testBucket)
	data := strings.Repeat("x", 1<<20)
	_, err := b.PutObject(context.Background(), "slow", strings.NewReader(data), int64(len(data)), obsclient.WriteOptions{})
	require.NoError(t, err)
	r, err := b.GetObject(context.Background(), "slow", obsclient.GetOptions{})
	require.NoError(t, err)
	defer r.Close()
	buf := make([]byte, 1000)
	_, err = io.ReadFull(r, buf)
	require.NoError(t, err)
	time.Sleep(3 * timeout) // the consumer pauses longer than the timeout: not a stall
	rest, err := io.ReadAll(r)
	require.NoError(t, err)
	assert.Equal(t, len(data)-1000, len(rest))
}

// obsclient names a copy source as OBS documents it, "bucket/key" with the
// key escaped like a request path (space %20, "+" %2B, "?" %3F, UTF-8
// escaped, "/" kept) and a literal "?versionId=": every server decodes
// that form alike (issue 18).
func TestCopySourceHeaderForm(t *testing.T) {
	var got []string
	b, _ := fakeBucket(t, func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("x-obs-copy-source"))
		io.WriteString(w, `<CopyObjectResult><LastModified>2018-01-01T00:00:00.000Z</LastModified><ETag>"e"</ETag></CopyObjectResult>`)
	})
	_, err := b.CopyObject(context.Background(), "dst", obsclient.CopySource{Key: "dir/a b+c?é%.txt"}, obsclient.CopyOptions{})
	require.NoError(t, err)
	_, err = b.CopyObject(context.Background(), "dst", obsclient.CopySource{Bucket: "other", Key: "k&=#", VersionID: "G001"}, obsclient.CopyOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{"bkt/dir/a%20b%2Bc%3F%C3%A9%25.txt", "other/k%26%3D%23?versionId=G001"}, got)
}
