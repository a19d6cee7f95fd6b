package suite

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/hpke"
	"errors"
	"testing"

	circlhpke "github.com/cloudflare/circl/hpke"
)

// stdHPKEKEM returns the crypto/hpke KEM of the suite, or nil for X448.
func stdHPKEKEM(s *Suite) hpke.KEM {
	k, err := hpke.NewKEM(uint16(s.Composition().KEM))
	if err != nil {
		return nil
	}
	return k
}

// TestDeriveKeyPairCrossCheck compares DeriveKeyPair with crypto/hpke's for
// ikm of any length (the DHKEMs', and the post-quantum KEMs' own), and with
// circl's for X448 at the only length circl accepts (Nsk).
func TestDeriveKeyPairCrossCheck(t *testing.T) {
	forEachSuite(t, func(t *testing.T, s *Suite) {
		for _, n := range []int{0, 1, 16, 32, 48, 56, 64, 66, 200} {
			ikm := bytes.Repeat([]byte{byte(n)}, n)
			priv, pub, err := s.DeriveKeyPair(ikm)
			if err != nil {
				t.Fatalf("DeriveKeyPair(%d bytes): %v", n, err)
			}
			if len(priv) != s.HPKEPrivateKeySize() || len(pub) != s.HPKEPublicKeySize() {
				t.Fatalf("DeriveKeyPair: keys of %d and %d bytes", len(priv), len(pub))
			}
			if k := stdHPKEKEM(s); k != nil {
				sk, err := k.DeriveKeyPair(ikm)
				if err != nil {
					t.Fatal(err)
				}
				skb, _ := sk.Bytes()
				want := priv
				if k.ID() == 0x0020 {
					// crypto/hpke serializes X25519 keys clamped (RFC 9180
					// §7.1.2); the MLS vectors, and DeriveKeyPair, do not.
					want = append([]byte(nil), priv...)
					want[0] &= 248
					want[31] = want[31]&127 | 64
				}
				if !bytes.Equal(want, skb) || !bytes.Equal(pub, sk.PublicKey().Bytes()) {
					t.Errorf("ikm %d bytes: differs from crypto/hpke", n)
				}
			} else if n == s.HPKEPrivateKeySize() {
				cpk, csk := circlhpke.KEM_X448_HKDF_SHA512.Scheme().DeriveKeyPair(ikm)
				cpkb, _ := cpk.MarshalBinary()
				cskb, _ := csk.MarshalBinary()
				if !bytes.Equal(priv, cskb) || !bytes.Equal(pub, cpkb) {
					t.Errorf("ikm %d bytes: differs from circl", n)
				}
			}
			priv2, pub2, _ := s.DeriveKeyPair(ikm)
			if !bytes.Equal(priv, priv2) || !bytes.Equal(pub, pub2) {
				t.Error("DeriveKeyPair is not deterministic")
			}
		}
	})
}

// TestDeriveKeyPairRejection forces the NIST-curve rejection loop: the
// P-256 candidate for counter 0 is replaced by an out-of-range scalar.
func TestDeriveKeyPairRejection(t *testing.T) {
	s, _ := Lookup(MLS_128_DHKEMP256_AES128GCM_SHA256_P256)
	k := s.kem.(*stdKEM)
	calls := 0
	rejectFirst := &rejectingKEM{kemScheme: k, calls: &calls}
	priv, pub, err := deriveKeyPair(rejectFirst, []byte("ikm"))
	if err != nil || calls != 2 {
		t.Fatalf("deriveKeyPair: %v after %d candidates", err, calls)
	}
	// The second candidate (counter 1) is what crypto/hpke would not pick.
	p := k.params()
	prk, _ := p.labeledExtract(nil, "dkp_prk", []byte("ikm"))
	want, _ := p.labeledExpand(prk, "candidate", []byte{1}, p.nsk)
	if !bytes.Equal(priv, want) {
		t.Errorf("priv %x, want candidate 1 %x", priv, want)
	}
	if got, _ := s.HPKEPublicKey(priv); !bytes.Equal(got, pub) {
		t.Error("public key mismatch")
	}
	always := &rejectingKEM{kemScheme: k, calls: new(int), all: true}
	if _, _, err := deriveKeyPair(always, []byte("ikm")); !errors.Is(err, ErrInternal) || *always.calls != 256 {
		t.Errorf("never-valid candidates: %v after %d", err, *always.calls)
	}
}

type rejectingKEM struct {
	kemScheme
	calls *int
	all   bool
}

func (r *rejectingKEM) publicKey(priv []byte) ([]byte, error) {
	*r.calls++
	if r.all || *r.calls == 1 {
		return nil, ErrInvalidKey
	}
	return r.kemScheme.publicKey(priv)
}

func TestHPKE(t *testing.T) {
	forEachSuite(t, func(t *testing.T, s *Suite) {
		priv, pub, err := s.GenerateKeyPair(nil)
		if err != nil {
			t.Fatal(err)
		}
		info, aad, pt := []byte("info"), []byte("aad"), []byte("hello")
		enc, ct, err := s.HPKESeal(nil, pub, info, aad, pt)
		if err != nil {
			t.Fatal(err)
		}
		if len(enc) != s.HPKEEncapsulatedKeySize() {
			t.Errorf("KEM output of %d bytes", len(enc))
		}
		if got, err := s.HPKEOpen(priv, enc, info, aad, ct); err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("HPKEOpen: %q, %v", got, err)
		}
		otherPriv, _, _ := s.GenerateKeyPair(nil)
		badCT := append([]byte(nil), ct...)
		badCT[len(badCT)-1] ^= 1
		badEnc := append([]byte(nil), enc...)
		badEnc[len(badEnc)/2] ^= 1
		for name, a := range map[string][5][]byte{
			"private key": {otherPriv, enc, info, aad, ct},
			"info":        {priv, enc, []byte("infp"), aad, ct},
			"aad":         {priv, enc, info, nil, ct},
			"ciphertext":  {priv, enc, info, aad, badCT},
			"kem output":  {priv, badEnc, info, aad, ct},
			"short enc":   {priv, enc[1:], info, aad, ct},
			"empty enc":   {priv, nil, info, aad, ct},
			"short ct":    {priv, enc, info, aad, ct[:3]},
		} {
			if _, err := s.HPKEOpen(a[0], a[1], a[2], a[3], a[4]); !errors.Is(err, ErrDecrypt) {
				t.Errorf("HPKEOpen with wrong %s: %v", name, err)
			}
		}
		// Labeled encryption binds label and context (§5.1.3).
		enc, ct, err = s.EncryptWithLabel(nil, pub, "UpdatePathNode", []byte("ctx"), pt)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := s.DecryptWithLabel(priv, "UpdatePathNode", []byte("ctx"), enc, ct); err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("DecryptWithLabel: %q, %v", got, err)
		}
		if _, err := s.DecryptWithLabel(priv, "Welcome", []byte("ctx"), enc, ct); !errors.Is(err, ErrDecrypt) {
			t.Errorf("wrong label: %v", err)
		}
		if _, err := s.DecryptWithLabel(priv, "UpdatePathNode", []byte("ctw"), enc, ct); !errors.Is(err, ErrDecrypt) {
			t.Errorf("wrong context: %v", err)
		}
		// It is SealBase with info = EncryptContext and empty aad.
		info2, _ := encryptContext("UpdatePathNode", []byte("ctx"))
		if got, err := s.HPKEOpen(priv, enc, info2, nil, ct); err != nil || !bytes.Equal(got, pt) {
			t.Errorf("EncryptWithLabel is not SealBase(EncryptContext): %v", err)
		}
	})
}

func TestHPKEExport(t *testing.T) {
	forEachSuite(t, func(t *testing.T, s *Suite) {
		priv, pub, _ := s.DeriveKeyPair([]byte("external"))
		ctx := []byte("MLS 1.0 external init secret")
		enc, secret, err := s.HPKEExportSender(nil, pub, nil, ctx, s.HashSize())
		if err != nil || len(secret) != s.HashSize() {
			t.Fatalf("HPKEExportSender: %x, %v", secret, err)
		}
		got, err := s.HPKEExportReceiver(priv, enc, nil, ctx, s.HashSize())
		if err != nil || !bytes.Equal(got, secret) {
			t.Fatalf("HPKEExportReceiver: %x, %v", got, err)
		}
		if other, _ := s.HPKEExportReceiver(priv, enc, nil, []byte("other"), s.HashSize()); bytes.Equal(other, secret) {
			t.Error("exporter context ignored")
		}
		otherPriv, _, _ := s.DeriveKeyPair([]byte("other"))
		if other, err := s.HPKEExportReceiver(otherPriv, enc, nil, ctx, s.HashSize()); err == nil && bytes.Equal(other, secret) {
			t.Error("wrong private key gives the same secret")
		}
		for _, n := range []int{-1, 255*s.HashSize() + 1} {
			if _, _, err := s.HPKEExportSender(nil, pub, nil, ctx, n); !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("sender length %d: %v", n, err)
			}
			if _, err := s.HPKEExportReceiver(priv, enc, nil, ctx, n); !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("receiver length %d: %v", n, err)
			}
		}
		if out, err := s.HPKEExportReceiver(priv, enc, nil, ctx, 255*s.HashSize()); err != nil || len(out) != 255*s.HashSize() {
			t.Errorf("export at the limit: %d, %v", len(out), err)
		}
		if _, err := s.HPKEExportReceiver(priv, enc[1:], nil, ctx, 32); !errors.Is(err, ErrDecrypt) {
			t.Errorf("short KEM output: %v", err)
		}
	})
}

// TestKEMImplementations checks which implementation serves each suite:
// circl for X448, and for X25519 where circlX25519Faster; crypto/hpke for
// the rest.
func TestKEMImplementations(t *testing.T) {
	forEachSuite(t, func(t *testing.T, s *Suite) {
		id := s.Composition().KEM
		circl := id == DHKEMX448 || (id == DHKEMX25519 && circlX25519Faster)
		switch k := s.kem.(type) {
		case *stdKEM:
			if circl || k.kem.ID() != uint16(id) {
				t.Errorf("crypto/hpke with KEM %#x", k.kem.ID())
			}
		case *circlKEM:
			if !circl {
				t.Errorf("circl %s", k.name)
			}
		default:
			t.Errorf("KEM %T", s.kem)
		}
		if p := s.kem.params(); p.id != uint16(id) || p.name != id.String() || p.nh != s.HashSize() {
			t.Errorf("parameters %+v", p)
		}
	})
}

// TestX25519Implementations checks that crypto/hpke and circl agree for
// DHKEM(X25519), whichever one this CPU uses: same keys, and each opens and
// exports what the other sealed.
func TestX25519Implementations(t *testing.T) {
	impls := []kemScheme{
		newStdDHKEM(ecdh.X25519(), crypto.SHA256, hpke.HKDFSHA256(), hpke.ChaCha20Poly1305()),
		newCirclKEM(DHKEMX25519, HKDFSHA256, ChaCha20Poly1305),
	}
	a, b := impls[0].params(), impls[1].params()
	if a.name != b.name || a.id != b.id || a.nh != b.nh || a.nsk != b.nsk || a.npk != b.npk || a.nenc != b.nenc || a.bitmask != b.bitmask {
		t.Fatalf("parameters differ: %+v %+v", a, b)
	}
	for i := range 20 {
		ikm := bytes.Repeat([]byte{byte(i)}, i*3)
		p0, q0, err0 := deriveKeyPair(impls[0], ikm)
		p1, q1, err1 := deriveKeyPair(impls[1], ikm)
		if err0 != nil || err1 != nil || !bytes.Equal(p0, p1) || !bytes.Equal(q0, q1) {
			t.Fatalf("DeriveKeyPair differs: %v %v", err0, err1)
		}
		for a, from := range impls {
			to := impls[1-a]
			enc, ct, err := from.seal(nil, q0, []byte("info"), []byte("aad"), ikm)
			if err != nil {
				t.Fatal(err)
			}
			if pt, err := to.open(p0, enc, []byte("info"), []byte("aad"), ct); err != nil || !bytes.Equal(pt, ikm) {
				t.Fatalf("impl %d -> %d: %v", a, 1-a, err)
			}
			enc, secret, err := from.exportSender(nil, q0, nil, []byte("ctx"), 32)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := to.exportReceiver(p0, enc, nil, []byte("ctx"), 32); err != nil || !bytes.Equal(got, secret) {
				t.Fatalf("export impl %d -> %d: %v", a, 1-a, err)
			}
		}
	}
	for _, k := range impls {
		for _, low := range [][]byte{make([]byte, 32), append([]byte{1}, make([]byte, 31)...)} {
			if _, _, err := k.seal(nil, low, nil, nil, nil); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("%T: seal to low-order point: %v", k, err)
			}
		}
	}
}

// TestShortHPKEPrivateKey checks that a P-256, P-384 or P-521 private key
// whose leading zero bytes were dropped is accepted wherever a private key
// is parsed, as the same integer, while X25519 and X448 keys and the seeds
// of the post-quantum KEMs, fixed-length byte strings, must have exactly
// Nsk bytes.
func TestShortHPKEPrivateKey(t *testing.T) {
	forEachSuite(t, func(t *testing.T, s *Suite) {
		full, _, err := s.DeriveKeyPair([]byte("short key"))
		if err != nil {
			t.Fatal(err)
		}
		// Two leading zero bytes: still a valid scalar (non-zero, below the
		// order), and an X25519/X448 key too.
		full[0], full[1] = 0, 0
		pub, err := s.HPKEPublicKey(full)
		if err != nil {
			t.Fatal(err)
		}
		ctx := []byte("context")
		kemOutput, ct, err := s.EncryptWithLabel(nil, pub, "label", ctx, []byte("secret"))
		if err != nil {
			t.Fatal(err)
		}
		enc, sealed, err := s.HPKESeal(nil, pub, []byte("info"), []byte("aad"), []byte("sealed"))
		if err != nil {
			t.Fatal(err)
		}
		expEnc, exported, err := s.HPKEExportSender(nil, pub, []byte("info"), ctx, 32)
		if err != nil {
			t.Fatal(err)
		}
		want := bytes.Clone(full)
		for _, priv := range [][]byte{full[1:], full[2:]} {
			// Every parse of priv, as HPKEPublicKey, DecryptWithLabel,
			// HPKEOpen and HPKEExportReceiver do it.
			gotPub, errPub := s.HPKEPublicKey(priv)
			pt, errDec := s.DecryptWithLabel(priv, "label", ctx, kemOutput, ct)
			opened, errOpen := s.HPKEOpen(priv, enc, []byte("info"), []byte("aad"), sealed)
			secret, errExp := s.HPKEExportReceiver(priv, expEnc, []byte("info"), ctx, 32)
			if !nistKEM(s) {
				for _, err := range []error{errPub, errDec, errOpen, errExp} {
					if !errors.Is(err, ErrInvalidKey) {
						t.Errorf("private key of %d bytes: %v", len(priv), err)
					}
				}
				continue
			}
			switch {
			case errPub != nil || !bytes.Equal(gotPub, pub):
				t.Errorf("HPKEPublicKey of %d bytes: %v", len(priv), errPub)
			case errDec != nil || string(pt) != "secret":
				t.Errorf("DecryptWithLabel with %d bytes: %v", len(priv), errDec)
			case errOpen != nil || string(opened) != "sealed":
				t.Errorf("HPKEOpen with %d bytes: %v", len(priv), errOpen)
			case errExp != nil || !bytes.Equal(secret, exported):
				t.Errorf("HPKEExportReceiver with %d bytes: %v", len(priv), errExp)
			}
		}
		if !bytes.Equal(full, want) {
			t.Error("the caller's key was modified")
		}
	})
}
