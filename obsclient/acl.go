package obsclient

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"strings"
)

// Object ACLs are exchanged in the request's dialect: the OBS form
// (<Canned>Everyone</Canned>, <Delivered/>, no xsi:type) with the OBS
// signature, the S3 form (xsi:type, group URIs) with V2/V4. Both forms are
// accepted on read.

const (
	allUsersURI  = "http://acs.amazonaws.com/groups/global/AllUsers"
	authUsersURI = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
	xsiNS        = "http://www.w3.org/2001/XMLSchema-instance"
)

type xmlGrantee struct {
	Type   string `xml:"type,attr,omitempty"`
	ID     string `xml:"ID,omitempty"`
	Canned string `xml:"Canned,omitempty"`
	URI    string `xml:"URI,omitempty"`
}

type xmlGrant struct {
	Grantee    xmlGrantee `xml:"Grantee"`
	Permission string     `xml:"Permission"`
	Delivered  string     `xml:"Delivered,omitempty"`
}

type xmlACL struct {
	XMLName   xml.Name   `xml:"AccessControlPolicy"`
	Owner     xmlOwner   `xml:"Owner"`
	Delivered string     `xml:"Delivered,omitempty"`
	Grants    []xmlGrant `xml:"AccessControlList>Grant"`
}

// GetObjectACL reads an object's ACL. Group grantees (OBS Canned or S3
// URI) come back as Canned: "Everyone" for all users,
// "AuthenticatedUsers" for authenticated users.
func (b *Bucket) GetObjectACL(ctx context.Context, key, versionID string) (ACL, error) {
	r := b.aclRequest("GetObjectACL", http.MethodGet, key, versionID)
	res, err := b.do(ctx, r)
	if err != nil {
		return ACL{}, err
	}
	var x xmlACL
	if err := b.decodeInto(r, res, &x); err != nil {
		return ACL{}, err
	}
	out := ACL{Owner: x.Owner.ID, Delivered: isTrue(x.Delivered)}
	for _, g := range x.Grants {
		gr := Grant{ID: strings.TrimSpace(g.Grantee.ID), Permission: strings.TrimSpace(g.Permission), Delivered: isTrue(g.Delivered)}
		switch {
		case strings.TrimSpace(g.Grantee.Canned) != "":
			gr.Canned = groupName(strings.TrimSpace(g.Grantee.Canned))
		case strings.TrimSpace(g.Grantee.URI) != "":
			gr.Canned = groupName(strings.TrimSpace(g.Grantee.URI))
		}
		out.Grants = append(out.Grants, gr)
	}
	return out, nil
}

func isTrue(s string) bool { return strings.EqualFold(strings.TrimSpace(s), "true") }

// groupName maps an S3 group URI or OBS canned name to the OBS name.
func groupName(s string) string {
	switch {
	case s == allUsersURI || strings.EqualFold(s, "Everyone") || strings.HasSuffix(s, "/AllUsers"):
		return "Everyone"
	case s == authUsersURI || strings.HasSuffix(s, "/AuthenticatedUsers"):
		return "AuthenticatedUsers"
	}
	return s
}

func groupURI(name string) string {
	switch name {
	case "Everyone":
		return allUsersURI
	case "AuthenticatedUsers":
		return authUsersURI
	}
	return name
}

func (b *Bucket) aclRequest(op, method, key, versionID string) *request {
	r := newObjectRequest(op, method, key)
	r.query.Set("acl", "")
	if versionID != "" {
		r.query.Set("versionId", versionID)
	}
	return r
}

// SetObjectACL replaces an object's ACL with acl.
func (b *Bucket) SetObjectACL(ctx context.Context, key, versionID string, acl ACL) error {
	body, err := b.aclDocument(acl)
	if err != nil {
		return &Error{Op: "SetObjectACL", Key: key, Err: err}
	}
	r := b.aclRequest("SetObjectACL", http.MethodPut, key, versionID)
	setXMLBody(r, body)
	_, err = b.do(ctx, r)
	return err
}

func (b *Bucket) aclDocument(acl ACL) ([]byte, error) {
	x := xmlACL{Owner: xmlOwner{ID: acl.Owner}}
	if b.isOBS() && acl.Delivered {
		x.Delivered = "true"
	}
	for _, g := range acl.Grants {
		xg := xmlGrant{Permission: g.Permission}
		switch {
		case b.isOBS() && g.Canned != "":
			xg.Grantee.Canned = groupName(g.Canned)
		case b.isOBS():
			xg.Grantee.ID = g.ID
		case g.Canned != "":
			xg.Grantee.Type, xg.Grantee.URI = "Group", groupURI(groupName(g.Canned))
		default:
			xg.Grantee.Type, xg.Grantee.ID = "CanonicalUser", g.ID
		}
		x.Grants = append(x.Grants, xg)
	}
	out, err := xml.Marshal(x)
	if err != nil || b.isOBS() {
		return out, err
	}
	// S3 form: declare xsi and qualify the type attribute.
	out = bytes.Replace(out, []byte("<AccessControlPolicy>"), []byte(`<AccessControlPolicy xmlns:xsi="`+xsiNS+`">`), 1)
	out = bytes.ReplaceAll(out, []byte(`<Grantee type=`), []byte(`<Grantee xsi:type=`))
	return out, nil
}

// setXMLBody attaches an XML document with its Content-MD5.
func setXMLBody(r *request, body []byte) {
	sum := md5.Sum(body)
	r.body, r.size = bytes.NewReader(body), int64(len(body))
	r.header.Set("Content-MD5", base64.StdEncoding.EncodeToString(sum[:]))
	r.header.Set("Content-Type", "application/xml")
}

// SetObjectCannedACL applies a canned ACL (private, public-read, …) with
// the x-obs-acl / x-amz-acl header.
func (b *Bucket) SetObjectCannedACL(ctx context.Context, key, versionID, canned string) error {
	r := b.aclRequest("SetObjectCannedACL", http.MethodPut, key, versionID)
	r.header.Set(b.prefix()+"acl", canned)
	_, err := b.do(ctx, r)
	return err
}
