package obsclient

// Lifecycle rules: GET|PUT|DELETE ?lifecycle, PUT with Content-MD5.

import (
	"context"
	"encoding/xml"
	"strings"
)

// LifecycleConfiguration is a bucket's lifecycle rules
// (<LifecycleConfiguration><Rule>…</Rule>…).
type LifecycleConfiguration struct {
	XMLName xml.Name        `xml:"LifecycleConfiguration" json:"-"`
	Rules   []LifecycleRule `xml:"Rule" json:"Rules"`
}

// LifecycleRule applies its actions to the objects under Prefix ("" is
// the whole bucket) while Status is "Enabled" ("Disabled" keeps it
// inactive). At least one action is needed.
type LifecycleRule struct {
	ID                             string                          `xml:"ID,omitempty" json:"ID,omitempty"`
	Prefix                         string                          `xml:"Prefix" json:"Prefix"`
	Status                         string                          `xml:"Status" json:"Status"`
	Transitions                    []LifecycleTransition           `xml:"Transition,omitempty" json:"Transitions,omitempty"`
	Expiration                     *LifecycleExpiration            `xml:"Expiration,omitempty" json:"Expiration,omitempty"`
	NoncurrentVersionTransitions   []NoncurrentVersionTransition   `xml:"NoncurrentVersionTransition,omitempty" json:"NoncurrentVersionTransitions,omitempty"`
	NoncurrentVersionExpiration    *NoncurrentVersionExpiration    `xml:"NoncurrentVersionExpiration,omitempty" json:"NoncurrentVersionExpiration,omitempty"`
	AbortIncompleteMultipartUpload *AbortIncompleteMultipartUpload `xml:"AbortIncompleteMultipartUpload,omitempty" json:"AbortIncompleteMultipartUpload,omitempty"`
}

// LifecycleTransition moves current versions to StorageClass (WARM, COLD,
// DEEP_ARCHIVE) Days after creation, or on Date (ISO 8601 midnight UTC,
// "2027-01-01T00:00:00.000Z"). Exactly one of Days and Date is set.
type LifecycleTransition struct {
	Days         int    `xml:"Days,omitempty" json:"Days,omitempty"`
	Date         string `xml:"Date,omitempty" json:"Date,omitempty"`
	StorageClass string `xml:"StorageClass" json:"StorageClass"`
}

// LifecycleExpiration deletes current versions Days after creation or on
// Date; exactly one is set.
type LifecycleExpiration struct {
	Days int    `xml:"Days,omitempty" json:"Days,omitempty"`
	Date string `xml:"Date,omitempty" json:"Date,omitempty"`
}

// NoncurrentVersionTransition moves versions NoncurrentDays after they
// stopped being current.
type NoncurrentVersionTransition struct {
	NoncurrentDays int    `xml:"NoncurrentDays" json:"NoncurrentDays"`
	StorageClass   string `xml:"StorageClass" json:"StorageClass"`
}

// NoncurrentVersionExpiration deletes versions NoncurrentDays after they
// stopped being current.
type NoncurrentVersionExpiration struct {
	NoncurrentDays int `xml:"NoncurrentDays" json:"NoncurrentDays"`
}

// AbortIncompleteMultipartUpload aborts uploads DaysAfterInitiation days
// after they started.
type AbortIncompleteMultipartUpload struct {
	DaysAfterInitiation int `xml:"DaysAfterInitiation" json:"DaysAfterInitiation"`
}

// GetLifecycle is GET ?lifecycle; none is a 404
// NoSuchLifecycleConfiguration (IsNotFound). Storage classes come back in
// OBS names.
func (b *Bucket) GetLifecycle(ctx context.Context) (LifecycleConfiguration, error) {
	var x LifecycleConfiguration
	if err := b.getConfig(ctx, "GetBucketLifecycle", "lifecycle", &x); err != nil {
		return LifecycleConfiguration{}, err
	}
	x.XMLName = xml.Name{}
	for i := range x.Rules {
		r := &x.Rules[i]
		r.ID, r.Status = strings.TrimSpace(r.ID), strings.TrimSpace(r.Status)
		for j := range r.Transitions {
			r.Transitions[j].StorageClass = normClass(r.Transitions[j].StorageClass)
			r.Transitions[j].Date = strings.TrimSpace(r.Transitions[j].Date)
		}
		for j := range r.NoncurrentVersionTransitions {
			r.NoncurrentVersionTransitions[j].StorageClass = normClass(r.NoncurrentVersionTransitions[j].StorageClass)
		}
		if r.Expiration != nil {
			r.Expiration.Date = strings.TrimSpace(r.Expiration.Date)
		}
	}
	return x, nil
}

// SetLifecycle replaces the bucket's lifecycle rules (PUT ?lifecycle,
// Content-MD5). WARM and COLD are sent as STANDARD_IA and GLACIER under
// V2/V4, as the SDK does.
func (b *Bucket) SetLifecycle(ctx context.Context, c LifecycleConfiguration) error {
	const op = "SetBucketLifecycle"
	if len(c.Rules) == 0 {
		return invalidConfig(op, "", "no rules (delete the configuration instead)")
	}
	out := LifecycleConfiguration{Rules: make([]LifecycleRule, len(c.Rules))}
	for i, r := range c.Rules {
		if r.Status != "Enabled" && r.Status != "Disabled" {
			return invalidConfig(op, "", "rule %d: status %q is neither Enabled nor Disabled", i, r.Status)
		}
		if len(r.Transitions) == 0 && r.Expiration == nil && len(r.NoncurrentVersionTransitions) == 0 &&
			r.NoncurrentVersionExpiration == nil && r.AbortIncompleteMultipartUpload == nil {
			return invalidConfig(op, "", "rule %d has no action", i)
		}
		if e := r.Expiration; e != nil {
			if (e.Days > 0) == (e.Date != "") {
				return invalidConfig(op, "", "rule %d: expiration needs exactly one of Days and Date", i)
			}
			if e.Date != "" && parseTime(e.Date).IsZero() {
				return invalidConfig(op, "", "rule %d: expiration date %q is not ISO 8601", i, e.Date)
			}
		}
		r.Transitions = append([]LifecycleTransition(nil), r.Transitions...)
		for j, t := range r.Transitions {
			if (t.Days > 0) == (t.Date != "") || t.StorageClass == "" {
				return invalidConfig(op, "", "rule %d: a transition needs exactly one of Days and Date, and a storage class", i)
			}
			if t.Date != "" && parseTime(t.Date).IsZero() {
				return invalidConfig(op, "", "rule %d: transition date %q is not ISO 8601", i, t.Date)
			}
			r.Transitions[j].StorageClass = b.wireClass(t.StorageClass)
		}
		r.NoncurrentVersionTransitions = append([]NoncurrentVersionTransition(nil), r.NoncurrentVersionTransitions...)
		for j, t := range r.NoncurrentVersionTransitions {
			if t.StorageClass == "" {
				return invalidConfig(op, "", "rule %d: a noncurrent version transition needs a storage class", i)
			}
			r.NoncurrentVersionTransitions[j].StorageClass = b.wireClass(t.StorageClass)
		}
		out.Rules[i] = r
	}
	return b.putConfigValue(ctx, op, "lifecycle", out)
}

// DeleteLifecycle is DELETE ?lifecycle.
func (b *Bucket) DeleteLifecycle(ctx context.Context) error {
	return b.deleteConfig(ctx, "DeleteBucketLifecycle", "lifecycle")
}
