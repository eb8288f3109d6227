package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/obsfs/obsfs/fs"
	"github.com/obsfs/obsfs/obsclient/signer"
)

// noEnv is an empty environment.
func noEnv(string) string { return "" }

// envOf serves a fixed environment.
func envOf(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

// parseOK parses a mount command line that must succeed.
func parseOK(t *testing.T, args ...string) *Config {
	t.Helper()
	act, c, err := parseCommandLine(args, noEnv)
	require.NoError(t, err)
	require.Equal(t, actMount, act)
	return c
}

// parseErr parses a command line that must fail, returning the message.
func parseErr(t *testing.T, args ...string) string {
	t.Helper()
	_, _, err := parseCommandLine(args, noEnv)
	require.Error(t, err)
	assert.Equal(t, exitUsage, exitCode(err))
	assert.NotContains(t, err.Error(), "\n")
	return err.Error()
}

// withURL is the minimal valid command line plus extra arguments.
func withURL(extra ...string) []string {
	return append([]string{"bkt", "/mnt", "-o", "url=http://127.0.0.1:9000"}, extra...)
}

func TestDefaults(t *testing.T) {
	c := parseOK(t, withURL()...)
	assert.Equal(t, "bkt", c.Bucket)
	assert.Equal(t, "", c.Prefix)
	assert.Equal(t, "/mnt", c.Mountpoint)
	assert.Equal(t, signer.OBS, c.Signature)
	assert.Equal(t, os.Geteuid(), c.UID)
	assert.Equal(t, os.Getegid(), c.GID)
	assert.Equal(t, uint32(0o022), c.Umask)
	assert.Equal(t, uint32(0o022), c.MountpointUmask)
	assert.Equal(t, 60*time.Second, c.StatCacheTTL)
	assert.Equal(t, int64(fs.DefaultMultipartSize), c.MultipartSize)
	assert.Equal(t, int64(128<<20), c.CacheSize)
	assert.Equal(t, 8, c.ParallelCount)
	assert.Equal(t, 3, c.Retries)
	assert.True(t, c.SSLVerify)
	assert.False(t, c.AllowOther || c.ReadOnly || c.NonEmpty || c.PathStyle || c.Foreground || c.Debug)
	assert.Equal(t, zapcore.InfoLevel, c.LogLevel)
	assert.Equal(t, ".obsfs", c.ControlDir)
	assert.False(t, c.IsSet("url") && c.IsSet("ro"))
}

// optionCases gives, for every option of the table, a value and what it
// must set. TestEveryOptionParses fails when an option has no case.
var optionCases = map[string]struct {
	opt   string
	check func(t *testing.T, c *Config)
}{
	"url":                    {"url=https://obs.example.com", func(t *testing.T, c *Config) { assert.Equal(t, "https://obs.example.com", c.Endpoint) }},
	"region":                 {"region=ap-southeast-1", func(t *testing.T, c *Config) { assert.Equal(t, "ap-southeast-1", c.Region) }},
	"signature":              {"signature=v4", func(t *testing.T, c *Config) { assert.Equal(t, signer.V4, c.Signature) }},
	"use_path_request_style": {"use_path_request_style", func(t *testing.T, c *Config) { assert.True(t, c.PathStyle) }},
	"passwd_file":            {"passwd_file=/etc/pw", func(t *testing.T, c *Config) { assert.Equal(t, "/etc/pw", c.PasswdFile) }},
	"sse":                    {"sse=kms:key-1", func(t *testing.T, c *Config) { assert.Equal(t, "kms:key-1", c.SSE) }},
	"uid":                    {"uid=1000", func(t *testing.T, c *Config) { assert.Equal(t, 1000, c.UID) }},
	"gid":                    {"gid=100", func(t *testing.T, c *Config) { assert.Equal(t, 100, c.GID) }},
	"umask":                  {"umask=0027", func(t *testing.T, c *Config) { assert.Equal(t, uint32(0o027), c.Umask) }},
	"mp_umask":               {"mp_umask=077", func(t *testing.T, c *Config) { assert.Equal(t, uint32(0o077), c.MountpointUmask) }},
	"allow_other":            {"allow_other", func(t *testing.T, c *Config) { assert.True(t, c.AllowOther) }},
	"ro":                     {"ro", func(t *testing.T, c *Config) { assert.True(t, c.ReadOnly) }},
	"nonempty":               {"nonempty", func(t *testing.T, c *Config) { assert.True(t, c.NonEmpty) }},
	"default_acl":            {"default_acl=public-read", func(t *testing.T, c *Config) { assert.Equal(t, "public-read", c.DefaultACL) }},
	"storage_class":          {"storage_class=warm", func(t *testing.T, c *Config) { assert.Equal(t, "WARM", c.StorageClass) }},
	"stat_cache_expire":      {"stat_cache_expire=900", func(t *testing.T, c *Config) { assert.Equal(t, 15*time.Minute, c.StatCacheTTL) }},
	"max_stat_cache_size":    {"max_stat_cache_size=5000", func(t *testing.T, c *Config) { assert.Equal(t, 5000, c.MaxStatCacheEntries) }},
	"trust_listing":          {"trust_listing", func(t *testing.T, c *Config) { assert.True(t, c.TrustListing) }},
	"multipart_size":         {"multipart_size=64", func(t *testing.T, c *Config) { assert.Equal(t, int64(64<<20), c.MultipartSize) }},
	"parallel_count":         {"parallel_count=16", func(t *testing.T, c *Config) { assert.Equal(t, 16, c.ParallelCount) }},
	"cache_size":             {"cache_size=1G", func(t *testing.T, c *Config) { assert.Equal(t, int64(1<<30), c.CacheSize) }},
	"use_cache":              {"use_cache=/var/cache/obsfs", func(t *testing.T, c *Config) { assert.Equal(t, "/var/cache/obsfs", c.CacheDir) }},
	"disk_cache_size":        {"disk_cache_size=20G", func(t *testing.T, c *Config) { assert.Equal(t, int64(20<<30), c.DiskCacheSize) }},
	"connect_timeout":        {"connect_timeout=3", func(t *testing.T, c *Config) { assert.Equal(t, 3*time.Second, c.ConnectTimeout) }},
	"readwrite_timeout":      {"readwrite_timeout=2m", func(t *testing.T, c *Config) { assert.Equal(t, 2*time.Minute, c.ReadWriteTimeout) }},
	"retries":                {"retries=0", func(t *testing.T, c *Config) { assert.Equal(t, 0, c.Retries) }},
	"retry_budget":           {"retry_budget=5m", func(t *testing.T, c *Config) { assert.Equal(t, 5*time.Minute, c.RetryBudget) }},
	"ssl_verify":             {"ssl_verify=false", func(t *testing.T, c *Config) { assert.False(t, c.SSLVerify) }},
	"cafile":                 {"cafile=/etc/ca.pem", func(t *testing.T, c *Config) { assert.Equal(t, "/etc/ca.pem", c.CAFile) }},
	"proxy":                  {"proxy=http://u:p@proxy:3128", func(t *testing.T, c *Config) { assert.Equal(t, "http://u:p@proxy:3128", c.Proxy) }},
	"logfile":                {"logfile=/var/log/obsfs.log", func(t *testing.T, c *Config) { assert.Equal(t, "/var/log/obsfs.log", c.LogFile) }},
	"dbglevel":               {"dbglevel=warn", func(t *testing.T, c *Config) { assert.Equal(t, zapcore.WarnLevel, c.LogLevel) }},
	"control_dir":            {"control_dir=.ctl", func(t *testing.T, c *Config) { assert.Equal(t, ".ctl", c.ControlDir) }},
	"admin_uids":             {"admin_uids=1000:root", func(t *testing.T, c *Config) { assert.Equal(t, []uint32{1000, 0}, c.AdminUIDs) }},
	"presign_expires":        {"presign_expires=10m", func(t *testing.T, c *Config) { assert.Equal(t, 10*time.Minute, c.PresignExpires) }},
	"noexec":                 {"noexec,exec,noexec", func(t *testing.T, c *Config) { assert.Equal(t, []string{"noexec", "exec", "noexec"}, c.MountFlags) }},
	"nosuid":                 {"suid", func(t *testing.T, c *Config) { assert.Equal(t, []string{"suid"}, c.MountFlags) }},
	"nodev":                  {"nodev", func(t *testing.T, c *Config) { assert.Equal(t, []string{"nodev"}, c.MountFlags) }},
	"sync":                   {"sync", func(t *testing.T, c *Config) { assert.Equal(t, []string{"sync"}, c.MountFlags) }},
	"dirsync":                {"dirsync", func(t *testing.T, c *Config) { assert.Equal(t, []string{"dirsync"}, c.MountFlags) }},
	"noatime":                {"relatime", func(t *testing.T, c *Config) { assert.Equal(t, []string{"relatime"}, c.MountFlags) }},
	"strictatime":            {"nodiratime", func(t *testing.T, c *Config) { assert.Equal(t, []string{"nodiratime"}, c.MountFlags) }},
	"sigv2":                  {"sigv2", func(t *testing.T, c *Config) { assert.Equal(t, signer.V2, c.Signature) }},
	"sigv4":                  {"sigv4", func(t *testing.T, c *Config) { assert.Equal(t, signer.V4, c.Signature) }},
	"endpoint":               {"endpoint=eu-west-0", func(t *testing.T, c *Config) { assert.Equal(t, "eu-west-0", c.Region) }},
	"no_check_certificate":   {"no_check_certificate", func(t *testing.T, c *Config) { assert.False(t, c.SSLVerify) }},
	"ssl_verify_hostname":    {"ssl_verify_hostname=0", func(t *testing.T, c *Config) { assert.True(t, c.SkipHostnameVerify) }},
	"use_sse":                {"use_sse=kmsid:key-2", func(t *testing.T, c *Config) { assert.Equal(t, "kms:key-2", c.SSE) }},
	"tmpdir":                 {"tmpdir=/var/tmp", func(t *testing.T, c *Config) { assert.Equal(t, "/var/tmp", c.SpoolDir) }},
	"max_background":         {"max_background=128", func(t *testing.T, c *Config) { assert.Equal(t, 128, c.MaxBackground) }},
	"nomultipart":            {"nomultipart", func(t *testing.T, c *Config) { assert.Equal(t, int64(5<<30), c.MultipartSize) }},
	"del_cache":              {"del_cache", func(t *testing.T, c *Config) { assert.True(t, c.DelCache) }},
	"ensure_diskfree":        {"ensure_diskfree=2048", func(t *testing.T, c *Config) { assert.Equal(t, int64(2<<30), c.EnsureDiskFree) }},
	"enable_noobj_cache":     {"enable_noobj_cache", func(t *testing.T, c *Config) { assert.Equal(t, []string{"enable_noobj_cache"}, c.noops) }},
	"default_permissions":    {"default_permissions", func(t *testing.T, c *Config) { assert.Equal(t, []string{"default_permissions"}, c.noops) }},
	"kernel_cache":           {"kernel_cache", func(t *testing.T, c *Config) { assert.Equal(t, []string{"kernel_cache"}, c.noops) }},
	"big_writes":             {"big_writes", func(t *testing.T, c *Config) { assert.Equal(t, []string{"big_writes"}, c.noops) }},
	"complement_stat":        {"complement_stat", func(t *testing.T, c *Config) { assert.Equal(t, []string{"complement_stat"}, c.noops) }},
	"use_xattr":              {"use_xattr", func(t *testing.T, c *Config) { assert.Equal(t, []string{"use_xattr"}, c.noops) }},
	"iam_role":               {"", nil}, // refused: TestS3fsCompatRefusals
}

func TestEveryOptionParses(t *testing.T) {
	for _, o := range options {
		tc, ok := optionCases[o.name]
		if !assert.True(t, ok, "option %s has no test case in optionCases", o.name) {
			continue
		}
		if tc.check == nil {
			continue
		}
		t.Run(o.name, func(t *testing.T) {
			c := parseOK(t, withURL("-o", tc.opt)...)
			tc.check(t, c)
			assert.True(t, c.IsSet(o.name))
		})
	}
	assert.Len(t, optionCases, len(options), "optionCases names an option that is not in the table")
}

func TestMalformedValuesRejectedByName(t *testing.T) {
	cases := map[string]string{
		"multipart_size=abc":       `option multipart_size: invalid size "abc"`,
		"multipart_size=1M":        `option multipart_size: 1M out of range [5M, 5G]`,
		"cache_size=12Q":           `option cache_size: invalid size "12Q"`,
		"parallel_count=x":         `option parallel_count: invalid integer "x"`,
		"parallel_count=0":         `option parallel_count: 0 out of range [1, 100]`,
		"uid=-1":                   `option uid: -1 out of range`,
		"umask=999":                `option umask: invalid octal mask "999"`,
		"stat_cache_expire=soon":   `option stat_cache_expire: invalid duration "soon"`,
		"connect_timeout=-5s":      `option connect_timeout: invalid duration "-5s"`,
		"signature=v3":             `option signature: invalid value "v3" (want obs, v2, v4)`,
		"dbglevel=loud":            `option dbglevel: invalid value "loud"`,
		"default_acl=everyone":     `option default_acl: invalid value "everyone"`,
		"ssl_verify=maybe":         `option ssl_verify: invalid boolean "maybe"`,
		"ro=2":                     `option ro: invalid boolean "2"`,
		"url=ftp://x":              `option url: invalid URL`,
		"proxy=http://u:secret@":   `option proxy: invalid URL`,
		"sse=aes":                  `option sse: invalid value "aes"`,
		"sse=c:":                   `option sse: invalid value "c:"`,
		"storage_class=cold store": `option storage_class: invalid storage class "COLD STORE"`,
		"control_dir=a/b":          `option control_dir: invalid name "a/b"`,
		"multipart_size":           `option multipart_size needs a value (multipart_size=SIZE)`,
		"url":                      `option url needs a value (url=URL)`,
		"url=http://u:secret@h:1":  `option url: http://u:xxxxx@h:1: user:password@ is not allowed in the endpoint URL`,
		"url=u:secret@h":           `user:password@ is not allowed`,
	}
	for opt, want := range cases {
		t.Run(opt, func(t *testing.T) {
			msg := parseErr(t, withURL("-o", opt)...)
			assert.Contains(t, msg, want)
			assert.NotContains(t, msg, "secret", "a proxy password must not be echoed")
		})
	}
}

func TestUnknownOption(t *testing.T) {
	assert.Equal(t, `unknown option 'foo' (see obsfs --help)`, parseErr(t, withURL("-o", "ro,foo=1")...))
	assert.Equal(t, `unknown option 'bar' (see obsfs --help)`, parseErr(t, withURL("-obar")...))
	for typo, want := range map[string]string{
		"stat_cache_expir=5":    "stat_cache_expire",
		"noexex":                "noexec",
		"allow_others":          "allow_other",
		"use_path_request_styl": "use_path_request_style",
		"paswd_file=/x":         "passwd_file",
		"nonemty":               "nonempty",
		"relatme":               "relatime",
	} {
		key, _, _ := strings.Cut(typo, "=")
		assert.Equal(t, "unknown option '"+key+"'; did you mean '"+want+"'?", parseErr(t, withURL("-o", typo)...))
	}
	assert.Equal(t, "option noexec takes no value", parseErr(t, withURL("-o", "noexec=1")...))
}

func TestGenericOptionsIgnored(t *testing.T) {
	c := parseOK(t, withURL("-o", "_netdev,rw,auto,noauto,user,nouser,users,owner,group,defaults,x-systemd.automount,x-systemd.requires=network-online.target,comment=hello,nofail")...)
	assert.False(t, c.ReadOnly)
	assert.Equal(t, map[string]bool{"url": true}, c.set, "generic options must not count as set")
	assert.Empty(t, c.MountFlags)
	c = parseOK(t, withURL("-o", "rw,ro,_netdev")...)
	assert.True(t, c.ReadOnly, "ro is a real option even among generic ones")
}

// TestMountFlagsReachTheMount: every generic mount flag is kept in order
// and reaches fs.MountConfig, which knows each name.
func TestMountFlagsReachTheMount(t *testing.T) {
	all := "exec,noexec,suid,nosuid,dev,nodev,async,sync,dirsync,atime,noatime,relatime,norelatime,strictatime,nostrictatime,diratime,nodiratime,lazytime,nolazytime"
	c := parseOK(t, withURL("-o", all)...)
	assert.Equal(t, strings.Split(all, ","), c.MountFlags)
	mc := mountConfig(c)
	assert.Equal(t, c.MountFlags, mc.Flags)
	for _, f := range mc.Flags {
		assert.Contains(t, fs.MountFlagNames(), f)
	}
	assert.Error(t, checkMountFlags(parseOK(t, withURL("-o", "suid")...), 1000), "suid needs root")
	assert.Error(t, checkMountFlags(parseOK(t, withURL("-o", "dev")...), 1000), "dev needs root")
	assert.NoError(t, checkMountFlags(parseOK(t, withURL("-o", "suid,dev,noexec")...), 0))
	assert.NoError(t, checkMountFlags(parseOK(t, withURL("-o", "nosuid,nodev,noexec,sync")...), 1000))
}

// TestS3fsCompatOptions: s3fs's forms map onto obsfs's options.
func TestS3fsCompatOptions(t *testing.T) {
	for opt, want := range map[string]string{
		"use_sse=custom:/k": "c:/k", "use_sse=c:/k": "c:/k", "use_sse=/etc/k": "c:/etc/k",
		"use_sse=kmsid": "kms", "use_sse=k": "kms", "use_sse=k:id-1": "kms:id-1",
	} {
		assert.Equal(t, want, parseOK(t, withURL("-o", opt)...).SSE, opt)
	}
	c := parseOK(t, withURL("-o", "signature=obs,sigv4,ssl_verify_hostname=2,tmpdir=spool")...)
	assert.Equal(t, signer.V4, c.Signature)
	assert.False(t, c.SkipHostnameVerify)
	assert.True(t, filepath.IsAbs(c.SpoolDir))
	fo := fsOptions(parseOK(t, withURL("-o", "tmpdir=/spool,ensure_diskfree=100")...), nil, zap.NewNop())
	assert.Equal(t, "/spool", fo.SpoolDir)
	assert.Equal(t, int64(100<<20), fo.DiskFreeReserve)
	assert.Equal(t, 77, mountConfig(parseOK(t, withURL("-o", "max_background=77")...)).MaxBackground)
	cc := clientConfig(parseOK(t, withURL("-o", "ssl_verify_hostname=0")...), signer.Credentials{}, zap.NewNop())
	assert.True(t, cc.SkipHostnameVerify)
}

func TestS3fsCompatRefusals(t *testing.T) {
	assert.Contains(t, parseErr(t, withURL("-o", "iam_role")...), "option iam_role: not supported: obsfs does not fetch credentials from an instance metadata service")
	assert.Contains(t, parseErr(t, withURL("-o", "iam_role=auto")...), "use passwd_file=FILE")
	assert.Contains(t, parseErr(t, withURL("-o", "use_sse")...), "SSE-S3 is not supported")
	assert.Contains(t, parseErr(t, withURL("-o", "use_sse=1")...), "SSE-S3 is not supported")
	assert.Contains(t, parseErr(t, withURL("-o", "use_sse=custom")...), "needs a key file")
	assert.Contains(t, parseErr(t, withURL("-o", "ssl_verify_hostname=3")...), "invalid value")
	assert.Contains(t, parseErr(t, withURL("-o", "max_background=0")...), "out of range")
}

func TestOptionsAnywhereAndRepeated(t *testing.T) {
	for _, args := range [][]string{
		{"-o", "url=http://h:1,ro", "bkt", "/mnt", "-o", "uid=7"},
		{"bkt", "-o", "url=http://h:1", "/mnt", "-o", "ro", "-o", "uid=7"},
		{"bkt", "/mnt", "-o", "url=http://h:1,ro,uid=7"},            // as mount.fuse3 calls it
		{"bkt", "/mnt", "-ourl=http://h:1,ro", "-o", "uid=5,uid=7"}, // later options win
		{"bkt", "/mnt", "-o", " url=http://h:1 , ro ,,uid=7"},
	} {
		c := parseOK(t, args...)
		assert.Equal(t, "http://h:1", c.Endpoint, args)
		assert.True(t, c.ReadOnly, args)
		assert.Equal(t, 7, c.UID, args)
	}
}

func TestFlags(t *testing.T) {
	c := parseOK(t, withURL("-f")...)
	assert.True(t, c.Foreground)
	assert.False(t, c.Debug)
	c = parseOK(t, withURL("-d", "-o", "dbglevel=error")...)
	assert.True(t, c.Foreground && c.Debug)
	assert.Equal(t, zapcore.DebugLevel, c.LogLevel, "-d wins over dbglevel")

	for args, want := range map[string]action{"-h": actHelp, "--help": actHelp, "--version": actVersion, "--help-markdown": actHelpMarkdown} {
		act, _, err := parseCommandLine([]string{args}, noEnv)
		require.NoError(t, err)
		assert.Equal(t, want, act, args)
	}
	assert.Contains(t, parseErr(t, withURL("--bogus")...), "unknown flag: --bogus")
}

func TestPositionalArguments(t *testing.T) {
	assert.Contains(t, parseErr(t), "usage: obsfs BUCKET")
	assert.Contains(t, parseErr(t, "bkt", "-o", "url=h"), "usage: obsfs BUCKET")
	assert.Contains(t, parseErr(t, "bkt", "/a", "/b", "-o", "url=h"), "usage: obsfs BUCKET")
}

func TestSource(t *testing.T) {
	for src, want := range map[string][2]string{
		"bkt":               {"bkt", ""},
		"bkt:":              {"bkt", ""},
		"bkt:/":             {"bkt", ""},
		"bkt:/some/prefix":  {"bkt", "some/prefix/"},
		"bkt:/some/prefix/": {"bkt", "some/prefix/"},
		"bkt:logs":          {"bkt", "logs/"},
	} {
		c := parseOK(t, src, "/mnt", "-o", "url=h")
		assert.Equal(t, want, [2]string{c.Bucket, c.Prefix}, src)
	}
	for _, src := range []string{":/x", "a/b", "bkt:/a//b", "bkt:/a/../b", "bkt:/./b"} {
		assert.Contains(t, parseErr(t, src, "/mnt", "-o", "url=h"), "invalid", src)
	}
}

func TestEndpointFromEnv(t *testing.T) {
	_, c, err := parseCommandLine([]string{"bkt", "/mnt"}, envOf(map[string]string{"OBS_ENDPOINT": "obs.example.com"}))
	require.NoError(t, err)
	assert.Equal(t, "obs.example.com", c.Endpoint)

	_, c, err = parseCommandLine([]string{"bkt", "/mnt", "-o", "url=http://a:1"}, envOf(map[string]string{"OBS_ENDPOINT": "b"}))
	require.NoError(t, err)
	assert.Equal(t, "http://a:1", c.Endpoint, "url= wins over OBS_ENDPOINT")

	assert.Contains(t, parseErr(t, "bkt", "/mnt"), "no endpoint: set -o url=")
	_, _, err = parseCommandLine([]string{"bkt", "/mnt"}, envOf(map[string]string{"OBS_ENDPOINT": "https://k:secret@obs.example.com"}))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "secret")
}

func TestRelativePathsMadeAbsolute(t *testing.T) {
	wd, err := os.Getwd()
	require.NoError(t, err)
	c := parseOK(t, "bkt", "mnt", "-o", "url=h,passwd_file=pw,logfile=log,use_cache=cache,cafile=ca.pem,sse=c:key")
	for _, p := range []string{c.Mountpoint, c.PasswdFile, c.LogFile, c.CacheDir, c.CAFile} {
		assert.True(t, filepath.IsAbs(p), p)
		assert.True(t, strings.HasPrefix(p, wd), p)
	}
	assert.Equal(t, "c:"+filepath.Join(wd, "key"), c.SSE)
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "10": 10 << 20, "4096B": 4096, "512K": 512 << 10, "512k": 512 << 10, "64M": 64 << 20,
		"64MB": 64 << 20, "64MiB": 64 << 20, "1G": 1 << 30, "2T": 2 << 40,
	} {
		got, err := parseSize(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "M", "-1", "1.5G", "10X", "1GG", "99999999999999T"} {
		_, err := parseSize(in)
		assert.Error(t, err, in)
	}
	assert.Equal(t, "5M", formatSize(5<<20))
	assert.Equal(t, "1000B", formatSize(1000))
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"0": 0, "900": 900 * time.Second, "1m30s": 90 * time.Second, "250ms": 250 * time.Millisecond} {
		got, err := parseDuration(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "-1", "-1s", "abc"} {
		_, err := parseDuration(in)
		assert.Error(t, err, in)
	}
}

func TestDefaultsParseThroughTheTable(t *testing.T) {
	// defaultConfig panics on a default its own setter rejects.
	assert.NotPanics(t, func() { defaultConfig() })
	for _, o := range options {
		if o.kind == kindEnum && o.def != "" {
			assert.Contains(t, o.values, o.def, o.name)
		}
	}
}
