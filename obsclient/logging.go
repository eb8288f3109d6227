package obsclient

// Access logging: GET|PUT ?logging. There is no DELETE: an empty
// <BucketLoggingStatus/> disables logging.

import (
	"context"
	"encoding/xml"
	"strings"
)

// BucketLoggingStatus is a bucket's access logging. LoggingEnabled nil
// means logging is off. Agency (OBS dialect only; dropped under V2/V4)
// names the IAM agency OBS uses to write the logs.
type BucketLoggingStatus struct {
	Agency         string          `xml:"Agency,omitempty" json:"Agency,omitempty"`
	LoggingEnabled *LoggingEnabled `xml:"LoggingEnabled,omitempty" json:"LoggingEnabled,omitempty"`
}

// LoggingEnabled says where the logs go and who may read them.
type LoggingEnabled struct {
	TargetBucket string  `xml:"TargetBucket" json:"TargetBucket"`
	TargetPrefix string  `xml:"TargetPrefix,omitempty" json:"TargetPrefix,omitempty"`
	TargetGrants []Grant `xml:"-" json:"TargetGrants,omitempty"`
}

type xmlLoggingEnabled struct {
	TargetBucket string     `xml:"TargetBucket,omitempty"`
	TargetPrefix string     `xml:"TargetPrefix,omitempty"`
	TargetGrants []xmlGrant `xml:"TargetGrants>Grant,omitempty"`
}

type xmlLoggingStatus struct {
	XMLName        xml.Name           `xml:"BucketLoggingStatus"`
	Agency         string             `xml:"Agency,omitempty"`
	LoggingEnabled *xmlLoggingEnabled `xml:"LoggingEnabled,omitempty"`
}

// GetLogging is GET ?logging; a bucket without logging has a zero value.
func (b *Bucket) GetLogging(ctx context.Context) (BucketLoggingStatus, error) {
	var x xmlLoggingStatus
	if err := b.getConfig(ctx, "GetBucketLogging", "logging", &x); err != nil {
		return BucketLoggingStatus{}, err
	}
	out := BucketLoggingStatus{Agency: strings.TrimSpace(x.Agency)}
	if e := x.LoggingEnabled; e != nil {
		out.LoggingEnabled = &LoggingEnabled{TargetBucket: strings.TrimSpace(e.TargetBucket), TargetPrefix: e.TargetPrefix,
			TargetGrants: grantsFromXML(e.TargetGrants)}
	}
	return out, nil
}

// SetLogging is PUT ?logging; the zero value disables logging.
func (b *Bucket) SetLogging(ctx context.Context, s BucketLoggingStatus) error {
	const op = "SetBucketLogging"
	x := xmlLoggingStatus{}
	if b.isOBS() {
		x.Agency = s.Agency
	}
	if e := s.LoggingEnabled; e != nil {
		if e.TargetBucket == "" {
			return invalidConfig(op, "", "LoggingEnabled needs a TargetBucket")
		}
		for _, g := range e.TargetGrants {
			if g.Permission == "" || (g.ID == "") == (g.Canned == "") {
				return invalidConfig(op, "", "a target grant needs a permission and exactly one of ID or Canned")
			}
		}
		x.LoggingEnabled = &xmlLoggingEnabled{TargetBucket: e.TargetBucket, TargetPrefix: e.TargetPrefix,
			TargetGrants: b.grantsToXML(e.TargetGrants, false)}
	}
	doc, err := xml.Marshal(x)
	if err != nil {
		return invalidConfig(op, "", "%v", err)
	}
	return b.putConfig(ctx, op, "logging", b.qualifyXSI(doc, "BucketLoggingStatus"))
}
