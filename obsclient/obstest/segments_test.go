package obstest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/obsfs/obsfs/obsclient/signer"
)

// TestMultipartRangesAcrossParts reads ranges of a multipart object that
// span part boundaries (bodies of several segments, sent one segment at a
// time), from the memory and the disk store.
func TestMultipartRangesAcrossParts(t *testing.T) {
	for _, root := range []string{"", t.TempDir()} {
		t.Run(fmt.Sprintf("root=%v", root != ""), func(t *testing.T) {
			e := newRaw(t, signer.OBS, Options{Root: root})
			st, _, body := e.call(http.MethodPost, testBucket, "mp", "uploads", "", nil)
			require.Equal(t, 200, st, body)
			id := between(body, "<UploadId>", "</UploadId>")
			var whole strings.Builder
			doc := "<CompleteMultipartUpload>"
			for n := 1; n <= 3; n++ {
				part := strings.Repeat(string(rune('a'+n)), minPartSize-n) + fmt.Sprintf("|%d|", n)
				whole.WriteString(part)
				st, h, body := e.call(http.MethodPut, testBucket, "mp", fmt.Sprintf("partNumber=%d&uploadId=%s", n, id), part, nil)
				require.Equal(t, 200, st, body)
				doc += fmt.Sprintf("<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>", n, h.Get("ETag"))
			}
			st, _, body = e.call(http.MethodPost, testBucket, "mp", "uploadId="+id, doc+"</CompleteMultipartUpload>", nil)
			require.Equal(t, 200, st, body)
			data := whole.String()
			for _, r := range [][2]int{{0, len(data) - 1}, {minPartSize - 10, minPartSize + 10}, {5, 2*minPartSize + 7}, {minPartSize, 2*minPartSize - 1}} {
				st, _, got := e.call(http.MethodGet, testBucket, "mp", "", "", func(q *http.Request) {
					q.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", r[0], r[1]))
				})
				require.Equal(t, 206, st)
				require.True(t, got == data[r[0]:r[1]+1], "range %v", r)
			}
			got, err := e.srv.ObjectBody(testBucket, "mp")
			require.NoError(t, err)
			require.True(t, string(got) == data, "ObjectBody")
		})
	}
}
