package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestMemoryLimit(t *testing.T) {
	c := &Config{CacheSize: 256 << 20}
	limit, ok := memoryLimit(c, func(string) string { return "" })
	assert.True(t, ok)
	assert.Equal(t, int64(256<<20+memoryHeadroom), limit)

	_, ok = memoryLimit(c, func(k string) string {
		if k == "GOMEMLIMIT" {
			return "1GiB"
		}
		return ""
	})
	assert.False(t, ok, "an explicit GOMEMLIMIT wins")
}
