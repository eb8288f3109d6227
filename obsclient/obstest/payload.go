package obstest

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/obsfs/obsfs/obsclient/signer"
)

// V4 payload verification
//
// A V4 request declares its body in x-amz-content-sha256:
//   - UNSIGNED-PAYLOAD: nothing to check;
//   - a hex SHA-256: the body is hashed while the handler streams it and a
//     mismatch surfaces as a read error (XAmzContentSHA256Mismatch) at EOF,
//     before the handler commits anything;
//   - STREAMING-AWS4-HMAC-SHA256-PAYLOAD: aws-chunked framing, each chunk
//     signed with the previous signature as seed;
//   - STREAMING-UNSIGNED-PAYLOAD-TRAILER: aws-chunked without signatures,
//     trailing checksum headers (ignored).
// In the chunked cases x-amz-decoded-content-length gives the real size.

const (
	streamingSigned   = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	streamingUnsigned = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
	maxChunk          = 64 << 20
	emptySHA256       = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// verifyPayload wraps the request body according to x-amz-content-sha256.
func (rc *reqCtx) verifyPayload(payload string, t time.Time, a *v4Auth, sk string) error {
	switch {
	case payload == signer.UnsignedPayload:
		return nil
	case payload == streamingSigned || payload == streamingUnsigned:
		n, err := strconv.ParseInt(rc.r.Header.Get("x-amz-decoded-content-length"), 10, 64)
		if err != nil || n < 0 {
			return errMissingLength
		}
		cr := &chunkedReader{r: bufio.NewReader(rc.r.Body), signed: payload == streamingSigned}
		if cr.signed {
			cr.key = signer.SigningKeyV4(sk, t, a.region)
			cr.prefix = "AWS4-HMAC-SHA256-PAYLOAD\n" + t.UTC().Format(signer.ISO8601Basic) + "\n" + signer.ScopeV4(t, a.region) + "\n"
			cr.prev = a.sig
		}
		rc.r.Body = io.NopCloser(cr)
		rc.r.ContentLength = n
		return nil
	case len(payload) == 64 && isHex(payload):
		want, _ := hex.DecodeString(payload)
		rc.r.Body = io.NopCloser(&sha256Reader{r: rc.r.Body, h: sha256.New(), want: want})
		return nil
	}
	return invalidArgument("x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD or a SHA-256 hex digest")
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}

// sha256Reader fails at EOF when the body's hash differs from want.
type sha256Reader struct {
	r    io.Reader
	h    hash.Hash
	want []byte
}

func (s *sha256Reader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.h.Write(p[:n])
	if err == io.EOF && !bytes.Equal(s.h.Sum(nil), s.want) {
		return n, errSHA256Mismatch
	}
	return n, err
}

// chunkedReader decodes an aws-chunked body, verifying chunk signatures.
type chunkedReader struct {
	r      *bufio.Reader
	signed bool
	key    []byte
	prefix string // "AWS4-HMAC-SHA256-PAYLOAD\n<date>\n<scope>\n"
	prev   string // previous signature (seed = header signature)
	buf    []byte // decoded, verified, not yet returned
	done   bool
	err    error
}

func (c *chunkedReader) Read(p []byte) (int, error) {
	for len(c.buf) == 0 && !c.done && c.err == nil {
		c.err = c.nextChunk()
	}
	if len(c.buf) > 0 {
		n := copy(p, c.buf)
		c.buf = c.buf[n:]
		return n, nil
	}
	if c.err != nil {
		return 0, c.err
	}
	return 0, io.EOF
}

// errChunk is a framing or signature error in an aws-chunked body.
var errChunk = errf(http.StatusForbidden, "SignatureDoesNotMatch", "aws-chunked body: bad framing or chunk signature")

// nextChunk reads and verifies one chunk.
func (c *chunkedReader) nextChunk() error {
	line, err := c.r.ReadString('\n')
	if err != nil {
		return io.ErrUnexpectedEOF
	}
	sizeHex, ext, _ := strings.Cut(strings.TrimRight(line, "\r\n"), ";")
	size, err := strconv.ParseInt(sizeHex, 16, 64)
	if err != nil || size < 0 || size > maxChunk {
		return errChunk
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(c.r, data); err != nil {
		return io.ErrUnexpectedEOF
	}
	if c.signed && !c.checkSig(ext, data) {
		return errChunk
	}
	if size == 0 {
		c.done = true
		return c.skipTrailer()
	}
	if crlf, err := c.r.ReadString('\n'); err != nil || strings.TrimRight(crlf, "\r\n") != "" {
		return errChunk
	}
	c.buf = data
	return nil
}

// checkSig verifies "chunk-signature=<hex>" for data.
func (c *chunkedReader) checkSig(ext string, data []byte) bool {
	sig, ok := strings.CutPrefix(ext, "chunk-signature=")
	if !ok {
		return false
	}
	sum := sha256.Sum256(data)
	sts := c.prefix + c.prev + "\n" + emptySHA256 + "\n" + hex.EncodeToString(sum[:])
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(sts))
	if !equalSig(hex.EncodeToString(m.Sum(nil)), sig) {
		return false
	}
	c.prev = sig
	return true
}

// skipTrailer consumes trailer lines up to the final empty line.
func (c *chunkedReader) skipTrailer() error {
	for {
		line, err := c.r.ReadString('\n')
		if strings.TrimRight(line, "\r\n") == "" {
			return nil
		}
		if err != nil {
			return nil
		}
	}
}
