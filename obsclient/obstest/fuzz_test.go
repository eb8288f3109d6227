package obstest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/obsfs/obsfs/obsclient/signer"
)

// Fuzz targets for the XML request parsers: whatever arrives, the emulator
// answers with a status (never a panic or a 500).

// fuzzPost signs and serves one request in-process and returns its status.
func fuzzPost(t *testing.T, srv *Server, method, key, query, doc string, md5 bool) int {
	u := "http://127.0.0.1/" + testBucket + "/" + signer.EscapeKey(key)
	if key == "" {
		u = "http://127.0.0.1/" + testBucket
	}
	r := httptest.NewRequest(method, u+"?"+query, strings.NewReader(doc))
	if md5 {
		r.Header.Set("Content-MD5", contentMD5(doc))
	}
	signer.SignRequest(r, signer.V2, signer.Credentials{AccessKey: testAK, SecretKey: testSK},
		signer.Target{Bucket: testBucket, EscapedKey: signer.EscapeKey(key)}, srv.now())
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, r)
	if w.Code == http.StatusInternalServerError {
		t.Fatalf("%s %s?%s with %q: status %d: %s", method, key, query, doc, w.Code, w.Body.String())
	}
	return w.Code
}

func fuzzServer(t *testing.T) *Server {
	srv, err := NewUnstarted(Options{AccessKey: testAK, SecretKey: testSK, Buckets: []string{testBucket}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

func FuzzCompleteMultipart(f *testing.F) {
	f.Add("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"x\"</ETag></Part></CompleteMultipartUpload>")
	f.Add("<CompleteMultipartUpload><Part><PartNumber>-1</PartNumber></Part><Part/></CompleteMultipartUpload>")
	f.Add("<a")
	f.Fuzz(func(t *testing.T, doc string) {
		srv := fuzzServer(t)
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1/"+testBucket+"/k?uploads", nil)
		signer.SignRequest(r, signer.V2, signer.Credentials{AccessKey: testAK, SecretKey: testSK},
			signer.Target{Bucket: testBucket, EscapedKey: "k"}, srv.now())
		srv.ServeHTTP(w, r)
		id := between(w.Body.String(), "<UploadId>", "</UploadId>")
		fuzzPost(t, srv, http.MethodPut, "k", "partNumber=1&uploadId="+id, "part", false)
		fuzzPost(t, srv, http.MethodPost, "k", "uploadId="+id, doc, false)
	})
}

func FuzzDeleteObjects(f *testing.F) {
	f.Add("<Delete><Quiet>true</Quiet><Object><Key>a</Key><VersionId>v</VersionId></Object></Delete>")
	f.Add("<Delete><Object><Key></Key></Object></Delete>")
	f.Fuzz(func(t *testing.T, doc string) {
		fuzzPost(t, fuzzServer(t), http.MethodPost, "", "delete", doc, true)
	})
}

func FuzzACL(f *testing.F) {
	f.Add("<AccessControlPolicy><Owner><ID>o</ID></Owner><AccessControlList><Grant><Grantee><Canned>Everyone</Canned></Grantee><Permission>READ</Permission></Grant></AccessControlList></AccessControlPolicy>")
	f.Add(`<AccessControlPolicy><AccessControlList><Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>WRITE</Permission></Grant></AccessControlList></AccessControlPolicy>`)
	f.Fuzz(func(t *testing.T, doc string) {
		srv := fuzzServer(t)
		if _, err := srv.PutObject(testBucket, "k", []byte("x"), ObjectInfo{}); err != nil {
			t.Fatal(err)
		}
		fuzzPost(t, srv, http.MethodPut, "k", "acl", doc, false)
		fuzzPost(t, srv, http.MethodPut, "", "acl", doc, false)
	})
}

func FuzzTagging(f *testing.F) {
	f.Add("<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value></Tag></TagSet></Tagging>")
	f.Add("<Tagging><TagSet><Tag><Key></Key></Tag></TagSet></Tagging>")
	f.Fuzz(func(t *testing.T, doc string) {
		srv := fuzzServer(t)
		if _, err := srv.PutObject(testBucket, "k", []byte("x"), ObjectInfo{}); err != nil {
			t.Fatal(err)
		}
		fuzzPost(t, srv, http.MethodPut, "k", "tagging", doc, false)
		fuzzPost(t, srv, http.MethodPut, "", "tagging", doc, true)
		fuzzPost(t, srv, http.MethodPut, "", "lifecycle", doc, true)
	})
}

// FuzzRequests sends signed requests with arbitrary method, key, query,
// headers and body to a bucket holding a few objects: nothing may panic or
// answer 500.
func FuzzRequests(f *testing.F) {
	f.Add("GET", "k", "versionId=null", "Range", "bytes=0-", "")
	f.Add("PUT", "k", "partNumber=1&uploadId=x", "x-obs-copy-source", "bkt/k", "body")
	f.Add("POST", "app", "append&position=0", "Content-MD5", "xx", "data")
	f.Add("PUT", "k", "metadata", "x-obs-metadata-directive", "REPLACE_NEW", "")
	f.Add("POST", "k", "restore", "", "", "<RestoreRequest><Days>1</Days></RestoreRequest>")
	f.Add("PUT", "", "quota", "", "", "<Quota><StorageQuota>-1</StorageQuota></Quota>")
	f.Add("GET", "", "versions&key-marker=k&version-id-marker=zz&delimiter=/", "", "", "")
	f.Add("PUT", "d/", "truncate&length=5", "", "", "")
	f.Fuzz(func(t *testing.T, method, key, query, hname, hval, body string) {
		if len(key) > 1100 || strings.ContainsAny(key, "\x00") {
			return
		}
		srv := fuzzServer(t)
		for _, k := range []string{"k", "d/", "d/x", "app"} {
			if _, err := srv.PutObject(testBucket, k, []byte("0123456789"), ObjectInfo{Appendable: k == "app"}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := srv.PutObject(testBucket, "cold", []byte("c"), ObjectInfo{StorageClass: "COLD"}); err != nil {
			t.Fatal(err)
		}
		u := "http://127.0.0.1/" + testBucket + "/" + signer.EscapeKey(key)
		r, err := http.NewRequest(method, u+"?"+query, strings.NewReader(body))
		if err != nil {
			return
		}
		if hname != "" && validHeader(hname, hval) {
			r.Header.Set(hname, hval)
		}
		signer.SignRequest(r, signer.OBS, signer.Credentials{AccessKey: testAK, SecretKey: testSK},
			signer.Target{Bucket: testBucket, EscapedKey: signer.EscapeKey(key)}, srv.now())
		r.RequestURI = r.URL.RequestURI()
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
		if w.Code == http.StatusInternalServerError {
			t.Fatalf("%s %s?%s [%s: %s]: %d %s", method, key, query, hname, hval, w.Code, w.Body.String())
		}
	})
}

// validHeader filters header names/values net/http would refuse to send.
func validHeader(name, value string) bool {
	for _, c := range name {
		if c <= ' ' || c >= 0x7f || strings.ContainsRune("()<>@,;:\\\"/[]?={}", c) {
			return false
		}
	}
	for _, c := range value {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
