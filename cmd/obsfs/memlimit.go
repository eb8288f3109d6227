package main

import (
	"runtime/debug"

	"go.uber.org/zap"
)

// memoryHeadroom is what obsfs needs beyond the block cache: readahead
// windows in flight (the fetcher's byte cap), request buffers and the
// listing and attribute caches. Upload parts are read from the spool file,
// not held in memory.
const memoryHeadroom = 128 << 20

// memoryLimit is the Go soft memory limit for a mount: the block cache plus
// headroom, so the garbage collector keeps the resident size near what the
// options promise (peak RSS ≈ cache_size + headroom) instead of letting the
// heap double between collections. An explicit GOMEMLIMIT wins.
func memoryLimit(c *Config, getenv func(string) string) (int64, bool) {
	if getenv("GOMEMLIMIT") != "" {
		return 0, false
	}
	return c.CacheSize + memoryHeadroom, true
}

// applyMemoryLimit sets memoryLimit, if any, and logs it.
func applyMemoryLimit(c *Config, getenv func(string) string, log *zap.Logger) {
	if limit, ok := memoryLimit(c, getenv); ok {
		debug.SetMemoryLimit(limit)
		log.Debug("memory limit", zap.Int64("bytes", limit))
	}
}
