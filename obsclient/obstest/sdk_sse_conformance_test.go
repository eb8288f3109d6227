package obstest

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-obs/obs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Server-side encryption through the official SDK (its SseCHeader and
// SseKmsHeader types), under every signature: what the OBS API reference
// says of SSE-C (HEAD, GET, copy source and copy-part source need the key;
// the key MD5 is checked) and of SSE-KMS (reported on HEAD/GET; a copy
// keeps it only when it asks).

func sseC(key []byte) obs.SseCHeader {
	return obs.SseCHeader{Encryption: "AES256", Key: base64.StdEncoding.EncodeToString(key)}
}

func TestSDKSSEC(t *testing.T) {
	forEachEnv(t, Options{}, func(t *testing.T, f *fixture) {
		key := bytes.Repeat([]byte{7}, 32)
		other := bytes.Repeat([]byte{9}, 32)
		data := bytes.Repeat([]byte("secret "), 1000)
		f.put(t, testBucket, "c.bin", data, func(in *obs.PutObjectInput) { in.SseHeader = sseC(key) })

		head := func(h obs.ISseHeader) (*obs.GetObjectMetadataOutput, error) {
			return f.c.GetObjectMetadata(&obs.GetObjectMetadataInput{Bucket: testBucket, Key: "c.bin", SseHeader: h})
		}
		_, err := head(nil)
		obsErr(t, err, 400, "") // HEAD: no body, no code
		_, err = head(sseC(other))
		obsErr(t, err, 403, "")
		m, err := head(sseC(key))
		require.NoError(t, err)
		sum := md5.Sum(key)
		if assert.IsType(t, obs.SseCHeader{}, m.SseHeader) {
			assert.Equal(t, "AES256", m.SseHeader.GetEncryption())
		}
		// The SDK looks the key MD5 up as "…-key-MD5" in its lowercased
		// header map and never finds it; read the header itself.
		assert.Equal(t, []string{base64.StdEncoding.EncodeToString(sum[:])},
			m.ResponseHeaders["server-side-encryption-customer-key-md5"])
		bad := sseC(key)
		bad.KeyMD5 = base64.StdEncoding.EncodeToString(make([]byte, 16))
		_, err = head(bad)
		obsErr(t, err, 400, "")

		in := getInput(testBucket, "c.bin")
		_, _, err = f.get(t, in)
		obsErr(t, err, 400, "InvalidRequest")
		in.SseHeader = sseC(other)
		_, _, err = f.get(t, in)
		obsErr(t, err, 403, "AccessDenied")
		in.SseHeader = bad
		_, _, err = f.get(t, in)
		obsErr(t, err, 400, "InvalidArgument")
		in.SseHeader = sseC(key)
		in.RangeStart, in.RangeEnd = 7, 13
		_, body, err := f.get(t, in)
		require.NoError(t, err)
		assert.Equal(t, data[7:14], body)

		// A key offered for an object that is not SSE-C is refused.
		f.put(t, testBucket, "plain", []byte("plain"), nil)
		pin := getInput(testBucket, "plain")
		pin.SseHeader = sseC(key)
		_, _, err = f.get(t, pin)
		obsErr(t, err, 400, "InvalidRequest")

		// Copy: the source key decrypts, the target key encrypts the copy.
		cp := &obs.CopyObjectInput{CopySourceBucket: testBucket, CopySourceKey: "c.bin"}
		cp.Bucket, cp.Key = testBucket, "c2.bin"
		_, err = f.c.CopyObject(cp)
		obsErr(t, err, 400, "InvalidRequest")
		cp.SourceSseHeader = sseC(other)
		_, err = f.c.CopyObject(cp)
		obsErr(t, err, 403, "AccessDenied")
		cp.SourceSseHeader, cp.SseHeader = sseC(key), sseC(key)
		_, err = f.c.CopyObject(cp)
		require.NoError(t, err)
		_, err = f.c.GetObjectMetadata(&obs.GetObjectMetadataInput{Bucket: testBucket, Key: "c2.bin"})
		obsErr(t, err, 400, "")
		g := getInput(testBucket, "c2.bin")
		g.SseHeader = sseC(key)
		_, body, err = f.get(t, g)
		require.NoError(t, err)
		assert.Equal(t, data, body)
		// Without a target key the copy is stored unencrypted.
		cp.Key, cp.SseHeader = "c3.bin", nil
		_, err = f.c.CopyObject(cp)
		require.NoError(t, err)
		_, body, err = f.get(t, getInput(testBucket, "c3.bin"))
		require.NoError(t, err)
		assert.Equal(t, data, body)

		// Metadata of an SSE-C object: PUT ?metadata takes no SSE-C headers
		// (OBS API reference), so the emulator refuses it.
		if f.env.scheme == "OBS" {
			_, err = f.c.SetObjectMetadata(&obs.SetObjectMetadataInput{Bucket: testBucket, Key: "c.bin",
				MetadataDirective: obs.ReplaceNew, Metadata: map[string]string{"k": "v"}})
			obsErr(t, err, 400, "InvalidRequest")
		}

		// Copy part: source key, and the upload's key on the target part.
		big := bytes.Repeat([]byte("0123456789"), 3*minPartSize/10)
		f.put(t, testBucket, "cbig", big, func(in *obs.PutObjectInput) { in.SseHeader = sseC(key) })
		init := &obs.InitiateMultipartUploadInput{}
		init.Bucket, init.Key, init.SseHeader = testBucket, "cdst", sseC(key)
		io, err := f.c.InitiateMultipartUpload(init)
		require.NoError(t, err)
		part := &obs.CopyPartInput{Bucket: testBucket, Key: "cdst", UploadId: io.UploadId, PartNumber: 1,
			CopySourceBucket: testBucket, CopySourceKey: "cbig", CopySourceRangeStart: 0, CopySourceRangeEnd: minPartSize - 1}
		_, err = f.c.CopyPart(part)
		obsErr(t, err, 400, "InvalidRequest")
		part.SourceSseHeader = sseC(key)
		_, err = f.c.CopyPart(part)
		obsErr(t, err, 400, "InvalidRequest") // the target part lacks the upload's key
		part.SseHeader = sseC(key)
		p1, err := f.c.CopyPart(part)
		require.NoError(t, err)
		_, err = f.c.UploadPart(&obs.UploadPartInput{Bucket: testBucket, Key: "cdst", UploadId: io.UploadId, PartNumber: 2,
			Body: bytes.NewReader([]byte("+tail"))})
		obsErr(t, err, 400, "InvalidRequest")
		p2, err := f.c.UploadPart(&obs.UploadPartInput{Bucket: testBucket, Key: "cdst", UploadId: io.UploadId, PartNumber: 2,
			Body: bytes.NewReader([]byte("+tail")), SseHeader: sseC(key)})
		require.NoError(t, err)
		_, err = f.c.CompleteMultipartUpload(&obs.CompleteMultipartUploadInput{Bucket: testBucket, Key: "cdst", UploadId: io.UploadId,
			Parts: []obs.Part{{PartNumber: 1, ETag: p1.ETag}, {PartNumber: 2, ETag: p2.ETag}}})
		require.NoError(t, err)
		g = getInput(testBucket, "cdst")
		g.SseHeader = sseC(key)
		_, body, err = f.get(t, g)
		require.NoError(t, err)
		assert.Equal(t, append(append([]byte{}, big[:minPartSize]...), "+tail"...), body)
	})
}

func TestSDKSSEKMS(t *testing.T) {
	forEachEnv(t, Options{}, func(t *testing.T, f *fixture) {
		f.put(t, testBucket, "k.bin", []byte("kms data"), func(in *obs.PutObjectInput) {
			in.SseHeader = obs.SseKmsHeader{Key: "kid-1"}
		})
		want := "kms"
		if f.env.scheme != "OBS" {
			want = "aws:kms"
		}
		check := func(key string, kms bool) {
			t.Helper()
			m, err := f.c.GetObjectMetadata(&obs.GetObjectMetadataInput{Bucket: testBucket, Key: key})
			require.NoError(t, err)
			g, _, err := f.get(t, getInput(testBucket, key))
			require.NoError(t, err)
			for _, h := range []obs.ISseHeader{m.SseHeader, g.SseHeader} {
				if !kms {
					assert.Nil(t, h, key)
					continue
				}
				if assert.IsType(t, obs.SseKmsHeader{}, h, key) {
					assert.Equal(t, want, h.(obs.SseKmsHeader).Encryption)
					assert.Equal(t, "kid-1", h.GetKey())
				}
			}
		}
		check("k.bin", true)
		cp := &obs.CopyObjectInput{CopySourceBucket: testBucket, CopySourceKey: "k.bin"}
		cp.Bucket, cp.Key = testBucket, "k2.bin"
		_, err := f.c.CopyObject(cp)
		require.NoError(t, err)
		check("k2.bin", false) // a copy that does not ask loses SSE-KMS
		cp.Key, cp.SseHeader = "k3.bin", obs.SseKmsHeader{Key: "kid-1"}
		_, err = f.c.CopyObject(cp)
		require.NoError(t, err)
		check("k3.bin", true)
	})
}
