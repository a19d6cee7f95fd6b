package suite

import (
	"crypto"
	"crypto/elliptic"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/mlsengine/engine/mls/wire"
)

// A Signer signs with the suite's signature algorithm (RFC 9420 §5.1.2).
// Sign receives the full message (not a digest; ECDSA signers hash it with
// the scheme's hash) and returns the signature in the encoding of TLS
// (RFC 8446; draft-ietf-tls-mldsa): DER for ECDSA, R||S for EdDSA, the
// FIPS 204 encoding for ML-DSA, which signs the message itself with an
// empty context. Keys may live outside the process (an HSM).
type Signer interface {
	Sign(message []byte) ([]byte, error)
	// Public returns the SignaturePublicKey bytes.
	Public() []byte
}

// signatureScheme is one of the signature algorithms of RFC 9420 §17.1.
type signatureScheme interface {
	name() string
	generate(rand io.Reader) (priv, pub []byte, err error)
	newSigner(priv []byte) (Signer, error)
	// verify returns an error wrapping ErrInvalidKey for a malformed public
	// key and ErrVerify for an invalid signature.
	verify(pub, message, sig []byte) error
	checkPublicKey(pub []byte) error
}

// newSignatureScheme returns the implementation of a signature scheme.
func newSignatureScheme(s SignatureScheme) (signatureScheme, error) {
	switch s {
	case ECDSAWithP256AndSHA256:
		return newECDSAScheme(elliptic.P256(), crypto.SHA256), nil
	case ECDSAWithP384AndSHA384:
		return newECDSAScheme(elliptic.P384(), crypto.SHA384), nil
	case ECDSAWithP521AndSHA512:
		return newECDSAScheme(elliptic.P521(), crypto.SHA512), nil
	case Ed25519:
		return ed25519Scheme{}, nil
	case Ed448:
		return ed448Scheme{}, nil
	case MLDSA44:
		return mldsa44Scheme, nil
	case MLDSA65:
		return mldsa65Scheme, nil
	case MLDSA87:
		return mldsa87Scheme, nil
	}
	return nil, fmt.Errorf("unsupported signature scheme")
}

// GenerateSignatureKey returns a fresh signature key pair, drawing all its
// randomness from rand (nil means crypto/rand).
func (s *Suite) GenerateSignatureKey(rand io.Reader) (priv, pub []byte, err error) {
	return s.sig.generate(rand)
}

// GenerateSigner returns an in-memory Signer of a fresh key pair, drawing
// all its randomness from rand (nil means crypto/rand): the Signer that
// NewSigner returns for the private key of GenerateSignatureKey(rand), made
// without deriving the public key twice where the private key is a seed
// (EdDSA).
func (s *Suite) GenerateSigner(rand io.Reader) (Signer, error) {
	if g, ok := s.sig.(interface{ seedSize() int }); ok {
		seed, err := readRandom(rand, g.seedSize())
		if err != nil {
			return nil, err
		}
		return s.sig.newSigner(seed)
	}
	priv, _, err := s.sig.generate(rand)
	if err != nil {
		return nil, err
	}
	return s.sig.newSigner(priv)
}

// NewSigner returns an in-memory Signer for priv (the private key encoding
// of the test vectors: the RFC 8032 seed, the big-endian ECDSA scalar, or
// the 32-byte ML-DSA seed ξ of FIPS 204 ML-DSA.KeyGen_internal, the "seed"
// form of RFC 9881).
func (s *Suite) NewSigner(priv []byte) (Signer, error) {
	return s.sig.newSigner(priv)
}

// SignaturePublicKey returns the SignaturePublicKey of priv.
func (s *Suite) SignaturePublicKey(priv []byte) ([]byte, error) {
	signer, err := s.sig.newSigner(priv)
	if err != nil {
		return nil, err
	}
	return signer.Public(), nil
}

// CheckSignaturePublicKey returns an error wrapping ErrInvalidKey unless pub
// is a well-formed signature public key of the suite.
func (s *Suite) CheckSignaturePublicKey(pub []byte) error {
	return s.sig.checkPublicKey(pub)
}

// signContent encodes RFC 9420 §5.1.2 SignContent, of the content made
// of parts concatenated.
func signContent(label string, parts ...[]byte) ([]byte, error) {
	return appendSignContent(nil, label, parts...)
}

// appendSignContent appends the encoding of SignContent to buf.
func appendSignContent(buf []byte, label string, parts ...[]byte) ([]byte, error) {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	if need := 4 + len(labelPrefix) + len(label) + 4 + n; cap(buf)-len(buf) < need {
		buf = slices.Grow(buf, need)
	}
	b := wire.NewBuilder(buf)
	b.AddVarint(uint64(len(labelPrefix) + len(label)))
	b.AddFixed([]byte(labelPrefix))
	b.AddFixed([]byte(label))
	b.AddVarint(uint64(n))
	for _, p := range parts {
		b.AddFixed(p)
	}
	msg, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("%w: SignContent: %v", ErrInvalidArgument, err)
	}
	return msg, nil
}

// signContentBuffers recycles the buffers of the SignContents that
// VerifyWithLabelParts encodes, which no signature scheme of this package
// keeps: processing a commit verifies two signatures over kilobytes, and
// allocating them was a fifth of the bytes a public group view allocates
// per commit. Buffers over maxPooledSignContent are left to the GC.
var signContentBuffers = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledSignContent = 64 << 10

// SignWithLabel is RFC 9420 §5.1.2 SignWithLabel:
// Signature.Sign(key, SignContent{"MLS 1.0 "+label, content}).
func (s *Suite) SignWithLabel(signer Signer, label string, content []byte) ([]byte, error) {
	return s.SignWithLabelParts(signer, label, content)
}

// SignWithLabelParts is SignWithLabel of the content made of parts
// concatenated, which it encodes into SignContent at once: a caller whose
// content comes in pieces spares building it.
func (s *Suite) SignWithLabelParts(signer Signer, label string, parts ...[]byte) ([]byte, error) {
	msg, err := signContent(label, parts...)
	if err != nil {
		return nil, err
	}
	sig, err := signer.Sign(msg)
	if err != nil {
		return nil, fmt.Errorf("suite: %s signing: %w", s.sig.name(), err)
	}
	return sig, nil
}

// VerifyWithLabel is RFC 9420 §5.1.2 VerifyWithLabel. It returns nil if
// signature is valid, an error wrapping ErrVerify if it is not (or is
// malformed), and one wrapping ErrInvalidKey if pub is malformed.
func (s *Suite) VerifyWithLabel(pub []byte, label string, content, signature []byte) error {
	return s.VerifyWithLabelParts(pub, label, signature, content)
}

// VerifyWithLabelParts is VerifyWithLabel of the content made of parts
// concatenated, which it encodes into SignContent at once: a caller whose
// content comes in pieces spares building it.
func (s *Suite) VerifyWithLabelParts(pub []byte, label string, signature []byte, parts ...[]byte) error {
	buf := signContentBuffers.Get().(*[]byte)
	msg, err := appendSignContent((*buf)[:0], label, parts...)
	if err == nil {
		err = s.sig.verify(pub, msg, signature)
	}
	if cap(msg) <= maxPooledSignContent {
		*buf = msg[:0]
		signContentBuffers.Put(buf)
	}
	return err
}
