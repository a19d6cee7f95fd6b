package suite

import (
	"bytes"
	"crypto/mlkem"
	"errors"
	"testing"
)

func TestDeterministicGeneration(t *testing.T) {
	forEachSuite(t, func(t *testing.T, s *Suite) {
		p1, q1, err1 := s.GenerateKeyPair(newSeededReader("hpke"))
		p2, q2, err2 := s.GenerateKeyPair(newSeededReader("hpke"))
		if err1 != nil || err2 != nil || !bytes.Equal(p1, p2) || !bytes.Equal(q1, q2) {
			t.Errorf("GenerateKeyPair not deterministic in rand: %v %v", err1, err2)
		}
		if q, _ := s.HPKEPublicKey(p1); !bytes.Equal(q, q1) {
			t.Error("GenerateKeyPair: public key mismatch")
		}
		s1, v1, err1 := s.GenerateSignatureKey(newSeededReader("sig"))
		s2, v2, err2 := s.GenerateSignatureKey(newSeededReader("sig"))
		if err1 != nil || err2 != nil || !bytes.Equal(s1, s2) || !bytes.Equal(v1, v2) {
			t.Errorf("GenerateSignatureKey not deterministic in rand: %v %v", err1, err2)
		}
		if _, _, err := s.GenerateKeyPair(bytes.NewReader(nil)); !errors.Is(err, ErrRandom) {
			t.Errorf("GenerateKeyPair with an empty reader: %v", err)
		}
		if _, _, err := s.GenerateSignatureKey(bytes.NewReader(nil)); !errors.Is(err, ErrRandom) {
			t.Errorf("GenerateSignatureKey with an empty reader: %v", err)
		}
	})
}

// TestMalformedKeys feeds short, long and garbage keys to every function
// taking a key: each must return the documented error, never panic.
func TestMalformedKeys(t *testing.T) {
	forEachSuite(t, func(t *testing.T, s *Suite) {
		goodPriv, goodPub, _ := s.GenerateKeyPair(nil)
		enc, ct, _ := s.HPKESeal(nil, goodPub, nil, nil, []byte("x"))
		sigPriv, sigPub, _ := s.GenerateSignatureKey(nil)
		signer, _ := s.NewSigner(sigPriv)
		sig, _ := s.SignWithLabel(signer, "l", nil)
		bad := [][]byte{nil, {}, {0}, goodPub[1:], append(goodPub, 0), bytes.Repeat([]byte{0xff}, len(goodPub)),
			make([]byte, len(goodPub)), sigPub[1:], append(sigPub, 0), bytes.Repeat([]byte{0xff}, len(sigPub)), make([]byte, 200)}
		for _, k := range bad {
			if _, _, err := s.HPKESeal(nil, k, nil, nil, nil); err != nil && !errors.Is(err, ErrInvalidKey) {
				t.Errorf("HPKESeal pub %x: %v", k, err)
			}
			if _, _, err := s.HPKEExportSender(nil, k, nil, nil, 8); err != nil && !errors.Is(err, ErrInvalidKey) {
				t.Errorf("HPKEExportSender pub %x: %v", k, err)
			}
			if err := s.CheckHPKEPublicKey(k); err != nil && !errors.Is(err, ErrInvalidKey) {
				t.Errorf("CheckHPKEPublicKey %x: %v", k, err)
			}
			if _, err := s.HPKEPublicKey(k); err != nil && !errors.Is(err, ErrInvalidKey) {
				t.Errorf("HPKEPublicKey %x: %v", k, err)
			}
			if _, err := s.HPKEOpen(k, enc, nil, nil, ct); err == nil {
				t.Errorf("HPKEOpen with private key %x succeeded", k)
			} else if !errors.Is(err, ErrInvalidKey) && !errors.Is(err, ErrDecrypt) {
				t.Errorf("HPKEOpen priv %x: %v", k, err)
			}
			if _, err := s.HPKEOpen(goodPriv, k, nil, nil, ct); !errors.Is(err, ErrDecrypt) {
				t.Errorf("HPKEOpen enc %x: %v", k, err)
			}
			if _, err := s.NewSigner(k); err != nil && !errors.Is(err, ErrInvalidKey) {
				t.Errorf("NewSigner %x: %v", k, err)
			}
			if _, err := s.SignaturePublicKey(k); err != nil && !errors.Is(err, ErrInvalidKey) {
				t.Errorf("SignaturePublicKey %x: %v", k, err)
			}
			if err := s.VerifyWithLabel(k, "l", nil, sig); err == nil {
				t.Errorf("VerifyWithLabel with public key %x succeeded", k)
			} else if !errors.Is(err, ErrInvalidKey) && !errors.Is(err, ErrVerify) {
				t.Errorf("VerifyWithLabel pub %x: %v", k, err)
			}
			if err := s.VerifyWithLabel(sigPub, "l", nil, k); !errors.Is(err, ErrVerify) {
				t.Errorf("VerifyWithLabel sig %x: %v", k, err)
			}
		}
		// Wrong lengths are always rejected up front.
		for _, k := range [][]byte{nil, goodPub[1:], append(goodPub, 0)} {
			if err := s.CheckHPKEPublicKey(k); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("CheckHPKEPublicKey of %d bytes: %v", len(k), err)
			}
		}
		shortPriv := goodPriv[1:]
		if nistKEM(s) {
			// A NIST-curve KEM private key is an integer too: one byte
			// shorter, it is another valid scalar (see
			// TestShortHPKEPrivateKey).
			shortPriv = nil
		}
		for _, k := range [][]byte{nil, shortPriv, append(goodPriv, 0)} {
			if _, err := s.HPKEPublicKey(k); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("HPKEPublicKey of %d bytes: %v", len(k), err)
			}
		}
		tooShort := sigPriv[1:]
		if isECDSA(s) {
			// An ECDSA scalar with its leading zero bytes dropped is the
			// same integer: accepted, and it must give the same key.
			shortKey := sigPriv[1:]
			full, _ := s.SignaturePublicKey(append([]byte{0}, shortKey...))
			if signer, err := s.NewSigner(shortKey); err != nil || !bytes.Equal(signer.Public(), full) {
				t.Errorf("NewSigner of a scalar without its leading zero: %v", err)
			}
			tooShort = nil
		}
		for _, k := range [][]byte{nil, tooShort, append(sigPriv, 0)} {
			if _, err := s.NewSigner(k); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("NewSigner of %d bytes: %v", len(k), err)
			}
		}
	})
}

// TestInvalidPoints checks public keys that have the right length but are
// not usable: off-curve NIST points and low-order X25519/X448 points
// (RFC 9180 §7.1.4), alone or in a hybrid KEM's key, ML-KEM encapsulation
// keys failing the modulus check of FIPS 203 §7.2, and NIST private keys
// out of range.
func TestInvalidPoints(t *testing.T) {
	forEachSuite(t, func(t *testing.T, s *Suite) {
		npk := s.HPKEPublicKeySize()
		var bad [][]byte
		if ek := mlkemPublicKeySize(s); ek > 0 {
			// An ML-KEM key with coefficients 0xfff >= q, then a valid
			// ML-KEM key with an invalid curve point (a hybrid's).
			_, good, _ := s.GenerateKeyPair(nil)
			overQ := bytes.Clone(good)
			for i := range overQ[:ek-32] {
				overQ[i] = 0xff
			}
			bad = append(bad, overQ)
			if ek < npk {
				lowOrder := bytes.Clone(good)
				clear(lowOrder[ek:]) // u = 0 for X25519; not a point of P-256 or P-384
				bad = append(bad, lowOrder)
			}
		} else if s.kem.params().bitmask != 0 {
			offCurve := make([]byte, npk)
			offCurve[0] = 4
			offCurve[npk-1] = 1
			compressed := make([]byte, npk)
			compressed[0] = 2
			bad = append(bad, offCurve, compressed)
			order := make([]byte, s.HPKEPrivateKeySize())
			for i := range order {
				order[i] = 0xff
			}
			if _, err := s.HPKEPublicKey(order); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("private key above the order: %v", err)
			}
			if _, err := s.HPKEPublicKey(make([]byte, s.HPKEPrivateKeySize())); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("zero private key: %v", err)
			}
		} else {
			zero := make([]byte, npk) // u = 0 is of low order on both curves
			one := make([]byte, npk)
			one[0] = 1
			bad = append(bad, zero, one)
		}
		priv, _, _ := s.GenerateKeyPair(nil)
		for _, pub := range bad {
			if _, _, err := s.HPKESeal(nil, pub, nil, nil, nil); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("HPKESeal to %x: %v", pub, err)
			}
			if _, err := s.HPKEOpen(priv, pub, nil, nil, make([]byte, 32)); !errors.Is(err, ErrDecrypt) {
				t.Errorf("HPKEOpen with enc %x: %v", pub, err)
			}
		}
		if !isECDSA(s) {
			return // any EdDSA or ML-DSA key of the right length is checked when used
		}
		// Signature keys: off-curve ECDSA point.
		_, sigPub, _ := s.GenerateSignatureKey(nil)
		off := append([]byte(nil), sigPub...)
		off[len(off)-1] ^= 1
		if err := s.CheckSignaturePublicKey(off); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("off-curve ECDSA key: %v", err)
		}
	})
}

// isECDSA reports whether the suite signs with ECDSA, whose private keys
// are integers (a shorter encoding is the same key).
func isECDSA(s *Suite) bool {
	switch s.Composition().Signature {
	case ECDSAWithP256AndSHA256, ECDSAWithP384AndSHA384, ECDSAWithP521AndSHA512:
		return true
	}
	return false
}

// nistKEM reports whether the suite's KEM is a DHKEM over a NIST curve,
// whose private keys are integers.
func nistKEM(s *Suite) bool { return s.kem.params().bitmask != 0 }

// mlkemPublicKeySize returns the size of the ML-KEM encapsulation key that
// starts the suite's HPKE public key, or 0 if the KEM has no ML-KEM.
func mlkemPublicKeySize(s *Suite) int {
	switch s.Composition().KEM {
	case MLKEM768, MLKEM768P256, MLKEM768X25519:
		return mlkem.EncapsulationKeySize768
	case MLKEM1024, MLKEM1024P384:
		return mlkem.EncapsulationKeySize1024
	}
	return 0
}
