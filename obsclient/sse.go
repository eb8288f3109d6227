package obsclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
)

// Server-side encryption per object (opt-in: SetEncryptionPolicy)
//
// An SSE-C object needs its key on every request that touches it (HEAD,
// GET, copy source, part-copy source, upload part, append), and the
// services refuse the key, with 400, for an object that is not SSE-C
// (S3's "The encryption parameters are not applicable to this object";
// the emulator does the same). Listings do not say which object is which,
// and a server-side copy keeps no encryption unless the request asks for
// it. So a bucket with a policy keeps, per key, what it last learned of the
// object's encryption, and:
//
//   - offers its SSE-C key to every object it does not know to be
//     unencrypted, SSE-KMS or SSE-OBS; a 400 to a request that carried the
//     key means "not SSE-C": remember, repeat once without. A 400 to a
//     request without the key, to an object remembered as not SSE-C, means
//     it became SSE-C: repeat once with the key. So each object costs one
//     extra request at most once, and only on a mount with a key.
//   - learns from every answer that describes an object (HEAD, GET, and the
//     replies of PUT, copy, complete and append, which echo the stored
//     encryption; no such header = not encrypted);
//   - gives copies (CopyObject, UploadPartCopy's target through its upload)
//     the source's encryption: SSE-C with the key, SSE-KMS with its key id,
//     SSE-OBS; a source it knows nothing of is HEADed first;
//   - keeps an object's SSE-KMS/SSE-OBS on PUT and initiate of that key
//     unless the caller asks for SSE-KMS/SSE-OBS itself (an edit on an
//     SSE-C mount keeps SSE-KMS; an unencrypted object gets the caller's);
//   - turns "this object needs an SSE-C key" (no key, or another key) into
//     an *SSECKeyError (errors.Is ErrSSECKey).
//
// A caller's explicit SSE-C option carrying the policy's own key is treated
// as "policy managed" (so a key offered everywhere by old call sites does
// not break unencrypted objects). The knowledge is bounded (maxKnownEnc
// keys; past that it starts over) and self-correcting, as above; the key
// bytes never leave setSSEC.

// EncryptionPolicy configures per-object encryption handling.
type EncryptionPolicy struct {
	// CustomerKey is the SSE-C key (32 bytes) offered to objects that need
	// it; nil when the caller has none (SSE-C objects then fail with
	// ErrSSECKey).
	CustomerKey []byte
}

// ErrSSECKey is in the chain of errors about an SSE-C object read without
// its key or with another key.
var ErrSSECKey = errors.New("SSE-C key missing or wrong")

// SSECKeyError says which object needs which SSE-C key; it wraps the
// server's *Error. It never holds key material.
type SSECKeyError struct {
	Key   string // object key
	Wrong bool   // a key was sent, and it is not the object's
	Err   error
}

func (e *SSECKeyError) Error() string {
	what := "is SSE-C encrypted and this client has no SSE-C key (sse=c:FILE)"
	if e.Wrong {
		what = "is SSE-C encrypted with another SSE-C key"
	}
	return fmt.Sprintf("object %q %s: %v", e.Key, what, e.Err)
}

func (e *SSECKeyError) Unwrap() error        { return e.Err }
func (e *SSECKeyError) Is(target error) bool { return target == ErrSSECKey }

// Encryption kinds an object can have.
const (
	EncNone   = "none"
	EncKMS    = "kms"
	EncSSEOBS = "sse-obs"
	EncSSEC   = "sse-c"
)

// Encryption names the object's encryption as HEAD/GET reported it:
// "none", "kms", "kms:KEYID", "sse-obs" or "sse-c".
func (i ObjectInfo) Encryption() string {
	switch {
	case i.SSECKeyMD5 != "" || i.SSECAlgorithm != "":
		return EncSSEC
	case i.SSE == "kms" && i.KMSKeyID != "":
		return EncKMS + ":" + i.KMSKeyID
	case i.SSE == "kms":
		return EncKMS
	case i.SSE != "":
		return EncSSEOBS
	}
	return EncNone
}

// maxKnownEnc bounds the per-key knowledge.
const maxKnownEnc = 50000

type objEnc struct {
	kind     string // EncNone, EncKMS, EncSSEOBS, EncSSEC
	kmsKeyID string
}

type encState struct {
	key []byte
	mu  sync.Mutex
	// GUARDED_BY(mu):
	known   map[string]objEnc
	uploads map[string]bool // upload id → SSE-C (its parts carry the key)
}

// SetEncryptionPolicy turns per-object encryption handling on (see above).
// Call it before the bucket is used.
func (b *Bucket) SetEncryptionPolicy(p EncryptionPolicy) {
	b.enc.Store(&encState{key: bytes.Clone(p.CustomerKey), known: map[string]objEnc{}, uploads: map[string]bool{}})
}

func (s *encState) get(key string) (objEnc, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.known[key]
	return e, ok
}

func (s *encState) set(key string, e objEnc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.known) >= maxKnownEnc {
		clear(s.known)
	}
	s.known[key] = e
}

func (s *encState) forget(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.known, key)
}

// encOf reads an object's encryption from response headers.
func encOf(h http.Header) objEnc { return encOfInfo(infoFromHeader("", h)) }

func encOfInfo(i ObjectInfo) objEnc {
	switch e := i.Encryption(); {
	case e == EncSSEC, e == EncSSEOBS, e == EncNone:
		return objEnc{kind: e}
	default:
		return objEnc{kind: EncKMS, kmsKeyID: i.KMSKeyID}
	}
}

// learn records what a reply says of key's encryption.
func (b *Bucket) learn(key string, h http.Header) {
	if b.pol() != nil && h != nil {
		b.pol().set(key, encOf(h))
	}
}

// pol is the policy, nil when off.
func (b *Bucket) pol() *encState { return b.enc.Load() }

// managed reports whether the SSE-C key of an option (the one part of it
// that matters on reads, copy sources and parts) is absent or just the
// policy's own key, so the policy decides.
func (b *Bucket) managed(s *SSE) bool {
	st := b.pol()
	if st == nil {
		return false
	}
	return s == nil || len(s.CustomerKey) == 0 || bytes.Equal(s.CustomerKey, st.key)
}

// offer is the SSE-C key to send to key on a read: the policy's key unless
// the object is known not to be SSE-C.
func (b *Bucket) offer(key string) []byte {
	if len(b.pol().key) == 0 {
		return nil
	}
	if e, ok := b.pol().get(key); ok && e.kind != EncSSEC {
		return nil
	}
	return b.pol().key
}

// sseRefused reports a 400 that refuses a request for its SSE-C headers
// (or their absence): HEAD's has no body; others name encryption.
func sseRefused(err error) bool {
	e, ok := AsError(err)
	if !ok || e.StatusCode != http.StatusBadRequest {
		return false
	}
	return e.Code == "" || strings.Contains(strings.ToLower(e.Message), "encryption")
}

// withSSEC runs send with the SSE-C key the policy offers to key, and once
// more the other way when the answer says the guess was wrong (see above).
// send receives the key to put in the request (nil: none).
func (b *Bucket) withSSEC(key string, send func(k []byte) error) error {
	offered := b.offer(key)
	err := send(offered)
	if err == nil {
		return nil
	}
	sc := StatusCode(err)
	switch {
	case offered != nil && sc == http.StatusBadRequest && sseRefused(err):
		b.pol().set(key, objEnc{kind: EncNone}) // refined by the next reply
		return send(nil)
	case offered != nil && sc == http.StatusForbidden:
		// Another key, or no permission: ask without the key to tell.
		if err2 := send(nil); err2 == nil || !sseRefused(err2) {
			return err2
		}
		b.pol().set(key, objEnc{kind: EncSSEC})
		return &SSECKeyError{Key: key, Wrong: true, Err: err}
	case offered == nil && sseRefused(err):
		if len(b.pol().key) == 0 {
			return &SSECKeyError{Key: key, Err: err}
		}
		b.pol().set(key, objEnc{kind: EncSSEC})
		err = send(b.pol().key)
		if StatusCode(err) == http.StatusForbidden {
			return &SSECKeyError{Key: key, Wrong: true, Err: err}
		}
		return err
	}
	return err
}

// copyEncryption decides the SSE-C key of a copy's source and the
// encryption of its target: the source's own. A source not known yet is
// HEADed (which teaches the policy).
func (b *Bucket) copyEncryption(ctx context.Context, src CopySource) (srcKey []byte, target *SSE, err error) {
	e, ok := b.pol().get(src.Key)
	if !ok || src.VersionID != "" {
		info, err := b.HeadObject(ctx, src.Key, GetOptions{VersionID: src.VersionID})
		if err != nil {
			return nil, nil, err
		}
		e = encOfInfo(info)
	}
	switch e.kind {
	case EncSSEC:
		if len(b.pol().key) == 0 {
			return nil, nil, nil // the server will say it needs the key
		}
		return b.pol().key, &SSE{CustomerKey: b.pol().key}, nil
	case EncKMS:
		return nil, &SSE{KMS: true, KMSKeyID: e.kmsKeyID}, nil
	case EncSSEOBS:
		return nil, &SSE{OBS: true}, nil
	}
	return nil, nil, nil
}

// keepEncryption gives a PUT or initiate of an existing key the SSE-KMS or
// SSE-OBS the object is known to have, whatever the caller asked (s): a
// rewrite never changes an encryption someone chose. An unencrypted (or
// unknown) object gets s.
func (b *Bucket) keepEncryption(key string, s *SSE) *SSE {
	st := b.pol()
	if st == nil || (s != nil && (s.KMS || s.OBS)) {
		return s
	}
	e, ok := st.get(key)
	switch {
	case ok && e.kind == EncKMS:
		return &SSE{KMS: true, KMSKeyID: e.kmsKeyID}
	case ok && e.kind == EncSSEOBS:
		return &SSE{OBS: true}
	}
	return s
}

func (s *encState) setUpload(id string, ssec bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.uploads) >= maxKnownEnc {
		clear(s.uploads)
	}
	if ssec {
		s.uploads[id] = true
	}
}

// partKey is the SSE-C key the parts of upload id carry.
func (b *Bucket) partKey(id string) []byte {
	st := b.pol()
	if st == nil {
		return nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.uploads[id] {
		return st.key
	}
	return nil
}

func (s *encState) endUpload(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.uploads, id)
}

// learnWrite records the encryption of key after a write that asked for s:
// what the reply echoes, else what was asked (a server that does not echo
// it still stored it).
func (b *Bucket) learnWrite(key string, h http.Header, s *SSE) {
	if b.pol() == nil {
		return
	}
	e := encOf(h)
	if e.kind == EncNone && s != nil {
		switch {
		case len(s.CustomerKey) > 0:
			e = objEnc{kind: EncSSEC}
		case s.KMS:
			e = objEnc{kind: EncKMS, kmsKeyID: s.KMSKeyID}
		case s.OBS:
			e = objEnc{kind: EncSSEOBS}
		}
	}
	b.pol().set(key, e)
}

// forgetKey drops what the policy knows of key (after a delete).
func (b *Bucket) forgetKey(key string) {
	if b.pol() != nil {
		b.pol().forget(key)
	}
}

// knownSSEC reports whether key is known to be SSE-C.
func (b *Bucket) knownSSEC(key string) bool {
	if b.pol() == nil {
		return false
	}
	e, ok := b.pol().get(key)
	return ok && e.kind == EncSSEC
}
