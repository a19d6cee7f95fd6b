package suite

import (
	"crypto/ed25519"
	"fmt"
	"io"

	"github.com/cloudflare/circl/sign/ed448"
)

// ed25519Scheme is Ed25519 (RFC 8032 §5.1) from crypto/ed25519.
type ed25519Scheme struct{}

func (ed25519Scheme) name() string { return "Ed25519" }

func (ed25519Scheme) seedSize() int { return ed25519.SeedSize }

func (e ed25519Scheme) generate(rand io.Reader) (priv, pub []byte, err error) {
	seed, err := readRandom(rand, ed25519.SeedSize)
	if err != nil {
		return nil, nil, err
	}
	return seed, ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey), nil
}

func (ed25519Scheme) newSigner(priv []byte) (Signer, error) {
	if len(priv) != ed25519.SeedSize {
		return nil, fmt.Errorf("%w: Ed25519 private key of %d bytes, want %d", ErrInvalidKey, len(priv), ed25519.SeedSize)
	}
	return ed25519Signer(ed25519.NewKeyFromSeed(priv)), nil
}

func (ed25519Scheme) checkPublicKey(pub []byte) error {
	// Point decoding happens during verification; only the length is
	// checkable without it.
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: Ed25519 public key of %d bytes, want %d", ErrInvalidKey, len(pub), ed25519.PublicKeySize)
	}
	return nil
}

func (e ed25519Scheme) verify(pub, message, sig []byte) error {
	if err := e.checkPublicKey(pub); err != nil {
		return err
	}
	if len(sig) != ed25519.SignatureSize || !ed25519.Verify(pub, message, sig) {
		return fmt.Errorf("%w: Ed25519", ErrVerify)
	}
	return nil
}

type ed25519Signer ed25519.PrivateKey

func (k ed25519Signer) Sign(message []byte) ([]byte, error) {
	return ed25519.Sign(ed25519.PrivateKey(k), message), nil
}

func (k ed25519Signer) Public() []byte {
	return append([]byte(nil), k[ed25519.SeedSize:]...)
}

// ed448Scheme is pure Ed448 (RFC 8032 §5.2) with an empty context, as in
// TLS 1.3 (RFC 8446 §4.2.3), from circl.
type ed448Scheme struct{}

func (ed448Scheme) name() string { return "Ed448" }

func (ed448Scheme) seedSize() int { return ed448.SeedSize }

func (ed448Scheme) generate(rand io.Reader) (priv, pub []byte, err error) {
	seed, err := readRandom(rand, ed448.SeedSize)
	if err != nil {
		return nil, nil, err
	}
	return seed, ed448.NewKeyFromSeed(seed).Public().(ed448.PublicKey), nil
}

func (ed448Scheme) newSigner(priv []byte) (Signer, error) {
	// ed448.NewKeyFromSeed panics on any other length.
	if len(priv) != ed448.SeedSize {
		return nil, fmt.Errorf("%w: Ed448 private key of %d bytes, want %d", ErrInvalidKey, len(priv), ed448.SeedSize)
	}
	return ed448Signer(ed448.NewKeyFromSeed(priv)), nil
}

func (ed448Scheme) checkPublicKey(pub []byte) error {
	if len(pub) != ed448.PublicKeySize {
		return fmt.Errorf("%w: Ed448 public key of %d bytes, want %d", ErrInvalidKey, len(pub), ed448.PublicKeySize)
	}
	return nil
}

func (e ed448Scheme) verify(pub, message, sig []byte) error {
	if err := e.checkPublicKey(pub); err != nil {
		return err
	}
	if len(sig) != ed448.SignatureSize || !ed448.Verify(ed448.PublicKey(pub), message, sig, "") {
		return fmt.Errorf("%w: Ed448", ErrVerify)
	}
	return nil
}

type ed448Signer ed448.PrivateKey

func (k ed448Signer) Sign(message []byte) ([]byte, error) {
	return ed448.Sign(ed448.PrivateKey(k), message, ""), nil
}

func (k ed448Signer) Public() []byte {
	return append([]byte(nil), k[ed448.SeedSize:]...)
}
