package suite

import (
	"bytes"
	"errors"
	"testing"
)

func TestAEAD(t *testing.T) {
	forEachSuite(t, func(t *testing.T, s *Suite) {
		key := bytes.Repeat([]byte{1}, s.AEADKeySize())
		nonce := bytes.Repeat([]byte{2}, s.AEADNonceSize())
		aad, pt := []byte("aad"), []byte("plaintext")
		ct, err := s.Seal(key, nonce, aad, pt)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := s.Open(key, nonce, aad, ct); err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("Open: %q, %v", got, err)
		}
		otherKey := bytes.Repeat([]byte{3}, s.AEADKeySize())
		otherNonce := bytes.Repeat([]byte{4}, s.AEADNonceSize())
		tampered := append([]byte(nil), ct...)
		tampered[0] ^= 1
		for name, args := range map[string][4][]byte{
			"key": {otherKey, nonce, aad, ct}, "nonce": {key, otherNonce, aad, ct},
			"aad": {key, nonce, []byte("aae"), ct}, "ciphertext": {key, nonce, aad, tampered},
			"truncated": {key, nonce, aad, ct[:len(ct)-1]}, "empty": {key, nonce, aad, nil},
		} {
			if _, err := s.Open(args[0], args[1], args[2], args[3]); !errors.Is(err, ErrDecrypt) {
				t.Errorf("Open with wrong %s: %v", name, err)
			}
		}
		for _, args := range [][2][]byte{{key[1:], nonce}, {append(key, 0), nonce}, {key, nonce[1:]}, {key, nil}, {nil, nonce}} {
			if _, err := s.Seal(args[0], args[1], aad, pt); !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("Seal with key %d, nonce %d bytes: %v", len(args[0]), len(args[1]), err)
			}
			if _, err := s.Open(args[0], args[1], aad, ct); !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("Open with key %d, nonce %d bytes: %v", len(args[0]), len(args[1]), err)
			}
		}
	})
}
