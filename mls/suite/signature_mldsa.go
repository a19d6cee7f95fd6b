package suite

import (
	"fmt"
	"io"

	"github.com/cloudflare/circl/sign"
	"github.com/cloudflare/circl/sign/mldsa/mldsa44"
	"github.com/cloudflare/circl/sign/mldsa/mldsa65"
	"github.com/cloudflare/circl/sign/mldsa/mldsa87"
)

// mldsaScheme is ML-DSA (FIPS 204) as TLS uses it (draft-ietf-tls-mldsa:
// mldsa44, mldsa65, mldsa87): pure ML-DSA.Sign over the message with an
// empty context, hedged (FIPS 204 §3.4: fresh randomness in every
// signature). It comes from circl: Go 1.26 has ML-DSA only in an internal
// package. A private key is the 32-byte seed ξ (FIPS 204 Algorithm 1), a
// public key and a signature are the FIPS 204 encodings.
type mldsaScheme struct {
	label  string
	scheme sign.Scheme
	// signTo is the parameter set's SignTo (circl has no hedged signing
	// in the generic sign.Scheme).
	signTo func(sk sign.PrivateKey, msg []byte, randomized bool, sig []byte) error
}

var (
	mldsa44Scheme = &mldsaScheme{label: "ML-DSA-44", scheme: mldsa44.Scheme(),
		signTo: func(sk sign.PrivateKey, msg []byte, randomized bool, sig []byte) error {
			return mldsa44.SignTo(sk.(*mldsa44.PrivateKey), msg, nil, randomized, sig)
		}}
	mldsa65Scheme = &mldsaScheme{label: "ML-DSA-65", scheme: mldsa65.Scheme(),
		signTo: func(sk sign.PrivateKey, msg []byte, randomized bool, sig []byte) error {
			return mldsa65.SignTo(sk.(*mldsa65.PrivateKey), msg, nil, randomized, sig)
		}}
	mldsa87Scheme = &mldsaScheme{label: "ML-DSA-87", scheme: mldsa87.Scheme(),
		signTo: func(sk sign.PrivateKey, msg []byte, randomized bool, sig []byte) error {
			return mldsa87.SignTo(sk.(*mldsa87.PrivateKey), msg, nil, randomized, sig)
		}}
)

func (m *mldsaScheme) name() string { return m.label }

func (m *mldsaScheme) seedSize() int { return m.scheme.SeedSize() }

func (m *mldsaScheme) generate(rand io.Reader) (priv, pub []byte, err error) {
	seed, err := readRandom(rand, m.scheme.SeedSize())
	if err != nil {
		return nil, nil, err
	}
	pk, _ := m.scheme.DeriveKey(seed)
	pub, err = pk.MarshalBinary()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s public key: %v", ErrInternal, m.label, err)
	}
	return seed, pub, nil
}

func (m *mldsaScheme) newSigner(priv []byte) (Signer, error) {
	return m.signer(priv, true)
}

// signer returns a Signer for the seed priv; hedged false makes
// deterministic signatures, for known-answer tests only.
func (m *mldsaScheme) signer(priv []byte, hedged bool) (*mldsaSigner, error) {
	// DeriveKey panics on any other length.
	if len(priv) != m.scheme.SeedSize() {
		return nil, fmt.Errorf("%w: %s private key of %d bytes, want %d", ErrInvalidKey, m.label, len(priv), m.scheme.SeedSize())
	}
	pk, sk := m.scheme.DeriveKey(priv)
	pub, err := pk.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("%w: %s public key: %v", ErrInternal, m.label, err)
	}
	return &mldsaSigner{scheme: m, key: sk, pub: pub, hedged: hedged}, nil
}

func (m *mldsaScheme) parsePublicKey(pub []byte) (sign.PublicKey, error) {
	// Every string of the right length encodes a public key (FIPS 204
	// Algorithm 23, pkDecode).
	if len(pub) != m.scheme.PublicKeySize() {
		return nil, fmt.Errorf("%w: %s public key of %d bytes, want %d", ErrInvalidKey, m.label, len(pub), m.scheme.PublicKeySize())
	}
	pk, err := m.scheme.UnmarshalBinaryPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %s public key: %v", ErrInvalidKey, m.label, err)
	}
	return pk, nil
}

func (m *mldsaScheme) checkPublicKey(pub []byte) error {
	_, err := m.parsePublicKey(pub)
	return err
}

func (m *mldsaScheme) verify(pub, message, sig []byte) error {
	pk, err := m.parsePublicKey(pub)
	if err != nil {
		return err
	}
	if len(sig) != m.scheme.SignatureSize() || !m.scheme.Verify(pk, message, sig, nil) {
		return fmt.Errorf("%w: %s", ErrVerify, m.label)
	}
	return nil
}

type mldsaSigner struct {
	scheme *mldsaScheme
	key    sign.PrivateKey
	pub    []byte
	hedged bool
}

func (s *mldsaSigner) Sign(message []byte) ([]byte, error) {
	sig := make([]byte, s.scheme.scheme.SignatureSize())
	if err := s.scheme.signTo(s.key, message, s.hedged, sig); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrRandom, s.scheme.label, err)
	}
	return sig, nil
}

func (s *mldsaSigner) Public() []byte { return append([]byte(nil), s.pub...) }
