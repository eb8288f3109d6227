package fs

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-obs/obs"
	"golang.org/x/sys/unix"

	"github.com/obsfs/obsfs/obsclient"
)

// sdk is the official Huawei SDK on the emulator: the second client that
// checks the bucket state the mount produced.
func (e *env) sdk() *obs.ObsClient {
	e.t.Helper()
	c, err := obs.New(testAK, testSK, e.srv.URL, obs.WithPathStyle(true), obs.WithSignature(obs.SignatureObs),
		obs.WithMaxRetryCount(0), obs.WithRegion("cn-north-4"))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(c.Close)
	return c
}

// writeCtl writes a control file the way a shell does and returns the
// error of the close (where the value is applied).
func writeCtl(path, content string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func getx(t *testing.T, path, name string) (string, error) {
	t.Helper()
	buf := make([]byte, 64<<10)
	n, err := unix.Getxattr(path, name, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

func TestControlDirHidden(t *testing.T) {
	e := newEnv(t)
	e.put("d/f", "x", nil)
	e.put(".obsfs/junk", "a key under the control dir's name is hidden by it", nil)
	e.mount(Options{ControlDir: ".obsfs"})
	if got := strings.Join(readDirNames(t, e.mnt), " "); got != "d/" {
		t.Fatalf("ls / = %q", got)
	}
	if fi, err := os.Stat(e.path(".obsfs")); err != nil || !fi.IsDir() {
		t.Fatalf("stat .obsfs: %v", err)
	}
	names := strings.Join(readDirNames(t, e.path(".obsfs")), " ")
	for _, want := range []string{"versioning", "quota", "acl", "policy", "lifecycle", "tagging", "cors", "website", "logging",
		"notification", "encryption", "storage_class", "location", "storageinfo", "stats", "uploads/", "versions/"} {
		if !strings.Contains(" "+names+" ", " "+want+" ") {
			t.Errorf("ls .obsfs = %q, missing %s", names, want)
		}
	}
	out, err := exec.Command("find", e.mnt).CombinedOutput()
	if err != nil || strings.Contains(string(out), ".obsfs") {
		t.Fatalf("find: %v %s", err, out)
	}
	dst := filepath.Join(t.TempDir(), "copy")
	if out, err := exec.Command("cp", "-a", e.mnt, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp -a: %v %s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dst, ".obsfs")); !os.IsNotExist(err) {
		t.Fatalf("cp -a copied the control dir: %v", err)
	}
	wantErrno(t, "rmdir control", unix.Rmdir(e.path(".obsfs")), syscall.EPERM)
	wantErrno(t, "rename control", os.Rename(e.path(".obsfs"), e.path("x")), syscall.EPERM)
	// Disabled: .obsfs is whatever the bucket holds (here the hidden key).
	e.remount(Options{})
	if got := strings.Join(readDirNames(t, e.path(".obsfs")), " "); got != "junk" {
		t.Fatalf("ls .obsfs without the option = %q", got)
	}
	if _, err := os.Stat(e.path(".ctl")); !os.IsNotExist(err) {
		t.Fatalf(".ctl: %v", err)
	}
}

func TestControlBucketSettings(t *testing.T) {
	e := newEnv(t)
	e.mount(Options{ControlDir: ".obsfs"})
	sdk := e.sdk()
	ctl := func(name string) string { return e.path(".obsfs/" + name) }

	// versioning
	if got := mustRead(t, ctl("versioning")); got != "" {
		t.Fatalf("versioning unset = %q", got)
	}
	if err := writeCtl(ctl("versioning"), "Enabled\n"); err != nil {
		t.Fatal(err)
	}
	if v, err := sdk.GetBucketVersioning(e.bucket); err != nil || v.Status != "Enabled" {
		t.Fatalf("SDK versioning %+v %v", v, err)
	}
	wantErrno(t, "bad versioning", writeCtl(ctl("versioning"), "Maybe\n"), syscall.EINVAL)
	if got := mustRead(t, ctl("versioning")); got != "Enabled\n" {
		t.Fatalf("versioning = %q", got)
	}
	if fi, err := os.Stat(ctl("versioning")); err != nil || fi.Size() != int64(len("Enabled\n")) {
		t.Fatalf("stat versioning: %v %v", fi, err)
	}
	if v, err := getx(t, e.mnt, "user.obs.bucket.versioning"); err != nil || v != "Enabled\n" {
		t.Fatalf("root xattr versioning = %q %v", v, err)
	}

	// quota
	if err := writeCtl(ctl("quota"), "1048576\n"); err != nil {
		t.Fatal(err)
	}
	if q, err := sdk.GetBucketQuota(e.bucket); err != nil || q.Quota != 1048576 {
		t.Fatalf("SDK quota %+v %v", q, err)
	}
	wantErrno(t, "bad quota", writeCtl(ctl("quota"), "lots"), syscall.EINVAL)
	wantErrno(t, "unlink quota", os.Remove(ctl("quota")), syscall.EPERM)

	// storage class
	if err := writeCtl(ctl("storage_class"), "WARM"); err != nil {
		t.Fatal(err)
	}
	if sc, err := sdk.GetBucketStoragePolicy(e.bucket); err != nil || !isWarm(string(sc.StorageClass)) {
		t.Fatalf("SDK storage class %+v %v", sc, err)
	}
	wantErrno(t, "bad class", writeCtl(ctl("storage_class"), "SHINY"), syscall.EINVAL)
	if got := mustRead(t, ctl("storage_class")); got != "WARM\n" {
		t.Fatalf("storage_class = %q", got)
	}

	// policy: JSON, malformed JSON, unlink
	policy := `{"Statement":[{"Sid":"pub","Effect":"Allow","Principal":{"ID":["*"]},"Action":["GetObject"],"Resource":["` + e.bucket + `/*"]}]}`
	if err := writeCtl(ctl("policy"), policy); err != nil {
		t.Fatal(err)
	}
	if p, err := sdk.GetBucketPolicy(e.bucket); err != nil || !strings.Contains(p.Policy, `"pub"`) {
		t.Fatalf("SDK policy %+v %v", p, err)
	}
	wantErrno(t, "malformed policy", writeCtl(ctl("policy"), `{"Statement":`), syscall.EINVAL)
	if p, err := sdk.GetBucketPolicy(e.bucket); err != nil || !strings.Contains(p.Policy, `"pub"`) {
		t.Fatalf("SDK policy after bad write %+v %v", p, err)
	}
	if err := os.Remove(ctl("policy")); err != nil {
		t.Fatal(err)
	}
	if _, err := sdk.GetBucketPolicy(e.bucket); err == nil {
		t.Fatal("policy still set after unlink")
	}
	if got := mustRead(t, ctl("policy")); got != "" {
		t.Fatalf("policy after unlink = %q", got)
	}

	// tagging: JSON, XML, 11 tags
	if err := writeCtl(ctl("tagging"), `[{"Key":"team","Value":"storage"}]`); err != nil {
		t.Fatal(err)
	}
	if tg, err := sdk.GetBucketTagging(e.bucket); err != nil || len(tg.Tags) != 1 || tg.Tags[0].Key != "team" {
		t.Fatalf("SDK tagging %+v %v", tg, err)
	}
	if err := writeCtl(ctl("tagging"), `<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>b</Key><Value>2</Value></Tag></TagSet></Tagging>`); err != nil {
		t.Fatal(err)
	}
	if tg, err := sdk.GetBucketTagging(e.bucket); err != nil || len(tg.Tags) != 2 {
		t.Fatalf("SDK tagging after XML %+v %v", tg, err)
	}
	var many []string
	for i := 0; i < 11; i++ {
		many = append(many, `{"Key":"k`+string(rune('a'+i))+`","Value":"v"}`)
	}
	wantErrno(t, "11 tags", writeCtl(ctl("tagging"), "["+strings.Join(many, ",")+"]"), syscall.EINVAL)
	wantErrno(t, "malformed XML", writeCtl(ctl("tagging"), `<Tagging><TagSet>`), syscall.EINVAL)
	if tg, err := sdk.GetBucketTagging(e.bucket); err != nil || len(tg.Tags) != 2 {
		t.Fatalf("SDK tagging after bad writes %+v %v", tg, err)
	}
	if err := unix.Removexattr(e.mnt, "user.obs.bucket.tagging"); err != nil {
		t.Fatal(err)
	}
	if _, err := sdk.GetBucketTagging(e.bucket); err == nil {
		t.Fatal("tagging still set after removexattr")
	}

	// cors through the root xattr, then the file
	cors := `{"CORSRules":[{"AllowedMethods":["GET"],"AllowedOrigins":["*"]}]}`
	if err := unix.Setxattr(e.mnt, "user.obs.bucket.cors", []byte(cors), 0); err != nil {
		t.Fatal(err)
	}
	if c, err := sdk.GetBucketCors(e.bucket); err != nil || len(c.CorsRules) != 1 {
		t.Fatalf("SDK cors %+v %v", c, err)
	}
	wantErrno(t, "unknown JSON field", writeCtl(ctl("cors"), `{"Rulez":[]}`), syscall.EINVAL)
	if !strings.Contains(mustRead(t, ctl("cors")), `"AllowedOrigins"`) {
		t.Fatalf("cors = %q", mustRead(t, ctl("cors")))
	}

	// lifecycle: malformed JSON changes nothing
	wantErrno(t, "malformed lifecycle", writeCtl(ctl("lifecycle"), `{"Rules":[`), syscall.EINVAL)
	if got := mustRead(t, ctl("lifecycle")); got != "" {
		t.Fatalf("lifecycle = %q", got)
	}

	// acl
	if err := writeCtl(ctl("acl"), "public-read\n"); err != nil {
		t.Fatal(err)
	}
	acl, err := sdk.GetBucketAcl(e.bucket)
	if err != nil || !hasAllUsersRead(acl.Grants) {
		t.Fatalf("SDK bucket acl %+v %v", acl, err)
	}
	if got := mustRead(t, ctl("acl")); !strings.Contains(got, "Everyone:READ") || !strings.HasPrefix(got, "owner=") {
		t.Fatalf("acl = %q", got)
	}
	wantErrno(t, "bad acl", writeCtl(ctl("acl"), "Everyone:SOMETIMES\n"), syscall.EINVAL)

	// read-only files
	if got := mustRead(t, ctl("storageinfo")); !strings.HasPrefix(got, "size: ") || !strings.Contains(got, "\nobjects: ") {
		t.Fatalf("storageinfo = %q", got)
	}
	if got := mustRead(t, ctl("location")); strings.TrimSpace(got) == "" {
		t.Fatalf("location = %q", got)
	}
	if got := mustRead(t, ctl("stats")); !strings.Contains(got, `"requests"`) || !strings.Contains(got, `"uploads"`) {
		t.Fatalf("stats = %q", got)
	}
	wantErrno(t, "write location", writeCtl(ctl("location"), "x"), syscall.EPERM)
	wantErrno(t, "create in control dir", os.WriteFile(ctl("new"), nil, 0644), syscall.EPERM)
}

// isWarm: the SDK reports WARM under its S3 name.
func isWarm(c string) bool { return c == "WARM" || c == "STANDARD_IA" }

func hasAllUsersRead(grants []obs.Grant) bool {
	for _, g := range grants {
		if (g.Grantee.URI == obs.GroupAllUsers || g.Grantee.Type == obs.GranteeGroup) && g.Permission == obs.PermissionRead {
			return true
		}
	}
	return false
}

func TestObjectObsXattrs(t *testing.T) {
	e := newEnv(t)
	e.mount(Options{ControlDir: ".obsfs"})
	sdk := e.sdk()
	p := e.path("f.txt")
	mustWrite(t, p, "hello")
	meta := func() *obs.GetObjectMetadataOutput {
		t.Helper()
		m, err := sdk.GetObjectMetadata(&obs.GetObjectMetadataInput{Bucket: e.bucket, Key: "f.txt"})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}

	buf := make([]byte, 4096)
	n, err := unix.Listxattr(p, buf)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"user.obs.acl", "user.obs.storage_class", "user.obs.content_type", "user.obs.etag",
		"user.obs.version_id", "user.obs.object_type", "user.obs.restore", "user.obs.url", "user.obs.tags"} {
		if !strings.Contains(string(buf[:n]), want+"\x00") {
			t.Errorf("listxattr %q misses %s", buf[:n], want)
		}
	}

	if v, err := getx(t, p, "user.obs.etag"); err != nil || v != meta().ETag && `"`+v+`"` != meta().ETag {
		t.Fatalf("etag %q %v (sdk %q)", v, err, meta().ETag)
	}
	if v, err := getx(t, p, "user.obs.object_type"); err != nil || v != "Normal" {
		t.Fatalf("object_type %q %v", v, err)
	}
	if v, err := getx(t, p, "user.obs.version_id"); err != nil || v == "" {
		t.Fatalf("version_id %q %v", v, err)
	}
	wantErrno(t, "write etag", unix.Setxattr(p, "user.obs.etag", []byte("x"), 0), syscall.EPERM)
	wantErrno(t, "write unknown obs name", unix.Setxattr(p, "user.obs.nope", []byte("x"), 0), syscall.EPERM)

	// content type
	if err := unix.Setxattr(p, "user.obs.content_type", []byte("text/x-test"), 0); err != nil {
		t.Fatal(err)
	}
	if ct := meta().ContentType; ct != "text/x-test" {
		t.Fatalf("SDK content type %q", ct)
	}

	// storage class: change, bad value changes nothing
	if err := unix.Setxattr(p, "user.obs.storage_class", []byte("WARM"), 0); err != nil {
		t.Fatal(err)
	}
	if sc := meta().StorageClass; !isWarm(string(sc)) {
		t.Fatalf("SDK class %q", sc)
	}
	wantErrno(t, "unknown class", unix.Setxattr(p, "user.obs.storage_class", []byte("GLACIER"), 0), syscall.EINVAL)
	if v, _ := getx(t, p, "user.obs.storage_class"); v != "WARM" {
		t.Fatalf("class after bad write %q", v)
	}
	if ct := meta().ContentType; ct != "text/x-test" {
		t.Fatalf("class change lost content type: %q", ct)
	}
	if got := mustRead(t, p); got != "hello" {
		t.Fatalf("data after class change %q", got)
	}

	// restore of a non-archived object: the OBS error, as EINVAL
	wantErrno(t, "restore WARM", unix.Setxattr(p, "user.obs.restore", []byte("days=1"), 0), syscall.EINVAL)
	wantErrno(t, "restore malformed", unix.Setxattr(p, "user.obs.restore", []byte("days=99"), 0), syscall.EINVAL)
	if v, _ := getx(t, p, "user.obs.restore"); v != "none" {
		t.Fatalf("restore state %q", v)
	}
	cold := e.path("cold.bin")
	mustWrite(t, cold, "frozen")
	if err := unix.Setxattr(cold, "user.obs.storage_class", []byte("COLD"), 0); err != nil {
		t.Fatal(err)
	}
	if err := unix.Setxattr(cold, "user.obs.restore", []byte("days=2,tier=Expedited"), 0); err != nil {
		t.Fatal(err)
	}
	if v, _ := getx(t, cold, "user.obs.restore"); v == "none" || v == "" {
		t.Fatalf("restore state after restore %q", v)
	}
	if m, err := sdk.GetObjectMetadata(&obs.GetObjectMetadataInput{Bucket: e.bucket, Key: "cold.bin"}); err != nil || m.Restore == "" {
		t.Fatalf("SDK restore header %+v %v", m, err)
	}

	// ACL
	if err := unix.Setxattr(p, "user.obs.acl", []byte("public-read"), 0); err != nil {
		t.Fatal(err)
	}
	oacl, err := sdk.GetObjectAcl(&obs.GetObjectAclInput{Bucket: e.bucket, Key: "f.txt"})
	if err != nil || !hasAllUsersRead(oacl.Grants) {
		t.Fatalf("SDK object acl %+v %v", oacl, err)
	}
	v, err := getx(t, p, "user.obs.acl")
	if err != nil || !strings.Contains(v, "Everyone:READ") {
		t.Fatalf("acl %q %v", v, err)
	}
	owner := strings.TrimPrefix(strings.SplitN(v, "\n", 2)[0], "owner=")
	if err := unix.Setxattr(p, "user.obs.acl", []byte("owner="+owner+"\n"+owner+":FULL_CONTROL\n"), 0); err != nil {
		t.Fatal(err)
	}
	if oacl, err := sdk.GetObjectAcl(&obs.GetObjectAclInput{Bucket: e.bucket, Key: "f.txt"}); err != nil || hasAllUsersRead(oacl.Grants) {
		t.Fatalf("SDK object acl after private doc %+v %v", oacl, err)
	}
	wantErrno(t, "malformed acl", unix.Setxattr(p, "user.obs.acl", []byte("<AccessControlPolicy>"), 0), syscall.EINVAL)

	// tags
	if err := unix.Setxattr(p, "user.obs.tags", []byte("a=1&b=two"), 0); err != nil {
		t.Fatal(err)
	}
	if tags, err := e.b.GetObjectTagging(context.Background(), "f.txt", ""); err != nil || len(tags) != 2 {
		t.Fatalf("tags %+v %v", tags, err)
	}
	if v, _ := getx(t, p, "user.obs.tags"); v != "a=1&b=two" {
		t.Fatalf("tags xattr %q", v)
	}
	var many []string
	for i := 0; i < 11; i++ {
		many = append(many, "k"+string(rune('a'+i))+"=v")
	}
	wantErrno(t, "11 tags", unix.Setxattr(p, "user.obs.tags", []byte(strings.Join(many, "&")), 0), syscall.EINVAL)
	if v, _ := getx(t, p, "user.obs.tags"); v != "a=1&b=two" {
		t.Fatalf("tags after bad write %q", v)
	}
	if err := unix.Removexattr(p, "user.obs.tags"); err != nil {
		t.Fatal(err)
	}
	if v, _ := getx(t, p, "user.obs.tags"); v != "" {
		t.Fatalf("tags after remove %q", v)
	}

	// presigned URL works without credentials
	u, err := getx(t, p, "user.obs.url")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "hello" {
		t.Fatalf("GET presigned: %d %q", resp.StatusCode, body)
	}

	// user.<name> still works beside the reserved names
	if err := unix.Setxattr(p, "user.color", []byte("blue"), 0); err != nil {
		t.Fatal(err)
	}
	if m := meta(); m.Metadata["color"] != "blue" {
		t.Fatalf("SDK metadata %v", m.Metadata)
	}

	// directories: marker objects
	if err := os.Mkdir(e.path("dir"), 0755); err != nil {
		t.Fatal(err)
	}
	if v, err := getx(t, e.path("dir"), "user.obs.storage_class"); err != nil || v != "STANDARD" {
		t.Fatalf("dir class %q %v", v, err)
	}
	_, err = getx(t, e.path("dir"), "user.obs.url")
	wantErrno(t, "dir url", err, syscall.ENODATA)
}

func TestVersionsAndRestoreByCopy(t *testing.T) {
	e := newEnv(t)
	e.mount(Options{ControlDir: ".obsfs", NoStatCache: true})
	if err := writeCtl(e.path(".obsfs/versioning"), "Enabled\n"); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, e.path("f"), "one")
	mustWrite(t, e.path("f"), "two")
	if err := os.Mkdir(e.path("sub"), 0755); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, e.path("sub/g"), "g")
	vs := readDirNames(t, e.path(".obsfs/versions/f"))
	// Exactly "one" and "two": the truncate that open(O_TRUNC) sends must
	// not upload an empty version of its own (fs/file.go truncate).
	if len(vs) != 2 {
		t.Fatalf("versions of f = %v, want 2", vs)
	}
	if top := strings.Join(readDirNames(t, e.path(".obsfs/versions")), " "); top != "f/ sub/" {
		t.Fatalf("versions/ = %q", top)
	}
	if g := readDirNames(t, e.path(".obsfs/versions/sub/g")); len(g) != 1 {
		t.Fatalf("versions/sub/g = %v", g)
	}
	old := ""
	for _, v := range vs {
		if c := mustRead(t, e.path(".obsfs/versions/f/"+v)); c == "one" {
			old = v
		}
	}
	if old == "" {
		t.Fatalf("no version reads %q: %v", "one", vs)
	}
	if out, err := exec.Command("cp", e.path(".obsfs/versions/f/"+old), e.path("f")).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	if got := mustRead(t, e.path("f")); got != "one" {
		t.Fatalf("restored f = %q", got)
	}
	if b, _ := e.body("f"); b != "one" {
		t.Fatalf("object f = %q", b)
	}
	if err := os.Remove(e.path("f")); err != nil {
		t.Fatal(err)
	}
	vs = readDirNames(t, e.path(".obsfs/versions/f"))
	if !anySuffix(vs, ".deleted") {
		t.Fatalf("versions after rm = %v", vs)
	}
	wantErrno(t, "write version", os.WriteFile(e.path(".obsfs/versions/f/"+old), []byte("x"), 0644), syscall.EACCES)
}

func anySuffix(names []string, suf string) bool {
	for _, n := range names {
		if strings.HasSuffix(n, suf) {
			return true
		}
	}
	return false
}

func TestUploadsDir(t *testing.T) {
	e := newEnv(t)
	e.mount(Options{ControlDir: ".obsfs"})
	ctx := context.Background()
	id, err := e.b.InitiateMultipartUpload(ctx, "big/x.bin", obsclient.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	names := readDirNames(t, e.path(".obsfs/uploads"))
	want := "big%2Fx.bin." + id
	if len(names) != 1 || names[0] != want {
		t.Fatalf("uploads = %v, want %s", names, want)
	}
	got := mustRead(t, e.path(".obsfs/uploads/"+want))
	if !strings.Contains(got, "key: big/x.bin\n") || !strings.Contains(got, "upload_id: "+id+"\n") || !strings.Contains(got, "initiated: ") {
		t.Fatalf("upload file = %q", got)
	}
	wantErrno(t, "write upload file", os.WriteFile(e.path(".obsfs/uploads/"+want), nil, 0644), syscall.EACCES)
	if err := os.Remove(e.path(".obsfs/uploads/" + want)); err != nil {
		t.Fatal(err)
	}
	out, err := e.sdk().ListMultipartUploads(&obs.ListMultipartUploadsInput{Bucket: e.bucket})
	if err != nil || len(out.Uploads) != 0 {
		t.Fatalf("SDK uploads after rm %+v %v", out, err)
	}
	wantErrno(t, "rm gone upload", os.Remove(e.path(".obsfs/uploads/"+want)), syscall.ENOENT)

	// A prefix mount lists only its uploads, named relative to its root.
	inside, err := e.b.InitiateMultipartUpload(ctx, "p/q/in.bin", obsclient.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.b.InitiateMultipartUpload(ctx, "other.bin", obsclient.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.remount(Options{Prefix: "p/", ControlDir: ".obsfs"})
	if names := readDirNames(t, e.path(".obsfs/uploads")); len(names) != 1 || names[0] != "q%2Fin.bin."+inside {
		t.Fatalf("uploads under p/ = %v", names)
	}
}

func TestControlBucketDocuments(t *testing.T) {
	e := newEnv(t)
	e.mount(Options{ControlDir: ".obsfs"})
	sdk := e.sdk()
	ctl := func(name string) string { return e.path(".obsfs/" + name) }

	// lifecycle: the OBS XML document is accepted, read back as JSON
	lc := `<LifecycleConfiguration><Rule><ID>old-logs</ID><Prefix>logs/</Prefix><Status>Enabled</Status>` +
		`<Expiration><Days>30</Days></Expiration></Rule></LifecycleConfiguration>`
	if err := writeCtl(ctl("lifecycle"), lc); err != nil {
		t.Fatal(err)
	}
	if out, err := sdk.GetBucketLifecycleConfiguration(e.bucket); err != nil || len(out.LifecycleRules) != 1 || out.LifecycleRules[0].Prefix != "logs/" {
		t.Fatalf("SDK lifecycle %+v %v", out, err)
	}
	if got := mustRead(t, ctl("lifecycle")); !strings.Contains(got, `"ID": "old-logs"`) || !strings.Contains(got, `"Days": 30`) {
		t.Fatalf("lifecycle = %q", got)
	}
	wantErrno(t, "rule without action", writeCtl(ctl("lifecycle"), `{"Rules":[{"Prefix":"x/","Status":"Enabled"}]}`), syscall.EINVAL)
	if out, err := sdk.GetBucketLifecycleConfiguration(e.bucket); err != nil || len(out.LifecycleRules) != 1 {
		t.Fatalf("SDK lifecycle after bad write %+v %v", out, err)
	}
	if err := os.Remove(ctl("lifecycle")); err != nil {
		t.Fatal(err)
	}
	if _, err := sdk.GetBucketLifecycleConfiguration(e.bucket); err == nil {
		t.Fatal("lifecycle still set after rm")
	}

	// website: JSON; a truncating open with nothing written keeps it
	// (SEMANTICS.md 34), rm deletes it
	if err := writeCtl(ctl("website"), `{"IndexDocument":{"Suffix":"index.html"}}`); err != nil {
		t.Fatal(err)
	}
	if out, err := sdk.GetBucketWebsiteConfiguration(e.bucket); err != nil || out.IndexDocument.Suffix != "index.html" {
		t.Fatalf("SDK website %+v %v", out, err)
	}
	if err := writeCtl(ctl("website"), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := sdk.GetBucketWebsiteConfiguration(e.bucket); err != nil {
		t.Fatalf("website deleted by a truncating open: %v", err)
	}
	if err := os.Remove(ctl("website")); err != nil {
		t.Fatal(err)
	}
	if _, err := sdk.GetBucketWebsiteConfiguration(e.bucket); err == nil {
		t.Fatal("website still set after rm")
	}

	// encryption
	if err := writeCtl(ctl("encryption"), `{"SSEAlgorithm":"kms"}`); err != nil {
		t.Fatal(err)
	}
	if out, err := sdk.GetBucketEncryption(e.bucket); err != nil || out.SSEAlgorithm != "kms" {
		t.Fatalf("SDK encryption %+v %v", out, err)
	}
	wantErrno(t, "bad algorithm", writeCtl(ctl("encryption"), `{"SSEAlgorithm":"rot13"}`), syscall.EINVAL)
	if err := os.Remove(ctl("encryption")); err != nil {
		t.Fatal(err)
	}
	if _, err := sdk.GetBucketEncryption(e.bucket); err == nil {
		t.Fatal("encryption still set after rm")
	}

	// notification: set, read back, {} clears; no DELETE in OBS
	nt := `{"TopicConfigurations":[{"ID":"n1","Topic":"urn:smn:cn-north-4:0123456789:topic1","Events":["ObjectCreated:*"]}]}`
	if err := writeCtl(ctl("notification"), nt); err != nil {
		t.Fatal(err)
	}
	if out, err := sdk.GetBucketNotification(e.bucket); err != nil || len(out.TopicConfigurations) != 1 {
		t.Fatalf("SDK notification %+v %v", out, err)
	}
	if got := mustRead(t, ctl("notification")); !strings.Contains(got, "topic1") {
		t.Fatalf("notification = %q", got)
	}
	wantErrno(t, "rm notification", os.Remove(ctl("notification")), syscall.EPERM)
	if err := writeCtl(ctl("notification"), "{}"); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, ctl("notification")); got != "" {
		t.Fatalf("notification after {} = %q", got)
	}

	// logging: to the bucket itself; {} turns it off
	lg := `{"Agency":"obs-logging","LoggingEnabled":{"TargetBucket":"` + e.bucket + `","TargetPrefix":"log/"}}`
	if err := writeCtl(ctl("logging"), lg); err != nil {
		t.Fatal(err)
	}
	if out, err := sdk.GetBucketLoggingConfiguration(e.bucket); err != nil || out.TargetPrefix != "log/" {
		t.Fatalf("SDK logging %+v %v", out, err)
	}
	if err := writeCtl(ctl("logging"), "{}"); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, ctl("logging")); got != "" {
		t.Fatalf("logging after {} = %q", got)
	}

	// a document larger than the cap (growing: it never stops being the
	// start of a valid one)
	f, err := os.OpenFile(ctl("policy"), os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Write(append([]byte(`{"Statement":[`), bytes.Repeat([]byte(" "), maxControlWrite)...))
	f.Close()
	wantErrno(t, "oversized write", err, syscall.EFBIG)
}

// user.<name> and user.obs.content_type on a file open for writing ride
// along with its upload; on a committed file they are one PUT ?metadata.
func TestXattrMetadataPath(t *testing.T) {
	e := newEnv(t)
	e.mount(Options{})
	p := e.path("w.txt")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("data"); err != nil {
		t.Fatal(err)
	}
	e.srv.ResetStats()
	if err := unix.Setxattr(p, "user.stage", []byte("draft"), 0); err != nil {
		t.Fatal(err)
	}
	if err := unix.Setxattr(p, "user.obs.content_type", []byte("text/x-draft"), 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	st := e.srv.Stats()
	if st["SetObjectMetadata"].Requests != 0 || st["PutObject"].Requests != 1 {
		t.Fatalf("requests while open: %+v", st)
	}
	info, _ := e.srv.Object(e.bucket, "w.txt")
	if info.Metadata["stage"] != "draft" || info.Headers["Content-Type"] != "text/x-draft" {
		t.Fatalf("object after close: %+v", info)
	}
	e.srv.ResetStats()
	if err := unix.Setxattr(p, "user.stage", []byte("final"), 0); err != nil {
		t.Fatal(err)
	}
	if st := e.srv.Stats(); st["SetObjectMetadata"].Requests != 1 || st["PutObject"].Requests != 0 || st["CopyObject"].Requests != 0 {
		t.Fatalf("requests for a committed file: %+v", st)
	}
	if got := mustRead(t, p); got != "data" {
		t.Fatalf("data = %q", got)
	}
}

// bigPolicy is a valid bucket policy of about size bytes (many statements).
func bigPolicy(bucket, sid string, size int) string {
	var st []string
	for n := 0; n < size; n += 160 {
		st = append(st, `{"Sid":"`+sid+strconv.Itoa(n)+`","Effect":"Allow","Principal":{"ID":["*"]},"Action":["GetObject"],"Resource":["`+bucket+`/*"]}`)
	}
	return `{"Statement":[` + strings.Join(st, ",\n") + "]}\n"
}

// TestControlShellWrites: control files follow sysfs. A value is applied by
// the write(2) that completes it, so a bad one fails that write (EINVAL: the
// shell prints "write error: Invalid argument" and exits non-zero) and the
// old setting stays; a truncating open alone deletes nothing; a new value is
// one Set and no Delete; echo, printf, tee, cp, dd and python3 all work, and
// a document written in many chunks is applied once, when complete.
func TestControlShellWrites(t *testing.T) {
	e := newEnv(t)
	e.mount(Options{ControlDir: ".obsfs", NoStatCache: true})
	sdk := e.sdk()
	// The shell changes into the mount after exec, never the forked child
	// before it (go-fuse's "Deadlocks").
	run := func(sh, script string) (string, error) {
		t.Helper()
		cmd := exec.Command(sh, "-c", `cd "$CTL" || exit 99`+"\n"+script)
		cmd.Env = append(os.Environ(), "CTL="+e.path(".obsfs"))
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	encryption := func() string {
		t.Helper()
		out, err := sdk.GetBucketEncryption(e.bucket)
		if err != nil {
			return "none"
		}
		return out.SSEAlgorithm
	}
	versioning := func() string {
		t.Helper()
		v, err := sdk.GetBucketVersioning(e.bucket)
		if err != nil {
			t.Fatal(err)
		}
		return string(v.Status)
	}
	requests := func(op string) int64 { return e.srv.Stats()[op].Requests }
	// failed reports a write error as the shell shows it: bash prints
	// strerror ("write error: Invalid argument"); dash's echo and printf
	// print "I/O error" for any errno.
	failed := func(sh, out string, err error) bool {
		if err == nil {
			return false
		}
		if sh == "dash" {
			return strings.Contains(out, "error")
		}
		return strings.Contains(out, "Invalid argument")
	}
	for _, sh := range []string{"bash", "dash"} {
		if _, err := exec.LookPath(sh); err != nil {
			t.Logf("%s not installed", sh)
			continue
		}
		e.srv.ResetStats()
		if out, err := run(sh, `echo '{"SSEAlgorithm":"kms"}' > encryption`); err != nil {
			t.Fatalf("%s: set kms: %v %s", sh, err, out)
		}
		if got := encryption(); got != "kms" {
			t.Fatalf("%s: encryption %q", sh, got)
		}
		if s, d := requests("SetBucketEncryption"), requests("DeleteBucketEncryption"); s != 1 || d != 0 {
			t.Fatalf("%s: valid write sent %d Set, %d Delete; want 1, 0", sh, s, d)
		}
		out, err := run(sh, `echo '{"SSEAlgorithm":"bogus"}' > encryption`)
		if !failed(sh, out, err) {
			t.Fatalf("%s: bogus encryption: exit %v, output %q; want non-zero and Invalid argument", sh, err, out)
		}
		if got := encryption(); got != "kms" {
			t.Fatalf("%s: encryption after a bogus write %q, want kms kept", sh, got)
		}
		if d := requests("DeleteBucketEncryption"); d != 0 {
			t.Fatalf("%s: %d DeleteBucketEncryption", sh, d)
		}
		// A truncating open and close, and an empty value, delete nothing.
		if out, err := run(sh, `: > encryption`); err != nil {
			t.Fatalf("%s: truncating open: %v %s", sh, err, out)
		}
		if out, err := run(sh, `echo > encryption`); !failed(sh, out, err) {
			t.Fatalf("%s: empty value: exit %v, output %q; want Invalid argument", sh, err, out)
		}
		if got := encryption(); got != "kms" {
			t.Fatalf("%s: encryption after : > and echo > = %q, want kms kept", sh, got)
		}

		if out, err := run(sh, `echo Enabled > versioning`); err != nil || versioning() != "Enabled" {
			t.Fatalf("%s: versioning Enabled: %v %s", sh, err, out)
		}
		for _, bad := range []string{`echo Bogus > versioning`, `printf Bogus > versioning`, `printf 'Enabled\nx' > versioning`} {
			if out, err := run(sh, bad); !failed(sh, out, err) {
				t.Fatalf("%s: %s: exit %v, output %q; want non-zero and Invalid argument", sh, bad, err, out)
			}
		}
		if got := versioning(); got != "Enabled" {
			t.Fatalf("%s: versioning after bad writes %q", sh, got)
		}
		if out, err := run(sh, `printf Suspended > versioning`); err != nil || versioning() != "Suspended" {
			t.Fatalf("%s: printf Suspended: %v %s", sh, err, out)
		}
		if out, err := run(sh, `echo Enabled | tee versioning`); err != nil || versioning() != "Enabled" {
			t.Fatalf("%s: tee: %v %s", sh, err, out)
		}
		// sed -i writes a new file and renames it: creating files in the
		// control directory is EPERM, and nothing changes.
		if out, err := run(sh, `sed -i s/Enabled/Suspended/ versioning`); err == nil || versioning() != "Enabled" {
			t.Fatalf("%s: sed -i: exit %v %s, versioning %s", sh, err, out, versioning())
		}
		if out, err := run(sh, `rm encryption`); err != nil || encryption() != "none" {
			t.Fatalf("%s: rm encryption: %v %s (now %s)", sh, err, out, encryption())
		}
	}

	// Long documents: cp (several writes of up to 128 KiB), dd bs=100
	// (thousands of writes), python3 in chunks: each applied once, whole.
	dir := t.TempDir()
	for i, tool := range []string{`cp "$DOC" policy`, `dd if="$DOC" of=policy bs=100 2>/dev/null`, `python3 -c 'import sys
d = open(sys.argv[1]).read()
f = open("policy", "w")
for i in range(0, len(d), 4000):
    f.write(d[i:i+4000]); f.flush()
f.close()' "$DOC"`} {
		sid := "s" + strconv.Itoa(i) + "x"
		doc := bigPolicy(e.bucket, sid, 300<<10)
		src := filepath.Join(dir, sid+".json")
		if err := os.WriteFile(src, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		e.srv.ResetStats()
		cmd := exec.Command("bash", "-c", `cd "$CTL" || exit 99`+"\n"+tool)
		cmd.Env = append(os.Environ(), "DOC="+src, "CTL="+e.path(".obsfs"))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v %s", tool, err, out)
		}
		p, err := sdk.GetBucketPolicy(e.bucket)
		if err != nil || strings.TrimSpace(p.Policy) != strings.TrimSpace(doc) {
			t.Fatalf("%s: policy not the whole document (%d bytes, want %d): %v", tool, len(p.Policy), len(doc), err)
		}
		if s, d := requests("SetBucketPolicy"), requests("DeleteBucketPolicy"); s != 1 || d != 0 {
			t.Fatalf("%s: %d SetBucketPolicy, %d DeleteBucketPolicy; want 1, 0", tool, s, d)
		}
	}
	// A document cut short fails at close (which shells do not check), and
	// changes nothing.
	e.srv.ResetStats()
	wantErrno(t, "close of an unfinished document", writeCtl(e.path(".obsfs/policy"), `{"Statement":[`), syscall.EINVAL)
	if s := requests("SetBucketPolicy") + requests("DeleteBucketPolicy"); s != 0 {
		t.Fatalf("truncated policy sent %d requests", s)
	}
}
