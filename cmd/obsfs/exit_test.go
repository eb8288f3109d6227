package main

import (
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestExitErrorKeepsChain: a startup failure carries its exit code and the
// cause's error chain, and its message is the wrapped text without a
// program-name prefix.
func TestExitErrorKeepsChain(t *testing.T) {
	cause := fmt.Errorf("bucket b: %w", syscall.EACCES)
	err := failf(exitMount, "cannot mount on %s: %w", "/mnt", cause)
	assert.Equal(t, exitMount, exitCode(err))
	assert.ErrorIs(t, err, syscall.EACCES)
	assert.Equal(t, "cannot mount on /mnt: bucket b: permission denied", err.Error())

	plain := failf(exitUsage, "option %s: bad", "x")
	assert.Equal(t, exitUsage, exitCode(plain))
	assert.Nil(t, errors.Unwrap(plain))
	assert.Equal(t, exitFailure, exitCode(errors.New("other")))
}
