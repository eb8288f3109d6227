package manage

import (
	"context"

	"github.com/obsfs/obsfs/obsclient"
)

// VersionPages lists the versions and common prefixes under prefix
// (delimiter "/") page by page, handing each page to page, until the
// listing ends or full reports true.
func (m *Manager) VersionPages(ctx context.Context, prefix string, full func() bool, page func(*obsclient.ListVersionsResult)) error {
	o := obsclient.ListVersionsOptions{Prefix: prefix, Delimiter: "/"}
	for more := true; more && !full(); {
		res, err := m.b.ListVersions(ctx, o)
		if err != nil {
			return err
		}
		page(res)
		more = res.IsTruncated && (res.NextKeyMarker != "" || res.NextVersionIDMarker != "")
		o.KeyMarker, o.VersionIDMarker = res.NextKeyMarker, res.NextVersionIDMarker
	}
	return nil
}

// UploadPages lists the multipart uploads under prefix page by page until
// the listing ends or full reports true.
func (m *Manager) UploadPages(ctx context.Context, prefix string, full func() bool, page func(*obsclient.ListUploadsResult)) error {
	o := obsclient.ListUploadsOptions{Prefix: prefix}
	for more := true; more && !full(); {
		res, err := m.b.ListMultipartUploads(ctx, o)
		if err != nil {
			return err
		}
		page(res)
		more = res.IsTruncated && (res.NextKeyMarker != "" || res.NextUploadIDMarker != "")
		o.KeyMarker, o.UploadIDMarker = res.NextKeyMarker, res.NextUploadIDMarker
	}
	return nil
}
