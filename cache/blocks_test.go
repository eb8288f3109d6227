package cache

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBlockKeyString(t *testing.T) {
	tests := []struct {
		a, b BlockKey
	}{
		{BlockKey{"a", "e", 1, 0}, BlockKey{"a", "e", 2, 0}},
		{BlockKey{"a", "e1", 1, 0}, BlockKey{"a", "e2", 1, 0}},
		{BlockKey{"a", "e", 11, 0}, BlockKey{"a", "e1", 1, 0}},
		{BlockKey{"ab", "", 1, 0}, BlockKey{"a", "b", 1, 0}},
		{BlockKey{"a", "e", 1, 0}, BlockKey{"a", "e", 1, 65536}}, // a granule is not the block
		{BlockKey{"a", "e", 1, 4096}, BlockKey{"a", "e", 1, 65536}},
	}
	for _, tt := range tests {
		assert.NotEqual(t, tt.a.String(), tt.b.String(), "%v vs %v", tt.a, tt.b)
	}
}

func TestBlocksGetSet(t *testing.T) {
	b, err := NewBlocks(1 << 20)
	require.NoError(t, err)
	defer b.Close()

	k := BlockKey{Object: "dir/f", ETag: "e1", Index: 3}
	_, ok := b.Get(k)
	assert.False(t, ok)

	data := bytes.Repeat([]byte("x"), 1000)
	b.Set(k, data)
	b.Wait()
	got, ok := b.Get(k)
	require.True(t, ok)
	assert.Equal(t, data, got)

	// Another ETag of the same object is another entry.
	_, ok = b.Get(BlockKey{Object: "dir/f", ETag: "e2", Index: 3})
	assert.False(t, ok)

	// Empty blocks are not stored.
	b.Set(BlockKey{Object: "empty"}, nil)
	b.Wait()
	_, ok = b.Get(BlockKey{Object: "empty"})
	assert.False(t, ok)

	hits, misses, _, n := b.Metrics()
	assert.Equal(t, uint64(1), hits)
	assert.Equal(t, uint64(3), misses)
	assert.Equal(t, int64(1000), n)
}

func TestBlocksBoundedByBytes(t *testing.T) {
	const max = 64 << 10
	b, err := NewBlocks(max)
	require.NoError(t, err)
	defer b.Close()

	block := make([]byte, 4<<10)
	for i := range 200 {
		b.Set(BlockKey{Object: "big", ETag: "e", Index: int64(i)}, block)
		b.Wait()
		_, _, _, n := b.Metrics()
		require.LessOrEqual(t, n, int64(max), "after %d sets", i+1)
	}
	_, _, evictions, n := b.Metrics()
	assert.Positive(t, evictions)
	assert.Positive(t, n)
	assert.Equal(t, int64(max), b.MaxBytes())
}

func TestBlocksRejectsBadSize(t *testing.T) {
	for _, n := range []int64{0, -1} {
		_, err := NewBlocks(n)
		assert.Error(t, err, "size %d", n)
	}
}

func TestBlocksConcurrent(t *testing.T) {
	b, err := NewBlocks(8 << 20)
	require.NoError(t, err)
	defer b.Close()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				k := BlockKey{Object: fmt.Sprint("o", g), ETag: "e", Index: int64(i % 20)}
				if v, ok := b.Get(k); ok {
					assert.Equal(t, byte(g), v[0])
					continue
				}
				b.Set(k, bytes.Repeat([]byte{byte(g)}, 1024))
			}
		}()
	}
	wg.Wait()
}

func TestBlocksClosed(t *testing.T) {
	b, err := NewBlocks(1 << 20)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for g := range 4 { // Sets racing Close must neither panic nor race
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				b.Set(BlockKey{Object: "r", Index: int64(g*1000 + i)}, []byte("data"))
			}
		}()
	}
	b.Close()
	wg.Wait()
	b.Close()
	b.Wait()
	b.Set(BlockKey{Object: "x"}, []byte("y"))
	_, ok := b.Get(BlockKey{Object: "x"})
	assert.False(t, ok)
}
