package main

// Logging. In the foreground obsfs logs to stderr; in the background, whose
// stdio is /dev/null, to -o logfile=FILE or else to syslog (facility daemon,
// tag obsfs). Without a syslog socket the background log falls back to a
// file (fallbackLogFile: /var/log/obsfs.log for root, else
// ~/.local/state/obsfs/obsfs.log), and the mount command says so; only if
// that cannot be written are the logs discarded, with a warning. Log lines
// never hold secrets: credentials are named by where they came from, and
// URLs with a password are redacted (redactURL).

import (
	"fmt"
	"io"
	"log/syslog"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// dialSyslog connects to the local syslog (a variable for tests).
var dialSyslog = func() (*syslog.Writer, error) { return syslog.New(syslog.LOG_DAEMON|syslog.LOG_INFO, "obsfs") }

// fallbackLogFile is where background logs go without syslog.
var fallbackLogFile = func() string {
	if os.Geteuid() == 0 {
		return "/var/log/obsfs.log"
	}
	state := os.Getenv("XDG_STATE_HOME")
	if state == "" {
		home := os.Getenv("HOME")
		if u, err := user.Current(); home == "" && err == nil {
			home = u.HomeDir
		}
		if home == "" {
			return ""
		}
		state = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(state, "obsfs", "obsfs.log")
}

// newLogger builds the logger for a mount. closeLog releases the log file
// or syslog connection; note, when not empty, tells the user where the
// background log went instead of syslog (or that it is discarded).
func newLogger(c *Config, background bool, stderr io.Writer) (log *zap.Logger, closeLog func(), note string, err error) {
	level := zap.NewAtomicLevelAt(c.LogLevel)
	switch {
	case c.LogFile != "":
		f, err := os.OpenFile(c.LogFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return nil, nil, "", failf(exitUsage, "cannot open logfile %s: %v", c.LogFile, unwrapPath(err))
		}
		return fileLogger(f, level), func() { _ = f.Close() }, "", nil
	case background:
		w, err := dialSyslog()
		if err == nil {
			return zap.New(newSyslogCore(w, level)), func() { _ = w.Close() }, "", nil
		}
		path := fallbackLogFile()
		f, ferr := openFallbackLog(path)
		if ferr != nil {
			return zap.NewNop(), func() {}, fmt.Sprintf("warning: background logs are discarded: no syslog (%v) and %v; use -o logfile=FILE", err, ferr), nil
		}
		return fileLogger(f, level), func() { _ = f.Close() }, "no syslog socket (/dev/log): logging to " + path, nil
	}
	core := zapcore.NewCore(zapcore.NewConsoleEncoder(fileEncoderConfig()), zapcore.AddSync(stderr), level)
	return zap.New(core), func() {}, "", nil
}

// fileLogger logs to an open file.
func fileLogger(f *os.File, level zapcore.LevelEnabler) *zap.Logger {
	return zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(fileEncoderConfig()), zapcore.Lock(f), level))
}

// openFallbackLog opens (creating its directory) the fallback log file.
func openFallbackLog(path string) (*os.File, error) {
	if path == "" {
		return nil, fmt.Errorf("no home directory for a log file")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("cannot create %s: %v", filepath.Dir(path), unwrapPath(err))
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cannot open %s: %v", path, unwrapPath(err))
	}
	return f, nil
}

// fileEncoderConfig: time, level, logger name, message, fields.
func fileEncoderConfig() zapcore.EncoderConfig {
	ec := zap.NewDevelopmentEncoderConfig()
	ec.EncodeTime = zapcore.ISO8601TimeEncoder
	ec.CallerKey, ec.StacktraceKey = "", ""
	return ec
}

// syslogCore is a zapcore.Core that sends each entry to syslog at the
// matching severity; syslog adds the time and tag.
type syslogCore struct {
	zapcore.LevelEnabler
	enc zapcore.Encoder
	w   *syslog.Writer
}

var _ zapcore.Core = (*syslogCore)(nil)

func newSyslogCore(w *syslog.Writer, level zapcore.LevelEnabler) *syslogCore {
	ec := fileEncoderConfig()
	ec.TimeKey = ""
	return &syslogCore{LevelEnabler: level, enc: zapcore.NewConsoleEncoder(ec), w: w}
}

func (c *syslogCore) With(fields []zapcore.Field) zapcore.Core {
	enc := c.enc.Clone()
	for _, f := range fields {
		f.AddTo(enc)
	}
	return &syslogCore{LevelEnabler: c.LevelEnabler, enc: enc, w: c.w}
}

func (c *syslogCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *syslogCore) Write(e zapcore.Entry, fields []zapcore.Field) error {
	buf, err := c.enc.EncodeEntry(e, fields)
	if err != nil {
		return err
	}
	msg := strings.TrimSuffix(buf.String(), "\n")
	buf.Free()
	switch e.Level {
	case zapcore.DebugLevel:
		return c.w.Debug(msg)
	case zapcore.InfoLevel:
		return c.w.Info(msg)
	case zapcore.WarnLevel:
		return c.w.Warning(msg)
	case zapcore.ErrorLevel:
		return c.w.Err(msg)
	}
	return c.w.Crit(msg)
}

func (c *syslogCore) Sync() error { return nil }

// redactURL hides the password of a URL ("http://user:xxxxx@host").
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// redactURLs redacts the password of every URL-valued item of an -o list
// or argument ("proxy=http://u:pw@h,ro" → "proxy=http://u:xxxxx@h,ro").
func redactURLs(arg string) string {
	items := strings.Split(arg, ",")
	for i, item := range items {
		k, v, ok := strings.Cut(item, "=")
		if ok && strings.Contains(v, "@") {
			items[i] = k + "=" + redactURLValue(v)
		}
	}
	return strings.Join(items, ",")
}

// redactURLValue redacts a URL's password, also in "host"-only forms
// without a scheme ("u:pw@host:3128").
func redactURLValue(v string) string {
	if !strings.Contains(v, "://") {
		return strings.TrimPrefix(redactURL("http://"+v), "http://")
	}
	return redactURL(v)
}

// configFields are the options worth a line in the log at mount time.
func configFields(c *Config, credSource string) []zap.Field {
	f := []zap.Field{
		zap.String("bucket", c.Bucket), zap.String("prefix", c.Prefix),
		zap.String("mountpoint", c.Mountpoint), zap.String("endpoint", redactURLValue(c.Endpoint)),
		zap.String("signature", string(c.Signature)), zap.Bool("path_style", c.PathStyle),
		zap.String("credentials", credSource), zap.Bool("ro", c.ReadOnly),
		zap.Bool("allow_other", c.AllowOther), zap.String("version", version),
	}
	if c.Proxy != "" {
		f = append(f, zap.String("proxy", redactURLValue(c.Proxy)))
	}
	return f
}
