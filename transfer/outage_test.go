package transfer

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obsfs/obsfs/obsclient"
	"github.com/obsfs/obsfs/obsclient/obstest"
)

// TestCommitRidesOutBlip: under a retry budget a commit outlasts more
// transient failures than the client's retry count, also of the requests
// sent only once (CompleteMultipartUpload: the commit is re-planned);
// without a budget the same failures fail the commit and keep the spool.
func TestCommitRidesOutBlip(t *testing.T) {
	for _, tc := range []struct {
		name  string
		size  int64
		fault obstest.Fault
	}{
		{"put 503 x10", 1000, obstest.Fault{Op: "PutObject", Kind: obstest.FaultSlowDown, Count: 10}},
		{"put reset x6", 1000, obstest.Fault{Op: "PutObject", Kind: obstest.FaultReset, Count: 6}},
		{"complete 500 x3", 3*testPart + 5, obstest.Fault{Op: "CompleteMultipartUpload", Kind: obstest.FaultStatus500, Count: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			u := NewUploader(e.b, UploaderConfig{PartSize: testPart})
			model := randBytes(7, tc.size)
			s := newSpoolWith(t, e, nil, model)
			require.NoError(t, e.srv.InjectFault(tc.fault))
			_, err := u.Commit(context.Background(), "k", s, obsclient.WriteOptions{})
			require.Error(t, err, "without a budget the retry count rules")
			assert.True(t, s.Dirty())
			e.srv.ClearFaults()

			require.NoError(t, e.srv.InjectFault(tc.fault))
			ctx := obsclient.WithRetryBudget(context.Background(), 5*time.Minute)
			_, err = u.Commit(ctx, "k", s, obsclient.WriteOptions{})
			require.NoError(t, err)
			assert.False(t, s.Dirty())
			assert.Equal(t, model, e.body(t, "k"))
			assert.Empty(t, e.srv.Uploads(testBucket))
		})
	}
}

// TestCommitUploadVanished: a multipart upload aborted under the uploader
// (NoSuchUpload), streamed or not, is re-planned within the same commit
// (tenet 40), without a retry budget.
func TestCommitUploadVanished(t *testing.T) {
	abortAll := func(t *testing.T, e *env) {
		for _, up := range e.srv.Uploads(testBucket) {
			require.NoError(t, e.b.AbortMultipartUpload(context.Background(), up.Key, up.UploadID))
		}
	}
	t.Run("streamed", func(t *testing.T) {
		e := newEnv(t)
		u := NewUploader(e.b, UploaderConfig{PartSize: testPart, Concurrency: 2})
		s := newSpoolWith(t, e, nil, nil)
		require.NoError(t, u.Stream(context.Background(), "x", s, obsclient.WriteOptions{}))
		model := randBytes(31, 5*testPart+10)
		writeSeq(t, s, model[:3*testPart], 40000)
		waitFor(t, "a streamed part", func() bool { return e.srv.Stats()["UploadPart"].Requests > 0 })
		abortAll(t, e)
		writeSeq(t, s, model[3*testPart:], 40000)
		_, err := u.Commit(context.Background(), "x", s, obsclient.WriteOptions{})
		require.NoError(t, err)
		assert.Equal(t, model, e.body(t, "x"))
		assert.Empty(t, e.srv.Uploads(testBucket))
	})
	t.Run("planned", func(t *testing.T) {
		e := newEnv(t)
		h := &hookClient{Client: e.b}
		var once atomic.Bool
		h.beforePart = func(n int) {
			if n == 2 && once.CompareAndSwap(false, true) {
				abortAll(t, e)
			}
		}
		u := NewUploader(h, UploaderConfig{PartSize: testPart, Concurrency: 1})
		model := randBytes(32, 4*testPart+3)
		s := newSpoolWith(t, e, nil, model)
		_, err := u.Commit(context.Background(), "y", s, obsclient.WriteOptions{})
		require.NoError(t, err)
		assert.Equal(t, model, e.body(t, "y"))
		assert.Empty(t, e.srv.Uploads(testBucket))
	})
}
