package obstest

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obsfs/obsfs/obsclient/signer"
)

var dialects = []signer.Dialect{signer.OBS, signer.V2, signer.V4}

// forEachDialect runs body once per signature dialect with raw requests.
func forEachDialect(t *testing.T, opts Options, body func(t *testing.T, e *rawEnv)) {
	for _, d := range dialects {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			body(t, newRaw(t, d, opts))
		})
	}
}

func TestRangeRules(t *testing.T) {
	forEachDialect(t, Options{}, func(t *testing.T, e *rawEnv) {
		e.put("r", "0123456789", nil)
		cases := []struct {
			rng, want string
			status    int
			cr        string
		}{
			{"bytes=2-4", "234", 206, "bytes 2-4/10"},
			{"bytes=7-", "789", 206, "bytes 7-9/10"},
			{"bytes=-3", "789", 206, "bytes 7-9/10"},
			{"bytes=-30", "0123456789", 206, "bytes 0-9/10"},
			{"bytes=8-100", "89", 206, "bytes 8-9/10"},
			{"bytes=10-", "", 416, "bytes */10"},
			{"bytes=5-2", "0123456789", 200, ""},
			{"bytes=abc", "0123456789", 200, ""},
			{"items=1-2", "0123456789", 200, ""},
			{"bytes=1-2,4-5", "0123456789", 200, ""},
		}
		for _, c := range cases {
			st, h, body := e.call(http.MethodGet, testBucket, "r", "", "", func(r *http.Request) { r.Header.Set("Range", c.rng) })
			assert.Equal(t, c.status, st, c.rng)
			if st == 416 {
				assert.Equal(t, "InvalidRange", errCode(body))
			} else {
				assert.Equal(t, c.want, body, c.rng)
			}
			assert.Equal(t, c.cr, h.Get("Content-Range"), c.rng)
		}
	})
}

func TestHeadErrorsAndCommonHeaders(t *testing.T) {
	forEachDialect(t, Options{}, func(t *testing.T, e *rawEnv) {
		st, h, body := e.call(http.MethodHead, testBucket, "missing", "", "", nil)
		assert.Equal(t, 404, st)
		assert.Empty(t, body)
		prefix := e.dialect.HeaderPrefix()
		assert.Equal(t, "NoSuchKey", h.Get(prefix+"error-code"))
		assert.NotEmpty(t, h.Get(prefix+"request-id"))
		assert.NotEmpty(t, h.Get(prefix+"id-2"))
		assert.Equal(t, "OBS", h.Get("Server"))
		assert.NotEmpty(t, h.Get("Date"))

		st, _, body = e.call(http.MethodGet, testBucket, "missing", "", "", nil)
		assert.Equal(t, 404, st)
		for _, el := range []string{"<Error>", "<Code>NoSuchKey</Code>", "<Message>", "<Resource>", "<RequestId>", "<HostId>"} {
			assert.Contains(t, body, el)
		}

		st, h, _ = e.call(http.MethodHead, testBucket, "", "apiversion", "", nil)
		assert.Equal(t, 200, st)
		assert.Equal(t, "3.0", h.Get("x-obs-api"))
		st, h, _ = e.call(http.MethodHead, testFS, "", "", "", nil)
		assert.Equal(t, 200, st)
		assert.Equal(t, "Enabled", h.Get("x-obs-fs-file-interface"))
	})
}

func TestPutValidation(t *testing.T) {
	forEachDialect(t, Options{}, func(t *testing.T, e *rawEnv) {
		st, _, body := e.call(http.MethodPut, testBucket, "md5", "", "data", func(r *http.Request) {
			r.Header.Set("Content-MD5", contentMD5("other"))
		})
		assert.Equal(t, 400, st)
		assert.Equal(t, "BadDigest", errCode(body))
		_, ok := e.srv.Object(testBucket, "md5")
		assert.False(t, ok, "a bad digest stores nothing")
		e.put("md5", "data", func(r *http.Request) { r.Header.Set("Content-MD5", contentMD5("data")) })

		st, _, body = e.call(http.MethodPut, testBucket, strings.Repeat("k", 1025), "", "x", nil)
		assert.Equal(t, 400, st)
		assert.Equal(t, "KeyTooLongError", errCode(body))
		e.put(strings.Repeat("k", 1024), "x", nil)

		big := strings.Repeat("v", 8*1024)
		st, _, body = e.call(http.MethodPut, testBucket, "meta", "", "x", func(r *http.Request) {
			r.Header.Set(e.dialect.HeaderPrefix()+"meta-big", big)
		})
		assert.Equal(t, 400, st)
		assert.Equal(t, "MetadataTooLarge", errCode(body))

		h := e.put("sse", "x", func(r *http.Request) {
			r.Header.Set(e.dialect.HeaderPrefix()+"server-side-encryption", "AES256")
			r.Header.Set(e.dialect.HeaderPrefix()+"meta-MixedCase", "v")
			r.Header.Set("x-obs-expires", "3")
			r.Header.Set(e.dialect.HeaderPrefix()+"storage-class", "COLD")
		})
		assert.Equal(t, "AES256", h.Get(e.dialect.HeaderPrefix()+"server-side-encryption"))
		o, _ := e.srv.Object(testBucket, "sse")
		assert.Equal(t, "v", o.Metadata["mixedcase"])
		assert.Equal(t, 3, o.ExpiresDays)
		assert.Equal(t, "COLD", o.StorageClass)

		st, _, body = e.call(http.MethodPut, testBucket, "acl", "", "x", func(r *http.Request) {
			r.Header.Set(e.dialect.HeaderPrefix()+"acl", "no-such-acl")
		})
		assert.Equal(t, 400, st, body)
	})
}

func TestSSEC(t *testing.T) {
	forEachDialect(t, Options{}, func(t *testing.T, e *rawEnv) {
		key := strings.Repeat("k", 32)
		p := e.dialect.HeaderPrefix() + "server-side-encryption-customer-"
		withKey := func(k string) func(*http.Request) {
			return func(r *http.Request) {
				r.Header.Set(p+"algorithm", "AES256")
				r.Header.Set(p+"key", b64(k))
				r.Header.Set(p+"key-MD5", contentMD5(k))
			}
		}
		e.put("secret", "ssec body", withKey(key))
		st, _, body := e.call(http.MethodGet, testBucket, "secret", "", "", nil)
		assert.Equal(t, 400, st, body)
		st, _, _ = e.call(http.MethodGet, testBucket, "secret", "", "", withKey(strings.Repeat("x", 32)))
		assert.Equal(t, 403, st)
		st, h, body := e.call(http.MethodGet, testBucket, "secret", "", "", withKey(key))
		assert.Equal(t, 200, st)
		assert.Equal(t, "ssec body", body)
		assert.Equal(t, contentMD5(key), h.Get(p+"key-MD5"))
	})
}

func TestCompleteErrors(t *testing.T) {
	forEachDialect(t, Options{}, func(t *testing.T, e *rawEnv) {
		st, _, body := e.call(http.MethodPost, testBucket, "mp", "uploads", "", nil)
		require.Equal(t, 200, st, body)
		id := between(body, "<UploadId>", "</UploadId>")
		part := strings.Repeat("p", minPartSize)
		etags := map[int]string{}
		for n := 1; n <= 2; n++ {
			st, h, body := e.call(http.MethodPut, testBucket, "mp", fmt.Sprintf("partNumber=%d&uploadId=%s", n, id), part, nil)
			require.Equal(t, 200, st, body)
			etags[n] = h.Get("ETag")
		}
		complete := func(doc string) (int, string) {
			st, _, body := e.call(http.MethodPost, testBucket, "mp", "uploadId="+id, doc, nil)
			return st, errCode(body)
		}
		doc := func(nums ...int) string {
			s := "<CompleteMultipartUpload>"
			for _, n := range nums {
				s += fmt.Sprintf("<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>", n, etags[n])
			}
			return s + "</CompleteMultipartUpload>"
		}
		for _, c := range []struct {
			doc    string
			status int
			code   string
		}{
			{doc(2, 1), 400, "InvalidPartOrder"},
			{doc(1, 1), 400, "InvalidPartOrder"},
			{"<CompleteMultipartUpload><Part><PartNumber>x</PartNumber></Part></CompleteMultipartUpload>", 400, "MalformedXML"},
			{"not xml", 400, "MalformedXML"},
			{"<CompleteMultipartUpload></CompleteMultipartUpload>", 400, "MalformedXML"},
			{doc(1, 3), 400, "InvalidPart"},
		} {
			st, code := complete(c.doc)
			assert.Equal(t, c.status, st, c.doc)
			assert.Equal(t, c.code, code, c.doc)
		}
		st, _ = complete(doc(2))
		assert.Equal(t, 200, st, "parts not listed are discarded")
		st, _, body = e.call(http.MethodPut, testBucket, "mp", "partNumber=10001&uploadId="+id, "x", nil)
		assert.Equal(t, 400, st, body)
	})
}

func TestBatchDeleteRules(t *testing.T) {
	forEachDialect(t, Options{}, func(t *testing.T, e *rawEnv) {
		doc := "<Delete><Object><Key>a</Key></Object></Delete>"
		st, _, body := e.call(http.MethodPost, testBucket, "", "delete", doc, nil)
		assert.Equal(t, 400, st, "Content-MD5 is mandatory")
		assert.Equal(t, "InvalidRequest", errCode(body))
		var sb strings.Builder
		sb.WriteString("<Delete>")
		for i := 0; i < 1001; i++ {
			fmt.Fprintf(&sb, "<Object><Key>k%d</Key></Object>", i)
		}
		sb.WriteString("</Delete>")
		big := sb.String()
		st, _, body = e.call(http.MethodPost, testBucket, "", "delete", big, func(r *http.Request) { r.Header.Set("Content-MD5", contentMD5(big)) })
		assert.Equal(t, 400, st)
		assert.Equal(t, "MalformedXML", errCode(body))
		st, _, body = e.call(http.MethodPost, testBucket, "", "delete", doc, func(r *http.Request) { r.Header.Set("Content-MD5", contentMD5(doc)) })
		assert.Equal(t, 200, st, body)
		assert.Contains(t, body, "<Deleted><Key>a</Key></Deleted>")
	})
}

func TestListNextMarkerByDialect(t *testing.T) {
	forEachDialect(t, Options{}, func(t *testing.T, e *rawEnv) {
		for _, k := range []string{"a", "b", "c"} {
			e.put(k, k, nil)
		}
		st, _, body := e.call(http.MethodGet, testBucket, "", "max-keys=2", "", nil)
		require.Equal(t, 200, st)
		assert.Contains(t, body, "<IsTruncated>true</IsTruncated>")
		if e.dialect == signer.OBS {
			assert.Contains(t, body, "<NextMarker>b</NextMarker>", "OBS returns NextMarker on every truncated page")
		} else {
			assert.NotContains(t, body, "<NextMarker>", "S3 returns NextMarker only with a delimiter")
		}
		st, _, body = e.call(http.MethodGet, testBucket, "", "max-keys=2&delimiter=/", "", nil)
		require.Equal(t, 200, st)
		assert.Contains(t, body, "<NextMarker>b</NextMarker>")
		st, _, body = e.call(http.MethodGet, testBucket, "", "max-keys=x", "", nil)
		assert.Equal(t, 400, st)
		assert.Equal(t, "InvalidArgument", errCode(body))
		st, _, body = e.call(http.MethodGet, testBucket, "", "list-type=2&max-keys=2", "", nil)
		require.Equal(t, 200, st)
		assert.Contains(t, body, "<KeyCount>2</KeyCount>")
		tok := between(body, "<NextContinuationToken>", "</NextContinuationToken>")
		st, _, body = e.call(http.MethodGet, testBucket, "", "list-type=2&continuation-token="+tok, "", nil)
		require.Equal(t, 200, st)
		assert.Contains(t, body, "<Key>c</Key>")
	})
}

func TestAppendAndListType(t *testing.T) {
	forEachDialect(t, Options{}, func(t *testing.T, e *rawEnv) {
		st, h, body := e.call(http.MethodPost, testBucket, "app", "append&position=0", "abc", nil)
		require.Equal(t, 200, st, body)
		assert.Equal(t, "3", h.Get("x-obs-next-append-position"))
		st, _, body = e.call(http.MethodGet, testBucket, "", "", "", nil)
		require.Equal(t, 200, st)
		assert.Contains(t, body, "<Type>APPENDABLE</Type>")
		st, _, body = e.call(http.MethodPost, testBucket, "app", "append&position=1", "x", nil)
		assert.Equal(t, 409, st)
		assert.Equal(t, "PositionNotEqualToLength", errCode(body))
	})
}

func TestSignatureForms(t *testing.T) {
	e := newRaw(t, signer.OBS, Options{})
	e.put("k", "v", nil)
	// x-obs-date with an empty Date line (the documented form).
	now := time.Now().UTC().Format(signer.HTTPDate)
	r, _ := http.NewRequest(http.MethodHead, e.srv.URL+"/"+testBucket+"/k", nil)
	r.Header.Set("x-obs-date", now)
	sts := signer.StringToSign("HEAD", "", "", "", signer.CanonicalHeaders(r.Header, "x-obs-"), "/"+testBucket+"/k")
	r.Header.Set("Authorization", "OBS "+testAK+":"+signer.SignHMACSHA1(testSK, sts))
	st, _, _ := e.do(r)
	assert.Equal(t, 200, st, "documented x-obs-date form")

	// Path-style bucket-level resource with a trailing slash.
	r, _ = http.NewRequest(http.MethodGet, e.srv.URL+"/"+testBucket+"/", nil)
	r.Header.Set("Date", now)
	sts = signer.StringToSign("GET", "", "", now, "", "/"+testBucket+"/")
	r.Header.Set("Authorization", "OBS "+testAK+":"+signer.SignHMACSHA1(testSK, sts))
	st, _, body := e.do(r)
	assert.Equal(t, 200, st, body)

	// Anonymous and unsupported schemes.
	r, _ = http.NewRequest(http.MethodGet, e.srv.URL+"/"+testBucket+"/k", nil)
	st, _, body = e.do(r)
	assert.Equal(t, 403, st)
	assert.Equal(t, "AccessDenied", errCode(body))
	r.Header.Set("Authorization", "Bearer x")
	st, _, _ = e.do(r)
	assert.Equal(t, 400, st)
}

func TestProtocolVectors(t *testing.T) {
	vecDate, _ := time.Parse(signer.HTTPDate, "Tue, 15 Oct 2024 08:00:00 GMT")
	srv := NewTest(t, Options{AccessKey: "AKEXAMPLE", SecretKey: "SKEXAMPLE", Buckets: []string{"examplebucket"},
		Domains: []string{"obs.cn-north-4.myhuaweicloud.com"}, Clock: func() time.Time { return vecDate }})
	client := &http.Client{Transport: &http.Transport{DialContext: dialTo(srv.Addr())}}
	send := func(method, url, auth string, h map[string]string, body string) int {
		r, _ := http.NewRequest(method, url, strings.NewReader(body))
		r.Header.Set("Date", "Tue, 15 Oct 2024 08:00:00 GMT")
		for k, v := range h {
			r.Header.Set(k, v)
		}
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		resp, err := client.Do(r)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	host := "http://examplebucket.obs.cn-north-4.myhuaweicloud.com"
	// A: the documented PUT (body "hello world" has MD5 XrY7u+Ae7tCTyyK7j1rNww==).
	assert.Equal(t, 200, send("PUT", host+"/dir/a%20b%2Bc~%C3%A9.txt", "OBS AKEXAMPLE:+ZCKBIrxjAsZ9jG+oC8UgRtnfj8=",
		map[string]string{"Content-Type": "text/plain", "Content-MD5": "XrY7u+Ae7tCTyyK7j1rNww==", "x-obs-acl": "public-read",
			"x-obs-meta-Author": "alice", "x-obs-storage-class": "WARM"}, "hello world"))
	_, ok := srv.Object("examplebucket", "dir/a b+c~é.txt")
	assert.True(t, ok)
	// B: list.
	assert.Equal(t, 200, send("GET", host+"/", "OBS AKEXAMPLE:RDot/yM8a4QBRthEt3YJZA4+QEU=", nil, ""))
	// E: presigned GET; version v1 does not exist, so a matching signature
	// shows as 404 NoSuchVersion rather than 403.
	_, err := srv.PutObject("examplebucket", "dir/a b.txt", []byte("x"), ObjectInfo{})
	require.NoError(t, err)
	e := host + "/dir/a%20b.txt?versionId=v1&AccessKeyId=AKEXAMPLE&Expires=1729000000&Signature=6Ck95KkHCdUnCpvSKAwUVEAFMQ8%3D"
	assert.Equal(t, 404, send("GET", e, "", nil, ""), "vector E")
	assert.Equal(t, 403, send("GET", strings.Replace(e, "6Ck9", "7Ck9", 1), "", nil, ""))
	// F: E with a security token.
	srvF := NewTest(t, Options{AccessKey: "AKEXAMPLE", SecretKey: "SKEXAMPLE", SecurityToken: "TOKEN123", Buckets: []string{"examplebucket"},
		Domains: []string{"obs.cn-north-4.myhuaweicloud.com"}, Clock: func() time.Time { return vecDate }})
	fURL := "http://examplebucket.obs.cn-north-4.myhuaweicloud.com/dir/a%20b.txt?x-obs-security-token=TOKEN123&AccessKeyId=AKEXAMPLE&Expires=1729000000&Signature=OYapo4wW%2FQjg42pYsI73IEASNL0%3D"
	clientF := &http.Client{Transport: &http.Transport{DialContext: dialTo(srvF.Addr())}}
	resp, err := clientF.Get(fURL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 404, resp.StatusCode, "vector F (NoSuchKey after a valid signature)")
	// G: V4 HEAD (port :80 signed in the host; the emulator uses Host verbatim).
	r, _ := http.NewRequest("HEAD", host+"/dir/a%20b.txt", nil)
	r.Host = "examplebucket.obs.cn-north-4.myhuaweicloud.com:80"
	r.Header.Set("Date", "Tue, 15 Oct 2024 08:00:00 GMT")
	r.Header.Set("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKEXAMPLE/20241015/cn-north-4/s3/aws4_request,SignedHeaders=date;host;x-amz-content-sha256,Signature=356d934a2012541624fd5d126c215fe063d4cdffe2ba0c3208eba96505f86c6a")
	resp, err = client.Do(r)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode, "vector G")
	// G with X-Amz-Date in place of Date, as obsclient signs V4 (computed,
	// signer_test.go TestVectorG_V4AmzDate): accepted the way S3 accepts it.
	g2 := func(signed, sig string) int {
		r, _ := http.NewRequest("HEAD", host+"/dir/a%20b.txt", nil)
		r.Host = "examplebucket.obs.cn-north-4.myhuaweicloud.com:80"
		r.Header.Set("X-Amz-Date", "20241015T080000Z")
		r.Header.Set("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
		r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKEXAMPLE/20241015/cn-north-4/s3/aws4_request,SignedHeaders="+signed+",Signature="+sig)
		resp, err := client.Do(r)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, 200, g2("host;x-amz-content-sha256;x-amz-date", "730a3a849964200c43985b9124850798d07e89eba069ed74143505fb795f3463"), "vector G with X-Amz-Date")
	// The date must be signed (S3: "There were headers present in the
	// request which were not signed"): a replayable request is refused.
	crNoDate := "HEAD\n/dir/a%20b.txt\n\nhost:examplebucket.obs.cn-north-4.myhuaweicloud.com:80\nx-amz-content-sha256:UNSIGNED-PAYLOAD\n\nhost;x-amz-content-sha256\nUNSIGNED-PAYLOAD"
	sig := signer.SignV4("SKEXAMPLE", vecDate, "cn-north-4", signer.StringToSignV4(vecDate, "cn-north-4", crNoDate))
	assert.Equal(t, 403, g2("host;x-amz-content-sha256", sig), "an unsigned X-Amz-Date")
}

func TestV4PayloadHash(t *testing.T) {
	e := newRaw(t, signer.V4, Options{})
	body := "payload checked"
	sum := sha256hex(body)
	st, _, b := e.call(http.MethodPut, testBucket, "h", "", body, func(r *http.Request) {
		r.Header.Set("x-amz-content-sha256", sum)
		r.Header.Set("x-amz-date", time.Now().UTC().Format(signer.ISO8601Basic))
	})
	assert.Equal(t, 200, st, b)
	st, _, b = e.call(http.MethodPut, testBucket, "h2", "", body, func(r *http.Request) {
		r.Header.Set("x-amz-content-sha256", sha256hex("something else"))
	})
	assert.Equal(t, 400, st)
	assert.Equal(t, "XAmzContentSHA256Mismatch", errCode(b))
	_, ok := e.srv.Object(testBucket, "h2")
	assert.False(t, ok)
}

func TestV4StreamingChunked(t *testing.T) {
	e := newRaw(t, signer.V4, Options{})
	now := time.Now().UTC()
	data := strings.Repeat("0123456789abcdef", 5000)
	chunks := []string{data[:65536], data[65536:], ""}
	r, _ := http.NewRequest(http.MethodPut, e.srv.URL+"/"+testBucket+"/stream", nil)
	r.Header.Set("x-amz-date", now.Format(signer.ISO8601Basic))
	r.Header.Set("x-amz-content-sha256", streamingSigned)
	r.Header.Set("x-amz-decoded-content-length", strconv.Itoa(len(data)))
	r.Header.Set("Content-Encoding", "aws-chunked")
	signed := []string{"content-encoding", "host", "x-amz-content-sha256", "x-amz-date", "x-amz-decoded-content-length"}
	cr := signer.CanonicalRequestV4("PUT", "/"+testBucket+"/stream", nil, r.Header, r.URL.Host, signed, streamingSigned)
	seed := signer.SignV4(testSK, now, "cn-north-4", signer.StringToSignV4(now, "cn-north-4", cr))
	r.Header.Set("Authorization", signer.AuthorizationV4(testAK, now, "cn-north-4", signed, seed))
	key := signer.SigningKeyV4(testSK, now, "cn-north-4")
	var sb strings.Builder
	prev := seed
	for _, c := range chunks {
		sts := "AWS4-HMAC-SHA256-PAYLOAD\n" + now.Format(signer.ISO8601Basic) + "\n" + signer.ScopeV4(now, "cn-north-4") + "\n" + prev + "\n" + emptySHA256 + "\n" + sha256hex(c)
		sig := hmacHex(key, sts)
		fmt.Fprintf(&sb, "%x;chunk-signature=%s\r\n%s\r\n", len(c), sig, c)
		prev = sig
	}
	encoded := sb.String()
	r.Body = ioNopCloser(strings.NewReader(encoded))
	r.ContentLength = int64(len(encoded))
	st, _, body := e.do(r)
	require.Equal(t, 200, st, body)
	got, _ := e.srv.ObjectBody(testBucket, "stream")
	assert.Equal(t, data, string(got))
	o, _ := e.srv.Object(testBucket, "stream")
	assert.Empty(t, o.Headers["Content-Encoding"], "aws-chunked is not stored")

	// A tampered chunk fails.
	bad := strings.Replace(encoded, "0123456789abcdef", "0123456789abcdeX", 1)
	r2 := r.Clone(r.Context())
	r2.Body = ioNopCloser(strings.NewReader(bad))
	r2.ContentLength = int64(len(bad))
	r2.URL.Path = "/" + testBucket + "/stream"
	st, _, _ = e.do(r2)
	assert.Equal(t, 403, st)
}

func TestConcurrentAppendsAndPuts(t *testing.T) {
	for _, root := range []string{"", t.TempDir()} {
		e := newRaw(t, signer.OBS, Options{Root: root})
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := 0; j < 20; j++ {
					key := fmt.Sprintf("c%d/%d", i%2, j%3)
					e.call(http.MethodPut, testBucket, key, "", strings.Repeat("x", j+1), nil)
					e.call(http.MethodGet, testBucket, key, "", "", nil)
					e.call(http.MethodGet, testBucket, "", "prefix=c", "", nil)
					e.call(http.MethodDelete, testBucket, key, "", "", nil)
				}
			}()
		}
		wg.Wait()
		// One appender wins each position.
		var won sync.Map
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st, _, _ := e.call(http.MethodPost, testBucket, "race", "append&position=0", "abc", nil)
				won.Store(i, st)
			}()
		}
		wg.Wait()
		ok := 0
		won.Range(func(_, v any) bool {
			if v.(int) == 200 {
				ok++
			}
			return true
		})
		assert.Equal(t, 1, ok)
	}
}

func TestDiskStoreStreams(t *testing.T) {
	dir := t.TempDir()
	e := newRaw(t, signer.V2, Options{Root: dir})
	body := strings.Repeat("disk", 100000)
	e.put("big", body, nil)
	st, _, got := e.call(http.MethodGet, testBucket, "big", "", "", func(r *http.Request) { r.Header.Set("Range", "bytes=4-11") })
	assert.Equal(t, 206, st)
	assert.Equal(t, "diskdisk", got)
	e.call(http.MethodDelete, testBucket, "big", "", "", nil)
	assert.Eventually(t, func() bool { return countFiles(dir) == 0 }, time.Second, 10*time.Millisecond, "blob files are removed with their last reference")
}

func between(s, a, b string) string {
	_, rest, _ := strings.Cut(s, a)
	out, _, _ := strings.Cut(rest, b)
	return out
}

func TestDeleteMarkerHeadersAndOverrides(t *testing.T) {
	forEachDialect(t, Options{Versioned: true}, func(t *testing.T, e *rawEnv) {
		p := e.dialect.HeaderPrefix()
		h := e.put("k", "v1", func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") })
		v1 := h.Get(p + "version-id")
		require.NotEmpty(t, v1)
		st, h, body := e.call(http.MethodGet, testBucket, "k", "response-content-type=application/x-test&response-cache-control=no-cache", "", nil)
		assert.Equal(t, 200, st)
		assert.Equal(t, "application/x-test", h.Get("Content-Type"))
		assert.Equal(t, "no-cache", h.Get("Cache-Control"))
		assert.Equal(t, "v1", body)
		st, h, _ = e.call(http.MethodDelete, testBucket, "k", "", "", nil)
		assert.Equal(t, 204, st)
		marker := h.Get(p + "version-id")
		assert.Equal(t, "true", h.Get(p+"delete-marker"))
		st, h, _ = e.call(http.MethodGet, testBucket, "k", "", "", nil)
		assert.Equal(t, 404, st)
		assert.Equal(t, "true", h.Get(p+"delete-marker"))
		st, _, _ = e.call(http.MethodHead, testBucket, "k", "versionId="+marker, "", nil)
		assert.Equal(t, 405, st)
		st, _, body = e.call(http.MethodGet, testBucket, "k", "versionId="+v1, "", nil)
		assert.Equal(t, 200, st)
		assert.Equal(t, "v1", body)
		st, _, body = e.call(http.MethodPut, testBucket, "c", "", "", func(r *http.Request) {
			r.Header.Set(p+"copy-source", "/"+testBucket+"/k?versionId="+v1)
		})
		assert.Equal(t, 200, st, body)
		assert.Contains(t, body, "<CopyObjectResult")
	})
}

func TestCreateDeleteBucket(t *testing.T) {
	forEachDialect(t, Options{}, func(t *testing.T, e *rawEnv) {
		st, _, _ := e.call(http.MethodPut, "newbucket", "", "", "", nil)
		assert.Equal(t, 200, st)
		st, _, body := e.call(http.MethodPut, "newbucket", "", "", "", nil)
		assert.Equal(t, 409, st)
		assert.Equal(t, "BucketAlreadyOwnedByYou", errCode(body))
		st, _, body = e.call(http.MethodPut, "Bad_Name", "", "", "", nil)
		assert.Equal(t, 400, st)
		assert.Equal(t, "InvalidBucketName", errCode(body))
		_, err := e.srv.PutObject("newbucket", "x", []byte("x"), ObjectInfo{})
		require.NoError(t, err)
		st, _, body = e.call(http.MethodDelete, "newbucket", "", "", "", nil)
		assert.Equal(t, 409, st)
		assert.Equal(t, "BucketNotEmpty", errCode(body))
		e.call(http.MethodDelete, "newbucket", "x", "", "", nil)
		st, _, _ = e.call(http.MethodDelete, "newbucket", "", "", "", nil)
		assert.Equal(t, 204, st)
		st, _, _ = e.call(http.MethodHead, "newbucket", "", "", "", nil)
		assert.Equal(t, 404, st)
	})
}

func TestObjectTaggingAndAppendLimit(t *testing.T) {
	forEachDialect(t, Options{}, func(t *testing.T, e *rawEnv) {
		e.put("t", "x", nil)
		doc := "<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag></TagSet></Tagging>"
		st, _, body := e.call(http.MethodPut, testBucket, "t", "tagging", doc, nil)
		require.Equal(t, 200, st, body)
		st, _, body = e.call(http.MethodGet, testBucket, "t", "tagging", "", nil)
		assert.Equal(t, 200, st)
		assert.Contains(t, body, "<Tag><Key>a</Key><Value>1</Value></Tag>")
		var sb strings.Builder
		sb.WriteString("<Tagging><TagSet>")
		for i := 0; i < 11; i++ {
			fmt.Fprintf(&sb, "<Tag><Key>k%d</Key><Value>v</Value></Tag>", i)
		}
		sb.WriteString("</TagSet></Tagging>")
		st, _, body = e.call(http.MethodPut, testBucket, "t", "tagging", sb.String(), nil)
		assert.Equal(t, 400, st)
		assert.Equal(t, "InvalidTag", errCode(body))
		st, _, _ = e.call(http.MethodDelete, testBucket, "t", "tagging", "", nil)
		assert.Equal(t, 204, st)
		o, _ := e.srv.Object(testBucket, "t")
		assert.Empty(t, o.Tags)

		st, _, _ = e.call(http.MethodPost, testBucket, "a", "append&position=0", "x", nil)
		require.Equal(t, 200, st)
		b := e.srv.bucket(testBucket)
		b.mu.Lock()
		b.latest("a").AppendCount = maxAppends
		b.mu.Unlock()
		st, _, body = e.call(http.MethodPost, testBucket, "a", "append&position=1", "y", nil)
		assert.Equal(t, 409, st)
		assert.Equal(t, "ObjectNotAppendable", errCode(body))
	})
}

func TestPolicyEvaluation(t *testing.T) {
	doc := `{"Statement":[
		{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/pub/*"},
		{"Effect":"Deny","Principal":{"AWS":"*"},"Action":["*"],"Resource":["b/pub/secret*"]},
		{"Effect":"Allow","Principal":{"ID":["*"]},"Action":["ListBucket"],"Resource":["b"]},
		{"Effect":"Allow","Principal":"*","Action":"GetObject","Resource":"b/cond/*","Condition":{"IpAddress":{}}}]}`
	for _, c := range []struct {
		action, res string
		want        bool
	}{
		{"GetObject", "b/pub/a.txt", true},
		{"GetObject", "b/pub/secret.txt", false},
		{"GetObject", "b/other", false},
		{"ListBucket", "b", true},
		{"GetObject", "b/cond/x", false},
	} {
		assert.Equal(t, c.want, policyAllowsAnonymous([]byte(doc), c.action, c.res), c.res)
	}
	assert.False(t, policyAllowsAnonymous(nil, "GetObject", "b/x"))
}

func TestTruncateIsSparse(t *testing.T) {
	e := newRaw(t, signer.OBS, Options{})
	_, err := e.srv.PutObject(testFS, "f", []byte("abc"), ObjectInfo{})
	require.NoError(t, err)
	st, _, body := e.call(http.MethodPut, testFS, "f", "truncate&length=1000000000000", "", nil)
	require.Equal(t, 200, st, body)
	o, _ := e.srv.Object(testFS, "f")
	assert.Equal(t, int64(1000000000000), o.Size, "a 1 TB sparse extension costs nothing")
	st, _, got := e.call(http.MethodGet, testFS, "f", "", "", func(r *http.Request) { r.Header.Set("Range", "bytes=1-4") })
	assert.Equal(t, 206, st)
	assert.Equal(t, "bc\x00\x00", got)
	st, _, _ = e.call(http.MethodPut, testFS, "f", "truncate&length=2", "", nil)
	assert.Equal(t, 200, st)
	got2, _ := e.srv.ObjectBody(testFS, "f")
	assert.Equal(t, "ab", string(got2))
	st, _, _ = e.call(http.MethodPut, testBucket, "f", "truncate&length=2", "", nil)
	assert.Equal(t, 405, st, "truncate is PFS-only")
}

func TestACLDialectsAndGrantHeaders(t *testing.T) {
	forEachDialect(t, Options{OwnerID: "owner0"}, func(t *testing.T, e *rawEnv) {
		p := e.dialect.HeaderPrefix()
		e.put("g", "x", func(r *http.Request) {
			r.Header.Set(p+"grant-read", `id=domainA, id="domainB"`)
			r.Header.Set(p+"grant-full-control", "id=owner0")
		})
		st, _, body := e.call(http.MethodGet, testBucket, "g", "acl", "", nil)
		require.Equal(t, 200, st)
		assert.Contains(t, body, "<ID>domainA</ID>")
		assert.Contains(t, body, "<ID>domainB</ID>")
		e.put("pub", "x", func(r *http.Request) { r.Header.Set(p+"acl", "public-read") })
		_, _, body = e.call(http.MethodGet, testBucket, "pub", "acl", "", nil)
		if e.dialect == signer.OBS {
			assert.Contains(t, body, "<Grantee><Canned>Everyone</Canned></Grantee><Permission>READ</Permission>")
			assert.Contains(t, body, "<Delivered>false</Delivered>", "object ACLs carry Delivered")
			assert.NotContains(t, body, "xsi:type")
		} else {
			assert.Contains(t, body, `xsi:type="Group"`)
			assert.Contains(t, body, "<URI>http://acs.amazonaws.com/groups/global/AllUsers</URI>")
		}
		_, _, body = e.call(http.MethodGet, testBucket, "", "acl", "", nil)
		assert.Contains(t, body, "<ID>owner0</ID>")
		if e.dialect == signer.OBS {
			assert.Contains(t, body, "<Permission>FULL_CONTROL</Permission><Delivered>false</Delivered>", "bucket grants carry Delivered")
		}
		st, _, body = e.call(http.MethodPut, testBucket, "g", "acl", "<AccessControlPolicy><AccessControlList><Grant><Grantee><ID>u</ID></Grantee><Permission>BOGUS</Permission></Grant></AccessControlList></AccessControlPolicy>", nil)
		assert.Equal(t, 400, st)
		assert.Equal(t, "MalformedXML", errCode(body))
	})
}

func TestV4StreamingUnsignedTrailer(t *testing.T) {
	e := newRaw(t, signer.V4, Options{})
	data := strings.Repeat("trailer-", 3000)
	encoded := fmt.Sprintf("%x\r\n%s\r\n%x\r\n%s\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n", 10000, data[:10000], len(data)-10000, data[10000:])
	st, _, body := e.call(http.MethodPut, testBucket, "trail", "", "", func(r *http.Request) {
		r.Header.Set("x-amz-content-sha256", streamingUnsigned)
		r.Header.Set("x-amz-decoded-content-length", strconv.Itoa(len(data)))
		r.Header.Set("x-amz-trailer", "x-amz-checksum-crc32")
		r.Header.Set("Content-Encoding", "aws-chunked")
		r.Body = ioNopCloser(strings.NewReader(encoded))
		r.ContentLength = int64(len(encoded))
	})
	require.Equal(t, 200, st, body)
	got, _ := e.srv.ObjectBody(testBucket, "trail")
	assert.Equal(t, data, string(got))
}
