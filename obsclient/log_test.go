package obsclient_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/obsfs/obsfs/obsclient"
	"github.com/obsfs/obsfs/obsclient/obstest"
	"github.com/obsfs/obsfs/obsclient/signer"
)

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}
func (s *syncBuffer) Sync() error { return nil }
func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// TestSecretsNeverLogged runs every operation (successes, failures and
// retries) with debug logging into a buffer and checks that no secret key,
// security token, SSE-C key or Authorization value reaches the log or an
// error message.
func TestSecretsNeverLogged(t *testing.T) {
	const token = "TOKEN-very-secret-0123456789"
	sink := &syncBuffer{}
	enc := zapcore.NewJSONEncoder(zap.NewDevelopmentEncoderConfig())
	logger := zap.New(zapcore.NewCore(enc, sink, zapcore.DebugLevel))
	var auths []string
	var mu sync.Mutex
	var errs []string

	for _, d := range dialects {
		srv := newEmulator(t, func(o *obstest.Options) { o.SecurityToken = token })
		rec := &recorder{}
		c := newClient(t, srv, clientOpts{dialect: d, logger: logger,
			wrap: func(rt http.RoundTripper) http.RoundTripper { rec.next = rt; return rec },
			mod:  func(c *obsclient.Config) { c.Credentials.SecurityToken = token }})
		b := mustBucket(t, c, testBucket)
		t.Run(dialectName(d), func(t *testing.T) {
			env := &conformanceEnv{b: b, pfs: mustBucket(t, c, testPFS), prefix: "log/", dialect: d, emulator: srv}
			runConformance(t, env)
			// Retries and failures.
			require.NoError(t, srv.InjectFault(obstest.Fault{Kind: obstest.FaultSlowDown, Count: 3}))
			require.NoError(t, srv.InjectFault(obstest.Fault{Kind: obstest.FaultReset, Count: 2}))
			_, err := b.HeadObject(ctx(t), "log/ssec", obsclient.GetOptions{})
			mu.Lock()
			errs = append(errs, fmt.Sprint(err), fmt.Sprintf("%+v", c.Config()), fmt.Sprintf("%#v", c.Config().Credentials))
			mu.Unlock()
			bad := newClient(t, srv, clientOpts{dialect: d, logger: logger,
				mod: func(c *obsclient.Config) {
					c.Credentials = signer.Credentials{AccessKey: testAK, SecretKey: "wrong-" + testSK}
				}})
			_, err = mustBucket(t, bad, testBucket).GetObject(ctx(t), "log/x", obsclient.GetOptions{})
			require.Error(t, err)
			mu.Lock()
			errs = append(errs, err.Error())
			mu.Unlock()
		})
		for _, r := range rec.all() {
			auths = append(auths, r.auth)
		}
	}
	out := sink.String()
	require.Contains(t, out, `"attempt"`, "debug logging happened")
	require.Contains(t, out, "SlowDown", "failures are logged")
	require.Greater(t, len(auths), 100)

	sseKey := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	secrets := []string{testSK, token, sseKey, "Authorization", "authorization", "AWS4-HMAC-SHA256", "OBS " + testAK, "AWS " + testAK}
	for _, a := range auths {
		secrets = append(secrets, signatureOf(a))
	}
	haystacks := append([]string{out}, errs...)
	for _, h := range haystacks {
		for _, s := range secrets {
			if s != "" && strings.Contains(h, s) {
				t.Errorf("secret %q leaked into %.200q", s, h)
			}
		}
	}
	assert.NotContains(t, fmt.Sprint(signer.Credentials{AccessKey: "a", SecretKey: testSK, SecurityToken: token}), testSK)
}

// signatureOf extracts the signature from an Authorization value.
func signatureOf(auth string) string {
	if i := strings.LastIndex(auth, "Signature="); i >= 0 {
		return auth[i+len("Signature="):]
	}
	if i := strings.LastIndex(auth, ":"); i >= 0 {
		return auth[i+1:]
	}
	return auth
}
