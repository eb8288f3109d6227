package main

// Logging. In the foreground obsfs logs to stderr; in the background, whose
// stdio is /dev/null, to -o logfile=FILE or else to syslog (facility daemon,
// tag obsfs), and to nowhere if syslog is unavailable. Log lines never hold
// secrets: credentials are named by where they came from, and the proxy URL
// is redacted (redactURL).

import (
	"io"
	"log/syslog"
	"net/url"
	"os"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// newLogger builds the logger for a mount. closeLog releases the log file
// or syslog connection.
func newLogger(c *Config, background bool, stderr io.Writer) (log *zap.Logger, closeLog func(), err error) {
	level := zap.NewAtomicLevelAt(c.LogLevel)
	switch {
	case c.LogFile != "":
		f, err := os.OpenFile(c.LogFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return nil, nil, failf(exitUsage, "cannot open logfile %s: %v", c.LogFile, unwrapPath(err))
		}
		core := zapcore.NewCore(zapcore.NewConsoleEncoder(fileEncoderConfig()), zapcore.Lock(f), level)
		return zap.New(core), func() { _ = f.Close() }, nil
	case background:
		w, err := syslog.New(syslog.LOG_DAEMON|syslog.LOG_INFO, "obsfs")
		if err != nil {
			return zap.NewNop(), func() {}, nil
		}
		return zap.New(newSyslogCore(w, level)), func() { _ = w.Close() }, nil
	}
	core := zapcore.NewCore(zapcore.NewConsoleEncoder(fileEncoderConfig()), zapcore.AddSync(stderr), level)
	return zap.New(core), func() {}, nil
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

// configFields are the options worth a line in the log at mount time.
func configFields(c *Config, credSource string) []zap.Field {
	f := []zap.Field{
		zap.String("bucket", c.Bucket), zap.String("prefix", c.Prefix),
		zap.String("mountpoint", c.Mountpoint), zap.String("endpoint", c.Endpoint),
		zap.String("signature", string(c.Signature)), zap.Bool("path_style", c.PathStyle),
		zap.String("credentials", credSource), zap.Bool("ro", c.ReadOnly),
		zap.Bool("allow_other", c.AllowOther), zap.String("version", version),
	}
	if c.Proxy != "" {
		f = append(f, zap.String("proxy", redactURL(c.Proxy)))
	}
	return f
}
