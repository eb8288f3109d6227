package main

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obsfs/obsfs/obsclient/signer"
)

// writeFile writes content with mode perm into dir and returns its path.
func writeFile(t *testing.T, dir, name, content string, perm os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(content), perm))
	require.NoError(t, os.Chmod(p, perm)) // umask-proof
	return p
}

func TestParsePasswdFormats(t *testing.T) {
	cases := []struct {
		name, data, bucket string
		want               signer.Credentials
	}{
		{"ak:sk", "AKID:SECRET\n", "b1", signer.Credentials{AccessKey: "AKID", SecretKey: "SECRET"}},
		{"ak:sk:token", "AKID:SECRET:TOKEN\n", "b1", signer.Credentials{AccessKey: "AKID", SecretKey: "SECRET", SecurityToken: "TOKEN"}},
		{"bucket line", "b1:AKB:SKB\n", "b1", signer.Credentials{AccessKey: "AKB", SecretKey: "SKB"}},
		{"bucket line with token", "b1:AKB:SKB:TOK\n", "b1", signer.Credentials{AccessKey: "AKB", SecretKey: "SKB", SecurityToken: "TOK"}},
		{"bucket line wins after default", "AKD:SKD\nb1:AKB:SKB\n", "b1", signer.Credentials{AccessKey: "AKB", SecretKey: "SKB"}},
		{"bucket line wins before default", "b1:AKB:SKB\nAKD:SKD\n", "b1", signer.Credentials{AccessKey: "AKB", SecretKey: "SKB"}},
		{"other bucket ignored", "other-bucket:AKO:SKO\nAKD:SKD\n", "b1", signer.Credentials{AccessKey: "AKD", SecretKey: "SKD"}},
		{"other bucket with token ignored", "other:AKO:SKO:T\nAKD:SKD\n", "b1", signer.Credentials{AccessKey: "AKD", SecretKey: "SKD"}},
		{"comments, blanks, CRLF, spaces", "# my keys\n\n   \r\n  AKD:SKD  \r\n# b1:X:Y\n", "b1", signer.Credentials{AccessKey: "AKD", SecretKey: "SKD"}},
		{"no trailing newline", "AKD:SKD", "b1", signer.Credentials{AccessKey: "AKD", SecretKey: "SKD"}},
		{"sk with base64 chars", "AKD:ab/c+d=\n", "b1", signer.Credentials{AccessKey: "AKD", SecretKey: "ab/c+d="}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parsePasswd(tc.data, tc.bucket)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestParsePasswdErrors(t *testing.T) {
	for data, want := range map[string]string{
		"":                    `no line for bucket "b1" and no default AK:SK line`,
		"# only a comment\n":  `no line for bucket "b1"`,
		"other:AK:SK\n":       `no line for bucket "b1"`,
		"JUSTONEFIELD\n":      "line 1: want AK:SK",
		"AK:SK\nA:B:C:D:E\n":  "line 2: want AK:SK",
		"AK:\n":               "line 1: want AK:SK",
		"AK1:SK1\nAK2:SK2\n":  "lines 1 and 2: two default AK:SK lines",
		"b1:A:B\n#\nb1:C:D\n": `lines 1 and 3: two lines for bucket "b1"`,
	} {
		_, err := parsePasswd(data, "b1")
		require.Error(t, err, data)
		assert.Contains(t, err.Error(), want, data)
		assert.NotContains(t, err.Error(), "SK1", "secrets must not be echoed")
	}
}

func TestPasswdFileModeRefused(t *testing.T) {
	dir := t.TempDir()
	for perm, word := range map[os.FileMode]string{0o644: "readable", 0o640: "readable", 0o604: "readable", 0o620: "accessible", 0o601: "accessible"} {
		p := writeFile(t, dir, "pw", "AK:SK\n", perm)
		_, err := readPasswdFile(p, "b1")
		require.Error(t, err, perm)
		assert.Equal(t, exitCredentials, exitCode(err))
		assert.Equal(t, fmt.Sprintf("passwd file %s is %s by group/other (mode %04o; chmod 600)", p, word, perm), err.Error())
	}
	p := writeFile(t, dir, "pw", "AK:SK\n", 0o600)
	creds, err := readPasswdFile(p, "b1")
	require.NoError(t, err)
	assert.Equal(t, "AK", creds.AccessKey)
	p = writeFile(t, dir, "pw", "AK:SK\n", 0o400)
	_, err = readPasswdFile(p, "b1")
	require.NoError(t, err)
}

func TestPasswdFileMissingOrNotAFile(t *testing.T) {
	dir := t.TempDir()
	_, err := readPasswdFile(filepath.Join(dir, "nope"), "b1")
	require.Error(t, err)
	assert.Equal(t, exitCredentials, exitCode(err))
	assert.Equal(t, "cannot read passwd file "+filepath.Join(dir, "nope")+": no such file or directory", err.Error())

	sub := filepath.Join(dir, "sub")
	require.NoError(t, os.Mkdir(sub, 0o700))
	_, err = readPasswdFile(sub, "b1")
	assert.Contains(t, err.Error(), "is not a regular file")

	bad := writeFile(t, dir, "bad", "AK:SK\nnonsense\n", 0o600)
	_, err = readPasswdFile(bad, "b1")
	assert.Equal(t, "passwd file "+bad+": line 2: want AK:SK, AK:SK:TOKEN or BUCKET:AK:SK", err.Error())
}

func TestLoadCredentialsOrder(t *testing.T) {
	home := t.TempDir()
	etc := t.TempDir()
	old := systemPasswdFile
	systemPasswdFile = filepath.Join(etc, "passwd-obsfs")
	t.Cleanup(func() { systemPasswdFile = old })

	explicit := writeFile(t, t.TempDir(), "pw", "AKFILE:SKFILE\n", 0o600)
	env := map[string]string{"HOME": home}
	load := func(c *Config) (signer.Credentials, string, error) {
		return loadCredentials(c, envOf(env))
	}

	// Nothing anywhere.
	_, _, err := load(&Config{Bucket: "b1"})
	require.Error(t, err)
	assert.Equal(t, exitCredentials, exitCode(err))
	assert.Contains(t, err.Error(), "no credentials")

	// /etc/passwd-obsfs, then ~/.passwd-obsfs wins over it.
	writeFile(t, etc, "passwd-obsfs", "AKETC:SKETC\n", 0o600)
	creds, src, err := load(&Config{Bucket: "b1"})
	require.NoError(t, err)
	assert.Equal(t, "AKETC", creds.AccessKey)
	assert.Equal(t, "passwd file "+systemPasswdFile, src)
	writeFile(t, home, ".passwd-obsfs", "AKHOME:SKHOME\n", 0o600)
	creds, _, err = load(&Config{Bucket: "b1"})
	require.NoError(t, err)
	assert.Equal(t, "AKHOME", creds.AccessKey)

	// AWS_* environment wins over the default files, OBS_* over AWS_*.
	env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env["AWS_SESSION_TOKEN"] = "AKAWS", "SKAWS", "TOKAWS"
	creds, src, err = load(&Config{Bucket: "b1"})
	require.NoError(t, err)
	assert.Equal(t, signer.Credentials{AccessKey: "AKAWS", SecretKey: "SKAWS", SecurityToken: "TOKAWS"}, creds)
	assert.Equal(t, "environment AWS_ACCESS_KEY_ID", src)
	env["OBS_ACCESS_KEY_ID"], env["OBS_SECRET_ACCESS_KEY"], env["OBS_SECURITY_TOKEN"] = "AKOBS", "SKOBS", "TOKOBS"
	creds, _, err = load(&Config{Bucket: "b1"})
	require.NoError(t, err)
	assert.Equal(t, signer.Credentials{AccessKey: "AKOBS", SecretKey: "SKOBS", SecurityToken: "TOKOBS"}, creds)

	// passwd_file wins over everything.
	creds, src, err = load(&Config{Bucket: "b1", PasswdFile: explicit})
	require.NoError(t, err)
	assert.Equal(t, "AKFILE", creds.AccessKey)
	assert.Equal(t, "passwd file "+explicit, src)

	// A too-open default file is refused, not skipped.
	env = map[string]string{"HOME": home}
	writeFile(t, home, ".passwd-obsfs", "AKHOME:SKHOME\n", 0o644)
	_, _, err = load(&Config{Bucket: "b1"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is readable by group/other (mode 0644; chmod 600)")
}

func TestCredentialsFromEnvHalfSet(t *testing.T) {
	_, _, err := credentialsFromEnv(envOf(map[string]string{"OBS_ACCESS_KEY_ID": "AK"}))
	assert.EqualError(t, err, "OBS_ACCESS_KEY_ID is set but OBS_SECRET_ACCESS_KEY is not")
	_, _, err = credentialsFromEnv(envOf(map[string]string{"AWS_SECRET_ACCESS_KEY": "SK"}))
	assert.EqualError(t, err, "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not")
	_, src, err := credentialsFromEnv(noEnv)
	assert.NoError(t, err)
	assert.Empty(t, src)
}

func TestLoadSSE(t *testing.T) {
	sse, err := loadSSE("")
	require.NoError(t, err)
	assert.Nil(t, sse)
	sse, err = loadSSE("kms")
	require.NoError(t, err)
	assert.True(t, sse.KMS)
	assert.Empty(t, sse.KMSKeyID)
	sse, err = loadSSE("kms:key-1")
	require.NoError(t, err)
	assert.Equal(t, "key-1", sse.KMSKeyID)

	dir := t.TempDir()
	key := []byte(strings.Repeat("k", 32))
	raw := writeFile(t, dir, "raw", string(key), 0o600)
	sse, err = loadSSE("c:" + raw)
	require.NoError(t, err)
	assert.Equal(t, key, sse.CustomerKey)
	b64 := writeFile(t, dir, "b64", base64.StdEncoding.EncodeToString(key)+"\n", 0o600)
	sse, err = loadSSE("c:" + b64)
	require.NoError(t, err)
	assert.Equal(t, key, sse.CustomerKey)

	short := writeFile(t, dir, "short", "tooshort", 0o600)
	_, err = loadSSE("c:" + short)
	assert.EqualError(t, err, "SSE-C key file "+short+": want a 32-byte key, raw or base64")
	open := writeFile(t, dir, "open", string(key), 0o644)
	_, err = loadSSE("c:" + open)
	assert.EqualError(t, err, "SSE-C key file "+open+" is readable by group/other (mode 0644; chmod 600)")
	assert.Equal(t, exitCredentials, exitCode(err))
}
