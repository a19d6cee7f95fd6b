package suite

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/hpke"
	"crypto/mlkem"
	"testing"

	circlhpke "github.com/cloudflare/circl/hpke"
	"github.com/cloudflare/circl/kem/mlkem/mlkem1024"
	"github.com/cloudflare/circl/kem/mlkem/mlkem768"
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
// implementation (doc.go): crypto/hpke vs circl's HPKE for the KEMs both
// support, crypto/ed25519 vs circl's Ed25519, and crypto/mlkem vs circl's
// ML-KEM.

func BenchmarkAltHPKESealOpen(b *testing.B) {
	type alt struct {
		name string
		skem hpke.KEM
		kem  circlhpke.KEM
		kdf  circlhpke.KDF
		skdf hpke.KDF
	}
	for _, a := range []alt{
		{"X25519", hpke.DHKEM(ecdh.X25519()), circlhpke.KEM_X25519_HKDF_SHA256, circlhpke.KDF_HKDF_SHA256, hpke.HKDFSHA256()},
		{"P256", hpke.DHKEM(ecdh.P256()), circlhpke.KEM_P256_HKDF_SHA256, circlhpke.KDF_HKDF_SHA256, hpke.HKDFSHA256()},
		{"P384", hpke.DHKEM(ecdh.P384()), circlhpke.KEM_P384_HKDF_SHA384, circlhpke.KDF_HKDF_SHA384, hpke.HKDFSHA384()},
		{"P521", hpke.DHKEM(ecdh.P521()), circlhpke.KEM_P521_HKDF_SHA512, circlhpke.KDF_HKDF_SHA512, hpke.HKDFSHA512()},
		// X-Wing, the one post-quantum KEM both have (BenchmarkAltXWing
		// times parsing its private key).
		{"XWing", hpke.MLKEM768X25519(), circlhpke.KEM_XWING, circlhpke.KDF_HKDF_SHA256, hpke.HKDFSHA256()},
	} {
		pt := make([]byte, 64)
		sk, _ := a.skem.GenerateKey()
		pk := sk.PublicKey()
		b.Run("std/"+a.name+"/seal", func(b *testing.B) {
			for b.Loop() {
				_, s, err := hpke.NewSender(pk, a.skdf, hpke.AES128GCM(), nil)
				if err != nil {
					b.Fatal(err)
				}
				s.Seal(nil, pt)
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

// BenchmarkAltXWing compares parsing a private key of MLKEM768-X25519
// (X-Wing), which an HPKE open of a stored key does first: a 32-byte seed,
// expanded into the ML-KEM and X25519 keys.
func BenchmarkAltXWing(b *testing.B) {
	seed := make([]byte, 32)
	b.Run("std/parse", func(b *testing.B) {
		for b.Loop() {
			if _, err := hpke.MLKEM768X25519().NewPrivateKey(seed); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("circl/parse", func(b *testing.B) {
		for b.Loop() {
			if _, err := circlhpke.KEM_XWING.Scheme().UnmarshalBinaryPrivateKey(seed); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkAltMLKEM compares the bare ML-KEM of crypto/mlkem and of circl
// (encapsulate, decapsulate, key generation from a seed). circl is faster,
// but only crypto/hpke implements HPKE with the ML-KEM KEMs and it takes
// crypto/mlkem's keys only, so circl's would need an HPKE of our own.
func BenchmarkAltMLKEM(b *testing.B) {
	seed := make([]byte, mlkem.SeedSize)
	ss := make([]byte, mlkem.SharedKeySize)
	s768, _ := mlkem.NewDecapsulationKey768(seed)
	_, sct768 := s768.EncapsulationKey().Encapsulate()
	s1024, _ := mlkem.NewDecapsulationKey1024(seed)
	_, sct1024 := s1024.EncapsulationKey().Encapsulate()
	cpk768, csk768 := mlkem768.NewKeyFromSeed(seed)
	cct768 := make([]byte, mlkem768.CiphertextSize)
	cpk1024, csk1024 := mlkem1024.NewKeyFromSeed(seed)
	cct1024 := make([]byte, mlkem1024.CiphertextSize)
	for _, op := range []struct {
		name string
		f    func()
	}{
		{"std/768/encap", func() { s768.EncapsulationKey().Encapsulate() }},
		{"std/768/decap", func() { s768.Decapsulate(sct768) }},
		{"std/768/keygen", func() { d, _ := mlkem.NewDecapsulationKey768(seed); d.EncapsulationKey().Bytes() }},
		{"std/1024/encap", func() { s1024.EncapsulationKey().Encapsulate() }},
		{"std/1024/decap", func() { s1024.Decapsulate(sct1024) }},
		{"circl/768/encap", func() { cpk768.EncapsulateTo(cct768, ss, nil) }},
		{"circl/768/decap", func() { csk768.DecapsulateTo(ss, cct768) }},
		{"circl/768/keygen", func() { mlkem768.NewKeyFromSeed(seed) }},
		{"circl/1024/encap", func() { cpk1024.EncapsulateTo(cct1024, ss, nil) }},
		{"circl/1024/decap", func() { csk1024.DecapsulateTo(ss, cct1024) }},
	} {
		b.Run(op.name, func(b *testing.B) {
			for b.Loop() {
				op.f()
			}
		})
	}
}
