package main

// Value syntax of -o options: booleans, sizes, durations, and the checks of
// the few string options whose form can be validated before use.

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// parseBool accepts a bare flag ("") as true.
func parseBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "", "1", "true", "yes", "on":
		return true, nil
	case "0", "false", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("invalid boolean %q (want true or false)", v)
}

// sizeShifts maps a size suffix (upper case) to its binary shift. A bare
// number is MiB, as s3fs's multipart_size.
var sizeShifts = map[string]uint{"": 20, "B": 0}

func init() {
	for i, u := range []string{"K", "M", "G", "T"} {
		sh := uint(10 * (i + 1))
		sizeShifts[u], sizeShifts[u+"B"], sizeShifts[u+"IB"] = sh, sh, sh
	}
}

// parseSize reads "64M", "1G", "512KiB", "4096B" or "10" (MiB).
func parseSize(v string) (int64, error) {
	i := strings.IndexFunc(v, func(r rune) bool { return r < '0' || r > '9' })
	if i < 0 {
		i = len(v)
	}
	sh, ok := sizeShifts[strings.ToUpper(v[i:])]
	n, err := strconv.ParseInt(v[:i], 10, 64)
	if !ok || err != nil || n > (1<<62)>>sh {
		return 0, fmt.Errorf("invalid size %q", v)
	}
	return n << sh, nil
}

// formatSize writes n with the largest binary unit that divides it.
func formatSize(n int64) string {
	for _, u := range []struct {
		s  string
		sh uint
	}{{"T", 40}, {"G", 30}, {"M", 20}, {"K", 10}} {
		if n != 0 && n%(1<<u.sh) == 0 {
			return strconv.FormatInt(n>>u.sh, 10) + u.s
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}

// parseDuration reads whole seconds ("900", as s3fs) or a Go duration ("15m").
func parseDuration(v string) (time.Duration, error) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 && n < 1<<33 {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("invalid duration %q (want seconds or e.g. 30s, 5m)", v)
	}
	return d, nil
}

// checkURL accepts "host[:port]" or "scheme://host[:port][/…]" with an
// http or https scheme. The error never repeats the value: it may hold a
// proxy password.
func checkURL(v string) error {
	s := v
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("invalid URL (want [http[s]://]host[:port])")
	}
	return nil
}

// checkEndpoint is checkURL without user info: an endpoint takes no
// user:password@ (OBS authenticates by signature), and the error never
// repeats it.
func checkEndpoint(v string) error {
	if err := checkURL(v); err != nil {
		return err
	}
	s := v
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	if u, err := url.Parse(s); err == nil && u.User != nil {
		return fmt.Errorf("%s: user:password@ is not allowed in the endpoint URL (credentials go in passwd_file=FILE or OBS_ACCESS_KEY_ID)", redactURLValue(v))
	}
	return nil
}

// checkSSE accepts "kms", "kms:KEYID" and "c:FILE"; the key file is read
// later, with the credentials.
func checkSSE(v string) error {
	kind, arg, _ := strings.Cut(v, ":")
	switch {
	case kind == "kms":
		return nil
	case kind == "c" && arg != "":
		return nil
	}
	return fmt.Errorf("invalid value %q (want kms, kms:KEYID or c:FILE)", v)
}

// checkStorageClass accepts upper-case class names (STANDARD, WARM, …).
func checkStorageClass(v string) error {
	for _, r := range v {
		if (r < 'A' || r > 'Z') && r != '_' {
			return fmt.Errorf("invalid storage class %q (want e.g. STANDARD, WARM, COLD, DEEP_ARCHIVE)", v)
		}
	}
	return nil
}

// checkControlDir accepts one path segment.
func checkControlDir(v string) error {
	if v == "" || v == "." || v == ".." || strings.ContainsAny(v, "/\x00") || len(v) > 255 {
		return fmt.Errorf("invalid name %q (want one path segment, e.g. .obsfs)", v)
	}
	return nil
}
