package suite

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"io"
)

// ecdsaScheme is ECDSA over a NIST curve with the suite's hash and DER
// signatures (RFC 8446 §4.2.3: ecdsa_secp256r1_sha256, ecdsa_secp384r1_sha384,
// ecdsa_secp521r1_sha512), from crypto/ecdsa.
type ecdsaScheme struct {
	label     string
	curve     elliptic.Curve
	hash      crypto.Hash
	scalarLen int // private key: big-endian scalar (FORMAT.md)
	pointLen  int // public key: uncompressed point (RFC 9420 §5.1.1)
	topMask   byte
}

func newECDSAScheme(curve elliptic.Curve, h crypto.Hash) *ecdsaScheme {
	bits := curve.Params().BitSize
	n := (bits + 7) / 8
	mask := byte(0xff)
	if r := bits % 8; r != 0 {
		mask = byte(1<<r - 1)
	}
	return &ecdsaScheme{label: "ECDSA " + curve.Params().Name, curve: curve, hash: h,
		scalarLen: n, pointLen: 1 + 2*n, topMask: mask}
}

func (e *ecdsaScheme) name() string { return e.label }

// generate samples the scalar from rand itself (crypto/ecdsa.GenerateKey
// ignores its reader since Go 1.26), by rejection: uniform in [1, n-1].
func (e *ecdsaScheme) generate(rnd io.Reader) (priv, pub []byte, err error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	for range 256 {
		d, err := readRandom(rnd, e.scalarLen)
		if err != nil {
			return nil, nil, err
		}
		d[0] &= e.topMask
		k, err := ecdsa.ParseRawPrivateKey(e.curve, d)
		if err != nil {
			continue // zero or not below the order
		}
		pub, err := k.PublicKey.Bytes()
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %s public key: %v", ErrInternal, e.label, err)
		}
		return d, pub, nil
	}
	return nil, nil, fmt.Errorf("%w: %s: no valid scalar in 256 tries", ErrRandom, e.label)
}

// newSigner parses an ECDSA private key: a big-endian scalar of the curve's
// size. A shorter encoding (leading zero bytes dropped, as some generators
// do: a P-521 key of 65 bytes in the official message-protection vectors)
// is the same integer and is accepted, left-padded.
func (e *ecdsaScheme) newSigner(priv []byte) (Signer, error) {
	priv, err := scalarBytes(e.label, priv, e.scalarLen)
	if err != nil {
		return nil, err
	}
	k, err := ecdsa.ParseRawPrivateKey(e.curve, priv)
	if err != nil {
		return nil, fmt.Errorf("%w: %s private key: %v", ErrInvalidKey, e.label, err)
	}
	pub, err := k.PublicKey.Bytes()
	if err != nil {
		return nil, fmt.Errorf("%w: %s public key: %v", ErrInternal, e.label, err)
	}
	return &ecdsaSigner{key: k, hash: e.hash, pub: pub}, nil
}

func (e *ecdsaScheme) parsePublicKey(pub []byte) (*ecdsa.PublicKey, error) {
	if len(pub) != e.pointLen {
		return nil, fmt.Errorf("%w: %s public key of %d bytes, want %d", ErrInvalidKey, e.label, len(pub), e.pointLen)
	}
	k, err := ecdsa.ParseUncompressedPublicKey(e.curve, pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %s public key: %v", ErrInvalidKey, e.label, err)
	}
	return k, nil
}

func (e *ecdsaScheme) checkPublicKey(pub []byte) error {
	_, err := e.parsePublicKey(pub)
	return err
}

func (e *ecdsaScheme) verify(pub, message, sig []byte) error {
	k, err := e.parsePublicKey(pub)
	if err != nil {
		return err
	}
	h := e.hash.New()
	h.Write(message)
	// VerifyASN1 rejects non-DER encodings and out-of-range r, s.
	if !ecdsa.VerifyASN1(k, h.Sum(nil), sig) {
		return fmt.Errorf("%w: %s", ErrVerify, e.label)
	}
	return nil
}

type ecdsaSigner struct {
	key  *ecdsa.PrivateKey
	hash crypto.Hash
	pub  []byte
}

func (s *ecdsaSigner) Sign(message []byte) ([]byte, error) {
	h := s.hash.New()
	h.Write(message)
	// The reader is ignored since Go 1.26 (a secure source is always used).
	return ecdsa.SignASN1(rand.Reader, s.key, h.Sum(nil))
}

func (s *ecdsaSigner) Public() []byte { return append([]byte(nil), s.pub...) }
