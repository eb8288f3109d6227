package obsclient

import (
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// logAttempt records one HTTP attempt at debug level: operation, bucket,
// key, method, status, error code, request id, latency and attempt number.
// It never logs headers, query strings or bodies, so the secret key, the
// security token, SSE-C keys and Authorization values cannot reach the log.
func (b *Bucket) logAttempt(r *request, attempt, status int, reqID string, latency time.Duration, err error) {
	l := b.c.log
	if !l.Core().Enabled(zapcore.DebugLevel) {
		return
	}
	fields := []zap.Field{
		zap.String("op", r.op),
		zap.String("bucket", b.name),
		zap.String("key", r.key),
		zap.String("method", r.method),
		zap.Int("status", status),
		zap.String("request_id", reqID),
		zap.Duration("latency", latency),
		zap.Int("attempt", attempt),
	}
	if err != nil {
		if e, ok := AsError(err); ok && e.Code != "" {
			fields = append(fields, zap.String("code", e.Code))
		}
		fields = append(fields, zap.String("error", err.Error()))
		l.Debug("obs request failed", fields...)
		return
	}
	l.Debug("obs request", fields...)
}
