package obsclient

// Static website hosting: GET|PUT|DELETE ?website.

import (
	"context"
	"encoding/xml"
)

// WebsiteConfiguration either redirects every request
// (RedirectAllRequestsTo) or serves IndexDocument, with an optional
// ErrorDocument and RoutingRules.
type WebsiteConfiguration struct {
	XMLName               xml.Name               `xml:"WebsiteConfiguration" json:"-"`
	RedirectAllRequestsTo *RedirectAllRequestsTo `xml:"RedirectAllRequestsTo,omitempty" json:"RedirectAllRequestsTo,omitempty"`
	IndexDocument         *IndexDocument         `xml:"IndexDocument,omitempty" json:"IndexDocument,omitempty"`
	ErrorDocument         *ErrorDocument         `xml:"ErrorDocument,omitempty" json:"ErrorDocument,omitempty"`
	RoutingRules          []RoutingRule          `xml:"RoutingRules>RoutingRule,omitempty" json:"RoutingRules,omitempty"`
}

// RedirectAllRequestsTo sends every request to HostName (Protocol "http"
// or "https", "" keeps the request's).
type RedirectAllRequestsTo struct {
	HostName string `xml:"HostName" json:"HostName"`
	Protocol string `xml:"Protocol,omitempty" json:"Protocol,omitempty"`
}

// IndexDocument names the object served for a directory ("index.html").
type IndexDocument struct {
	Suffix string `xml:"Suffix" json:"Suffix"`
}

// ErrorDocument names the object served on a 4xx error.
type ErrorDocument struct {
	Key string `xml:"Key" json:"Key"`
}

// RoutingRule redirects the requests that match Condition (all when nil).
type RoutingRule struct {
	Condition *RoutingRuleCondition `xml:"Condition,omitempty" json:"Condition,omitempty"`
	Redirect  RoutingRuleRedirect   `xml:"Redirect" json:"Redirect"`
}

// RoutingRuleCondition matches a key prefix and/or an error status.
type RoutingRuleCondition struct {
	KeyPrefixEquals             string `xml:"KeyPrefixEquals,omitempty" json:"KeyPrefixEquals,omitempty"`
	HttpErrorCodeReturnedEquals string `xml:"HttpErrorCodeReturnedEquals,omitempty" json:"HttpErrorCodeReturnedEquals,omitempty"`
}

// RoutingRuleRedirect says where a matched request goes.
type RoutingRuleRedirect struct {
	Protocol             string `xml:"Protocol,omitempty" json:"Protocol,omitempty"`
	HostName             string `xml:"HostName,omitempty" json:"HostName,omitempty"`
	ReplaceKeyPrefixWith string `xml:"ReplaceKeyPrefixWith,omitempty" json:"ReplaceKeyPrefixWith,omitempty"`
	ReplaceKeyWith       string `xml:"ReplaceKeyWith,omitempty" json:"ReplaceKeyWith,omitempty"`
	HttpRedirectCode     string `xml:"HttpRedirectCode,omitempty" json:"HttpRedirectCode,omitempty"`
}

// GetWebsite is GET ?website; none is a 404 NoSuchWebsiteConfiguration
// (IsNotFound).
func (b *Bucket) GetWebsite(ctx context.Context) (WebsiteConfiguration, error) {
	var x WebsiteConfiguration
	if err := b.getConfig(ctx, "GetBucketWebsite", "website", &x); err != nil {
		return WebsiteConfiguration{}, err
	}
	x.XMLName = xml.Name{}
	return x, nil
}

// SetWebsite is PUT ?website. A redirect excludes the other fields.
func (b *Bucket) SetWebsite(ctx context.Context, w WebsiteConfiguration) error {
	const op = "SetBucketWebsite"
	if r := w.RedirectAllRequestsTo; r != nil {
		if r.HostName == "" {
			return invalidConfig(op, "", "RedirectAllRequestsTo needs a HostName")
		}
		if w.IndexDocument != nil || w.ErrorDocument != nil || len(w.RoutingRules) > 0 {
			return invalidConfig(op, "", "RedirectAllRequestsTo excludes IndexDocument, ErrorDocument and RoutingRules")
		}
	} else if w.IndexDocument == nil || w.IndexDocument.Suffix == "" {
		return invalidConfig(op, "", "an IndexDocument Suffix or RedirectAllRequestsTo is required")
	}
	w.XMLName = xml.Name{}
	return b.putConfigValue(ctx, op, "website", w)
}

// DeleteWebsite is DELETE ?website.
func (b *Bucket) DeleteWebsite(ctx context.Context) error {
	return b.deleteConfig(ctx, "DeleteBucketWebsite", "website")
}
