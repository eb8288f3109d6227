package obsclient

// CORS rules: GET|PUT|DELETE ?cors, PUT with Content-MD5.

import (
	"context"
	"encoding/xml"
)

// CORSConfiguration is a bucket's CORS rules (<CORSConfiguration><CORSRule>…).
type CORSConfiguration struct {
	XMLName xml.Name   `xml:"CORSConfiguration" json:"-"`
	Rules   []CORSRule `xml:"CORSRule" json:"CORSRules"`
}

// CORSRule allows cross-origin requests with one of AllowedMethods (GET,
// PUT, POST, DELETE, HEAD) from one of AllowedOrigins ("*" wildcards).
type CORSRule struct {
	ID             string   `xml:"ID,omitempty" json:"ID,omitempty"`
	AllowedMethods []string `xml:"AllowedMethod" json:"AllowedMethods"`
	AllowedOrigins []string `xml:"AllowedOrigin" json:"AllowedOrigins"`
	AllowedHeaders []string `xml:"AllowedHeader,omitempty" json:"AllowedHeaders,omitempty"`
	MaxAgeSeconds  int      `xml:"MaxAgeSeconds,omitempty" json:"MaxAgeSeconds,omitempty"`
	ExposeHeaders  []string `xml:"ExposeHeader,omitempty" json:"ExposeHeaders,omitempty"`
}

// GetCORS is GET ?cors; none is a 404 NoSuchCORSConfiguration (IsNotFound).
func (b *Bucket) GetCORS(ctx context.Context) (CORSConfiguration, error) {
	var x CORSConfiguration
	if err := b.getConfig(ctx, "GetBucketCors", "cors", &x); err != nil {
		return CORSConfiguration{}, err
	}
	x.XMLName = xml.Name{}
	return x, nil
}

// SetCORS replaces the bucket's CORS rules (PUT ?cors, Content-MD5).
func (b *Bucket) SetCORS(ctx context.Context, c CORSConfiguration) error {
	if len(c.Rules) == 0 {
		return invalidConfig("SetBucketCors", "", "no rules (delete the configuration instead)")
	}
	for i, r := range c.Rules {
		if len(r.AllowedMethods) == 0 || len(r.AllowedOrigins) == 0 {
			return invalidConfig("SetBucketCors", "", "rule %d needs AllowedMethods and AllowedOrigins", i)
		}
	}
	c.XMLName = xml.Name{}
	return b.putConfigValue(ctx, "SetBucketCors", "cors", c)
}

// DeleteCORS is DELETE ?cors.
func (b *Bucket) DeleteCORS(ctx context.Context) error {
	return b.deleteConfig(ctx, "DeleteBucketCors", "cors")
}
