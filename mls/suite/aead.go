package suite

import (
	"crypto/aes"
	"crypto/cipher"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"
)

// aeadAlg is one of the AEADs of RFC 9420 §17.1 (RFC 5116 interface).
type aeadAlg struct {
	name      string
	keySize   int // AEAD.Nk
	nonceSize int // AEAD.Nn
	new       func(key []byte) (cipher.AEAD, error)
}

var (
	aes128GCM        = &aeadAlg{name: "AES-128-GCM", keySize: 16, nonceSize: 12, new: newGCM}
	aes256GCM        = &aeadAlg{name: "AES-256-GCM", keySize: 32, nonceSize: 12, new: newGCM}
	chacha20Poly1305 = &aeadAlg{name: "ChaCha20-Poly1305", keySize: chacha20poly1305.KeySize,
		nonceSize: chacha20poly1305.NonceSize, new: chacha20poly1305.New}
)

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// AEADKeySize returns AEAD.Nk.
func (s *Suite) AEADKeySize() int { return s.aead.keySize }

// AEADNonceSize returns AEAD.Nn.
func (s *Suite) AEADNonceSize() int { return s.aead.nonceSize }

// newAEAD checks the key and nonce sizes (cipher.AEAD panics on a wrong
// nonce size) and returns the keyed AEAD.
func (s *Suite) newAEAD(key, nonce []byte) (cipher.AEAD, error) {
	if len(key) != s.aead.keySize {
		return nil, fmt.Errorf("%w: %s key of %d bytes, want %d", ErrInvalidArgument, s.aead.name, len(key), s.aead.keySize)
	}
	if len(nonce) != s.aead.nonceSize {
		return nil, fmt.Errorf("%w: %s nonce of %d bytes, want %d", ErrInvalidArgument, s.aead.name, len(nonce), s.aead.nonceSize)
	}
	a, err := s.aead.new(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInternal, s.aead.name, err)
	}
	return a, nil
}

// Seal encrypts and authenticates plaintext and authenticates aad. The
// result is ciphertext||tag in a new slice.
func (s *Suite) Seal(key, nonce, aad, plaintext []byte) ([]byte, error) {
	a, err := s.newAEAD(key, nonce)
	if err != nil {
		return nil, err
	}
	return a.Seal(nil, nonce, plaintext, aad), nil
}

// Open authenticates and decrypts ciphertext (ciphertext||tag). Any
// authentication failure, including a ciphertext shorter than the tag, wraps
// ErrDecrypt.
func (s *Suite) Open(key, nonce, aad, ciphertext []byte) ([]byte, error) {
	a, err := s.newAEAD(key, nonce)
	if err != nil {
		return nil, err
	}
	pt, err := a.Open(nil, nonce, ciphertext, aad)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrDecrypt, s.aead.name)
	}
	return pt, nil
}
