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
	var x xmlACL
	if _, err := b.doDecode(ctx, r, &x); err != nil {
		return ACL{}, err
	}
	return aclFromXML(x), nil
}

// aclFromXML converts a decoded AccessControlPolicy (either dialect).
func aclFromXML(x xmlACL) ACL {
	return ACL{Owner: strings.TrimSpace(x.Owner.ID), Delivered: isTrue(x.Delivered), Grants: grantsFromXML(x.Grants)}
}

// grantsFromXML converts wire grants; group grantees (OBS Canned or S3
// URI) become Canned "Everyone" / "AuthenticatedUsers".
func grantsFromXML(xs []xmlGrant) []Grant {
	var out []Grant
	for _, g := range xs {
		gr := Grant{ID: strings.TrimSpace(g.Grantee.ID), Permission: strings.TrimSpace(g.Permission), Delivered: isTrue(g.Delivered)}
		switch {
		case strings.TrimSpace(g.Grantee.Canned) != "":
			gr.Canned = groupName(strings.TrimSpace(g.Grantee.Canned))
		case strings.TrimSpace(g.Grantee.URI) != "":
			gr.Canned = groupName(strings.TrimSpace(g.Grantee.URI))
		}
		out = append(out, gr)
	}
	return out
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

// aclDocument renders an AccessControlPolicy in the request's dialect.
// Object ACLs carry <Delivered> after the owner, bucket ACLs one per grant
// (OBS dialect only; S3 has neither).
func (b *Bucket) aclDocument(acl ACL) ([]byte, error) { return b.aclDoc(acl, false) }

func (b *Bucket) aclDoc(acl ACL, bucket bool) ([]byte, error) {
	x := xmlACL{Owner: xmlOwner{ID: acl.Owner}, Grants: b.grantsToXML(acl.Grants, bucket)}
	if b.isOBS() && acl.Delivered && !bucket {
		x.Delivered = "true"
	}
	out, err := xml.Marshal(x)
	if err != nil {
		return nil, err
	}
	return b.qualifyXSI(out, "AccessControlPolicy"), nil
}

// grantsToXML converts grants to the dialect's wire form. withDelivered
// adds <Delivered>true|false</Delivered> to each grant in the OBS dialect
// (bucket ACLs), as the SDK does.
func (b *Bucket) grantsToXML(grants []Grant, withDelivered bool) []xmlGrant {
	var out []xmlGrant
	for _, g := range grants {
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
		if b.isOBS() && withDelivered {
			xg.Delivered = "false"
			if g.Delivered {
				xg.Delivered = "true"
			}
		}
		out = append(out, xg)
	}
	return out
}

// qualifyXSI turns the marshalled `type` attributes of S3 grantees into
// xsi:type and declares the xsi namespace on the root element. The OBS
// form has no xsi:type and is returned unchanged.
func (b *Bucket) qualifyXSI(out []byte, root string) []byte {
	if b.isOBS() || !bytes.Contains(out, []byte(`<Grantee type=`)) {
		return out
	}
	out = bytes.Replace(out, []byte("<"+root+">"), []byte(`<`+root+` xmlns:xsi="`+xsiNS+`">`), 1)
	return bytes.ReplaceAll(out, []byte(`<Grantee type=`), []byte(`<Grantee xsi:type=`))
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
