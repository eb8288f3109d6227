package obsclient_test

import (
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obsfs/obsfs/obsclient"
	"github.com/obsfs/obsfs/obsclient/obstest"
	"github.com/obsfs/obsfs/obsclient/signer"
)

// conformanceEnv is what the shared test body runs against: the emulator
// or, when OBS_TEST_* are set, a real endpoint.
type conformanceEnv struct {
	b        *obsclient.Bucket
	pfs      *obsclient.Bucket // parallel-file-system bucket, nil to skip
	prefix   string            // every key the body writes starts with it
	dialect  signer.Dialect
	emulator *obstest.Server // nil against a real endpoint
	virtual  bool
}

func (e *conformanceEnv) key(s string) string { return e.prefix + s }

// TestConformanceEmulator runs the conformance body for every signature
// dialect, in path style and in virtual-hosted style.
func TestConformanceEmulator(t *testing.T) {
	for _, d := range dialects {
		for _, virtual := range []bool{false, true} {
			style := "path"
			if virtual {
				style = "virtual"
			}
			t.Run(dialectName(d)+"/"+style, func(t *testing.T) {
				srv := newEmulator(t)
				c := newClient(t, srv, clientOpts{dialect: d, virtual: virtual})
				env := &conformanceEnv{b: mustBucket(t, c, testBucket), pfs: mustBucket(t, c, testPFS),
					prefix: "conf/", dialect: d, emulator: srv, virtual: virtual}
				runConformance(t, env)
				assertCoverage(t, srv.Stats(), d)
			})
		}
	}
}

// assertCoverage checks from the emulator's counters that the body sent
// every operation of the contract.
func assertCoverage(t *testing.T, st obstest.Stats, d signer.Dialect) {
	ops := []string{"HeadObject", "GetObject", "PutObject", "CopyObject", "DeleteObject", "DeleteObjects",
		"ListObjects", "ListVersions", "InitiateMultipartUpload", "UploadPart", "UploadPartCopy",
		"CompleteMultipartUpload", "AbortMultipartUpload", "ListParts", "ListMultipartUploads", "AppendObject",
		"RestoreObject", "GetObjectAcl", "SetObjectAcl", "HeadBucket", "GetBucketStorageInfo", "GetBucketQuota",
		"SetBucketQuota", "GetBucketLocation", "RenameObject"}
	if d == signer.OBS {
		ops = append(ops, "SetObjectMetadata")
	}
	for _, op := range ops {
		assert.NotZero(t, st[op].Requests, "operation %s never sent", op)
	}
}

// TestConformanceReal runs the same body against a real OBS bucket when
// OBS_TEST_ENDPOINT, OBS_TEST_AK, OBS_TEST_SK and OBS_TEST_BUCKET are set
// (OBS_TEST_SIGNATURE picks the dialect, OBS_TEST_REGION the region,
// OBS_TEST_PFS_BUCKET an optional parallel file system bucket). It only
// touches keys under a fresh prefix and deletes them afterwards.
func TestConformanceReal(t *testing.T) {
	ep, ak, sk, bucket := os.Getenv("OBS_TEST_ENDPOINT"), os.Getenv("OBS_TEST_AK"), os.Getenv("OBS_TEST_SK"), os.Getenv("OBS_TEST_BUCKET")
	if ep == "" || ak == "" || sk == "" || bucket == "" {
		t.Skip("real-endpoint run needs OBS_TEST_ENDPOINT, OBS_TEST_AK, OBS_TEST_SK and OBS_TEST_BUCKET")
	}
	d := signer.OBS
	if s := os.Getenv("OBS_TEST_SIGNATURE"); s != "" {
		var err error
		d, err = signer.ParseDialect(s)
		require.NoError(t, err)
	}
	c, err := obsclient.New(obsclient.Config{Endpoint: ep, Region: os.Getenv("OBS_TEST_REGION"), Signature: d,
		Credentials: signer.Credentials{AccessKey: ak, SecretKey: sk, SecurityToken: os.Getenv("OBS_TEST_TOKEN")}})
	require.NoError(t, err)
	env := &conformanceEnv{b: mustBucket(t, c, bucket), dialect: d,
		prefix: fmt.Sprintf("obsclient-conformance/%d/", time.Now().UnixNano())}
	if p := os.Getenv("OBS_TEST_PFS_BUCKET"); p != "" {
		env.pfs = mustBucket(t, c, p)
	}
	t.Cleanup(func() { cleanupPrefix(t, env.b, env.prefix) })
	runConformance(t, env)
}

func cleanupPrefix(t *testing.T, b *obsclient.Bucket, prefix string) {
	ctx := ctxT(t)
	l := b.NewLister(obsclient.ListOptions{Prefix: prefix})
	for l.More() {
		page, err := l.Next(ctx)
		if err != nil {
			t.Logf("cleanup: %v", err)
			return
		}
		var ids []obsclient.ObjectID
		for _, o := range page.Objects {
			ids = append(ids, obsclient.ObjectID{Key: o.Key})
		}
		if _, err := b.DeleteObjects(ctx, ids); err != nil {
			t.Logf("cleanup: %v", err)
		}
	}
}

func randBytes(t *testing.T, n int) []byte {
	p := make([]byte, n)
	_, err := rand.Read(p)
	require.NoError(t, err)
	return p
}

func md5hex(p []byte) string {
	s := md5.Sum(p)
	return hex.EncodeToString(s[:])
}

func readAll(t *testing.T, r *obsclient.ObjectReader) []byte {
	t.Helper()
	defer r.Close()
	p, err := io.ReadAll(r)
	require.NoError(t, err)
	return p
}

// runConformance exercises every Bucket operation against env.
func runConformance(t *testing.T, env *conformanceEnv) {
	t.Run("PutHeadGet", func(t *testing.T) { testPutHeadGet(t, env) })
	t.Run("Conditions", func(t *testing.T) { testConditions(t, env) })
	t.Run("Copy", func(t *testing.T) { testCopy(t, env) })
	t.Run("SetMetadata", func(t *testing.T) { testSetMetadata(t, env) })
	t.Run("ListAndDelete", func(t *testing.T) { testListAndDelete(t, env) })
	t.Run("Multipart", func(t *testing.T) { testMultipart(t, env) })
	t.Run("Append", func(t *testing.T) { testAppend(t, env) })
	t.Run("ACL", func(t *testing.T) { testACL(t, env) })
	t.Run("Bucket", func(t *testing.T) { testBucketOps(t, env) })
	t.Run("Versions", func(t *testing.T) { testVersions(t, env) })
	t.Run("Presign", func(t *testing.T) { testPresign(t, env) })
	t.Run("SSE", func(t *testing.T) { testSSE(t, env) })
	t.Run("Restore", func(t *testing.T) { testRestore(t, env) })
	t.Run("Rename", func(t *testing.T) { testRename(t, env) })
}

func testPutHeadGet(t *testing.T, env *conformanceEnv) {
	ctx, b := ctxT(t), env.b
	key := env.key("dir/a b+c~é%41.txt")
	data := randBytes(t, 64<<10+7)
	pr, err := b.PutObject(ctx, key, bytes.NewReader(data), int64(len(data)), obsclient.WriteOptions{
		ContentType: "text/plain",
		Metadata:    map[string]string{"Mode": "33188", "uid": "1000", "note": "héllo 100% a%20b"},
	})
	require.NoError(t, err)
	assert.Equal(t, md5hex(data), pr.ETag)

	info, err := b.HeadObject(ctx, key, obsclient.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int64(len(data)), info.Size)
	assert.Equal(t, pr.ETag, info.ETag)
	assert.Equal(t, "text/plain", info.ContentType)
	assert.Equal(t, "STANDARD", info.StorageClass)
	assert.Equal(t, map[string]string{"mode": "33188", "uid": "1000", "note": "héllo 100% a%20b"}, info.Metadata)
	assert.False(t, info.LastModified.IsZero())

	r, err := b.GetObject(ctx, key, obsclient.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int64(len(data)), r.ContentLength)
	assert.Equal(t, data, readAll(t, r))

	r, err = b.GetObject(ctx, key, obsclient.GetOptions{Range: &obsclient.Range{Start: 10, End: 19}})
	require.NoError(t, err)
	assert.Equal(t, int64(10), r.RangeStart)
	assert.Equal(t, int64(len(data)), r.Info.Size)
	assert.Equal(t, data[10:20], readAll(t, r))

	r, err = b.GetObject(ctx, key, obsclient.GetOptions{Range: &obsclient.Range{Suffix: 5}})
	require.NoError(t, err)
	assert.Equal(t, data[len(data)-5:], readAll(t, r))

	r, err = b.GetObject(ctx, key, obsclient.GetOptions{Range: &obsclient.Range{Start: 100, End: -1}})
	require.NoError(t, err)
	assert.Equal(t, data[100:], readAll(t, r))

	_, err = b.GetObject(ctx, key, obsclient.GetOptions{Range: &obsclient.Range{Start: int64(len(data)) + 10, End: -1}})
	assert.True(t, obsclient.IsInvalidRange(err), "%v", err)

	r, err = b.GetObject(ctx, key, obsclient.GetOptions{ResponseHeaders: map[string]string{"content-type": "application/x-test"}})
	require.NoError(t, err)
	assert.Equal(t, "application/x-test", r.Info.ContentType)
	readAll(t, r)

	// Empty object, default content type.
	_, err = b.PutObject(ctx, env.key("empty"), nil, 0, obsclient.WriteOptions{})
	require.NoError(t, err)
	r, err = b.GetObject(ctx, env.key("empty"), obsclient.GetOptions{})
	require.NoError(t, err)
	assert.Empty(t, readAll(t, r))

	_, err = b.HeadObject(ctx, env.key("missing"), obsclient.GetOptions{})
	assert.True(t, obsclient.IsNotFound(err), "%v", err)
	_, err = b.GetObject(ctx, env.key("missing"), obsclient.GetOptions{})
	assert.True(t, obsclient.IsNotFound(err), "%v", err)
	assert.True(t, obsclient.IsCode(err, "NoSuchKey"), "%v", err)

	// A wrong Content-MD5 is refused.
	_, err = b.PutObject(ctx, env.key("bad-md5"), bytes.NewReader(data), int64(len(data)),
		obsclient.WriteOptions{ContentMD5: "XrY7u+Ae7tCTyyK7j1rNww=="})
	assert.True(t, obsclient.IsCode(err, "BadDigest"), "%v", err)
}

func testConditions(t *testing.T, env *conformanceEnv) {
	ctx, b := ctxT(t), env.b
	key := env.key("cond")
	pr, err := b.PutObject(ctx, key, strings.NewReader("hello"), 5, obsclient.WriteOptions{})
	require.NoError(t, err)
	_, err = b.HeadObject(ctx, key, obsclient.GetOptions{IfNoneMatch: pr.ETag})
	assert.True(t, obsclient.IsNotModified(err), "%v", err)
	_, err = b.GetObject(ctx, key, obsclient.GetOptions{IfMatch: "0123456789abcdef0123456789abcdef"})
	assert.True(t, obsclient.IsPreconditionFailed(err), "%v", err)
	r, err := b.GetObject(ctx, key, obsclient.GetOptions{IfMatch: pr.ETag})
	require.NoError(t, err)
	assert.Equal(t, "hello", string(readAll(t, r)))
	_, err = b.HeadObject(ctx, key, obsclient.GetOptions{IfUnmodifiedSince: time.Now().Add(-24 * time.Hour)})
	assert.True(t, obsclient.IsPreconditionFailed(err), "%v", err)
	_, err = b.HeadObject(ctx, key, obsclient.GetOptions{IfModifiedSince: time.Now().Add(time.Hour)})
	assert.True(t, obsclient.IsNotModified(err), "%v", err)
	assert.True(t, obsclient.ETagMatches(`"`+pr.ETag+`"`, pr.ETag))
}

func testCopy(t *testing.T, env *conformanceEnv) {
	ctx, b := ctxT(t), env.b
	src := env.key("copy/src a+b é")
	pr, err := b.PutObject(ctx, src, strings.NewReader("copy me"), 7, obsclient.WriteOptions{
		ContentType: "text/x-src", Metadata: map[string]string{"k": "v"}})
	require.NoError(t, err)

	cr, err := b.CopyObject(ctx, env.key("copy/dst1"), obsclient.CopySource{Key: src}, obsclient.CopyOptions{})
	require.NoError(t, err)
	assert.Equal(t, pr.ETag, cr.ETag)
	info, err := b.HeadObject(ctx, env.key("copy/dst1"), obsclient.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "text/x-src", info.ContentType)
	assert.Equal(t, map[string]string{"k": "v"}, info.Metadata)

	_, err = b.CopyObject(ctx, env.key("copy/dst2"), obsclient.CopySource{Bucket: b.Name(), Key: src, IfMatch: pr.ETag},
		obsclient.CopyOptions{Directive: obsclient.MetadataReplace, Write: obsclient.WriteOptions{
			ContentType: "text/x-new", Metadata: map[string]string{"n": "1"}}})
	require.NoError(t, err)
	info, err = b.HeadObject(ctx, env.key("copy/dst2"), obsclient.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "text/x-new", info.ContentType)
	assert.Equal(t, map[string]string{"n": "1"}, info.Metadata)

	_, err = b.CopyObject(ctx, env.key("copy/dst3"), obsclient.CopySource{Key: src, IfMatch: "ffffffffffffffffffffffffffffffff"}, obsclient.CopyOptions{})
	assert.True(t, obsclient.IsPreconditionFailed(err), "%v", err)
	_, err = b.CopyObject(ctx, env.key("copy/dst3"), obsclient.CopySource{Key: env.key("copy/none")}, obsclient.CopyOptions{})
	assert.True(t, obsclient.IsNotFound(err), "%v", err)
}

func testSetMetadata(t *testing.T, env *conformanceEnv) {
	ctx, b := ctxT(t), env.b
	key := env.key("meta")
	_, err := b.PutObject(ctx, key, strings.NewReader("data"), 4, obsclient.WriteOptions{
		ContentType: "text/x-keep", Metadata: map[string]string{"mode": "33188", "uid": "0"}})
	require.NoError(t, err)

	require.NoError(t, b.SetObjectMetadata(ctx, key, obsclient.MetadataReplaceNew, obsclient.WriteOptions{
		Metadata: map[string]string{"uid": "1000", "gid": "1000"}}))
	info, err := b.HeadObject(ctx, key, obsclient.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"mode": "33188", "uid": "1000", "gid": "1000"}, info.Metadata)
	assert.Equal(t, "text/x-keep", info.ContentType)

	require.NoError(t, b.SetObjectMetadata(ctx, key, obsclient.MetadataReplace, obsclient.WriteOptions{
		Metadata: map[string]string{"mode": "16877"}}))
	info, err = b.HeadObject(ctx, key, obsclient.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"mode": "16877"}, info.Metadata)
	assert.Equal(t, "text/x-keep", info.ContentType)
	r, err := b.GetObject(ctx, key, obsclient.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "data", string(readAll(t, r)))

	if env.emulator != nil {
		st := env.emulator.Stats()
		if env.dialect == signer.OBS {
			assert.EqualValues(t, 2, st["SetObjectMetadata"].Requests, "OBS dialect uses PUT ?metadata")
		} else {
			assert.Zero(t, st["SetObjectMetadata"].Requests, "S3 dialects fall back to a self-copy")
		}
	}
}

func testListAndDelete(t *testing.T, env *conformanceEnv) {
	ctx, b := ctxT(t), env.b
	base := env.key("list/")
	names := []string{"a", "b+c", "ctl\x01key", "d e", "é", "f%41", "sub/x", "sub/y", "sub2/z", "tab\tkey", "zz"}
	for _, n := range names {
		_, err := b.PutObject(ctx, base+n, strings.NewReader(n), int64(len(n)), obsclient.WriteOptions{})
		require.NoError(t, err, n)
	}
	var keys, prefixes []string
	pages := 0
	l := b.NewLister(obsclient.ListOptions{Prefix: base, Delimiter: "/", MaxKeys: 2})
	for l.More() {
		page, err := l.Next(ctx)
		require.NoError(t, err)
		pages++
		assert.LessOrEqual(t, len(page.Objects)+len(page.CommonPrefixes), 2)
		for _, o := range page.Objects {
			keys = append(keys, strings.TrimPrefix(o.Key, base))
			assert.Equal(t, int64(len(strings.TrimPrefix(o.Key, base))), o.Size)
			assert.NotEmpty(t, o.ETag)
		}
		for _, p := range page.CommonPrefixes {
			prefixes = append(prefixes, strings.TrimPrefix(p, base))
		}
	}
	assert.Equal(t, []string{"a", "b+c", "ctl\x01key", "d e", "f%41", "tab\tkey", "zz", "é"}, keys)
	assert.Equal(t, []string{"sub/", "sub2/"}, prefixes)
	assert.GreaterOrEqual(t, pages, 5)

	all, err := b.ListObjects(ctx, obsclient.ListOptions{Prefix: base})
	require.NoError(t, err)
	assert.Len(t, all.Objects, len(names))
	assert.False(t, all.IsTruncated)

	// Query values with spaces, '+', '%' and non-ASCII are signed as sent.
	for prefix, want := range map[string]int{"d e": 1, "b+": 1, "f%4": 1, "é": 1, "tab\t": 1, "sub/": 2} {
		page, err := b.ListObjects(ctx, obsclient.ListOptions{Prefix: base + prefix, Marker: base + prefix[:1]})
		require.NoError(t, err, "%q", prefix)
		assert.Len(t, page.Objects, want, "%q", prefix)
	}

	dr, err := b.DeleteObject(ctx, base+"a", "")
	require.NoError(t, err)
	assert.Equal(t, base+"a", dr.Key)
	_, err = b.DeleteObject(ctx, base+"never-existed", "")
	require.NoError(t, err, "deleting a missing key succeeds")

	var ids []obsclient.ObjectID
	for _, n := range names[1:] {
		ids = append(ids, obsclient.ObjectID{Key: base + n})
	}
	deleted, err := b.DeleteObjects(ctx, ids)
	require.NoError(t, err)
	assert.Len(t, deleted, len(ids))
	all, err = b.ListObjects(ctx, obsclient.ListOptions{Prefix: base})
	require.NoError(t, err)
	assert.Empty(t, all.Objects)

	if env.emulator != nil {
		// More than one batch.
		ids = ids[:0]
		for i := 0; i < 1005; i++ {
			k := fmt.Sprintf("%sbatch/%04d", base, i)
			_, err := env.emulator.PutObject(b.Name(), k, []byte("x"), obstest.ObjectInfo{})
			require.NoError(t, err)
			ids = append(ids, obsclient.ObjectID{Key: k})
		}
		before := env.emulator.Stats()["DeleteObjects"].Requests
		deleted, err = b.DeleteObjects(ctx, ids)
		require.NoError(t, err)
		assert.Len(t, deleted, 1005)
		assert.EqualValues(t, 2, env.emulator.Stats()["DeleteObjects"].Requests-before)
		assert.Empty(t, env.emulator.Keys(b.Name(), base))
	}
}

func testMultipart(t *testing.T, env *conformanceEnv) {
	ctx, b := ctxT(t), env.b
	key := env.key("mp/big é+.bin")
	src := env.key("mp/src")
	part1 := randBytes(t, 100<<10+3)
	part2 := randBytes(t, 100<<10)
	srcData := randBytes(t, 200<<10)
	_, err := b.PutObject(ctx, src, bytes.NewReader(srcData), int64(len(srcData)), obsclient.WriteOptions{})
	require.NoError(t, err)

	id, err := b.InitiateMultipartUpload(ctx, key, obsclient.WriteOptions{ContentType: "application/x-mp",
		Metadata: map[string]string{"mode": "33261"}})
	require.NoError(t, err)
	require.NotEmpty(t, id)

	p1, err := b.UploadPart(ctx, key, id, 1, bytes.NewReader(part1), int64(len(part1)))
	require.NoError(t, err)
	assert.Equal(t, md5hex(part1), p1.ETag)
	p2, err := b.UploadPart(ctx, key, id, 2, bytes.NewReader(part2), int64(len(part2)))
	require.NoError(t, err)
	p3, err := b.UploadPartCopy(ctx, key, id, 3, obsclient.CopySource{Key: src}, obsclient.Range{Start: 1000, End: 1999})
	require.NoError(t, err)
	assert.Equal(t, int64(1000), p3.Size)
	assert.Equal(t, md5hex(srcData[1000:2000]), p3.ETag)

	parts, err := b.ListParts(ctx, key, id)
	require.NoError(t, err)
	require.Len(t, parts, 3)
	assert.Equal(t, []int{1, 2, 3}, []int{parts[0].Number, parts[1].Number, parts[2].Number})
	assert.Equal(t, int64(len(part1)), parts[0].Size)

	ups, err := b.ListMultipartUploads(ctx, obsclient.ListUploadsOptions{Prefix: env.key("mp/")})
	require.NoError(t, err)
	require.Len(t, ups.Uploads, 1)
	assert.Equal(t, key, ups.Uploads[0].Key)
	assert.Equal(t, id, ups.Uploads[0].UploadID)

	// Complete with the parts out of order: the client sorts them.
	res, err := b.CompleteMultipartUpload(ctx, key, id, []obsclient.Part{p3, p1, p2})
	require.NoError(t, err)
	assert.True(t, strings.HasSuffix(res.ETag, "-3"), res.ETag)

	want := slices.Concat(part1, part2, srcData[1000:2000])
	r, err := b.GetObject(ctx, key, obsclient.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "application/x-mp", r.Info.ContentType)
	assert.Equal(t, "33261", r.Info.Metadata["mode"])
	got := readAll(t, r)
	assert.Equal(t, len(want), len(got))
	assert.True(t, bytes.Equal(want, got))

	// Abort.
	id2, err := b.InitiateMultipartUpload(ctx, env.key("mp/aborted"), obsclient.WriteOptions{})
	require.NoError(t, err)
	_, err = b.UploadPart(ctx, env.key("mp/aborted"), id2, 1, strings.NewReader("x"), 1)
	require.NoError(t, err)
	require.NoError(t, b.AbortMultipartUpload(ctx, env.key("mp/aborted"), id2))
	_, err = b.ListParts(ctx, env.key("mp/aborted"), id2)
	assert.True(t, obsclient.IsNotFound(err), "%v", err)
	assert.True(t, obsclient.IsCode(err, "NoSuchUpload"), "%v", err)

	// Completing with a wrong ETag fails cleanly.
	id3, err := b.InitiateMultipartUpload(ctx, env.key("mp/bad"), obsclient.WriteOptions{})
	require.NoError(t, err)
	_, err = b.UploadPart(ctx, env.key("mp/bad"), id3, 1, strings.NewReader("x"), 1)
	require.NoError(t, err)
	_, err = b.CompleteMultipartUpload(ctx, env.key("mp/bad"), id3, []obsclient.Part{{Number: 1, ETag: "00000000000000000000000000000000"}})
	assert.True(t, obsclient.IsCode(err, "InvalidPart"), "%v", err)
	require.NoError(t, b.AbortMultipartUpload(ctx, env.key("mp/bad"), id3))
}

func testAppend(t *testing.T, env *conformanceEnv) {
	ctx, b := ctxT(t), env.b
	key := env.key("append.log")
	r1, err := b.AppendObject(ctx, key, 0, strings.NewReader("hello "), 6, obsclient.WriteOptions{
		ContentType: "text/plain", Metadata: map[string]string{"mode": "33188"}})
	require.NoError(t, err)
	assert.EqualValues(t, 6, r1.NextAppendPosition)
	r2, err := b.AppendObject(ctx, key, r1.NextAppendPosition, strings.NewReader("world"), 5, obsclient.WriteOptions{})
	require.NoError(t, err)
	assert.EqualValues(t, 11, r2.NextAppendPosition)
	assert.Equal(t, md5hex([]byte("world")), r2.ETag)

	info, err := b.HeadObject(ctx, key, obsclient.GetOptions{})
	require.NoError(t, err)
	assert.True(t, info.Appendable)
	assert.EqualValues(t, 11, info.NextAppendPosition)
	assert.Equal(t, "33188", info.Metadata["mode"])
	page, err := b.ListObjects(ctx, obsclient.ListOptions{Prefix: key})
	require.NoError(t, err)
	require.Len(t, page.Objects, 1)
	assert.True(t, page.Objects[0].Appendable)

	_, err = b.AppendObject(ctx, key, 3, strings.NewReader("x"), 1, obsclient.WriteOptions{})
	assert.True(t, obsclient.IsCode(err, "PositionNotEqualToLength"), "%v", err)
	assert.True(t, obsclient.IsConflict(err))

	_, err = b.PutObject(ctx, env.key("normal"), strings.NewReader("n"), 1, obsclient.WriteOptions{})
	require.NoError(t, err)
	_, err = b.AppendObject(ctx, env.key("normal"), 1, strings.NewReader("x"), 1, obsclient.WriteOptions{})
	assert.True(t, obsclient.IsCode(err, "ObjectNotAppendable"), "%v", err)

	r, err := b.GetObject(ctx, key, obsclient.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "hello world", string(readAll(t, r)))
}

func testACL(t *testing.T, env *conformanceEnv) {
	ctx, b := ctxT(t), env.b
	key := env.key("acl")
	_, err := b.PutObject(ctx, key, strings.NewReader("x"), 1, obsclient.WriteOptions{ACL: "private"})
	require.NoError(t, err)
	acl, err := b.GetObjectACL(ctx, key, "")
	require.NoError(t, err)
	require.NotEmpty(t, acl.Owner)
	assert.False(t, hasEveryone(acl, "READ"))

	require.NoError(t, b.SetObjectCannedACL(ctx, key, "", "public-read"))
	acl, err = b.GetObjectACL(ctx, key, "")
	require.NoError(t, err)
	assert.True(t, hasEveryone(acl, "READ"), "%+v", acl)

	owner := acl.Owner
	require.NoError(t, b.SetObjectACL(ctx, key, "", obsclient.ACL{Owner: owner, Grants: []obsclient.Grant{
		{ID: owner, Permission: "FULL_CONTROL"}, {Canned: "Everyone", Permission: "READ_ACP"}}}))
	acl, err = b.GetObjectACL(ctx, key, "")
	require.NoError(t, err)
	assert.True(t, hasEveryone(acl, "READ_ACP"), "%+v", acl)
	assert.False(t, hasEveryone(acl, "READ"), "%+v", acl)
	assert.Contains(t, acl.Grants, obsclient.Grant{ID: owner, Permission: "FULL_CONTROL"})
}

func hasEveryone(acl obsclient.ACL, perm string) bool {
	for _, g := range acl.Grants {
		if g.Canned == "Everyone" && g.Permission == perm {
			return true
		}
	}
	return false
}

func testBucketOps(t *testing.T, env *conformanceEnv) {
	ctx, b := ctxT(t), env.b
	info, err := b.Head(ctx)
	require.NoError(t, err)
	assert.False(t, info.FileSystem)
	loc, err := b.Location(ctx)
	require.NoError(t, err)
	if env.emulator != nil {
		assert.Equal(t, "cn-north-4", info.Location)
		assert.Equal(t, "cn-north-4", loc)
	}
	ok, err := b.Exists(ctx)
	require.NoError(t, err)
	assert.True(t, ok)
	missing, err := b.Client().Bucket("obsfs-no-such-bucket-" + fmt.Sprint(time.Now().UnixNano()%1e6))
	require.NoError(t, err)
	// The emulator recognises virtual-hosted names of existing buckets only.
	if env.emulator != nil && !env.virtual {
		ok, err = missing.Exists(ctx)
		require.NoError(t, err)
		assert.False(t, ok)
		_, err = missing.Head(ctx)
		assert.True(t, obsclient.IsNotFound(err), "%v", err)
	}

	if env.pfs != nil {
		pinfo, err := env.pfs.Head(ctx)
		require.NoError(t, err)
		assert.True(t, pinfo.FileSystem)
	}

	si, err := b.StorageInfo(ctx)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, si.ObjectCount, int64(0))
	q, err := b.Quota(ctx)
	require.NoError(t, err)
	if env.emulator == nil {
		return // quota changes are not ours to make on a real bucket
	}
	assert.Zero(t, q)
	require.NoError(t, b.SetQuota(ctx, si.Size+10))
	q, err = b.Quota(ctx)
	require.NoError(t, err)
	assert.Equal(t, si.Size+10, q)
	_, err = b.PutObject(ctx, env.key("quota"), strings.NewReader("0123456789abcdef"), 16, obsclient.WriteOptions{})
	assert.True(t, obsclient.IsQuotaExceeded(err), "%v", err)
	assert.False(t, obsclient.IsAccessDenied(err))
	require.NoError(t, b.SetQuota(ctx, 0))
	_, err = b.PutObject(ctx, env.key("quota"), strings.NewReader("0123456789abcdef"), 16, obsclient.WriteOptions{})
	require.NoError(t, err)
	si2, err := b.StorageInfo(ctx)
	require.NoError(t, err)
	assert.Equal(t, si.Size+16, si2.Size)
	assert.Equal(t, si.ObjectCount+1, si2.ObjectCount)
}

func testVersions(t *testing.T, env *conformanceEnv) {
	ctx, b := ctxT(t), env.b
	if env.emulator != nil {
		env.emulator.SetVersioning(b.Name(), "Enabled")
		defer env.emulator.SetVersioning(b.Name(), "Suspended")
	}
	key := env.key("ver/v é")
	p1, err := b.PutObject(ctx, key, strings.NewReader("one"), 3, obsclient.WriteOptions{})
	require.NoError(t, err)
	p2, err := b.PutObject(ctx, key, strings.NewReader("two!"), 4, obsclient.WriteOptions{})
	require.NoError(t, err)
	page, err := b.ListVersions(ctx, obsclient.ListVersionsOptions{Prefix: env.key("ver/")})
	require.NoError(t, err)
	if env.emulator == nil && len(page.Versions) < 2 {
		t.Skip("bucket is not versioned")
	}
	require.Len(t, page.Versions, 2)
	assert.Equal(t, key, page.Versions[0].Key)
	assert.True(t, page.Versions[0].IsLatest)
	assert.Equal(t, p2.VersionID, page.Versions[0].VersionID)
	assert.Equal(t, p1.VersionID, page.Versions[1].VersionID)
	assert.EqualValues(t, 3, page.Versions[1].Size)

	r, err := b.GetObject(ctx, key, obsclient.GetOptions{VersionID: p1.VersionID})
	require.NoError(t, err)
	assert.Equal(t, "one", string(readAll(t, r)))

	dr, err := b.DeleteObject(ctx, key, "")
	require.NoError(t, err)
	assert.True(t, dr.DeleteMarker)
	info, err := b.HeadObject(ctx, key, obsclient.GetOptions{})
	assert.True(t, obsclient.IsNotFound(err), "%v", err)
	assert.True(t, info.DeleteMarker)

	page, err = b.ListVersions(ctx, obsclient.ListVersionsOptions{Prefix: env.key("ver/"), MaxKeys: 1})
	require.NoError(t, err)
	require.Len(t, page.Versions, 1)
	assert.True(t, page.Versions[0].DeleteMarker)
	assert.True(t, page.IsTruncated)
	next, err := b.ListVersions(ctx, obsclient.ListVersionsOptions{Prefix: env.key("ver/"),
		KeyMarker: page.NextKeyMarker, VersionIDMarker: page.NextVersionIDMarker})
	require.NoError(t, err)
	assert.Len(t, next.Versions, 2)

	for _, v := range append(page.Versions, next.Versions...) {
		_, err := b.DeleteObject(ctx, v.Key, v.VersionID)
		require.NoError(t, err)
	}
}

func testPresign(t *testing.T, env *conformanceEnv) {
	ctx, b := ctxT(t), env.b
	key := env.key("presign/a b+é.txt")
	_, err := b.PutObject(ctx, key, strings.NewReader("presigned"), 9, obsclient.WriteOptions{})
	require.NoError(t, err)
	u, err := b.PresignURL(http.MethodGet, key, time.Minute, nil)
	require.NoError(t, err)
	hc := presignHTTPClient(t, env)
	resp, err := hc.Get(u)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	assert.Equal(t, "presigned", string(body))

	u, err = b.PresignURL(http.MethodGet, key, time.Minute, url.Values{"response-content-type": {"text/x-presigned"}})
	require.NoError(t, err)
	resp, err = hc.Get(u)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, "text/x-presigned", resp.Header.Get("Content-Type"))

	u, err = b.PresignURL(http.MethodPut, env.key("presign/put"), time.Minute, nil)
	require.NoError(t, err)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, u, strings.NewReader("via url"))
	resp, err = hc.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	r, err := b.GetObject(ctx, env.key("presign/put"), obsclient.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "via url", string(readAll(t, r)))

	// An expired URL is refused.
	u, err = obsclient.PresignAtForTest(b, http.MethodGet, key, time.Second, time.Now().Add(-time.Hour))
	require.NoError(t, err)
	resp, err = hc.Get(u)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
}

// presignHTTPClient is a plain HTTP client that reaches env (for the
// emulator, through the same dialer as the test client).
func presignHTTPClient(t *testing.T, env *conformanceEnv) *http.Client {
	if env.emulator == nil {
		return http.DefaultClient
	}
	return &http.Client{Transport: env.b.Client().Config().Transport}
}

func testSSE(t *testing.T, env *conformanceEnv) {
	ctx, b := ctxT(t), env.b
	if env.emulator == nil && os.Getenv("OBS_TEST_SSE") == "" {
		t.Skip("SSE needs OBS_TEST_SSE=1 (and KMS / HTTPS) on a real endpoint")
	}
	key := env.key("ssec")
	sse := &obsclient.SSE{CustomerKey: bytes.Repeat([]byte{7}, 32)}
	_, err := b.PutObject(ctx, key, strings.NewReader("secret data"), 11, obsclient.WriteOptions{SSE: sse})
	require.NoError(t, err)
	info, err := b.HeadObject(ctx, key, obsclient.GetOptions{SSE: sse})
	require.NoError(t, err)
	assert.EqualValues(t, 11, info.Size)
	r, err := b.GetObject(ctx, key, obsclient.GetOptions{SSE: sse})
	require.NoError(t, err)
	assert.Equal(t, "secret data", string(readAll(t, r)))
	_, err = b.GetObject(ctx, key, obsclient.GetOptions{})
	assert.Error(t, err, "SSE-C object read without its key")
	_, err = b.GetObject(ctx, key, obsclient.GetOptions{SSE: &obsclient.SSE{CustomerKey: bytes.Repeat([]byte{8}, 32)}})
	assert.Error(t, err, "SSE-C object read with the wrong key")

	_, err = b.CopyObject(ctx, env.key("ssec-copy"), obsclient.CopySource{Key: key, SSE: sse}, obsclient.CopyOptions{Write: obsclient.WriteOptions{SSE: sse}})
	require.NoError(t, err)
	r, err = b.GetObject(ctx, env.key("ssec-copy"), obsclient.GetOptions{SSE: sse})
	require.NoError(t, err)
	assert.Equal(t, "secret data", string(readAll(t, r)))

	id, err := b.InitiateMultipartUpload(ctx, env.key("ssec-mp"), obsclient.WriteOptions{SSE: sse})
	require.NoError(t, err)
	p, err := b.UploadPartWith(ctx, env.key("ssec-mp"), id, 1, strings.NewReader("part"), 4, obsclient.PartOptions{SSE: sse})
	require.NoError(t, err)
	_, err = b.CompleteMultipartUpload(ctx, env.key("ssec-mp"), id, []obsclient.Part{p})
	require.NoError(t, err)
	r, err = b.GetObject(ctx, env.key("ssec-mp"), obsclient.GetOptions{SSE: sse})
	require.NoError(t, err)
	assert.Equal(t, "part", string(readAll(t, r)))

	_, err = b.PutObject(ctx, env.key("kms"), strings.NewReader("k"), 1, obsclient.WriteOptions{SSE: &obsclient.SSE{KMS: true}})
	require.NoError(t, err)
	info, err = b.HeadObject(ctx, env.key("kms"), obsclient.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "kms", info.SSE)
}

func testRestore(t *testing.T, env *conformanceEnv) {
	ctx, b := ctxT(t), env.b
	if env.emulator == nil {
		t.Skip("restoring archived objects takes hours on a real endpoint")
	}
	key := env.key("cold")
	_, err := b.PutObject(ctx, key, strings.NewReader("frozen"), 6, obsclient.WriteOptions{StorageClass: "COLD"})
	require.NoError(t, err)
	info, err := b.HeadObject(ctx, key, obsclient.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "COLD", info.StorageClass)
	_, err = b.GetObject(ctx, key, obsclient.GetOptions{})
	assert.True(t, obsclient.IsInvalidObjectState(err), "%v", err)
	assert.False(t, obsclient.IsAccessDenied(err))
	require.NoError(t, b.RestoreObject(ctx, key, "", 2, obsclient.TierExpedited))
	env.emulator.CompleteRestores()
	info, err = b.HeadObject(ctx, key, obsclient.GetOptions{})
	require.NoError(t, err)
	assert.Contains(t, info.Restore, `ongoing-request="false"`)
	r, err := b.GetObject(ctx, key, obsclient.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "frozen", string(readAll(t, r)))

	_, err = b.PutObject(ctx, env.key("warm"), strings.NewReader("w"), 1, obsclient.WriteOptions{StorageClass: "WARM"})
	require.NoError(t, err)
	err = b.RestoreObject(ctx, env.key("warm"), "", 1, obsclient.TierStandard)
	assert.True(t, obsclient.IsInvalidObjectState(err), "%v", err)
}

func testRename(t *testing.T, env *conformanceEnv) {
	ctx := ctxT(t)
	if env.pfs == nil {
		t.Skip("no parallel file system bucket")
	}
	b := env.pfs
	from, to := env.key("ren/from a+b"), env.key("ren/to é")
	_, err := b.PutObject(ctx, from, strings.NewReader("moving"), 6, obsclient.WriteOptions{})
	require.NoError(t, err)
	require.NoError(t, b.RenameObject(ctx, from, to))
	_, err = b.HeadObject(ctx, from, obsclient.GetOptions{})
	assert.True(t, obsclient.IsNotFound(err), "%v", err)
	r, err := b.GetObject(ctx, to, obsclient.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "moving", string(readAll(t, r)))

	err = env.b.RenameObject(ctx, env.key("x"), env.key("y"))
	assert.Error(t, err, "rename on an object bucket")
}
