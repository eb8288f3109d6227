package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestProxyPasswordNeverLogged(t *testing.T) {
	c := parseOK(t, withURL("-o", "proxy=http://user:hunter2@proxy:3128", "-f")...)
	var stderr bytes.Buffer
	log, closeLog, _, err := newLogger(c, false, &stderr)
	require.NoError(t, err)
	log.Info("mounted", configFields(c, "environment OBS_ACCESS_KEY_ID")...)
	closeLog()
	assert.Contains(t, stderr.String(), "proxy")
	assert.Contains(t, stderr.String(), "user:xxxxx@proxy:3128")
	assert.NotContains(t, stderr.String(), "hunter2")
	assert.Equal(t, "(unparsable URL)", redactURL("http://[::1"))
}

func TestLogLevelAndFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "obsfs.log")
	c := parseOK(t, withURL("-o", "dbglevel=warn,logfile="+path)...)
	log, closeLog, _, err := newLogger(c, true, nil)
	require.NoError(t, err)
	log.Info("not shown")
	log.Warn("shown")
	closeLog()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.NotContains(t, string(data), "not shown")
	assert.Contains(t, string(data), "WARN\tshown")

	c = parseOK(t, withURL("-o", "logfile=/nonexistent/dir/obsfs.log")...)
	_, _, _, err = newLogger(c, true, nil)
	assert.EqualError(t, err, "cannot open logfile /nonexistent/dir/obsfs.log: no such file or directory")
}
