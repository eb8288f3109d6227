package main

// The options table. Every -o option obsfs understands is one entry below,
// holding its name, kind, default, help and a setter into Config. The parser
// (parse.go), --help and the README option reference (help.go) are all
// generated from this one table, so they cannot disagree. Defaults are
// written in -o syntax and go through the same setter as user input: what
// --help shows is exactly what is parsed.

import (
	"fmt"
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/obsfs/obsfs/fs"
	"github.com/obsfs/obsfs/obsclient/signer"
)

// Config is everything the command line says. Fields are set by the
// options table; Bucket, Prefix, Mountpoint, Foreground and Debug come from
// the positional arguments and flags.
type Config struct {
	Bucket     string // from BUCKET[:/PREFIX]
	Prefix     string // "" or "some/prefix/" (no leading slash, one trailing slash)
	Mountpoint string // absolute
	Foreground bool   // -f or -d
	Debug      bool   // -d: debug logs and FUSE request trace

	Endpoint  string
	Region    string
	Signature signer.Dialect
	PathStyle bool

	PasswdFile string
	SSE        string // raw sse= value; parsed into an obsclient.SSE by loadSSE

	UID, GID        int
	Umask           uint32
	MountpointUmask uint32
	AllowOther      bool
	ReadOnly        bool
	NonEmpty        bool
	DefaultACL      string
	StorageClass    string

	StatCacheTTL        time.Duration
	MaxStatCacheEntries int
	TrustListing        bool
	MultipartSize       int64
	ParallelCount       int
	CacheSize           int64
	CacheDir            string
	DiskCacheSize       int64 // 0 = disk block cache off

	ConnectTimeout   time.Duration
	ReadWriteTimeout time.Duration
	Retries          int
	RetryBudget      time.Duration // retry_budget (commit path); 0 = none
	SSLVerify        bool
	CAFile           string
	Proxy            string // may hold credentials: never log it (see redactURL)

	LogFile        string
	LogLevel       zapcore.Level
	ControlDir     string
	PresignExpires time.Duration
	AdminUIDs      []uint32 // admin_uids: may administer the bucket besides root and the mount's owner

	// Mount flags and s3fs compatibility (issue 11).
	MountFlags         []string // generic mount flags in the order given (noexec, sync, …)
	MaxBackground      int      // 0 = fs's default
	SpoolDir           string   // tmpdir=: spool files ("" = use_cache, else $TMPDIR)
	DelCache           bool     // del_cache: empty use_cache/blocks at start and exit
	EnsureDiskFree     int64    // ensure_diskfree: bytes the disk cache leaves free (0 = its default)
	SkipHostnameVerify bool     // ssl_verify_hostname=0

	set   map[string]bool // options given explicitly by the user
	noops []string        // s3fs options accepted as no-ops, logged at mount time
}

// IsSet reports whether the user gave option name (not just its default).
func (c *Config) IsSet(name string) bool { return c.set[name] }

// kind is how an option's value is written.
type kind string

const (
	kindBool     kind = "bool"
	kindInt      kind = "int"
	kindSize     kind = "size"
	kindDuration kind = "duration"
	kindString   kind = "string"
	kindEnum     kind = "enum"
	kindOctal    kind = "octal"
	kindFlag     kind = "flag" // bare only; the setter gets the name used (name or an alt)
)

// option is one entry of the table.
type option struct {
	name   string
	kind   kind
	def    string   // default in -o syntax, applied before user options; "" = none
	defDoc string   // shown instead of def when the default depends on the machine
	values []string // kindEnum: accepted values
	arg    string   // placeholder in --help (URL, FILE, …); "" derives it from kind
	help   string
	set    func(c *Config, v string) error // v is "" for a bare boolean
	alts   []string                        // other names of the same entry (kindFlag: exec for noexec)
	// bareOK lets a non-boolean option be given without a value (v = "").
	bareOK bool
	// noop, when set, says why obsfs already behaves as the option asks;
	// the option is accepted and this is logged at mount time.
	noop string
}

// options is the table. Keep it in the order the README presents it.
var options = []option{
	strOpt("url", "", "URL", "OBS endpoint, e.g. `https://obs.cn-north-4.myhuaweicloud.com`; no scheme means https. Required unless `OBS_ENDPOINT` is set", func(c *Config) *string { return &c.Endpoint }, checkEndpoint),
	strOpt("region", "", "NAME", "region for V4 signing (default: `cn-north-4`)", func(c *Config) *string { return &c.Region }, nil),
	{name: "signature", kind: kindEnum, def: "obs", values: []string{"obs", "v2", "v4"},
		help: "request signing: `obs` (OBS native), `v2` or `v4` (S3-compatible)",
		set: func(c *Config, v string) error {
			d, err := signer.ParseDialect(v)
			c.Signature = d
			return err
		}},
	boolOpt("use_path_request_style", false, "put the bucket in the URL path instead of the host name (needed for IP endpoints and most emulators)", func(c *Config) *bool { return &c.PathStyle }),
	strOpt("passwd_file", "", "FILE", "credentials file (`AK:SK[:TOKEN]` or `BUCKET:AK:SK` lines, mode 0600); see Credentials", func(c *Config) *string { return &c.PasswdFile }, nil),
	strOpt("sse", "", "SPEC", "server-side encryption of new objects: `kms`, `kms:KEYID`, or `c:FILE` (SSE-C; FILE holds the 32-byte key raw or base64, mode 0600). The SSE-C key goes only to SSE-C objects; copies keep each object's encryption (`user.obs.encryption` shows it)", func(c *Config) *string { return &c.SSE }, checkSSE),

	idOpt("uid", os.Geteuid(), "owner of the mount root and of files without a `uid` in their metadata; an owner in the metadata wins, uid 0 too (s3fs's `uid=` instead forces the owner of every file)", func(c *Config) *int { return &c.UID }),
	idOpt("gid", os.Getegid(), "group of the mount root and of files without a `gid` in their metadata; a group in the metadata wins", func(c *Config) *int { return &c.GID }),
	octalOpt("umask", "022", "permission bits removed from files and directories without a `mode` in their metadata", func(c *Config) *uint32 { return &c.Umask }),
	octalOpt("mp_umask", "022", "permission bits removed from the mount point directory itself", func(c *Config) *uint32 { return &c.MountpointUmask }),
	boolOpt("allow_other", false, "let other users access the mount (non-root needs `user_allow_other` in /etc/fuse.conf)", func(c *Config) *bool { return &c.AllowOther }),
	boolOpt("ro", false, "mount read-only", func(c *Config) *bool { return &c.ReadOnly }),
	boolOpt("nonempty", false, "allow mounting over a non-empty directory", func(c *Config) *bool { return &c.NonEmpty }),
	{name: "default_acl", kind: kindEnum, arg: "ACL", values: []string{"private", "public-read", "public-read-write", "public-read-delivered", "public-read-write-delivered", "authenticated-read", "bucket-owner-read", "bucket-owner-full-control", "log-delivery-write"},
		help: "canned ACL for new objects (default: none sent, the bucket's default applies)",
		set:  func(c *Config, v string) error { c.DefaultACL = v; return nil }},
	{name: "storage_class", kind: kindString, arg: "CLASS",
		help: "storage class of new objects: `STANDARD`, `WARM`, `COLD`, `DEEP_ARCHIVE` (S3 names pass through); default: the bucket's",
		set: func(c *Config, v string) error {
			c.StorageClass = strings.ToUpper(v)
			return checkStorageClass(c.StorageClass)
		}},

	durOpt("stat_cache_expire", secondsDef(fs.DefaultStatCacheTTL), "how long cached attributes and listings are trusted (seconds or a duration like `1m`; `0` disables)", func(c *Config) *time.Duration { return &c.StatCacheTTL }),
	intOpt("max_stat_cache_size", fs.DefaultMaxStatCacheEntries, 0, 1<<30, "maximum number of cached attribute entries", func(c *Config) *int { return &c.MaxStatCacheEntries }),
	boolOpt("trust_listing", false, "take file types in directory listings from the LIST alone: objects of at most 4 KiB are listed as regular files without a HEAD each, so `find` and `ls` of small files cost no HEADs. Trade-off: a symlink (or FIFO) stored as s3fs-style `mode` metadata then shows as a regular file in d_type, so `find -type l` misses it; `stat`, `lstat` and `readlink` still report it correctly", func(c *Config) *bool { return &c.TrustListing }),
	sizeOpt("multipart_size", formatSize(fs.DefaultMultipartSize), 5<<20, 5<<30, "part size of multipart uploads (bare number: MiB; grows for very large files)", func(c *Config) *int64 { return &c.MultipartSize }),
	intOpt("parallel_count", fs.DefaultParallelCount, 1, 100, "parallel requests per file for uploads and ranged reads", func(c *Config) *int { return &c.ParallelCount }),
	sizeOpt("cache_size", "128M", 1<<20, 1<<40, "memory for the read block cache; the process keeps to about this plus 128 MiB (Go soft memory limit, unless `GOMEMLIMIT` is set) (bare number: MiB)", func(c *Config) *int64 { return &c.CacheSize }),
	strOpt("use_cache", "", "DIR", "directory for write spool files and their crash journal (`DIR/journal`; default: `$TMPDIR/obsfs-UID/HASH` per bucket, prefix and mount point) and, when given, the disk block cache in `DIR/blocks`; locked by one mount at a time. The next mount with the same directory commits what a crashed one left: keep it on a persistent disk (a tmpfs loses it at reboot)", func(c *Config) *string { return &c.CacheDir }, nil),
	sizeOpt("disk_cache_size", formatSize(fs.DefaultDiskCacheSize), 0, 1<<50, "bound of the disk block cache under `use_cache` (LRU; blocks are kept across remounts while the object's ETag is unchanged; it also leaves the smaller of 1 GiB and 5% of the filesystem free; `0` disables; bare number: MiB)", func(c *Config) *int64 { return &c.DiskCacheSize }),

	durOpt("connect_timeout", "10s", "timeout to connect (TCP + TLS) to the endpoint", func(c *Config) *time.Duration { return &c.ConnectTimeout }),
	durOpt("readwrite_timeout", "60s", "timeout for a request's response to start", func(c *Config) *time.Duration { return &c.ReadWriteTimeout }),
	intOpt("retries", 3, 0, 100, "retries of a failed request (5xx, throttling, network errors)", func(c *Config) *int { return &c.Retries }),
	durOpt("retry_budget", "2m", "how long close, fsync, rename and unmount keep retrying transient failures (5xx, SlowDown, resets, timeouts, DNS, a server that is down) with capped, jittered backoff before they report EIO; the default rides out a 30 s outage (a load-balancer failover or front-end restart, typically 10–60 s) with room for the request that was in flight. A file whose commit still fails keeps its data and is retried in the background until it lands (`.obsfs/stats` lists it). `0`: only `retries` apply", func(c *Config) *time.Duration { return &c.RetryBudget }),
	boolOpt("ssl_verify", true, "verify the endpoint's TLS certificate (`ssl_verify=false` to disable)", func(c *Config) *bool { return &c.SSLVerify }),
	strOpt("cafile", "", "FILE", "extra trusted CA certificates (PEM)", func(c *Config) *string { return &c.CAFile }, nil),
	strOpt("proxy", "", "URL", "HTTP(S) proxy, `http://[user:pass@]host:port` (default: `HTTPS_PROXY`/`HTTP_PROXY`); never logged", func(c *Config) *string { return &c.Proxy }, checkURL),

	strOpt("logfile", "", "FILE", "log to FILE instead of syslog (background) or stderr (`-f`)", func(c *Config) *string { return &c.LogFile }, nil),
	{name: "dbglevel", kind: kindEnum, def: "info", values: []string{"debug", "info", "warn", "error"},
		help: "log level (`-d` sets `debug`)",
		set: func(c *Config, v string) error {
			return c.LogLevel.UnmarshalText([]byte(v))
		}},
	strOpt("control_dir", ".obsfs", "NAME", "name of the hidden control directory at the mount root (bucket settings, versions, uploads, stats; empty disables)", func(c *Config) *string { return &c.ControlDir }, checkControlDir),
	durOpt("presign_expires", secondsDef(fs.DefaultPresignExpires), "lifetime of the presigned URLs the `user.obs.url` xattr hands out", func(c *Config) *time.Duration { return &c.PresignExpires }),

	// Generic mount flags: real kernel flags, shown in /proc/mounts.
	flagOpt("noexec", []string{"exec"}, "mount flag: no program or script on the mount can be executed (execve fails with EACCES); `exec` clears it"),
	flagOpt("nosuid", []string{"suid"}, "mount flag: set-user-ID and set-group-ID bits are ignored; on by default, `suid` (root only) clears it"),
	flagOpt("nodev", []string{"dev"}, "mount flag: device nodes cannot be opened; on by default, `dev` (root only) clears it"),
	flagOpt("sync", []string{"async"}, "mount flag: every write(2) returns only once the file is committed to the bucket (the kernel fsyncs after each write, and each fsync uploads the file: slow for large files written in many pieces); `async` (the default) clears it"),
	flagOpt("dirsync", nil, "mount flag: directory changes are synchronous; obsfs's always are (create, mkdir, rename and unlink complete on the server before they return)"),
	flagOpt("noatime", []string{"atime", "relatime", "norelatime"}, "access-time mount flags, passed to the kernel and shown in /proc/mounts; obsfs never updates atime on read (only `touch -a`/utimes set it), so every choice behaves as `noatime`"),
	flagOpt("strictatime", []string{"nostrictatime", "nodiratime", "diratime", "lazytime", "nolazytime"}, "more access-time mount flags, passed to the kernel like `noatime`; obsfs behaves as with `noatime` under any of them"),

	// s3fs compatibility: s3fs's names for the options above, and s3fs
	// options that obsfs honours or already satisfies.
	{name: "sigv2", kind: kindBool, help: "s3fs compatibility: same as `signature=v2`",
		set: func(c *Config, v string) error { return setIf(v, func() { c.Signature = signer.V2 }) }},
	{name: "sigv4", kind: kindBool, help: "s3fs compatibility: same as `signature=v4`",
		set: func(c *Config, v string) error { return setIf(v, func() { c.Signature = signer.V4 }) }},
	strOpt("endpoint", "", "REGION", "s3fs compatibility: same as `region=` (the V4 signing region)", func(c *Config) *string { return &c.Region }, nil),
	{name: "no_check_certificate", kind: kindBool, help: "s3fs compatibility: same as `ssl_verify=false`",
		set: func(c *Config, v string) error { return setIf(v, func() { c.SSLVerify = false }) }},
	{name: "ssl_verify_hostname", kind: kindEnum, values: []string{"0", "1", "2"},
		help: "s3fs compatibility: `0` checks the certificate chain but not that it names the endpoint's host; `1` and `2` (the default) check both",
		set:  func(c *Config, v string) error { c.SkipHostnameVerify = v == "0"; return nil }},
	{name: "use_sse", kind: kindString, arg: "SPEC", bareOK: true,
		help: "s3fs compatibility: `custom:FILE`, `c:FILE` or `FILE` = `sse=c:FILE`; `kmsid[:KEYID]`, `k[:KEYID]` = `sse=kms[:KEYID]`; bare `use_sse` or `use_sse=1` (SSE-S3) is refused",
		set:  setUseSSE},
	strOpt("tmpdir", "", "DIR", "s3fs compatibility: directory for write spool files (default: `use_cache`, else `$TMPDIR`, else `/tmp`); spool files there are not journaled, so unclosed data does not survive a crash", func(c *Config) *string { return &c.SpoolDir }, nil),
	{name: "max_background", kind: kindInt, help: "the kernel's bound on background FUSE requests (readahead, async reads); default 64",
		set: func(c *Config, v string) error { return setInt(&c.MaxBackground, v, 1, 65535) }},
	{name: "nomultipart", kind: kindBool, help: "s3fs compatibility: upload files of up to 5 GiB with one PUT (same as `multipart_size=5G`); larger files still need multipart (the limit of one PUT)",
		set: func(c *Config, v string) error { return setIf(v, func() { c.MultipartSize = 5 << 30 }) }},
	boolOpt("del_cache", false, "s3fs compatibility: empty the disk block cache (`use_cache`/blocks) when the mount starts and after it ends", func(c *Config) *bool { return &c.DelCache }),
	sizeOpt("ensure_diskfree", "0", 0, 1<<50, "s3fs compatibility: space the disk block cache leaves free on its filesystem (bare number: MiB, as s3fs); `0`: the smaller of 1 GiB and 5%", func(c *Config) *int64 { return &c.EnsureDiskFree }),
	noopOpt("enable_noobj_cache", "obsfs always caches \"no such file\" for `stat_cache_expire`"),
	noopOpt("default_permissions", "obsfs always mounts with `default_permissions`: the kernel checks modes and owners"),
	noopOpt("kernel_cache", "obsfs keeps the kernel's page cache of a file while its ETag is unchanged"),
	noopOpt("big_writes", "FUSE 3 always sends writes of up to 1 MiB"),
	noopOpt("complement_stat", "objects without `mode` metadata always get `0666&^umask` (files) or `0777&^umask` (directories)"),
	noopOpt("use_xattr", "extended attributes are always on (`user.*` as object metadata)"),
	{name: "iam_role", kind: kindString, arg: "ROLE", bareOK: true,
		help: "s3fs compatibility: refused; obsfs has no instance-metadata credentials: use `passwd_file` or `OBS_ACCESS_KEY_ID`",
		set: func(c *Config, v string) error {
			return fmt.Errorf("not supported: obsfs does not fetch credentials from an instance metadata service; use passwd_file=FILE or OBS_ACCESS_KEY_ID/OBS_SECRET_ACCESS_KEY")
		}},
	{name: "admin_uids", kind: kindString, arg: "USER[:USER…]", defDoc: "none",
		help: "users (names or uids, `:`-separated) who may, besides root and the mount's owner, change bucket settings (control files, `user.obs.bucket.*`), object ACLs, storage classes and restores, and read ACLs and the policy",
		set: func(c *Config, v string) error {
			c.AdminUIDs = nil
			for _, u := range strings.FieldsFunc(v, func(r rune) bool { return r == ':' }) {
				id, err := strconv.ParseUint(u, 10, 32)
				if err != nil {
					usr, lerr := user.Lookup(u)
					if lerr != nil {
						return fmt.Errorf("admin_uids: unknown user %q", u)
					}
					id, _ = strconv.ParseUint(usr.Uid, 10, 32)
				}
				c.AdminUIDs = append(c.AdminUIDs, uint32(id))
			}
			return nil
		}},
}

// secondsDef writes a default duration in -o syntax: "1h" for whole hours,
// else seconds ("60s").
func secondsDef(d time.Duration) string {
	if d%time.Hour == 0 {
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	}
	return strconv.FormatInt(int64(d/time.Second), 10) + "s"
}

// flagOpt is a generic mount flag: bare, appended to Config.MountFlags
// under the name used.
func flagOpt(name string, alts []string, help string) option {
	return option{name: name, kind: kindFlag, alts: alts, help: help,
		set: func(c *Config, v string) error { c.MountFlags = append(c.MountFlags, v); return nil }}
}

// noopOpt is an s3fs option whose effect obsfs always has.
func noopOpt(name, why string) option {
	return option{name: name, kind: kindBool, noop: why, help: "s3fs compatibility, accepted as a no-op: " + why,
		set: func(*Config, string) error { return nil }}
}

// setIf runs apply when the boolean v is true.
func setIf(v string, apply func()) error {
	b, err := parseBool(v)
	if err == nil && b {
		apply()
	}
	return err
}

// setInt parses an integer within [lo, hi].
func setInt(field *int, v string, lo, hi int) error {
	n, err := strconv.Atoi(v)
	if err != nil {
		return fmt.Errorf("invalid integer %q", v)
	}
	if n < lo || n > hi {
		return fmt.Errorf("%d out of range [%d, %d]", n, lo, hi)
	}
	*field = n
	return nil
}

// setUseSSE maps s3fs's use_sse forms onto sse=.
func setUseSSE(c *Config, v string) error {
	kind, arg, hasArg := strings.Cut(v, ":")
	switch {
	case v == "" || v == "1":
		return fmt.Errorf("SSE-S3 is not supported: use sse=kms[:KEYID] (server-managed keys) or sse=c:FILE")
	case kind == "custom" || kind == "c":
		if arg == "" {
			return fmt.Errorf("%s needs a key file (%s:FILE; obsfs reads no key from the environment)", kind, kind)
		}
		c.SSE = "c:" + arg
	case kind == "kmsid" || kind == "k":
		c.SSE = "kms"
		if hasArg && arg != "" {
			c.SSE += ":" + arg
		}
	case strings.HasPrefix(v, "/") || strings.HasPrefix(v, "."):
		c.SSE = "c:" + v // s3fs's old form: a key file path alone
	default:
		return fmt.Errorf("invalid value %q (want custom:FILE, kmsid[:KEYID] or a key file path)", v)
	}
	return nil
}

// lookupOption finds an option by name or alternative name.
func lookupOption(name string) *option {
	for i := range options {
		if options[i].name == name || slices.Contains(options[i].alts, name) {
			return &options[i]
		}
	}
	return nil
}

// defaultConfig returns a Config holding every option's default.
func defaultConfig() *Config {
	c := &Config{set: map[string]bool{}}
	for _, o := range options {
		if o.def == "" {
			continue
		}
		if err := o.set(c, o.def); err != nil {
			panic(fmt.Sprintf("option %s: bad default %q: %v", o.name, o.def, err))
		}
	}
	return c
}

func boolOpt(name string, def bool, help string, field func(*Config) *bool) option {
	return option{name: name, kind: kindBool, def: strconv.FormatBool(def), help: help,
		set: func(c *Config, v string) error {
			b, err := parseBool(v)
			*field(c) = b
			return err
		}}
}

func intOpt(name string, def, lo, hi int, help string, field func(*Config) *int) option {
	return option{name: name, kind: kindInt, def: strconv.Itoa(def), help: help,
		set: func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil {
				return fmt.Errorf("invalid integer %q", v)
			}
			if n < lo || n > hi {
				return fmt.Errorf("%d out of range [%d, %d]", n, lo, hi)
			}
			*field(c) = n
			return nil
		}}
}

// idOpt is a uid/gid: an integer whose default is the mounting user's.
func idOpt(name string, def int, help string, field func(*Config) *int) option {
	o := intOpt(name, def, 0, 1<<31-2, help, field)
	o.defDoc = "mounting user's"
	return o
}

func sizeOpt(name, def string, lo, hi int64, help string, field func(*Config) *int64) option {
	return option{name: name, kind: kindSize, def: def, help: help,
		set: func(c *Config, v string) error {
			n, err := parseSize(v)
			if err != nil {
				return err
			}
			if n < lo || n > hi {
				return fmt.Errorf("%s out of range [%s, %s]", v, formatSize(lo), formatSize(hi))
			}
			*field(c) = n
			return nil
		}}
}

func durOpt(name, def, help string, field func(*Config) *time.Duration) option {
	return option{name: name, kind: kindDuration, def: def, help: help,
		set: func(c *Config, v string) error {
			d, err := parseDuration(v)
			*field(c) = d
			return err
		}}
}

func octalOpt(name, def, help string, field func(*Config) *uint32) option {
	return option{name: name, kind: kindOctal, def: def, help: help,
		set: func(c *Config, v string) error {
			n, err := strconv.ParseUint(v, 8, 32)
			if err != nil || n > 0o777 {
				return fmt.Errorf("invalid octal mask %q (want e.g. 022)", v)
			}
			*field(c) = uint32(n)
			return nil
		}}
}

func strOpt(name, def, arg, help string, field func(*Config) *string, check func(string) error) option {
	return option{name: name, kind: kindString, def: def, arg: arg, help: help,
		set: func(c *Config, v string) error {
			if check != nil {
				if err := check(v); err != nil {
					return err
				}
			}
			*field(c) = v
			return nil
		}}
}
