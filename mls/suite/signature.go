package suite

import (
	"fmt"
	"io"

	"github.com/mlsengine/engine/mls/wire"
)

// A Signer signs with the suite's signature algorithm (RFC 9420 §5.1.2).
// Sign receives the full message (not a digest; ECDSA signers hash it with
// the suite's hash) and returns the signature in the encoding of RFC 8446:
// DER for ECDSA, R||S for EdDSA. Keys may live outside the process (an HSM).
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

// GenerateSignatureKey returns a fresh signature key pair, drawing all its
// randomness from rand (nil means crypto/rand).
func (s *Suite) GenerateSignatureKey(rand io.Reader) (priv, pub []byte, err error) {
	return s.sig.generate(rand)
}

// NewSigner returns an in-memory Signer for priv (the private key encoding
// of the test vectors: the RFC 8032 seed, or the big-endian ECDSA scalar).
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

// signContent encodes RFC 9420 §5.1.2 SignContent.
func signContent(label string, content []byte) ([]byte, error) {
	b := wire.NewBuilder(make([]byte, 0, 4+len(labelPrefix)+len(label)+4+len(content)))
	b.AddVector([]byte(labelPrefix + label))
	b.AddVector(content)
	msg, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("%w: SignContent: %v", ErrInvalidArgument, err)
	}
	return msg, nil
}

// SignWithLabel is RFC 9420 §5.1.2 SignWithLabel:
// Signature.Sign(key, SignContent{"MLS 1.0 "+label, content}).
func (s *Suite) SignWithLabel(signer Signer, label string, content []byte) ([]byte, error) {
	msg, err := signContent(label, content)
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
	msg, err := signContent(label, content)
	if err != nil {
		return err
	}
	return s.sig.verify(pub, msg, signature)
}
