package manage

// The ACL text form of user.obs.acl, user.obs.bucket.acl and the control
// file acl. Pure logic.
//
// One entry per line; blank lines and lines starting with # are ignored:
//
//	owner=<owner id>
//	delivered=true                  (object ACLs: inherit the bucket ACL; optional)
//	<account id>:<PERMISSION>       a grant to an account
//	Everyone:<PERMISSION>           a grant to everybody (anonymous too)
//	AuthenticatedUsers:<PERMISSION> a grant to every authenticated user
//
// PERMISSION is READ, WRITE, READ_ACP, WRITE_ACP or FULL_CONTROL. A grant
// line may end in ":delivered" (bucket ACL grants inherited by objects).
// On write the value may instead be a canned ACL name (private,
// public-read, …), the ACL as JSON (obsclient.ACL's json form: {"Owner":…,
// "Grants":[…]}) or the OBS/S3 AccessControlPolicy XML document.

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"strings"

	"github.com/obsfs/obsfs/obsclient"
)

// cannedACLs are the canned ACL names OBS accepts.
var cannedACLs = map[string]bool{
	"private": true, "public-read": true, "public-read-write": true,
	"public-read-delivered": true, "public-read-write-delivered": true,
	"authenticated-read": true, "bucket-owner-read": true,
	"bucket-owner-full-control": true, "log-delivery-write": true,
}

var aclPermissions = map[string]bool{"READ": true, "WRITE": true, "READ_ACP": true, "WRITE_ACP": true, "FULL_CONTROL": true}

// cannedNames lists the canned ACL names.
func cannedNames() []string { return mapKeys(cannedACLs) }

// permissionNames lists the grant permissions.
func permissionNames() []string { return mapKeys(aclPermissions) }

func mapKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// formatACL renders acl in the text form (ending in a newline).
func formatACL(acl obsclient.ACL) string {
	var b strings.Builder
	fmt.Fprintf(&b, "owner=%s\n", acl.Owner)
	if acl.Delivered {
		b.WriteString("delivered=true\n")
	}
	for _, g := range acl.Grants {
		who := g.ID
		if g.Canned != "" {
			who = g.Canned
		}
		fmt.Fprintf(&b, "%s:%s", who, g.Permission)
		if g.Delivered {
			b.WriteString(":delivered")
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// parseACL reads a value written to an ACL attribute or file: a canned
// name (returned as canned) or a full document in the text, JSON or XML
// form (returned as acl). Errors describe what is wrong.
func parseACL(data []byte) (canned string, acl obsclient.ACL, err error) {
	s := strings.TrimSpace(string(data))
	switch {
	case s == "":
		return "", acl, fmt.Errorf("empty ACL")
	case cannedACLs[s]:
		return s, acl, nil
	case s[0] == '{':
		dec := json.NewDecoder(strings.NewReader(s))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&acl); err != nil {
			return "", acl, fmt.Errorf("ACL JSON: %w", err)
		}
	case s[0] == '<':
		if acl, err = parseACLXML(s); err != nil {
			return "", acl, err
		}
	default:
		if acl, err = parseACLText(s); err != nil {
			return "", acl, err
		}
	}
	return "", acl, validateACL(acl)
}

func parseACLText(s string) (obsclient.ACL, error) {
	var acl obsclient.ACL
	for i, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok && !strings.Contains(k, ":") {
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "owner":
				acl.Owner = strings.TrimSpace(v)
			case "delivered":
				acl.Delivered = strings.EqualFold(strings.TrimSpace(v), "true")
			default:
				return acl, fmt.Errorf("ACL line %d: unknown setting %q", i+1, k)
			}
			continue
		}
		parts := strings.Split(line, ":")
		if len(parts) < 2 || len(parts) > 3 || len(parts) == 3 && !strings.EqualFold(parts[2], "delivered") {
			return acl, fmt.Errorf("ACL line %d: want GRANTEE:PERMISSION, got %q", i+1, line)
		}
		g := obsclient.Grant{Permission: strings.ToUpper(strings.TrimSpace(parts[1])), Delivered: len(parts) == 3}
		switch who := strings.TrimSpace(parts[0]); {
		case strings.EqualFold(who, "Everyone"):
			g.Canned = "Everyone"
		case strings.EqualFold(who, "AuthenticatedUsers"):
			g.Canned = "AuthenticatedUsers"
		default:
			g.ID = who
		}
		acl.Grants = append(acl.Grants, g)
	}
	return acl, nil
}

// aclXML reads both the OBS form (<Canned>) and the S3 form (<URI>).
type aclXML struct {
	XMLName   xml.Name `xml:"AccessControlPolicy"`
	Owner     string   `xml:"Owner>ID"`
	Delivered string   `xml:"Delivered"`
	Grants    []struct {
		ID         string `xml:"Grantee>ID"`
		Canned     string `xml:"Grantee>Canned"`
		URI        string `xml:"Grantee>URI"`
		Permission string `xml:"Permission"`
		Delivered  string `xml:"Delivered"`
	} `xml:"AccessControlList>Grant"`
}

func parseACLXML(s string) (obsclient.ACL, error) {
	var x aclXML
	if err := xml.Unmarshal([]byte(s), &x); err != nil {
		return obsclient.ACL{}, fmt.Errorf("ACL XML: %w", err)
	}
	acl := obsclient.ACL{Owner: strings.TrimSpace(x.Owner), Delivered: strings.EqualFold(strings.TrimSpace(x.Delivered), "true")}
	for _, g := range x.Grants {
		gr := obsclient.Grant{ID: strings.TrimSpace(g.ID), Permission: strings.TrimSpace(g.Permission),
			Delivered: strings.EqualFold(strings.TrimSpace(g.Delivered), "true")}
		group := strings.TrimSpace(g.Canned + g.URI)
		switch {
		case group == "":
		case strings.EqualFold(group, "Everyone") || strings.HasSuffix(group, "/AllUsers"):
			gr.Canned = "Everyone"
		case strings.EqualFold(group, "AuthenticatedUsers") || strings.HasSuffix(group, "/AuthenticatedUsers"):
			gr.Canned = "AuthenticatedUsers"
		default:
			return acl, fmt.Errorf("ACL XML: unknown group %q", group)
		}
		acl.Grants = append(acl.Grants, gr)
	}
	return acl, nil
}

func validateACL(acl obsclient.ACL) error {
	for i, g := range acl.Grants {
		if !aclPermissions[g.Permission] {
			return fmt.Errorf("ACL grant %d: unknown permission %q", i+1, g.Permission)
		}
		if (g.ID == "") == (g.Canned == "") {
			return fmt.Errorf("ACL grant %d: need exactly one grantee", i+1)
		}
		if g.Canned != "" && g.Canned != "Everyone" && g.Canned != "AuthenticatedUsers" {
			return fmt.Errorf("ACL grant %d: unknown group %q", i+1, g.Canned)
		}
		if strings.ContainsAny(g.ID, " \t:=") {
			return fmt.Errorf("ACL grant %d: bad grantee %q", i+1, g.ID)
		}
	}
	return nil
}
