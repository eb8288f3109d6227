package main

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestManPageUpToDate keeps doc/obsfs.8 equal to what the options table
// generates, so the man page cannot drift from --help and the README.
func TestManPageUpToDate(t *testing.T) {
	got, err := os.ReadFile("../../doc/obsfs.8")
	require.NoError(t, err)
	var want bytes.Buffer
	writeMan(&want)
	assert.Equal(t, want.String(), string(got), "doc/obsfs.8 is stale: run `go run ./cmd/obsfs --help-man > doc/obsfs.8`")
	for _, o := range options {
		assert.Contains(t, string(got), roffEscape(o.name), "option %s missing from the man page", o.name)
	}
}

// TestManPageRenders formats the page with man(1) when it is installed and
// checks that no roff warnings come out and every option shows.
func TestManPageRenders(t *testing.T) {
	if _, err := exec.LookPath("man"); err != nil {
		t.Skip("man(1) is not installed")
	}
	cmd := exec.Command("man", "--warnings", "-l", "-P", "cat", "../../doc/obsfs.8")
	cmd.Env = append(os.Environ(), "MANWIDTH=100", "LC_ALL=C.UTF-8")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, stderr.String())
	assert.Empty(t, strings.TrimSpace(stderr.String()), "roff warnings")
	for _, o := range options {
		assert.Contains(t, string(out), o.name)
	}
}
