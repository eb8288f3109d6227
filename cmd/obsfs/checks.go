package main

// Startup checks, run before mounting so that a mistake is one readable line
// and not a half-working mount: the mount point, /etc/fuse.conf for
// allow_other, and a HEAD of the bucket with the real client, which proves
// the endpoint answers, the credentials are accepted and the bucket exists.

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	mi "github.com/obsfs/obsfs/internal/mountinfo"

	"go.uber.org/zap"

	"github.com/obsfs/obsfs/obsclient"
	"github.com/obsfs/obsfs/obsclient/signer"
)

// fuseConf is where user_allow_other is looked for.
var fuseConf = "/etc/fuse.conf"

// mountinfo is read for the already-mounted check (a variable for tests).
var mountinfo = "/proc/self/mountinfo"

// checkMountpoint: it exists, is a directory, is not a stale FUSE mount,
// is not a live obsfs mount already, and is empty unless -o nonempty.
func checkMountpoint(c *Config) error {
	mp := c.Mountpoint
	st, err := os.Stat(mp)
	switch {
	case err != nil:
		return mountpointError(mp, err)
	case !st.IsDir():
		return failf(exitMountpoint, "mountpoint %s is not a directory", mp)
	}
	if src, ok := liveObsfsMount(mountinfo, mp); ok {
		return failf(exitMountpoint, "mountpoint %s is already mounted (%s); unmount it first (fusermount3 -u %s)", mp, src, mp)
	}
	if c.NonEmpty {
		return nil
	}
	d, err := os.Open(mp)
	if err != nil {
		return mountpointError(mp, err)
	}
	defer d.Close()
	names, err := d.Readdirnames(1)
	switch {
	case len(names) > 0:
		return failf(exitMountpoint, "mountpoint %s is not empty (use -o nonempty to mount over it)", mp)
	case err != nil && !errors.Is(err, io.EOF):
		return mountpointError(mp, err)
	}
	return nil
}

// liveObsfsMount reports whether the visible mount on dir (the last
// mountinfo entry for it) is an obsfs mount, and its source
// ("obsfs:BUCKET").
func liveObsfsMount(mountinfoPath, dir string) (source string, ok bool) {
	data, err := os.ReadFile(mountinfoPath)
	if err != nil {
		return "", false
	}
	for _, line := range strings.Split(string(data), "\n") {
		pre, post, cut := strings.Cut(line, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !cut || len(f) < 5 || len(g) < 2 || mi.Unescape(f[4]) != dir {
			continue
		}
		source, ok = mi.Unescape(g[1]), g[0] == "fuse.obsfs"
	}
	return source, ok
}

// checkMountFlags: suid and dev need root (fusermount3 ignores them for
// other users with only a warning).
func checkMountFlags(c *Config, euid int) error {
	for _, f := range c.MountFlags {
		if (f == "suid" || f == "dev") && euid != 0 {
			return failf(exitUsage, "option %s needs root (for other users fusermount3 keeps nosuid,nodev)", f)
		}
	}
	return nil
}

// mountpointError explains a failed stat, open or read of the mount point.
func mountpointError(mp string, err error) error {
	switch {
	case errors.Is(err, syscall.ENOTCONN):
		return failf(exitMountpoint, "mountpoint %s is a dead FUSE mount (run fusermount3 -u %s)", mp, mp)
	case errors.Is(err, os.ErrNotExist):
		return failf(exitMountpoint, "mountpoint %s does not exist", mp)
	}
	return failf(exitMountpoint, "mountpoint %s: %v", mp, unwrapPath(err))
}

// prepareCacheDir creates the use_cache directory (mode 0700) if needed, so
// a bad path fails the mount and not the first write.
func prepareCacheDir(c *Config) error {
	if c.CacheDir == "" {
		return nil
	}
	if err := os.MkdirAll(c.CacheDir, 0o700); err != nil {
		return failf(exitUsage, "option use_cache: %v", err)
	}
	return nil
}

// checkAllowOther: a non-root allow_other mount needs user_allow_other in
// /etc/fuse.conf, or fusermount3 refuses with a less helpful message.
func checkAllowOther(c *Config, euid int) error {
	if !c.AllowOther || euid == 0 || fuseConfAllowsOther(fuseConf) {
		return nil
	}
	return failf(exitMount, "allow_other needs a line user_allow_other in %s when not mounting as root", fuseConf)
}

// fuseConfAllowsOther reports whether the file has a user_allow_other line.
func fuseConfAllowsOther(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "user_allow_other" {
			return true
		}
	}
	return false
}

// clientConfig maps the options onto the OBS client's configuration.
func clientConfig(c *Config, creds signer.Credentials, log *zap.Logger) obsclient.Config {
	cc := obsclient.Config{
		Endpoint:           c.Endpoint,
		Region:             c.Region,
		Credentials:        creds,
		Signature:          c.Signature,
		ConnectTimeout:     c.ConnectTimeout,
		RequestTimeout:     c.ReadWriteTimeout,
		Retries:            c.Retries,
		InsecureSkipVerify: !c.SSLVerify,
		SkipHostnameVerify: c.SkipHostnameVerify,
		CAFile:             c.CAFile,
		Proxy:              c.Proxy,
		UserAgent:          "obsfs/" + version,
		Logger:             log.Named("obs"),
	}
	if c.PathStyle {
		cc.Addressing = obsclient.AddressingPath
	}
	if c.Retries == 0 {
		cc.Retries = -1 // obsclient: 0 means "default", <0 means none
	}
	if c.ReadWriteTimeout == 0 {
		cc.RequestTimeout = -1 // 0 disables the timeout, as in s3fs
	}
	return cc
}

// headTimeout bounds the startup HEAD bucket, retries included.
func headTimeout(c *Config) time.Duration {
	return max(20*time.Second, c.ConnectTimeout+5*time.Second)
}

// openBucket builds the client and proves, with HEAD bucket, that the
// endpoint answers, accepts the credentials and has the bucket.
func openBucket(ctx context.Context, c *Config, creds signer.Credentials, credSource string, log *zap.Logger) (*obsclient.Bucket, obsclient.BucketInfo, error) {
	client, err := obsclient.New(clientConfig(c, creds, log))
	if err != nil {
		return nil, obsclient.BucketInfo{}, failf(exitUsage, "%v", err)
	}
	b, err := client.Bucket(c.Bucket)
	if err != nil {
		return nil, obsclient.BucketInfo{}, failf(exitUsage, "invalid bucket %q: %v", c.Bucket, err)
	}
	ctx, cancel := context.WithTimeout(ctx, headTimeout(c))
	defer cancel()
	info, err := b.Head(ctx)
	if err != nil {
		if err = diagnoseRefusal(ctx, b, err); err == nil {
			// The listing went through: its refusal taught the client the
			// server's clock (RequestTimeTooSkewed carries the server's
			// Date, which a bodiless HEAD reply could not name). Again.
			info, err = b.Head(ctx)
		}
		if err != nil {
			return nil, info, headError(err, c, credSource)
		}
	}
	return b, info, nil
}

// diagnoseRefusal learns why a HEAD bucket was refused (400, 403, or 404,
// which versitygw answers for an unknown access key): a HEAD reply has no
// body, and only OBS names the error in a header. A one-key listing needs
// the same permission and carries the server's <Error>, so its code
// (SignatureDoesNotMatch, RequestTimeTooSkewed, …) words the message. It
// returns nil when the listing succeeds (the client corrected its clock
// from the listing's refusal: HEAD again); any other outcome keeps the
// HEAD's error.
func diagnoseRefusal(ctx context.Context, b *obsclient.Bucket, headErr error) error {
	e, ok := obsclient.AsError(headErr)
	if !ok || (e.StatusCode != 400 && e.StatusCode != 403 && e.StatusCode != 404) || e.Message != "" {
		return headErr
	}
	_, err := b.ListObjects(ctx, obsclient.ListOptions{MaxKeys: 1})
	if err == nil && e.StatusCode == 403 {
		return nil
	}
	if le, ok := obsclient.AsError(err); ok && le.StatusCode == e.StatusCode && le.Code != "" {
		return err
	}
	return headErr
}

// headError turns a failed HEAD bucket into the one line a user needs.
func headError(err error, c *Config, credSource string) error {
	ep := endpointURL(c.Endpoint)
	e, ok := obsclient.AsError(err)
	if ok {
		if msg := authRefusal(e, c, ep, credSource); msg != "" {
			return failf(exitAccess, "%s", msg)
		}
	}
	switch {
	case obsclient.IsAccessDenied(err):
		return failf(exitAccess, "access denied by %s for bucket %q (check the credentials from %s)%s", ep, c.Bucket, credSource, serverSaid(e))
	case obsclient.IsNotFound(err):
		return failf(exitNoBucket, "bucket %q does not exist at %s", c.Bucket, ep)
	case isCertificateError(err):
		return failf(exitEndpoint, "TLS certificate of %s not accepted: %v (trust its CA with -o cafile=FILE, or turn verification off with -o ssl_verify=false)", ep, transportCause(err, headTimeout(c)))
	case !ok || e.StatusCode == 0:
		return failf(exitEndpoint, "cannot reach %s: %v", ep, transportCause(err, headTimeout(c)))
	case e.StatusCode == 301 || e.StatusCode == 307:
		return failf(exitFailure, "bucket %q is not served by %s (%d %s): check url= and region=", c.Bucket, ep, e.StatusCode, e.Code)
	}
	return failf(exitFailure, "HEAD bucket %q at %s failed: %v", c.Bucket, ep, err)
}

// authRefusal words a refused signature by what the server said: the clock,
// the region, the secret key, the access key or the token. "" when the
// error is none of these.
func authRefusal(e *obsclient.Error, c *Config, ep, credSource string) string {
	said := serverSaid(e)
	switch e.Code {
	case "RequestTimeTooSkewed":
		return fmt.Sprintf("%s refused the request time: this machine's clock differs from the server's by more than 15 minutes (RequestTimeTooSkewed%s); set the clock (NTP)", ep, said)
	case "AuthorizationHeaderMalformed", "AuthorizationQueryParametersError", "InvalidRegion":
		region := c.Region
		if region == "" {
			region = obsclient.DefaultRegion
		}
		return fmt.Sprintf("%s refused the signature's region %q (%s%s): set region= to the bucket's region", ep, region, e.Code, said)
	case "SignatureDoesNotMatch":
		return fmt.Sprintf("%s says the signature does not match (SignatureDoesNotMatch): check the secret key from %s, and signature= (now %s)", ep, credSource, c.Signature)
	case "InvalidAccessKeyId", "XAdminUserNotFound": // the second is versitygw's
		return fmt.Sprintf("%s does not know the access key (%s): check the credentials from %s", ep, e.Code, credSource)
	case "InvalidToken", "ExpiredToken", "InvalidSecurity", "TokenRefreshRequired":
		return fmt.Sprintf("%s refused the security token (%s%s): renew the temporary credentials from %s", ep, e.Code, said, credSource)
	}
	return ""
}

// serverSaid is ": <message>" of the server's error, or "".
func serverSaid(e *obsclient.Error) string {
	if e == nil || e.Message == "" {
		return ""
	}
	return ": " + e.Message
}

// isCertificateError reports a TLS verification failure.
func isCertificateError(err error) bool {
	var v *tls.CertificateVerificationError
	var u x509.UnknownAuthorityError
	var h x509.HostnameError
	var inv x509.CertificateInvalidError
	return errors.As(err, &v) || errors.As(err, &u) || errors.As(err, &h) || errors.As(err, &inv)
}

// transportCause strips the layers that repeat the URL from a network error.
func transportCause(err error, timeout time.Duration) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return failf(exitEndpoint, "no answer within %v", timeout)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return oe
	}
	return err
}

// endpointURL is the endpoint as "scheme://host[:port]" for messages.
func endpointURL(endpoint string) string {
	u, err := obsclient.ParseEndpoint(endpoint)
	if err != nil {
		return endpoint
	}
	return u.Scheme + "://" + u.Host
}
