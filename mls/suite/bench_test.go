package suite

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/hpke"
	"testing"

	circlhpke "github.com/cloudflare/circl/hpke"
	circled25519 "github.com/cloudflare/circl/sign/ed25519"
)

// benchEachSuite runs f as a sub-benchmark per suite name.
func benchEachSuite(b *testing.B, f func(b *testing.B, s *Suite)) {
	for _, id := range IDs() {
		s, _ := Lookup(id)
		b.Run(id.String(), func(b *testing.B) { f(b, s) })
	}
}

func BenchmarkHPKESeal(b *testing.B) {
	benchEachSuite(b, func(b *testing.B, s *Suite) {
		_, pub, _ := s.DeriveKeyPair([]byte("bench"))
		pt := make([]byte, 64)
		for b.Loop() {
			if _, _, err := s.EncryptWithLabel(nil, pub, "UpdatePathNode", nil, pt); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkHPKEOpen(b *testing.B) {
	benchEachSuite(b, func(b *testing.B, s *Suite) {
		priv, pub, _ := s.DeriveKeyPair([]byte("bench"))
		enc, ct, _ := s.EncryptWithLabel(nil, pub, "UpdatePathNode", nil, make([]byte, 64))
		for b.Loop() {
			if _, err := s.DecryptWithLabel(priv, "UpdatePathNode", nil, enc, ct); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkDeriveKeyPair(b *testing.B) {
	benchEachSuite(b, func(b *testing.B, s *Suite) {
		ikm := make([]byte, s.HashSize())
		for b.Loop() {
			if _, _, err := s.DeriveKeyPair(ikm); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkSignWithLabel(b *testing.B) {
	benchEachSuite(b, func(b *testing.B, s *Suite) {
		priv, _, _ := s.GenerateSignatureKey(newSeededReader("bench"))
		signer, _ := s.NewSigner(priv)
		content := make([]byte, 256)
		for b.Loop() {
			if _, err := s.SignWithLabel(signer, "FramedContentTBS", content); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkVerifyWithLabel(b *testing.B) {
	benchEachSuite(b, func(b *testing.B, s *Suite) {
		priv, pub, _ := s.GenerateSignatureKey(newSeededReader("bench"))
		signer, _ := s.NewSigner(priv)
		content := make([]byte, 256)
		sig, _ := s.SignWithLabel(signer, "FramedContentTBS", content)
		for b.Loop() {
			if err := s.VerifyWithLabel(pub, "FramedContentTBS", content, sig); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkExpandWithLabel(b *testing.B) {
	benchEachSuite(b, func(b *testing.B, s *Suite) {
		secret := make([]byte, s.HashSize())
		for b.Loop() {
			if _, err := s.ExpandWithLabel(secret, "secret", []byte{0, 0, 0, 1}, s.HashSize()); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// The benchmarks below compare the alternatives for the choice of
// implementation (doc.go): crypto/hpke vs circl's HPKE for the curves both
// support, and crypto/ed25519 vs circl's Ed25519.

func BenchmarkAltHPKESealOpen(b *testing.B) {
	type alt struct {
		name  string
		curve ecdh.Curve
		kem   circlhpke.KEM
		kdf   circlhpke.KDF
		skdf  hpke.KDF
	}
	for _, a := range []alt{
		{"X25519", ecdh.X25519(), circlhpke.KEM_X25519_HKDF_SHA256, circlhpke.KDF_HKDF_SHA256, hpke.HKDFSHA256()},
		{"P256", ecdh.P256(), circlhpke.KEM_P256_HKDF_SHA256, circlhpke.KDF_HKDF_SHA256, hpke.HKDFSHA256()},
		{"P384", ecdh.P384(), circlhpke.KEM_P384_HKDF_SHA384, circlhpke.KDF_HKDF_SHA384, hpke.HKDFSHA384()},
		{"P521", ecdh.P521(), circlhpke.KEM_P521_HKDF_SHA512, circlhpke.KDF_HKDF_SHA512, hpke.HKDFSHA512()},
	} {
		pt := make([]byte, 64)
		stdKEM := hpke.DHKEM(a.curve)
		sk, _ := stdKEM.GenerateKey()
		pk := sk.PublicKey()
		b.Run("std/"+a.name+"/seal", func(b *testing.B) {
			for b.Loop() {
				enc, s, err := hpke.NewSender(pk, a.skdf, hpke.AES128GCM(), nil)
				if err != nil {
					b.Fatal(err)
				}
				s.Seal(nil, pt)
				_ = enc
			}
		})
		enc, sender, _ := hpke.NewSender(pk, a.skdf, hpke.AES128GCM(), nil)
		ct, _ := sender.Seal(nil, pt)
		b.Run("std/"+a.name+"/open", func(b *testing.B) {
			for b.Loop() {
				r, err := hpke.NewRecipient(enc, sk, a.skdf, hpke.AES128GCM(), nil)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := r.Open(nil, ct); err != nil {
					b.Fatal(err)
				}
			}
		})
		cs := circlhpke.NewSuite(a.kem, a.kdf, circlhpke.AEAD_AES128GCM)
		cpk, csk, _ := a.kem.Scheme().GenerateKeyPair()
		b.Run("circl/"+a.name+"/seal", func(b *testing.B) {
			for b.Loop() {
				snd, _ := cs.NewSender(cpk, nil)
				_, sealer, err := snd.Setup(nil)
				if err != nil {
					b.Fatal(err)
				}
				sealer.Seal(pt, nil)
			}
		})
		snd, _ := cs.NewSender(cpk, nil)
		cenc, sealer, _ := snd.Setup(nil)
		cct, _ := sealer.Seal(pt, nil)
		b.Run("circl/"+a.name+"/open", func(b *testing.B) {
			for b.Loop() {
				rcv, _ := cs.NewReceiver(csk, nil)
				o, err := rcv.Setup(cenc)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := o.Open(cct, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAltEd25519(b *testing.B) {
	msg := make([]byte, 256)
	seed := make([]byte, 32)
	spriv := ed25519.NewKeyFromSeed(seed)
	ssig := ed25519.Sign(spriv, msg)
	cpriv := circled25519.NewKeyFromSeed(seed)
	csig := circled25519.Sign(cpriv, msg)
	b.Run("std/sign", func(b *testing.B) {
		for b.Loop() {
			ed25519.Sign(spriv, msg)
		}
	})
	b.Run("std/verify", func(b *testing.B) {
		for b.Loop() {
			ed25519.Verify(spriv.Public().(ed25519.PublicKey), msg, ssig)
		}
	})
	b.Run("circl/sign", func(b *testing.B) {
		for b.Loop() {
			circled25519.Sign(cpriv, msg)
		}
	})
	b.Run("circl/verify", func(b *testing.B) {
		for b.Loop() {
			circled25519.Verify(cpriv.Public().(circled25519.PublicKey), msg, csig)
		}
	})
}
