package obsclient_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obsfs/obsfs/obsclient"
)

// TestCreateDeleteBucket: a bucket is created, exists, cannot be created
// twice, cannot be deleted while it holds an object, then is deleted.
func TestCreateDeleteBucket(t *testing.T) {
	srv := newEmulator(t)
	for _, d := range dialects {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			c := newClient(t, srv, clientOpts{dialect: d})
			b, err := c.Bucket("made-by-" + string(d))
			require.NoError(t, err)
			ok, err := b.Exists(ctx)
			require.NoError(t, err)
			require.False(t, ok)
			require.NoError(t, b.CreateBucket(ctx, ""))
			ok, err = b.Exists(ctx)
			require.NoError(t, err)
			assert.True(t, ok)
			err = b.CreateBucket(ctx, "")
			assert.True(t, obsclient.IsConflict(err), "second create: %v", err)
			_, err = b.PutObject(ctx, "k", strings.NewReader("v"), 1, obsclient.WriteOptions{})
			require.NoError(t, err)
			err = b.DeleteBucket(ctx)
			assert.True(t, obsclient.IsCode(err, "BucketNotEmpty"), "delete of a bucket with an object: %v", err)
			_, err = b.DeleteObject(ctx, "k", "")
			require.NoError(t, err)
			require.NoError(t, b.DeleteBucket(ctx))
			ok, err = b.Exists(ctx)
			require.NoError(t, err)
			assert.False(t, ok)
		})
	}
}
