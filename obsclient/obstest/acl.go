package obstest

import (
	"encoding/xml"
	"net/http"
	"strings"
)

// Access control lists
//
// An ACL is an owner plus grants to a domain id or to a group (Everyone /
// AllUsers, AuthenticatedUsers, LogDelivery). Requests set it with a canned
// x-obs-acl / x-amz-acl, with x-obs-grant-* headers, or with an
// AccessControlPolicy document in either dialect: OBS (<Canned>Everyone</Canned>,
// no xsi:type) or S3 (xsi:type="CanonicalUser|Group", <URI>…AllUsers</URI>).
// Responses use the request's dialect.

// Group names as stored (S3 URIs map onto them).
const (
	groupAllUsers  = "Everyone"
	groupAuthUsers = "AuthenticatedUsers"
	groupLogDeliv  = "LogDelivery"
)

// grant gives a permission to a user id or a group.
type grant struct {
	ID        string
	Group     string
	Perm      string
	Delivered bool
}

// acl is an owner and its grants.
type acl struct {
	Owner     string
	Grants    []grant
	Delivered bool // object ACL: whether the bucket ACL is inherited
}

var validPerms = map[string]bool{"READ": true, "WRITE": true, "READ_ACP": true, "WRITE_ACP": true, "FULL_CONTROL": true}

// cannedACL expands a canned ACL name; ok=false for unknown names.
func cannedACLOK(name, owner string) (acl, bool) {
	a := acl{Owner: owner, Grants: []grant{{ID: owner, Perm: "FULL_CONTROL"}}}
	pub := func(perms ...string) {
		for _, p := range perms {
			a.Grants = append(a.Grants, grant{Group: groupAllUsers, Perm: p})
		}
	}
	switch name {
	case "private", "bucket-owner-full-control", "bucket-owner-read", "log-delivery-write":
	case "public-read":
		pub("READ")
	case "public-read-write":
		pub("READ", "WRITE")
	case "public-read-delivered":
		pub("READ")
		a.Delivered = true
	case "public-read-write-delivered":
		pub("READ", "WRITE")
		a.Delivered = true
	case "authenticated-read":
		a.Grants = append(a.Grants, grant{Group: groupAuthUsers, Perm: "READ"})
	default:
		return a, false
	}
	return a, true
}

// cannedACL is cannedACLOK for names known to be valid.
func cannedACL(name, owner string) acl {
	a, _ := cannedACLOK(name, owner)
	return a
}

// publicRead reports whether Everyone may read.
func (a acl) publicRead() bool {
	for _, g := range a.Grants {
		if g.Group == groupAllUsers && (g.Perm == "READ" || g.Perm == "FULL_CONTROL") {
			return true
		}
	}
	return false
}

// aclFromHeaders builds an ACL from x-obs-acl / x-obs-grant-* headers;
// ok=false when none is present.
func (rc *reqCtx) aclFromHeaders() (acl, bool, error) {
	owner := rc.s.opts.OwnerID
	if name := rc.hdr("acl"); name != "" {
		a, ok := cannedACLOK(name, owner)
		if !ok {
			return acl{}, false, invalidArgument("Invalid canned ACL %q", name)
		}
		return a, true, nil
	}
	a := acl{Owner: owner}
	found := false
	for _, p := range []string{"read", "write", "read-acp", "write-acp", "full-control"} {
		v := rc.hdr("grant-" + p)
		if v == "" {
			continue
		}
		found = true
		perm := strings.ToUpper(strings.ReplaceAll(p, "-", "_"))
		for _, who := range strings.Split(v, ",") {
			g, err := parseGrantee(strings.TrimSpace(who))
			if err != nil {
				return acl{}, false, err
			}
			g.Perm = perm
			a.Grants = append(a.Grants, g)
		}
	}
	return a, found, nil
}

// parseGrantee parses `id=X`, `id="X"`, `uri="…/AllUsers"` or `Everyone`.
func parseGrantee(s string) (grant, error) {
	k, v, ok := strings.Cut(s, "=")
	v = strings.Trim(v, `"`)
	switch {
	case ok && strings.EqualFold(k, "id") && v != "":
		return grant{ID: v}, nil
	case ok && strings.EqualFold(k, "uri"):
		if g := groupFromURI(v); g != "" {
			return grant{Group: g}, nil
		}
	case ok && strings.EqualFold(k, "emailAddress"):
		return grant{ID: v}, nil
	case strings.EqualFold(s, "Everyone"):
		return grant{Group: groupAllUsers}, nil
	}
	return grant{}, invalidArgument("Invalid grantee %q", s)
}

// groupFromURI maps S3 group URIs (or bare names) to stored group names.
func groupFromURI(u string) string {
	switch u[strings.LastIndex(u, "/")+1:] {
	case "AllUsers", "Everyone":
		return groupAllUsers
	case "AuthenticatedUsers":
		return groupAuthUsers
	case "LogDelivery":
		return groupLogDeliv
	}
	return ""
}

// groupURI maps a stored group to its S3 URI.
func groupURI(g string) string {
	switch g {
	case groupAllUsers:
		return "http://acs.amazonaws.com/groups/global/AllUsers"
	case groupAuthUsers:
		return "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
	}
	return "http://acs.amazonaws.com/groups/s3/LogDelivery"
}

// aclFromXML parses an AccessControlPolicy in either dialect.
func aclFromXML(data []byte, owner string) (acl, error) {
	var doc xmlACLIn
	if err := xml.Unmarshal(data, &doc); err != nil || doc.XMLName.Local != "AccessControlPolicy" {
		return acl{}, errMalformedXML
	}
	if len(doc.Grants) > 100 {
		return acl{}, invalidArgument("too many grants (max 100)")
	}
	a := acl{Owner: owner, Delivered: strings.EqualFold(strings.TrimSpace(doc.Delivered), "true")}
	if doc.Owner.ID != "" {
		a.Owner = strings.TrimSpace(doc.Owner.ID)
	}
	for _, g := range doc.Grants {
		out, err := g.toGrant()
		if err != nil {
			return acl{}, err
		}
		a.Grants = append(a.Grants, out)
	}
	return a, nil
}

// toGrant validates one parsed grant.
func (g xmlGrantIn) toGrant() (grant, error) {
	perm := strings.TrimSpace(g.Permission)
	if !validPerms[perm] {
		return grant{}, errMalformedXML
	}
	out := grant{Perm: perm, Delivered: strings.EqualFold(strings.TrimSpace(g.Delivered), "true")}
	switch {
	case strings.TrimSpace(g.Grantee.ID) != "":
		out.ID = strings.TrimSpace(g.Grantee.ID)
	case strings.TrimSpace(g.Grantee.Canned) != "":
		out.Group = groupFromURI(strings.TrimSpace(g.Grantee.Canned))
	case strings.TrimSpace(g.Grantee.URI) != "":
		out.Group = groupFromURI(strings.TrimSpace(g.Grantee.URI))
	}
	if out.ID == "" && out.Group == "" {
		return grant{}, errMalformedXML
	}
	return out, nil
}

// xmlDoc renders a in the request's dialect; object ACLs carry Delivered at
// policy level, bucket ACLs per grant (OBS dialect only).
func (a acl) xmlDoc(s3, object bool) any {
	if s3 {
		return a.s3Doc()
	}
	doc := xmlACLObs{Owner: xmlOwner{ID: a.Owner}}
	if object {
		doc.Delivered = boolStr(a.Delivered)
	}
	for _, g := range a.Grants {
		xg := xmlGrantObs{Permission: g.Perm}
		if g.ID != "" {
			xg.Grantee.ID = g.ID
		} else {
			xg.Grantee.Canned = g.Group
		}
		if !object {
			d := boolStr(g.Delivered)
			xg.Delivered = &d
		}
		doc.Grants = append(doc.Grants, xg)
	}
	return doc
}

// s3Doc renders a in the S3 form with xsi:type.
func (a acl) s3Doc() xmlACLS3 {
	doc := xmlACLS3{Owner: xmlOwner{ID: a.Owner, DisplayName: a.Owner}}
	for _, g := range a.Grants {
		xg := xmlGrantS3{Permission: g.Perm}
		xg.Grantee.XSI = "http://www.w3.org/2001/XMLSchema-instance"
		if g.ID != "" {
			xg.Grantee.Type, xg.Grantee.ID = "CanonicalUser", g.ID
		} else {
			xg.Grantee.Type, xg.Grantee.URI = "Group", groupURI(g.Group)
		}
		doc.Grants = append(doc.Grants, xg)
	}
	return doc
}

func boolStr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// readACL takes the new ACL from headers or the request body.
func (rc *reqCtx) readACL() (acl, error) {
	if a, ok, err := rc.aclFromHeaders(); err != nil || ok {
		return a, err
	}
	data, err := rc.readSmallBody(1<<20, false)
	if err != nil {
		return acl{}, err
	}
	if len(data) == 0 {
		return acl{}, errf(http.StatusBadRequest, "MissingSecurityHeader", "Your request was missing a required header: x-obs-acl or an ACL document.")
	}
	return aclFromXML(data, rc.s.opts.OwnerID)
}
