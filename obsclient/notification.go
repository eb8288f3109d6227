package obsclient

// Event notifications: GET|PUT ?notification. There is no DELETE: an
// empty <NotificationConfiguration/> disables them.

import (
	"context"
	"encoding/xml"
	"strings"
)

// NotificationConfiguration publishes object events to SMN topics.
type NotificationConfiguration struct {
	TopicConfigurations []TopicConfiguration `json:"TopicConfigurations"`
}

// TopicConfiguration publishes Events ("ObjectCreated:*",
// "ObjectRemoved:Delete", …, without the "s3:" prefix the S3 form adds on
// the wire) of the objects matching FilterRules to Topic (an SMN topic URN).
type TopicConfiguration struct {
	ID          string       `json:"ID,omitempty"`
	Topic       string       `json:"Topic"`
	Events      []string     `json:"Events"`
	FilterRules []FilterRule `json:"FilterRules,omitempty"`
}

// FilterRule matches key prefixes or suffixes: Name "prefix" or "suffix".
type FilterRule struct {
	Name  string `xml:"Name" json:"Name"`
	Value string `xml:"Value" json:"Value"`
}

// Wire form. OBS nests filter rules in <Filter><Object>, S3 in
// <Filter><S3Key>; both are read.
type xmlNotification struct {
	XMLName xml.Name   `xml:"NotificationConfiguration"`
	Topics  []xmlTopic `xml:"TopicConfiguration"`
}

type xmlTopic struct {
	ID     string     `xml:"Id,omitempty"`
	Topic  string     `xml:"Topic"`
	Events []string   `xml:"Event"`
	Filter *xmlFilter `xml:"Filter,omitempty"`
}

type xmlFilter struct {
	Object []FilterRule `xml:"Object>FilterRule,omitempty"`
	S3Key  []FilterRule `xml:"S3Key>FilterRule,omitempty"`
}

// GetNotification is GET ?notification; a bucket without notifications
// has a zero value.
func (b *Bucket) GetNotification(ctx context.Context) (NotificationConfiguration, error) {
	var x xmlNotification
	if err := b.getConfig(ctx, "GetBucketNotification", "notification", &x); err != nil {
		return NotificationConfiguration{}, err
	}
	var out NotificationConfiguration
	for _, t := range x.Topics {
		tc := TopicConfiguration{ID: strings.TrimSpace(t.ID), Topic: strings.TrimSpace(t.Topic)}
		for _, e := range t.Events {
			tc.Events = append(tc.Events, strings.TrimPrefix(strings.TrimSpace(e), "s3:"))
		}
		if t.Filter != nil {
			tc.FilterRules = append(append(tc.FilterRules, t.Filter.Object...), t.Filter.S3Key...)
		}
		out.TopicConfigurations = append(out.TopicConfigurations, tc)
	}
	return out, nil
}

// SetNotification is PUT ?notification; the zero value disables
// notifications.
func (b *Bucket) SetNotification(ctx context.Context, c NotificationConfiguration) error {
	const op = "SetBucketNotification"
	x := xmlNotification{}
	for i, tc := range c.TopicConfigurations {
		if tc.Topic == "" || len(tc.Events) == 0 {
			return invalidConfig(op, "", "topic configuration %d needs a Topic and Events", i)
		}
		t := xmlTopic{ID: tc.ID, Topic: tc.Topic}
		for _, e := range tc.Events {
			e = strings.TrimPrefix(e, "s3:")
			if !b.isOBS() {
				e = "s3:" + e
			}
			t.Events = append(t.Events, e)
		}
		for _, f := range tc.FilterRules {
			if f.Name != "prefix" && f.Name != "suffix" {
				return invalidConfig(op, "", "filter rule name %q is neither prefix nor suffix", f.Name)
			}
		}
		if len(tc.FilterRules) > 0 {
			t.Filter = &xmlFilter{}
			if b.isOBS() {
				t.Filter.Object = tc.FilterRules
			} else {
				t.Filter.S3Key = tc.FilterRules
			}
		}
		x.Topics = append(x.Topics, t)
	}
	return b.putConfigValue(ctx, op, "notification", x)
}
