package obsclient

import (
	"context"
	"errors"
	"io"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestHeaderValueEncoding(t *testing.T) {
	for _, v := range []string{"", "plain", "héllo wörld", "中文", "100%", "a%20b", "tab\there", "\x7f", "%E4%B8%AD literal"} {
		enc := encodeHeaderValue(v)
		for i := 0; i < len(enc); i++ {
			assert.True(t, enc[i] >= 0x20 && enc[i] < 0x7f, "%q encodes to %q", v, enc)
		}
		if v != "%E4%B8%AD literal" {
			assert.Equal(t, v, decodeHeaderValue(enc), "%q", v)
		}
	}
	// What the SDK sends for Chinese text decodes too.
	assert.Equal(t, "中文", decodeHeaderValue(url.QueryEscape("中文")))
}

func TestEncodeQuery(t *testing.T) {
	q := url.Values{"uploadId": {"u1"}, "partNumber": {"3"}, "acl": {""}, "prefix": {"a b+c/é"}}
	assert.Equal(t, "acl&partNumber=3&prefix=a%20b%2Bc%2F%C3%A9&uploadId=u1", encodeQuery(q))
	assert.Equal(t, "", encodeQuery(nil))
}

func TestRangeHeader(t *testing.T) {
	assert.Equal(t, "bytes=0-9", Range{Start: 0, End: 9}.header())
	assert.Equal(t, "bytes=5-", Range{Start: 5, End: -1}.header())
	assert.Equal(t, "bytes=-7", Range{Suffix: 7}.header())
	s, total, ok := parseContentRange("bytes 10-19/100")
	assert.True(t, ok)
	assert.Equal(t, int64(10), s)
	assert.Equal(t, int64(100), total)
	_, _, ok = parseContentRange("bytes */100")
	assert.False(t, ok)
}

func TestRetryable(t *testing.T) {
	yes := []error{
		&Error{StatusCode: 500, Code: "InternalError"}, &Error{StatusCode: 503, Code: "SlowDown"},
		&Error{StatusCode: 408}, &Error{StatusCode: 429}, &Error{StatusCode: 400, Code: "RequestTimeout"},
		&Error{Err: io.ErrUnexpectedEOF}, &Error{StatusCode: 200, Code: "InternalError"},
	}
	no := []error{
		&Error{StatusCode: 404}, &Error{StatusCode: 403, Code: "AccessDenied"}, &Error{StatusCode: 409},
		&Error{StatusCode: 501}, &Error{Err: context.Canceled}, &Error{Err: errNotRetryable},
		errors.New("plain"), nil,
	}
	for _, e := range yes {
		assert.True(t, retryable(e), "%v", e)
	}
	for _, e := range no {
		assert.False(t, retryable(e), "%v", e)
	}
}

func TestBackoffBounds(t *testing.T) {
	c := &Client{cfg: Config{RetryBaseDelay: 100 * time.Millisecond}, rng: newLockedRand()}
	for n := 1; n < 20; n++ {
		for i := 0; i < 50; i++ {
			d := c.backoff(n, 0, false)
			assert.GreaterOrEqual(t, d, time.Duration(0))
			assert.Less(t, d, min(MaxRetryDelay, 100*time.Millisecond<<(n-1)))
		}
	}
	assert.Equal(t, 3*time.Second, c.backoff(1, 3*time.Second, false), "Retry-After wins when longer")
	assert.Equal(t, MaxRetryDelay, c.backoff(1, time.Hour, false), "but is capped")
}

func TestParseTime(t *testing.T) {
	want := time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, s := range []string{"2018-01-01T00:00:00.000Z", "2018-01-01T00:00:00Z", "Mon, 01 Jan 2018 00:00:00 GMT"} {
		assert.True(t, want.Equal(parseTime(s)), s)
	}
	assert.True(t, parseTime("garbage").IsZero())
}

// FuzzReplyParsers feeds arbitrary bytes to every reply decoder: errors are
// fine, panics are not. `go test -fuzz FuzzReplyParsers` explores further.
func FuzzReplyParsers(f *testing.F) {
	for _, s := range []string{"", "<Error><Code>x</Code></Error>", "<ListBucketResult><Contents><Key>a%zz</Key></Contents><IsTruncated>true</IsTruncated></ListBucketResult>",
		"<ListVersionsResult><Version><Key>k</Key></Version><DeleteMarker/><CommonPrefixes><Prefix>p</Prefix></CommonPrefixes></ListVersionsResult>",
		"<AccessControlPolicy><AccessControlList><Grant><Grantee/></Grant></AccessControlList></AccessControlPolicy>", "<a><b></a>"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		_ = rootName(body)
		_, _ = findText(body, "Location", "LocationConstraint")
		var lb xmlListBucketResult
		if decodeXML(body, &lb) == nil {
			_ = listResult(&lb)
		}
		for _, v := range []any{&xmlError{}, &xmlListVersionsResult{}, &xmlCopyResult{}, &xmlInitiateResult{},
			&xmlCompleteResult{}, &xmlListPartsResult{}, &xmlListUploadsResult{}, &xmlDeleteResult{}, &xmlStorageInfo{},
			&xmlQuota{}, &xmlACL{}} {
			_ = decodeXML(body, v)
		}
		_ = decodeHeaderValue(string(body))
	})
}
