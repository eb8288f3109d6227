package main

// Credentials, looked up as s3fs does:
//
//  1. the file named by -o passwd_file;
//  2. the environment: OBS_ACCESS_KEY_ID, OBS_SECRET_ACCESS_KEY and
//     OBS_SECURITY_TOKEN, else AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
//     AWS_SESSION_TOKEN;
//  3. ~/.passwd-obsfs, then /etc/passwd-obsfs, whichever exists first.
//
// A passwd file holds lines "AK:SK", "AK:SK:TOKEN", "BUCKET:AK:SK" or
// "BUCKET:AK:SK:TOKEN"; '#' comments and blank lines are ignored, and a line
// for the mounted bucket wins over a default line. A three-field line is a
// bucket line when its first field is the mounted bucket or looks like a
// bucket name (lower case; access keys are upper case), else AK:SK:TOKEN.
// Secret files must not be accessible by group or other (chmod 600).
// Nothing here ever puts a secret in an error message.

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strings"

	"github.com/obsfs/obsfs/obsclient"
	"github.com/obsfs/obsfs/obsclient/signer"
)

// systemPasswdFile is the last place credentials are looked for.
var systemPasswdFile = "/etc/passwd-obsfs"

// envKeys are the environment variable triples, in order of preference.
var envKeys = [][3]string{
	{"OBS_ACCESS_KEY_ID", "OBS_SECRET_ACCESS_KEY", "OBS_SECURITY_TOKEN"},
	{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"},
}

// loadCredentials finds the credentials for c.Bucket. source names where
// they came from, for the log.
func loadCredentials(c *Config, getenv func(string) string) (creds signer.Credentials, source string, err error) {
	if c.PasswdFile != "" {
		creds, err = readPasswdFile(c.PasswdFile, c.Bucket)
		return creds, "passwd file " + c.PasswdFile, err
	}
	if creds, source, err = credentialsFromEnv(getenv); err != nil || source != "" {
		return creds, source, err
	}
	for _, path := range defaultPasswdFiles(getenv) {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		creds, err = readPasswdFile(path, c.Bucket)
		return creds, "passwd file " + path, err
	}
	return creds, "", credError("no credentials: set -o passwd_file=FILE, OBS_ACCESS_KEY_ID and OBS_SECRET_ACCESS_KEY, or create ~/.passwd-obsfs (AK:SK, mode 600)")
}

// defaultPasswdFiles are ~/.passwd-obsfs and /etc/passwd-obsfs. mount(8)
// runs helpers without HOME, so the home directory falls back to the
// user database.
func defaultPasswdFiles(getenv func(string) string) []string {
	var files []string
	home := getenv("HOME")
	if u, err := user.Current(); home == "" && err == nil {
		home = u.HomeDir
	}
	if home != "" {
		files = append(files, filepath.Join(home, ".passwd-obsfs"))
	}
	return append(files, systemPasswdFile)
}

// credentialsFromEnv returns the first complete set of environment
// variables; source is "" when none is set.
func credentialsFromEnv(getenv func(string) string) (signer.Credentials, string, error) {
	for _, k := range envKeys {
		ak, sk := getenv(k[0]), getenv(k[1])
		switch {
		case ak != "" && sk != "":
			return signer.Credentials{AccessKey: ak, SecretKey: sk, SecurityToken: getenv(k[2])}, "environment " + k[0], nil
		case ak != "":
			return signer.Credentials{}, "", credError("%s is set but %s is not", k[0], k[1])
		case sk != "":
			return signer.Credentials{}, "", credError("%s is set but %s is not", k[1], k[0])
		}
	}
	return signer.Credentials{}, "", nil
}

// readPasswdFile reads and checks a passwd file and picks the line for bucket.
func readPasswdFile(path, bucket string) (signer.Credentials, error) {
	data, err := readPrivateFile(path, "passwd file")
	if err != nil {
		return signer.Credentials{}, err
	}
	creds, err := parsePasswd(string(data), bucket)
	if err != nil {
		return creds, credError("passwd file %s: %v", path, err)
	}
	return creds, nil
}

// parsePasswd picks bucket's line, else the default line, from a passwd
// file's content.
func parsePasswd(data, bucket string) (signer.Credentials, error) {
	var def, own *signer.Credentials
	var defLine, ownLine int
	for n, line := range strings.Split(data, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		lineBucket, creds, ok := parsePasswdLine(line, bucket)
		if !ok {
			return signer.Credentials{}, fmt.Errorf("line %d: want AK:SK, AK:SK:TOKEN or BUCKET:AK:SK", n+1)
		}
		switch {
		case lineBucket == "" && def != nil:
			return signer.Credentials{}, fmt.Errorf("lines %d and %d: two default AK:SK lines", defLine, n+1)
		case lineBucket == "":
			def, defLine = &creds, n+1
		case lineBucket == bucket && own != nil:
			return signer.Credentials{}, fmt.Errorf("lines %d and %d: two lines for bucket %q", ownLine, n+1, bucket)
		case lineBucket == bucket:
			own, ownLine = &creds, n+1
		}
	}
	if own != nil {
		return *own, nil
	}
	if def != nil {
		return *def, nil
	}
	return signer.Credentials{}, fmt.Errorf("no line for bucket %q and no default AK:SK line", bucket)
}

// parsePasswdLine splits one line; lineBucket is "" for a default line.
func parsePasswdLine(line, bucket string) (lineBucket string, creds signer.Credentials, ok bool) {
	f := strings.Split(line, ":")
	switch {
	case len(f) == 3 && (f[0] == bucket || looksLikeBucket(f[0])):
		lineBucket, f = f[0], f[1:]
	case len(f) == 4:
		lineBucket, f = f[0], f[1:]
	case len(f) != 2 && len(f) != 3:
		return "", creds, false
	}
	creds = signer.Credentials{AccessKey: f[0], SecretKey: f[1]}
	if len(f) == 3 {
		creds.SecurityToken = f[2]
	}
	for _, v := range f {
		if v == "" {
			return "", creds, false
		}
	}
	return lineBucket, creds, true
}

// looksLikeBucket: 3–63 lower-case letters, digits, '-' and '.'.
func looksLikeBucket(s string) bool {
	if len(s) < 3 || len(s) > 63 {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' && r != '.' {
			return false
		}
	}
	return true
}

// readPrivateFile reads a secret file after checking that only its owner
// can access it.
func readPrivateFile(path, what string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, credError("cannot read %s %s: %v", what, path, unwrapPath(err))
	}
	if !st.Mode().IsRegular() {
		return nil, credError("%s %s is not a regular file", what, path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		verb := "readable"
		if perm&0o044 == 0 {
			verb = "accessible"
		}
		return nil, credError("%s %s is %s by group/other (mode %04o; chmod 600)", what, path, verb, perm)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, credError("cannot read %s %s: %v", what, path, unwrapPath(err))
	}
	return data, nil
}

// loadSSE turns the sse= option into the encryption of new objects.
func loadSSE(spec string) (*obsclient.SSE, error) {
	kind, arg, _ := strings.Cut(spec, ":")
	switch kind {
	case "":
		return nil, nil
	case "kms":
		return &obsclient.SSE{KMS: true, KMSKeyID: arg}, nil
	}
	data, err := readPrivateFile(arg, "SSE-C key file")
	if err != nil {
		return nil, err
	}
	if len(data) == 32 {
		return &obsclient.SSE{CustomerKey: data}, nil
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(key) != 32 {
		return nil, credError("SSE-C key file %s: want a 32-byte key, raw or base64", arg)
	}
	return &obsclient.SSE{CustomerKey: key}, nil
}

// unwrapPath drops the *PathError wrapper whose message repeats the path.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// credError is a credentials error (exit code exitCredentials).
func credError(format string, a ...any) error {
	return failf(exitCredentials, format, a...)
}
