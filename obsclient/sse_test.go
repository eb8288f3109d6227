package obsclient_test

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obsfs/obsfs/obsclient"
	"github.com/obsfs/obsfs/obsclient/obstest"
)

func md5b64(k []byte) string {
	s := md5.Sum(k)
	return base64.StdEncoding.EncodeToString(s[:])
}

// The encryption policy (sse.go) against the emulator, in every dialect:
// a bucket with an SSE-C key reads SSE-C, SSE-KMS and plain objects alike;
// copies keep each object's encryption; a missing or other key is an
// ErrSSECKey naming the object.
func TestEncryptionPolicy(t *testing.T) {
	for _, d := range dialects {
		t.Run(string(d), func(t *testing.T) {
			srv := newEmulator(t)
			ctx := ctxT(t)
			key := bytes.Repeat([]byte{1}, 32)
			other := bytes.Repeat([]byte{2}, 32)
			b := mustBucket(t, newClient(t, srv, clientOpts{dialect: d}), testBucket)
			b.SetEncryptionPolicy(obsclient.EncryptionPolicy{CustomerKey: key})
			data := []byte(strings.Repeat("data ", 100))
			put := func(k string, s *obsclient.SSE) {
				_, err := b.PutObject(ctx, k, bytes.NewReader(data), int64(len(data)), obsclient.WriteOptions{SSE: s})
				require.NoError(t, err)
			}
			put("c", &obsclient.SSE{CustomerKey: key})
			put("k", &obsclient.SSE{KMS: true, KMSKeyID: "kid"})
			_, err := srv.PutObject(testBucket, "plain", data, obstest.ObjectInfo{}) // written by someone else
			require.NoError(t, err)

			// A fresh bucket handle knows nothing: each object is learned once.
			b2 := mustBucket(t, newClient(t, srv, clientOpts{dialect: d}), testBucket)
			b2.SetEncryptionPolicy(obsclient.EncryptionPolicy{CustomerKey: key})
			for _, k := range []string{"c", "k", "plain"} {
				srv.ResetStats()
				info, err := b2.HeadObject(ctx, k, obsclient.GetOptions{})
				require.NoError(t, err, k)
				want := map[string]string{"c": "sse-c", "k": "kms:kid", "plain": "none"}[k]
				assert.Equal(t, want, info.Encryption(), k)
				first := srv.Stats()["HeadObject"].Requests
				r, err := b2.GetObject(ctx, k, obsclient.GetOptions{Range: &obsclient.Range{Start: 5, End: 9}})
				require.NoError(t, err, k)
				got, _ := io.ReadAll(r)
				r.Close()
				assert.Equal(t, data[5:10], got)
				assert.Equal(t, int64(1), srv.Stats()["GetObject"].Requests, "%s: GET knows from HEAD", k)
				if k == "c" {
					assert.Equal(t, int64(1), first)
				} else {
					assert.Equal(t, int64(2), first, "%s: the key is offered once, then not", k)
				}
			}

			// Knowledge that went stale corrects itself: "plain" replaced by
			// an SSE-C object elsewhere costs one refused request, once.
			_, err = srv.PutObject(testBucket, "plain", data, obstest.ObjectInfo{SSECKeyMD5: md5b64(key)})
			require.NoError(t, err)
			srv.ResetStats()
			_, err = b2.HeadObject(ctx, "plain", obsclient.GetOptions{})
			require.NoError(t, err)
			_, err = b2.HeadObject(ctx, "plain", obsclient.GetOptions{})
			require.NoError(t, err)
			assert.Equal(t, int64(3), srv.Stats()["HeadObject"].Requests)
			_, err = srv.PutObject(testBucket, "plain", data, obstest.ObjectInfo{})
			require.NoError(t, err)

			// Copies keep encryption: rename-like copy, and a metadata update.
			for _, k := range []string{"c", "k", "plain"} {
				_, err := b2.CopyObject(ctx, k+"2", obsclient.CopySource{Key: k}, obsclient.CopyOptions{})
				require.NoError(t, err)
				require.NoError(t, b2.SetObjectMetadata(ctx, k+"2", obsclient.MetadataReplaceNew, obsclient.WriteOptions{Metadata: map[string]string{"mode": "33188"}}))
				o, ok := srv.Object(testBucket, k+"2")
				require.True(t, ok)
				src, _ := srv.Object(testBucket, k)
				assert.Equal(t, src.SSE, o.SSE, k)
				assert.Equal(t, src.SSEKMSKeyID, o.SSEKMSKeyID, k)
				assert.Equal(t, src.SSECKeyMD5, o.SSECKeyMD5, k)
				assert.Equal(t, "33188", o.Metadata["mode"], k)
			}

			// Without the key, or with another: ErrSSECKey naming the object.
			for _, kk := range [][]byte{nil, other} {
				b3 := mustBucket(t, newClient(t, srv, clientOpts{dialect: d}), testBucket)
				b3.SetEncryptionPolicy(obsclient.EncryptionPolicy{CustomerKey: kk})
				_, err := b3.HeadObject(ctx, "c", obsclient.GetOptions{})
				require.ErrorIs(t, err, obsclient.ErrSSECKey)
				var ke *obsclient.SSECKeyError
				require.True(t, errors.As(err, &ke))
				assert.Equal(t, kk != nil, ke.Wrong)
				assert.Contains(t, err.Error(), `"c"`)
				_, err = b3.GetObject(ctx, "c", obsclient.GetOptions{})
				require.ErrorIs(t, err, obsclient.ErrSSECKey)
				_, err = b3.GetObject(ctx, "plain", obsclient.GetOptions{})
				require.NoError(t, err)
			}
		})
	}
}

// Multipart edits of SSE-C and SSE-KMS objects: parts carry the upload's
// key, part copies the source's, and the result keeps the encryption.
func TestEncryptionPolicyMultipart(t *testing.T) {
	for _, d := range dialects {
		t.Run(string(d), func(t *testing.T) {
			srv := newEmulator(t)
			ctx := ctxT(t)
			key := bytes.Repeat([]byte{1}, 32)
			b := mustBucket(t, newClient(t, srv, clientOpts{dialect: d}), testBucket)
			b.SetEncryptionPolicy(obsclient.EncryptionPolicy{CustomerKey: key})
			big := bytes.Repeat([]byte("0123456789"), 30*1024)
			for k, s := range map[string]*obsclient.SSE{"c": {CustomerKey: key}, "k": {KMS: true, KMSKeyID: "kid"}} {
				_, err := b.PutObject(ctx, k, bytes.NewReader(big), int64(len(big)), obsclient.WriteOptions{SSE: s})
				require.NoError(t, err)
				var w obsclient.WriteOptions
				if k == "c" {
					w.SSE = s // the mount's key; KMS is kept without asking
				}
				id, err := b.InitiateMultipartUpload(ctx, k, w)
				require.NoError(t, err)
				p1, err := b.UploadPartCopy(ctx, k, id, 1, obsclient.CopySource{Key: k}, obsclient.Range{Start: 0, End: 199999})
				require.NoError(t, err)
				p2, err := b.UploadPart(ctx, k, id, 2, strings.NewReader("tail"), 4)
				require.NoError(t, err)
				_, err = b.CompleteMultipartUpload(ctx, k, id, []obsclient.Part{p1, p2})
				require.NoError(t, err)
				o, _ := srv.Object(testBucket, k)
				if k == "c" {
					assert.NotEmpty(t, o.SSECKeyMD5)
				} else {
					assert.Equal(t, "kms", o.SSE)
					assert.Equal(t, "kid", o.SSEKMSKeyID)
				}
				r, err := b.GetObject(ctx, k, obsclient.GetOptions{})
				require.NoError(t, err)
				got, _ := io.ReadAll(r)
				r.Close()
				assert.Equal(t, append(append([]byte{}, big[:200000]...), "tail"...), got)
			}
		})
	}
}
