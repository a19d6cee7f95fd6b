package suite

import (
	"crypto/rand"
	"fmt"
	"io"

	"github.com/mlsengine/engine/mls/wire"
)

// HPKEPrivateKeySize returns the KEM's Nsk, the size of a serialized HPKE
// private key. Wherever a private key is parsed (HPKEPublicKey, HPKEOpen,
// DecryptWithLabel, HPKEExportReceiver), a P-256, P-384 or P-521 key may
// also be shorter: it is a big-endian scalar, and a shorter encoding is the
// same integer without its leading zero bytes. X25519 and X448 keys, and
// the seeds that are the keys of the post-quantum KEMs, must have exactly
// this size.
func (s *Suite) HPKEPrivateKeySize() int { return s.kem.params().nsk }

// HPKEPublicKeySize returns the KEM's Npk, the size of a serialized HPKE
// public key.
func (s *Suite) HPKEPublicKeySize() int { return s.kem.params().npk }

// HPKEEncapsulatedKeySize returns the KEM's Nenc, the size of a KEM output
// (kem_output in RFC 9420 §5.1.3, §12.1.6). It equals Npk for a DHKEM but
// not for the post-quantum KEMs.
func (s *Suite) HPKEEncapsulatedKeySize() int { return s.kem.params().nenc }

// DeriveKeyPair is the suite's KEM's DeriveKeyPair, for an ikm of any
// length (RFC 9420 derives from KDF.Nh bytes, e.g. path secrets in §7.4
// and external_secret in §8.3): RFC 9180 §7.1.3 for a DHKEM, and the KEM's
// own derivation of draft-ietf-hpke-pq for ML-KEM and the hybrids.
func (s *Suite) DeriveKeyPair(ikm []byte) (priv, pub []byte, err error) {
	return s.kem.deriveKeyPair(ikm)
}

// GenerateKeyPair returns a fresh HPKE key pair: DeriveKeyPair of Nsk bytes
// read from rand (nil means crypto/rand).
func (s *Suite) GenerateKeyPair(rand io.Reader) (priv, pub []byte, err error) {
	ikm, err := readRandom(rand, s.kem.params().nsk)
	if err != nil {
		return nil, nil, err
	}
	return s.DeriveKeyPair(ikm)
}

// HPKEPublicKey returns the public key of an HPKE private key, so that a
// stored private key can be matched with a public key from the tree.
func (s *Suite) HPKEPublicKey(priv []byte) ([]byte, error) {
	return s.kem.publicKey(priv)
}

// CheckHPKEPublicKey returns an error wrapping ErrInvalidKey unless pub is a
// well-formed HPKE public key of the suite (length, and for the NIST curves
// a point on the curve).
func (s *Suite) CheckHPKEPublicKey(pub []byte) error {
	return s.kem.checkPublicKey(pub)
}

// HPKESeal is RFC 9180 §6.1 SealBase: single-shot encryption to pub.
// Errors wrap ErrInvalidKey for a malformed public key.
func (s *Suite) HPKESeal(rand io.Reader, pub, info, aad, plaintext []byte) (kemOutput, ciphertext []byte, err error) {
	return s.kem.seal(rand, pub, info, aad, plaintext)
}

// HPKEOpen is RFC 9180 §6.1 OpenBase. A malformed private key wraps
// ErrInvalidKey; a malformed KEM output or a failed decryption wraps
// ErrDecrypt.
func (s *Suite) HPKEOpen(priv, kemOutput, info, aad, ciphertext []byte) ([]byte, error) {
	return s.kem.open(priv, kemOutput, info, aad, ciphertext)
}

// encryptContext encodes RFC 9420 §5.1.3 EncryptContext.
func encryptContext(label string, context []byte) ([]byte, error) {
	b := wire.NewBuilder(make([]byte, 0, 4+len(labelPrefix)+len(label)+4+len(context)))
	b.AddVector([]byte(labelPrefix + label))
	b.AddVector(context)
	info, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("%w: EncryptContext: %v", ErrInvalidArgument, err)
	}
	return info, nil
}

// EncryptWithLabel is RFC 9420 §5.1.3 EncryptWithLabel:
// SealBase(pub, EncryptContext{"MLS 1.0 "+label, context}, "", plaintext).
func (s *Suite) EncryptWithLabel(rand io.Reader, pub []byte, label string, context, plaintext []byte) (kemOutput, ciphertext []byte, err error) {
	info, err := encryptContext(label, context)
	if err != nil {
		return nil, nil, err
	}
	return s.kem.seal(rand, pub, info, nil, plaintext)
}

// DecryptWithLabel is RFC 9420 §5.1.3 DecryptWithLabel:
// OpenBase(kemOutput, priv, EncryptContext{"MLS 1.0 "+label, context}, "", ciphertext).
func (s *Suite) DecryptWithLabel(priv []byte, label string, context, kemOutput, ciphertext []byte) ([]byte, error) {
	info, err := encryptContext(label, context)
	if err != nil {
		return nil, err
	}
	return s.kem.open(priv, kemOutput, info, nil, ciphertext)
}

// checkExportLength enforces RFC 9180 §5.3: L <= 255*Nh of the HPKE KDF.
func (s *Suite) checkExportLength(length int) error {
	if max := 255 * s.kem.params().nh; length < 0 || length > max {
		return fmt.Errorf("%w: HPKE export length %d out of range [0, %d]", ErrInvalidArgument, length, max)
	}
	return nil
}

// HPKEExportSender runs RFC 9180 SetupBaseS(pub, info) and returns the KEM
// output with Export(exporterContext, length). RFC 9420 §8.3 uses it with
// info "" and exporter context "MLS 1.0 external init secret".
func (s *Suite) HPKEExportSender(rand io.Reader, pub, info, exporterContext []byte, length int) (kemOutput, secret []byte, err error) {
	if err := s.checkExportLength(length); err != nil {
		return nil, nil, err
	}
	return s.kem.exportSender(rand, pub, info, exporterContext, length)
}

// HPKEExportReceiver runs RFC 9180 SetupBaseR(kemOutput, priv, info) and
// returns Export(exporterContext, length). Errors are as for HPKEOpen.
func (s *Suite) HPKEExportReceiver(priv, kemOutput, info, exporterContext []byte, length int) ([]byte, error) {
	if err := s.checkExportLength(length); err != nil {
		return nil, err
	}
	return s.kem.exportReceiver(priv, kemOutput, info, exporterContext, length)
}

// readRandom reads n bytes from r, or from crypto/rand if r is nil.
func readRandom(r io.Reader, n int) ([]byte, error) {
	if r == nil {
		r = rand.Reader
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRandom, err)
	}
	return b, nil
}
