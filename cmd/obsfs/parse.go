package main

// Command-line parsing: flags with pflag, -o lists through the options
// table, the BUCKET[:/PREFIX] source and the mount point. mount(8) and
// mount.fuse3 call `obsfs SOURCE MOUNTPOINT -o OPTS`, adding generic mount
// options: the mount flags among them (noexec, …) are honoured, the rest
// (_netdev, auto, …) steer mount(8) and are ignored here.

import (
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/pflag"
	"go.uber.org/zap/zapcore"
)

// action is what the command line asks for.
type action int

const (
	actMount action = iota
	actHelp
	actHelpMarkdown
	actHelpMan
	actVersion
)

const usageLine = "obsfs BUCKET[:/PREFIX] MOUNTPOINT [-o opt[,opt...]]... [-f] [-d]"

// genericOptions are mount(8) / fstab options with no meaning for obsfs
// (any "x-*" option and comment=… are ignored too): they steer mount(8)
// itself. The generic mount flags (noexec, nosuid, sync, noatime, …) are
// not among them: they are options of the table (flagOpt) and reach the
// kernel. "ro" is not generic either.
var genericOptions = []string{
	"_netdev", "rw", "auto", "noauto", "user", "nouser", "users", "owner", "group",
	"defaults", "nofail", "comment",
}

// isGenericOption reports whether the -o key belongs to mount(8), not obsfs.
func isGenericOption(key string) bool {
	return slices.Contains(genericOptions, key) || strings.HasPrefix(key, "x-")
}

// parseCommandLine reads args (without the program name). getenv supplies
// OBS_ENDPOINT. The returned Config is nil unless the action is actMount.
func parseCommandLine(args []string, getenv func(string) string) (action, *Config, error) {
	fl := pflag.NewFlagSet("obsfs", pflag.ContinueOnError)
	fl.SetOutput(io.Discard)
	fl.Usage = func() {}
	opts := fl.StringArrayP("o", "o", nil, "mount options")
	fg := fl.BoolP("foreground", "f", false, "foreground")
	dbg := fl.BoolP("debug", "d", false, "debug")
	help := fl.BoolP("help", "h", false, "help")
	version := fl.Bool("version", false, "version")
	markdown := fl.Bool("help-markdown", false, "README option table")
	_ = fl.MarkHidden("help-markdown")
	manPage := fl.Bool("help-man", false, "man page obsfs(8)")
	_ = fl.MarkHidden("help-man")
	if err := fl.Parse(args); err != nil {
		return 0, nil, usageError("%v (see obsfs --help)", err)
	}
	switch {
	case *help:
		return actHelp, nil, nil
	case *markdown:
		return actHelpMarkdown, nil, nil
	case *manPage:
		return actHelpMan, nil, nil
	case *version:
		return actVersion, nil, nil
	}
	if fl.NArg() != 2 {
		return 0, nil, usageError("usage: %s (see obsfs --help)", usageLine)
	}
	c, err := buildConfig(fl.Arg(0), fl.Arg(1), *opts, getenv)
	if err != nil {
		return 0, nil, err
	}
	c.Foreground = *fg || *dbg
	if *dbg {
		c.Debug = true
		c.LogLevel = zapcore.DebugLevel
	}
	return actMount, c, nil
}

// buildConfig applies the defaults, then every -o list in order (later
// options win), then the environment, and checks what must be present.
func buildConfig(source, mountpoint string, opts []string, getenv func(string) string) (*Config, error) {
	c := defaultConfig()
	for _, list := range opts {
		if err := applyOptions(c, list); err != nil {
			return nil, err
		}
	}
	var err error
	if c.Bucket, c.Prefix, err = parseSource(source); err != nil {
		return nil, err
	}
	if c.Endpoint == "" {
		c.Endpoint = getenv("OBS_ENDPOINT")
		if c.Endpoint == "" {
			return nil, usageError("no endpoint: set -o url=https://obs.REGION.myhuaweicloud.com or OBS_ENDPOINT")
		}
		if err := checkEndpoint(c.Endpoint); err != nil {
			return nil, usageError("OBS_ENDPOINT: %v", err)
		}
	}
	return c, absPaths(c, mountpoint)
}

// applyOptions applies one comma-separated -o list.
func applyOptions(c *Config, list string) error {
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		key, val, hasVal := strings.Cut(item, "=")
		if item == "" || isGenericOption(key) {
			continue
		}
		if err := applyOption(c, key, val, hasVal); err != nil {
			return err
		}
	}
	return nil
}

// applyOption sets one option through the table.
func applyOption(c *Config, key, val string, hasVal bool) error {
	o := lookupOption(key)
	if o == nil {
		if near := nearestOption(key); near != "" {
			return usageError("unknown option '%s'; did you mean '%s'?", key, near)
		}
		return usageError("unknown option '%s' (see obsfs --help)", key)
	}
	switch {
	case o.kind == kindFlag && hasVal:
		return usageError("option %s takes no value", key)
	case o.kind == kindFlag:
		val = key
	case !hasVal && o.kind != kindBool && !o.bareOK:
		return usageError("option %s needs a value (%s=%s)", key, key, o.argName())
	case o.kind == kindEnum && !slices.Contains(o.values, val):
		return usageError("option %s: invalid value %q (want %s)", key, val, strings.Join(o.values, ", "))
	}
	if err := o.set(c, val); err != nil {
		return usageError("option %s: %v", key, err)
	}
	if o.noop != "" && !slices.Contains(c.noops, key) {
		c.noops = append(c.noops, key)
	}
	c.set[o.name] = true
	return nil
}

// nearestOption is the known option name closest to key, if one is close
// enough to be a typo ("" otherwise).
func nearestOption(key string) string {
	best, bestD := "", max(1, len(key)/4)+1 // at most one edit per four letters
	consider := func(name string) {
		if d := editDistance(key, name); d < bestD {
			best, bestD = name, d
		}
	}
	for _, o := range options {
		consider(o.name)
		for _, a := range o.alts {
			consider(a)
		}
	}
	for _, g := range genericOptions {
		consider(g)
	}
	return best
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// parseSource splits "bucket" or "bucket:/some/prefix" into the bucket name
// and a key prefix "some/prefix/" ("" for the whole bucket).
func parseSource(s string) (bucket, prefix string, err error) {
	bucket, p, _ := strings.Cut(s, ":")
	if bucket == "" || strings.ContainsAny(bucket, "/\\ ") {
		return "", "", usageError("invalid bucket %q (want BUCKET or BUCKET:/PREFIX)", s)
	}
	p = strings.Trim(p, "/")
	if p == "" {
		return bucket, "", nil
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", "", usageError("invalid prefix %q in %q", p, s)
		}
	}
	return bucket, p + "/", nil
}

// absPaths makes the mount point and every file option absolute, so the
// daemon can chdir("/") and so logs name real paths.
func absPaths(c *Config, mountpoint string) error {
	for _, p := range []*string{&mountpoint, &c.PasswdFile, &c.LogFile, &c.CacheDir, &c.CAFile, &c.SpoolDir} {
		if *p == "" {
			continue
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			return usageError("%s: %v", *p, err)
		}
		*p = abs
	}
	c.Mountpoint = mountpoint
	if file, ok := strings.CutPrefix(c.SSE, "c:"); ok {
		abs, err := filepath.Abs(file)
		if err != nil {
			return usageError("%s: %v", file, err)
		}
		c.SSE = "c:" + abs
	}
	return nil
}

// argName is the placeholder for the option's value in messages and help.
func (o *option) argName() string {
	switch {
	case o.arg != "":
		return o.arg
	case o.kind == kindEnum:
		return strings.Join(o.values, "|")
	case o.kind == kindSize:
		return "SIZE"
	case o.kind == kindDuration:
		return "SECONDS"
	case o.kind == kindOctal:
		return "OCTAL"
	case o.kind == kindInt:
		return "N"
	}
	return "VALUE"
}

// usageError is a command-line error (exit code exitUsage).
func usageError(format string, a ...any) error {
	return failf(exitUsage, format, a...)
}
