package fs

import (
	"bytes"
	"os"
	"testing"

	"github.com/obsfs/obsfs/obsclient"
	"github.com/obsfs/obsfs/obsclient/signer"
)

// In the S3 dialect (signature=v4, what S3-compatible servers speak) a
// non-last part is at least S3's 5 MiB: growing a 1 MiB object rewrites it
// in one PUT instead of copying the old object as a 1 MiB first part
// (which S3 servers refuse at Complete with EntityTooSmall); a 6 MiB
// object still grows by a server-side copy.
func TestS3DialectGrowthRespectsS3PartMinimum(t *testing.T) {
	e := newEnv(t)
	c, err := obsclient.New(obsclient.Config{Endpoint: e.srv.URL, Signature: signer.V4, Addressing: obsclient.AddressingPath,
		Credentials: signer.Credentials{AccessKey: testAK, SecretKey: testSK}})
	if err != nil {
		t.Fatal(err)
	}
	if e.b, err = c.Bucket(testBucket); err != nil {
		t.Fatal(err)
	}
	small := bytes.Repeat([]byte("0123456789abcdef"), (1<<20)/16)
	large := bytes.Repeat([]byte("fedcba9876543210"), (6<<20)/16)
	e.put("small", string(small), nil)
	e.put("large", string(large), nil)
	e.mount(Options{MultipartSize: 5 << 20})
	delta := bytes.Repeat([]byte("z"), 5000)
	grow := func(name string) {
		t.Helper()
		f, err := os.OpenFile(e.path(name), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(delta); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	e.srv.ResetStats()
	grow("small")
	if s := e.srv.Stats(); s["UploadPartCopy"].Requests != 0 || s["PutObject"].Requests != 1 {
		t.Errorf("growing a 1 MiB object: UploadPartCopy %d PutObject %d, want 0 and 1 (a 1 MiB copy part is below S3's minimum)",
			s["UploadPartCopy"].Requests, s["PutObject"].Requests)
	}
	e.srv.ResetStats()
	grow("large")
	if s := e.srv.Stats(); s["UploadPartCopy"].Requests != 1 || s["UploadPart"].BytesIn != int64(len(delta)) {
		t.Errorf("growing a 6 MiB object: UploadPartCopy %+v UploadPart %+v, want one copy and the delta uploaded",
			s["UploadPartCopy"], s["UploadPart"])
	}
	for name, want := range map[string][]byte{"small": small, "large": large} {
		if got, _ := e.body(name); got != string(want)+string(delta) {
			t.Errorf("%s: content differs after growth", name)
		}
	}
}
