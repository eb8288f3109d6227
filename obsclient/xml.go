package obsclient

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"net/url"
	"strings"
	"time"
)

// Wire types. encoding/xml matches a tag without a namespace against an
// element in any namespace, so these decode OBS replies (no namespace or
// the OBS one) and S3 replies (the AWS namespace) alike. Fields are strings
// where the server's format is not guaranteed and are parsed leniently.

type xmlError struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	Resource  string   `xml:"Resource"`
	RequestID string   `xml:"RequestId"`
	HostID    string   `xml:"HostId"`
}

type xmlOwner struct {
	ID string `xml:"ID"`
}

type xmlContents struct {
	Key          string   `xml:"Key"`
	LastModified string   `xml:"LastModified"`
	ETag         string   `xml:"ETag"`
	Size         int64    `xml:"Size"`
	Owner        xmlOwner `xml:"Owner"`
	StorageClass string   `xml:"StorageClass"`
	Type         string   `xml:"Type"`
}

type xmlPrefix struct {
	Prefix string `xml:"Prefix"`
}

type xmlListBucketResult struct {
	XMLName        xml.Name      `xml:"ListBucketResult"`
	Name           string        `xml:"Name"`
	Prefix         string        `xml:"Prefix"`
	Marker         string        `xml:"Marker"`
	NextMarker     string        `xml:"NextMarker"`
	MaxKeys        int           `xml:"MaxKeys"`
	Delimiter      string        `xml:"Delimiter"`
	IsTruncated    bool          `xml:"IsTruncated"`
	EncodingType   string        `xml:"EncodingType"`
	Contents       []xmlContents `xml:"Contents"`
	CommonPrefixes []xmlPrefix   `xml:"CommonPrefixes"`
}

type xmlVersion struct {
	Key          string   `xml:"Key"`
	VersionID    string   `xml:"VersionId"`
	IsLatest     bool     `xml:"IsLatest"`
	LastModified string   `xml:"LastModified"`
	ETag         string   `xml:"ETag"`
	Size         int64    `xml:"Size"`
	Owner        xmlOwner `xml:"Owner"`
	StorageClass string   `xml:"StorageClass"`
	Type         string   `xml:"Type"`
}

// xmlVersionEntry keeps Version and DeleteMarker elements in document order.
type xmlVersionEntry struct {
	marker bool
	v      xmlVersion
}

type xmlListVersionsResult struct {
	XMLName             xml.Name
	Prefix              string
	KeyMarker           string
	VersionIDMarker     string
	NextKeyMarker       string
	NextVersionIDMarker string
	Delimiter           string
	IsTruncated         bool
	EncodingType        string
	Entries             []xmlVersionEntry
	CommonPrefixes      []xmlPrefix
}

// UnmarshalXML decodes ListVersionsResult by hand so that versions and
// delete markers keep the server's interleaved order.
func (r *xmlListVersionsResult) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	r.XMLName = start.Name
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return nil
		case xml.StartElement:
			if err := r.decodeChild(d, t); err != nil {
				return err
			}
		}
	}
}

func (r *xmlListVersionsResult) decodeChild(d *xml.Decoder, t xml.StartElement) error {
	var s string
	switch t.Name.Local {
	case "Version", "DeleteMarker":
		var v xmlVersion
		if err := d.DecodeElement(&v, &t); err != nil {
			return err
		}
		r.Entries = append(r.Entries, xmlVersionEntry{marker: t.Name.Local == "DeleteMarker", v: v})
		return nil
	case "CommonPrefixes":
		var p xmlPrefix
		if err := d.DecodeElement(&p, &t); err != nil {
			return err
		}
		r.CommonPrefixes = append(r.CommonPrefixes, p)
		return nil
	}
	switch t.Name.Local {
	case "Prefix", "KeyMarker", "VersionIdMarker", "NextKeyMarker", "NextVersionIdMarker", "Delimiter", "IsTruncated", "EncodingType":
		if err := d.DecodeElement(&s, &t); err != nil {
			return err
		}
	default:
		return d.Skip()
	}
	switch t.Name.Local {
	case "Prefix":
		r.Prefix = s
	case "KeyMarker":
		r.KeyMarker = s
	case "VersionIdMarker":
		r.VersionIDMarker = s
	case "NextKeyMarker":
		r.NextKeyMarker = s
	case "NextVersionIdMarker":
		r.NextVersionIDMarker = s
	case "Delimiter":
		r.Delimiter = s
	case "IsTruncated":
		r.IsTruncated = strings.TrimSpace(s) == "true"
	case "EncodingType":
		r.EncodingType = s
	}
	return nil
}

type xmlCopyResult struct {
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
}

type xmlInitiateResult struct {
	XMLName  xml.Name `xml:"InitiateMultipartUploadResult"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	UploadID string   `xml:"UploadId"`
}

type xmlCompletePart struct {
	PartNumber int    `xml:"PartNumber"`
	ETag       string `xml:"ETag"`
}

type xmlCompleteRequest struct {
	XMLName xml.Name          `xml:"CompleteMultipartUpload"`
	Parts   []xmlCompletePart `xml:"Part"`
}

type xmlCompleteResult struct {
	XMLName  xml.Name `xml:"CompleteMultipartUploadResult"`
	Location string   `xml:"Location"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	ETag     string   `xml:"ETag"`
}

type xmlPart struct {
	PartNumber   int    `xml:"PartNumber"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int64  `xml:"Size"`
}

type xmlListPartsResult struct {
	XMLName              xml.Name  `xml:"ListPartsResult"`
	Bucket               string    `xml:"Bucket"`
	Key                  string    `xml:"Key"`
	UploadID             string    `xml:"UploadId"`
	PartNumberMarker     int       `xml:"PartNumberMarker"`
	NextPartNumberMarker int       `xml:"NextPartNumberMarker"`
	MaxParts             int       `xml:"MaxParts"`
	IsTruncated          bool      `xml:"IsTruncated"`
	Parts                []xmlPart `xml:"Part"`
}

type xmlUpload struct {
	Key       string `xml:"Key"`
	UploadID  string `xml:"UploadId"`
	Initiated string `xml:"Initiated"`
}

type xmlListUploadsResult struct {
	XMLName            xml.Name    `xml:"ListMultipartUploadsResult"`
	Bucket             string      `xml:"Bucket"`
	KeyMarker          string      `xml:"KeyMarker"`
	UploadIDMarker     string      `xml:"UploadIdMarker"`
	NextKeyMarker      string      `xml:"NextKeyMarker"`
	NextUploadIDMarker string      `xml:"NextUploadIdMarker"`
	Delimiter          string      `xml:"Delimiter"`
	Prefix             string      `xml:"Prefix"`
	IsTruncated        bool        `xml:"IsTruncated"`
	EncodingType       string      `xml:"EncodingType"`
	Uploads            []xmlUpload `xml:"Upload"`
	CommonPrefixes     []xmlPrefix `xml:"CommonPrefixes"`
}

type xmlDeleteObject struct {
	Key       string `xml:"Key"`
	VersionID string `xml:"VersionId,omitempty"`
}

type xmlDeleteRequest struct {
	XMLName xml.Name          `xml:"Delete"`
	Quiet   bool              `xml:"Quiet"`
	Objects []xmlDeleteObject `xml:"Object"`
}

type xmlDeleted struct {
	Key                   string `xml:"Key"`
	VersionID             string `xml:"VersionId"`
	DeleteMarker          bool   `xml:"DeleteMarker"`
	DeleteMarkerVersionID string `xml:"DeleteMarkerVersionId"`
}

type xmlDeleteError struct {
	Key       string `xml:"Key"`
	VersionID string `xml:"VersionId"`
	Code      string `xml:"Code"`
	Message   string `xml:"Message"`
}

type xmlDeleteResult struct {
	XMLName xml.Name         `xml:"DeleteResult"`
	Deleted []xmlDeleted     `xml:"Deleted"`
	Errors  []xmlDeleteError `xml:"Error"`
}

type xmlRestoreRequest struct {
	XMLName xml.Name `xml:"RestoreRequest"`
	Days    int      `xml:"Days"`
	Tier    string   `xml:"RestoreJob>Tier,omitempty"`
}

type xmlStorageInfo struct {
	XMLName     xml.Name `xml:"GetBucketStorageInfoResult"`
	Size        int64    `xml:"Size"`
	ObjectCount int64    `xml:"ObjectNumber"`
}

type xmlQuota struct {
	XMLName      xml.Name `xml:"Quota"`
	StorageQuota int64    `xml:"StorageQuota"`
}

// rootName returns the local name of the first element of an XML document,
// or "" when there is none.
func rootName(body []byte) string {
	d := xml.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := d.Token()
		if err != nil {
			return ""
		}
		if s, ok := tok.(xml.StartElement); ok {
			return s.Name.Local
		}
	}
}

// decodeXML decodes body into v, rejecting an empty body. It never panics
// on malformed input (encoding/xml returns errors).
func decodeXML(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return errors.New("empty XML body")
	}
	d := xml.NewDecoder(bytes.NewReader(body))
	d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	return d.Decode(v)
}

// parseTime reads the timestamps OBS uses in XML (ISO 8601 with or without
// fraction) and headers (RFC 1123). A zero time is returned for "".
func parseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z", time.RFC1123, time.RFC1123Z, time.RFC850, time.ANSIC} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// trimETag strips the quotes around an ETag.
func trimETag(s string) string {
	return strings.Trim(strings.TrimSpace(s), `"`)
}

// ETagMatches reports whether two ETags name the same content, ignoring
// quotes and a weak-validator prefix.
func ETagMatches(a, b string) bool {
	norm := func(s string) string { return trimETag(strings.TrimPrefix(strings.TrimSpace(s), "W/")) }
	return norm(a) != "" && norm(a) == norm(b)
}

// unescapeIf URL-decodes s when the server said encoding-type=url.
func unescapeIf(encoded bool, s string) (string, error) {
	if !encoded || s == "" {
		return s, nil
	}
	return url.QueryUnescape(s)
}

// keyDecoder returns the decoder of the keys, prefixes and markers of a
// listing whose EncodingType is encodingType: URL-decoding for "url" (any
// case), identity otherwise, as the SDK does. A server that ignores
// encoding-type=url (versitygw) says so by not echoing it, and its keys are
// raw: decoding them would turn "a+b" into "a b". A value that does not
// decode is kept as sent.
func keyDecoder(encodingType string) func(string) string {
	enc := strings.EqualFold(encodingType, "url")
	return func(s string) string {
		if v, err := unescapeIf(enc, s); err == nil {
			return v
		}
		return s
	}
}

// findText returns the trimmed text of the first element with one of the
// given local names, in any namespace and at any depth.
func findText(body []byte, names ...string) (string, bool) {
	d := xml.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := d.Token()
		if err != nil {
			return "", false
		}
		if s, ok := tok.(xml.StartElement); ok {
			for _, n := range names {
				if s.Name.Local == n {
					var text string
					if err := d.DecodeElement(&text, &s); err != nil {
						return "", false
					}
					return strings.TrimSpace(text), true
				}
			}
		}
	}
}
