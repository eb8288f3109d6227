package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHelpListsEveryOption(t *testing.T) {
	var out, errOut bytes.Buffer
	require.Equal(t, exitOK, run([]string{"--help"}, noEnv, &out, &errOut))
	assert.Empty(t, errOut.String())
	help := out.String()
	for _, o := range options {
		assert.Contains(t, help, "\n  "+o.synopsis()+"\n", "--help misses option %s", o.name)
	}
	for _, flag := range []string{"-o opt", "-f ", "-d ", "--help", "--version"} {
		assert.Contains(t, help, flag)
	}
	assert.NotContains(t, help, "`", "Markdown quotes leaked into --help")
	for _, line := range strings.Split(help, "\n") {
		assert.LessOrEqual(t, len([]rune(line)), 80, "long --help line: %q", line)
	}
}

func TestMarkdownListsEveryOption(t *testing.T) {
	var out bytes.Buffer
	writeMarkdown(&out)
	for _, o := range options {
		assert.Contains(t, out.String(), "| `"+mdEscape(o.synopsis())+"` |", o.name)
	}
}

// TestReadmeOptionsUpToDate keeps README.md's option reference equal to the
// table. To fix a failure:
//
//	go run ./cmd/obsfs --help-markdown   # and paste between the markers
func TestReadmeOptionsUpToDate(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	text := string(readme)
	begin := strings.Index(text, readmeBegin+"\n")
	end := strings.Index(text, readmeEnd)
	require.True(t, begin >= 0 && end > begin, "README.md lacks the markers %q … %q", readmeBegin, readmeEnd)
	got := text[begin+len(readmeBegin)+1 : end]
	var want bytes.Buffer
	writeMarkdown(&want)
	assert.Equal(t, want.String(), got, "README.md option table is stale: run `go run ./cmd/obsfs --help-markdown` and paste it between the markers")
}

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	require.Equal(t, exitOK, run([]string{"--version"}, noEnv, &out, &out))
	assert.True(t, strings.HasPrefix(out.String(), "obsfs "+version+" ("), out.String())
}
