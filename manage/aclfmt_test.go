package manage

import (
	"reflect"
	"strings"
	"testing"

	"github.com/obsfs/obsfs/obsclient"
)

func TestACLTextRoundTrip(t *testing.T) {
	acl := obsclient.ACL{Owner: "owner1", Delivered: true, Grants: []obsclient.Grant{
		{ID: "owner1", Permission: "FULL_CONTROL"},
		{Canned: "Everyone", Permission: "READ"},
		{Canned: "AuthenticatedUsers", Permission: "READ_ACP", Delivered: true},
	}}
	text := formatACL(acl)
	want := "owner=owner1\ndelivered=true\nowner1:FULL_CONTROL\nEveryone:READ\nAuthenticatedUsers:READ_ACP:delivered\n"
	if text != want {
		t.Fatalf("formatACL = %q, want %q", text, want)
	}
	canned, got, err := parseACL([]byte("# comment\n\n" + text))
	if err != nil || canned != "" || !reflect.DeepEqual(got, acl) {
		t.Fatalf("parseACL = %q %+v %v", canned, got, err)
	}
}

func TestParseACLForms(t *testing.T) {
	if c, _, err := parseACL([]byte("public-read\n")); err != nil || c != "public-read" {
		t.Fatalf("canned: %q %v", c, err)
	}
	_, a, err := parseACL([]byte(`{"Owner":"o","Grants":[{"Canned":"Everyone","Permission":"READ"}]}`))
	if err != nil || a.Owner != "o" || len(a.Grants) != 1 || a.Grants[0].Canned != "Everyone" {
		t.Fatalf("json: %+v %v", a, err)
	}
	xmlDoc := `<AccessControlPolicy><Owner><ID>o</ID></Owner><AccessControlList>
	<Grant><Grantee><ID>u1</ID></Grantee><Permission>WRITE</Permission></Grant>
	<Grant><Grantee><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission></Grant>
	<Grant><Grantee><Canned>Everyone</Canned></Grantee><Permission>READ_ACP</Permission><Delivered>true</Delivered></Grant>
	</AccessControlList></AccessControlPolicy>`
	_, a, err = parseACL([]byte(xmlDoc))
	want := []obsclient.Grant{{ID: "u1", Permission: "WRITE"}, {Canned: "Everyone", Permission: "READ"}, {Canned: "Everyone", Permission: "READ_ACP", Delivered: true}}
	if err != nil || a.Owner != "o" || !reflect.DeepEqual(a.Grants, want) {
		t.Fatalf("xml: %+v %v", a, err)
	}
	for _, bad := range []string{"", "public-reed", "Everyone:SOMETIMES", "owner=o\nEveryone", "u1:READ:forever",
		"color=blue", `{"Owner":`, `{"Ownr":"o"}`, "<AccessControlPolicy>", "a b:READ"} {
		if _, _, err := parseACL([]byte(bad)); err == nil {
			t.Errorf("parseACL(%q) accepted", bad)
		}
	}
}

func TestParseRestoreAndTags(t *testing.T) {
	if d, tier, err := parseRestore("days=3,tier=Expedited"); err != nil || d != 3 || tier != obsclient.TierExpedited {
		t.Fatalf("restore: %d %s %v", d, tier, err)
	}
	if d, tier, err := parseRestore("days=1"); err != nil || d != 1 || tier != obsclient.TierStandard {
		t.Fatalf("restore default tier: %d %s %v", d, tier, err)
	}
	for _, bad := range []string{"", "days=0", "days=31", "tier=Standard", "days=2,tier=Bulk", "3", "days=2,speed=1"} {
		if _, _, err := parseRestore(bad); err == nil {
			t.Errorf("parseRestore(%q) accepted", bad)
		}
	}
	tags, err := parseTags("a=1&b%20c=x%26y&empty=")
	want := []obsclient.Tag{{Key: "a", Value: "1"}, {Key: "b c", Value: "x&y"}, {Key: "empty", Value: ""}}
	if err != nil || !reflect.DeepEqual(tags, want) {
		t.Fatalf("parseTags = %+v %v", tags, err)
	}
	if got := formatTags(want); got != "a=1&b+c=x%26y&empty=" {
		t.Fatalf("formatTags = %q", got)
	}
	if _, err := parseTags("=v"); err == nil {
		t.Fatal("empty tag key accepted")
	}
	for _, c := range []string{"standard", "WARM", " cold ", "DEEP_ARCHIVE"} {
		if _, err := parseStorageClass(c); err != nil {
			t.Errorf("class %q: %v", c, err)
		}
	}
	if _, err := parseStorageClass("GLACIER"); err == nil || !strings.Contains(err.Error(), "unknown storage class") {
		t.Fatalf("GLACIER: %v", err)
	}
}
