package suite_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/testvectors"
	"github.com/mlsengine/engine/testvectors/vectordir"
)

// The fuzz targets cover the functions that take network input: signature
// public keys and signatures (VerifyWithLabel), KEM outputs and ciphertexts
// (DecryptWithLabel, HPKEExportReceiver), HPKE public keys (HPKESeal to a
// received key), and the key parsers. Each input byte 0 selects the suite.

func fuzzSuite(b uint8) *suite.Suite {
	ids := suite.IDs()
	s, _ := suite.Lookup(ids[int(b)%len(ids)])
	return s
}

// cryptoBasicsSeeds returns the vectors' cases (a missing file fails) and
// generated ones for the suites they lack.
func cryptoBasicsSeeds(f *testing.F) []testvectors.CryptoBasics {
	var cases []testvectors.CryptoBasics
	vectordir.Load(f, "crypto-basics.json", &cases)
	for _, id := range suite.IDs() {
		if slices.ContainsFunc(cases, func(c testvectors.CryptoBasics) bool { return c.Suite == uint16(id) }) {
			continue
		}
		s, _ := suite.Lookup(id)
		gen, err := testvectors.Generate("crypto-basics", s, nil)
		if err != nil {
			f.Fatal(err)
		}
		cases = append(cases, *gen[0].(*testvectors.CryptoBasics))
	}
	return cases
}

func suiteIndex(id uint16) uint8 {
	for i, x := range suite.IDs() {
		if uint16(x) == id {
			return uint8(i)
		}
	}
	return 0
}

func FuzzVerifyWithLabel(f *testing.F) {
	for _, c := range cryptoBasicsSeeds(f) {
		v := c.SignWithLabel
		f.Add(suiteIndex(c.Suite), []byte(v.Pub), []byte(v.Content), []byte(v.Signature))
	}
	f.Fuzz(func(t *testing.T, sb uint8, pub, content, sig []byte) {
		s := fuzzSuite(sb)
		err := s.VerifyWithLabel(pub, "fuzz", content, sig)
		if err != nil && !errors.Is(err, suite.ErrVerify) && !errors.Is(err, suite.ErrInvalidKey) {
			t.Fatalf("unexpected error: %v", err)
		}
		if err == nil && s.CheckSignaturePublicKey(pub) != nil {
			t.Fatal("signature verified under a key CheckSignaturePublicKey rejects")
		}
	})
}

// fuzzHPKEKey is a fixed recipient key per suite.
func fuzzHPKEKey(s *suite.Suite) (priv, pub []byte) {
	priv, pub, err := s.DeriveKeyPair([]byte("fuzz recipient"))
	if err != nil {
		panic(err)
	}
	return priv, pub
}

func FuzzDecryptWithLabel(f *testing.F) {
	for _, c := range cryptoBasicsSeeds(f) {
		v := c.EncryptWithLabel
		f.Add(suiteIndex(c.Suite), []byte(v.KEMOutput), []byte(v.Ciphertext))
	}
	for i := range suite.IDs() {
		s := fuzzSuite(uint8(i))
		_, pub := fuzzHPKEKey(s)
		enc, ct, err := s.EncryptWithLabel(nil, pub, "fuzz", nil, []byte("plaintext"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), enc, ct)
	}
	f.Fuzz(func(t *testing.T, sb uint8, enc, ct []byte) {
		s := fuzzSuite(sb)
		priv, _ := fuzzHPKEKey(s)
		pt, err := s.DecryptWithLabel(priv, "fuzz", nil, enc, ct)
		if err != nil && !errors.Is(err, suite.ErrDecrypt) {
			t.Fatalf("DecryptWithLabel: unexpected error: %v", err)
		}
		if err == nil && len(pt) != len(ct)-16 {
			t.Fatalf("plaintext of %d bytes from ciphertext of %d", len(pt), len(ct))
		}
		if _, err := s.HPKEExportReceiver(priv, enc, nil, ct, s.HashSize()); err != nil && !errors.Is(err, suite.ErrDecrypt) {
			t.Fatalf("HPKEExportReceiver: unexpected error: %v", err)
		}
	})
}

func FuzzKeys(f *testing.F) {
	for _, c := range cryptoBasicsSeeds(f) {
		f.Add(suiteIndex(c.Suite), []byte(c.EncryptWithLabel.Pub))
		f.Add(suiteIndex(c.Suite), []byte(c.SignWithLabel.Pub))
	}
	f.Add(uint8(1), make([]byte, 65))
	f.Fuzz(func(t *testing.T, sb uint8, key []byte) {
		s := fuzzSuite(sb)
		// As a received public key.
		if err := s.CheckHPKEPublicKey(key); err == nil {
			if _, _, err := s.HPKESeal(nil, key, nil, nil, []byte("x")); err != nil && !errors.Is(err, suite.ErrInvalidKey) {
				t.Fatalf("HPKESeal to an accepted key: %v", err)
			}
		} else if !errors.Is(err, suite.ErrInvalidKey) {
			t.Fatalf("CheckHPKEPublicKey: %v", err)
		} else if _, _, err := s.HPKESeal(nil, key, nil, nil, nil); !errors.Is(err, suite.ErrInvalidKey) {
			t.Fatalf("HPKESeal to a rejected key: %v", err)
		}
		if err := s.CheckSignaturePublicKey(key); err != nil && !errors.Is(err, suite.ErrInvalidKey) {
			t.Fatalf("CheckSignaturePublicKey: %v", err)
		}
		// As a stored private key.
		if pub, err := s.HPKEPublicKey(key); err == nil {
			if err := s.CheckHPKEPublicKey(pub); err != nil {
				t.Fatalf("HPKEPublicKey gave an invalid key: %v", err)
			}
		} else if !errors.Is(err, suite.ErrInvalidKey) {
			t.Fatalf("HPKEPublicKey: %v", err)
		}
		if signer, err := s.NewSigner(key); err == nil {
			sig, err := s.SignWithLabel(signer, "fuzz", key)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.VerifyWithLabel(signer.Public(), "fuzz", key, sig); err != nil {
				t.Fatalf("own signature: %v", err)
			}
		} else if !errors.Is(err, suite.ErrInvalidKey) {
			t.Fatalf("NewSigner: %v", err)
		}
	})
}
