package integration

// Bucket administration and versions/ on a mount shared with allow_other,
// checked as a real unprivileged account (issue 11 item 1; fs/SEMANTICS.md
// 33-35).

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/obsfs/obsfs/obsclient"
)

const ctlUser = "obsfsctl"

// shAsUser runs script with sh as uid:gid.
func shAsUser(uid, gid int, script string) result { return asUser(uid, gid, nil, "sh", "-c", script) }

func denied(r result) bool {
	return r.Code != 0 && (strings.Contains(r.Stderr, "Operation not permitted") || strings.Contains(r.Stderr, "Permission denied"))
}

func TestBucketAdminNeedsPrivilege(t *testing.T) {
	uid, gid := ensureUser(t, ctlUser)
	for _, tool := range []string{"setfattr", "getfattr"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (attr)", tool)
		}
	}
	e := newEnv(t)
	m := e.Mount(t, "allow_other", "mp_umask=000", "stat_cache_expire=0")
	openToOthers(t, m.Dir)
	ctx := context.Background()
	b := e.Client(t)
	env := []string{"M=" + m.Dir}

	// Root (here also the mount's owner) administers; the tree holds a
	// private directory with a secret of two versions and a file the user
	// owns.
	shEnv(t, "/", env, "bash", "-c", `set -e
echo Enabled > "$M/.obsfs/versioning"
mkdir "$M/private"; chmod 700 "$M/private"
echo one > "$M/private/secret"; chmod 600 "$M/private/secret"
echo two > "$M/private/secret"
echo mine > "$M/mine.txt"; chown `+strconv.Itoa(uid)+`:`+strconv.Itoa(gid)+` "$M/mine.txt"
cat "$M/.obsfs/acl" "$M/.obsfs/versions/private/secret/"* >/dev/null
getfattr -n user.obs.bucket.acl "$M" >/dev/null
getfattr -n user.obs.acl "$M/mine.txt" >/dev/null`)
	policy := `{"Statement":[{"Sid":"x","Effect":"Allow","Principal":{"ID":["*"]},"Action":["GetObject"],"Resource":["` + e.Bucket + `/*"]}]}`

	// The user reaches the mount and reads what is not private.
	if r := shAsUser(uid, gid, `cat "`+m.Dir+`/.obsfs/versioning" "`+m.Dir+`/mine.txt"`); r.Code != 0 || r.Stdout != "Enabled\nmine\n" {
		t.Fatalf("user cannot read the mount at all: %d %q %s", r.Code, r.Stdout, r.Stderr)
	}
	for _, c := range []struct{ what, script string }{
		{"set the policy xattr", `setfattr -n user.obs.bucket.policy -v '` + policy + `' "$M"`},
		{"remove the tagging xattr", `setfattr -x user.obs.bucket.tagging "$M"`},
		{"write .obsfs/versioning", `echo Suspended > "$M/.obsfs/versioning"`},
		{"rm .obsfs/policy", `rm -f "$M/.obsfs/policy"`},
		{"read .obsfs/policy", `cat "$M/.obsfs/policy"`},
		{"read .obsfs/acl", `cat "$M/.obsfs/acl"`},
		{"read the bucket ACL xattr", `getfattr -n user.obs.bucket.acl "$M"`},
		{"read an object ACL", `getfattr -n user.obs.acl "$M/mine.txt"`},
		{"set an object ACL", `setfattr -n user.obs.acl -v public-read "$M/mine.txt"`},
		{"set a storage class", `setfattr -n user.obs.storage_class -v WARM "$M/mine.txt"`},
		{"list the private versions", `ls "$M/.obsfs/versions/private/secret"`},
		{"read the private versions", `cat "$M/.obsfs/versions/private/secret/"*`},
	} {
		r := shAsUser(uid, gid, "M='"+m.Dir+"'\n"+c.script)
		if !denied(r) {
			t.Errorf("user could %s: exit %d, stdout %q, stderr %q", c.what, r.Code, r.Stdout, r.Stderr)
		}
	}
	if v, err := b.GetVersioning(ctx); err != nil || v != obsclient.VersioningEnabled {
		t.Fatalf("versioning after the user's attempts: %q %v", v, err)
	}
	if p, err := b.GetPolicy(ctx); err == nil && p != "" {
		t.Fatalf("the user set a policy: %s", p)
	}
	if info, err := b.HeadObject(ctx, "mine.txt", obsclient.GetOptions{}); err != nil || info.StorageClass == "WARM" {
		t.Fatalf("mine.txt after the user's attempts: %+v %v", info, err)
	}
	// versions/ shows the live owner and mode, without write bits.
	out := sh(t, "/", "stat", "-c", "%a %u", m.Path(".obsfs/versions/private"), m.Path(".obsfs/versions/private/secret"))
	if out != "500 0\n500 0\n" {
		t.Errorf("versions/private, versions/private/secret: %q, want 500 0 twice", out)
	}
	vs, err := os.ReadDir(m.Path(".obsfs/versions/private/secret"))
	if err != nil || len(vs) < 2 { // two writes, and chmod's metadata copy may add one
		t.Fatalf("versions of secret: %v %v", vs, err)
	}
	if out := sh(t, "/", "stat", "-c", "%a %u", m.Path(".obsfs/versions/private/secret", vs[0].Name())); out != "400 0\n" {
		t.Errorf("a version of secret: %q, want 400 0", out)
	}

	// admin_uids names more administrators.
	m.Unmount()
	m2 := e.Mount(t, "allow_other", "mp_umask=000", "stat_cache_expire=0", "admin_uids="+ctlUser)
	openToOthers(t, m2.Dir)
	if r := shAsUser(uid, gid, `M='`+m2.Dir+`'
echo Suspended > "$M/.obsfs/versioning" && cat "$M/.obsfs/acl" >/dev/null && setfattr -n user.obs.storage_class -v WARM "$M/mine.txt"`); r.Code != 0 {
		t.Fatalf("admin_uids user: %d %s", r.Code, r.Stderr)
	}
	if v, err := b.GetVersioning(ctx); err != nil || v != obsclient.VersioningSuspended {
		t.Fatalf("versioning set by the admin_uids user: %q %v", v, err)
	}
	// ... who still cannot read a private file's versions: file modes
	// are not administration.
	if r := shAsUser(uid, gid, `cat "`+m2.Dir+`/.obsfs/versions/private/secret/"*`); !denied(r) {
		t.Fatalf("admin_uids user read the private versions: %d %q", r.Code, r.Stdout)
	}
}
