package suite

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/fips140"
	"crypto/hpke"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	circlhpke "github.com/cloudflare/circl/hpke"
)

// seededReader is a deterministic byte stream for tests (SHA-256 in counter
// mode over a seed); not for production use.
type seededReader struct {
	seed    []byte
	counter uint64
	buf     []byte
}

func newSeededReader(seed string) *seededReader { return &seededReader{seed: []byte(seed)} }

func (r *seededReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(r.buf) == 0 {
			h := sha256.New()
			h.Write(r.seed)
			h.Write([]byte{byte(r.counter >> 56), byte(r.counter >> 48), byte(r.counter >> 40), byte(r.counter >> 32),
				byte(r.counter >> 24), byte(r.counter >> 16), byte(r.counter >> 8), byte(r.counter)})
			r.counter++
			r.buf = h.Sum(nil)
		}
		c := copy(p[n:], r.buf)
		r.buf = r.buf[c:]
		n += c
	}
	return n, nil
}

// forEachSuite runs f as a subtest per suite.
func forEachSuite(t *testing.T, f func(t *testing.T, s *Suite)) {
	for _, id := range IDs() {
		s, err := Lookup(id)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(id.String(), func(t *testing.T) { f(t, s) })
	}
}

func TestLookup(t *testing.T) {
	names := map[ID]string{
		0x0001: "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519",
		0x0002: "MLS_128_DHKEMP256_AES128GCM_SHA256_P256",
		0x0003: "MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519",
		0x0004: "MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448",
		0x0005: "MLS_256_DHKEMP521_AES256GCM_SHA512_P521",
		0x0006: "MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448",
		0x0007: "MLS_256_DHKEMP384_AES256GCM_SHA384_P384",
	}
	if len(IDs()) != len(names) {
		t.Fatalf("IDs() = %v", IDs())
	}
	for _, id := range IDs() {
		s, err := Lookup(id)
		if err != nil {
			t.Fatalf("Lookup(%d): %v", id, err)
		}
		if s.ID() != id || id.String() != names[id] || s.String() != names[id] {
			t.Errorf("suite %d: ID %v, names %q %q", id, s.ID(), id.String(), s.String())
		}
		if s2, _ := Lookup(id); s2 != s {
			t.Errorf("Lookup(%v) builds a new Suite per call", id)
		}
	}
	// 0x0000 is reserved, 0x0A0A is GREASE (§13.6), 0xF000+ private use.
	for _, id := range []ID{0, 8, 0x0a0a, 0xf000, 0xffff} {
		s, err := Lookup(id)
		if s != nil || !errors.Is(err, ErrUnsupportedSuite) {
			t.Errorf("Lookup(%#x) = %v, %v; want ErrUnsupportedSuite", uint16(id), s, err)
		}
		if !strings.HasPrefix(err.Error(), "suite: ") {
			t.Errorf("error %q lacks the package prefix", err)
		}
		if got := id.String(); !strings.HasPrefix(got, "ID(0x") {
			t.Errorf("ID(%#x).String() = %q", uint16(id), got)
		}
	}
}

func TestSizes(t *testing.T) {
	want := map[ID][6]int{ // Nh, Nk, Nn, Nsk, Npk
		0x0001: {32, 16, 12, 32, 32},
		0x0002: {32, 16, 12, 32, 65},
		0x0003: {32, 32, 12, 32, 32},
		0x0004: {64, 32, 12, 56, 56},
		0x0005: {64, 32, 12, 66, 133},
		0x0006: {64, 32, 12, 56, 56},
		0x0007: {48, 32, 12, 48, 97},
	}
	forEachSuite(t, func(t *testing.T, s *Suite) {
		got := [6]int{s.HashSize(), s.AEADKeySize(), s.AEADNonceSize(), s.HPKEPrivateKeySize(), s.HPKEPublicKeySize()}
		if got != want[s.ID()] {
			t.Errorf("sizes %v, want %v", got, want[s.ID()])
		}
		if n := len(s.Hash(nil)); n != s.HashSize() {
			t.Errorf("Hash output %d bytes", n)
		}
	})
}

func TestKDF(t *testing.T) {
	forEachSuite(t, func(t *testing.T, s *Suite) {
		secret := bytes.Repeat([]byte{7}, s.HashSize())
		a, err := s.ExpandWithLabel(secret, "a", nil, 42)
		if err != nil || len(a) != 42 {
			t.Fatalf("ExpandWithLabel: %x, %v", a, err)
		}
		b, _ := s.ExpandWithLabel(secret, "b", nil, 42)
		c, _ := s.ExpandWithLabel(secret, "a", []byte{0}, 42)
		if bytes.Equal(a, b) || bytes.Equal(a, c) {
			t.Error("label or context does not change the output")
		}
		// The length is part of KDFLabel: a shorter output is not a prefix.
		short, _ := s.ExpandWithLabel(secret, "a", nil, 16)
		if bytes.Equal(short, a[:16]) {
			t.Error("length not bound into KDFLabel")
		}
		ds, _ := s.DeriveSecret(secret, "a")
		if want, _ := s.ExpandWithLabel(secret, "a", nil, s.HashSize()); !bytes.Equal(ds, want) {
			t.Error("DeriveSecret != ExpandWithLabel(.., Nh)")
		}
		ts, _ := s.DeriveTreeSecret(secret, "key", 0x01020304, 16)
		if want, _ := s.ExpandWithLabel(secret, "key", []byte{1, 2, 3, 4}, 16); !bytes.Equal(ts, want) {
			t.Error("DeriveTreeSecret generation not a big-endian uint32")
		}
		for _, n := range []int{-1, 255*s.HashSize() + 1, 1 << 40} {
			if _, err := s.Expand(secret, nil, n); !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("Expand length %d: %v", n, err)
			}
		}
		if _, err := s.ExpandWithLabel(secret, "x", nil, 0x10000); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("ExpandWithLabel length 65536: %v", err)
		}
		if out, err := s.Expand(secret, nil, 255*s.HashSize()); err != nil || len(out) != 255*s.HashSize() {
			t.Errorf("Expand at the limit: %d, %v", len(out), err)
		}
		if out, err := s.Expand(secret, nil, 0); err != nil || len(out) != 0 {
			t.Errorf("Expand(0): %x, %v", out, err)
		}
		// Extract with an empty salt equals an all-zero salt of Nh bytes.
		if !bytes.Equal(s.Extract(nil, secret), s.Extract(make([]byte, s.HashSize()), secret)) {
			t.Error("Extract: nil salt differs from zero salt")
		}
		// RefHash is Hash of RefHashInput{label<V>, value<V>}.
		value := bytes.Repeat([]byte{1}, 100)
		enc := append(append([]byte{3}, "abc"...), append([]byte{0x40, 100}, value...)...)
		if !bytes.Equal(s.RefHash("abc", value), s.Hash(enc)) {
			t.Error("RefHash encoding")
		}
	})
}

func TestMAC(t *testing.T) {
	// RFC 4231 §4.3 (test case 2), for the suite's hash.
	rfc4231 := map[int]string{
		32: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
		48: "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649",
		64: "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
	}
	forEachSuite(t, func(t *testing.T, s *Suite) {
		if got := hex.EncodeToString(s.MAC([]byte("Jefe"), []byte("what do ya want for nothing?"))); got != rfc4231[s.HashSize()] {
			t.Errorf("HMAC RFC 4231 case 2: %s", got)
		}
		key, data := []byte("key"), []byte("data")
		tag := s.MAC(key, data)
		if len(tag) != s.HashSize() || !s.VerifyMAC(key, data, tag) {
			t.Fatal("MAC round trip")
		}
		bad := append([]byte(nil), tag...)
		bad[0] ^= 1
		if s.VerifyMAC(key, data, bad) || s.VerifyMAC([]byte("kez"), data, tag) ||
			s.VerifyMAC(key, []byte("datb"), tag) || s.VerifyMAC(key, data, tag[:len(tag)-1]) || s.VerifyMAC(key, data, nil) {
			t.Error("VerifyMAC accepted a wrong tag, key or data")
		}
	})
}

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

// stdCurves maps each suite to its crypto/ecdh curve (none for X448).
var stdCurves = map[ID]ecdh.Curve{0x0001: ecdh.X25519(), 0x0002: ecdh.P256(), 0x0003: ecdh.X25519(),
	0x0005: ecdh.P521(), 0x0007: ecdh.P384()}

// stdDHKEM returns the crypto/hpke KEM of the suite, or nil for X448.
func stdDHKEM(s *Suite) hpke.KEM {
	if c := stdCurves[s.ID()]; c != nil {
		return hpke.DHKEM(c)
	}
	return nil
}

// TestDeriveKeyPairCrossCheck compares DeriveKeyPair with crypto/hpke's for
// ikm of any length, and with circl's for X448 at the only length circl
// accepts (Nsk).
func TestDeriveKeyPairCrossCheck(t *testing.T) {
	forEachSuite(t, func(t *testing.T, s *Suite) {
		for _, n := range []int{0, 1, 16, 32, 48, 56, 64, 66, 200} {
			ikm := bytes.Repeat([]byte{byte(n)}, n)
			priv, pub, err := s.DeriveKeyPair(ikm)
			if err != nil {
				t.Fatalf("DeriveKeyPair(%d bytes): %v", n, err)
			}
			if k := stdDHKEM(s); k != nil {
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
		if len(enc) != s.HPKEPublicKeySize() {
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

func TestSignatures(t *testing.T) {
	forEachSuite(t, func(t *testing.T, s *Suite) {
		priv, pub, err := s.GenerateSignatureKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		if p, err := s.SignaturePublicKey(priv); err != nil || !bytes.Equal(p, pub) {
			t.Fatalf("SignaturePublicKey: %x, %v", p, err)
		}
		if err := s.CheckSignaturePublicKey(pub); err != nil {
			t.Fatal(err)
		}
		signer, err := s.NewSigner(priv)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(signer.Public(), pub) {
			t.Fatal("Signer.Public mismatch")
		}
		content := []byte("content")
		sig, err := s.SignWithLabel(signer, "LeafNodeTBS", content)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.VerifyWithLabel(pub, "LeafNodeTBS", content, sig); err != nil {
			t.Fatalf("VerifyWithLabel: %v", err)
		}
		_, otherPub, _ := s.GenerateSignatureKey(nil)
		badSig := append([]byte(nil), sig...)
		badSig[len(badSig)-1] ^= 1
		for name, err := range map[string]error{
			"label":     s.VerifyWithLabel(pub, "KeyPackageTBS", content, sig),
			"content":   s.VerifyWithLabel(pub, "LeafNodeTBS", []byte("contenu"), sig),
			"key":       s.VerifyWithLabel(otherPub, "LeafNodeTBS", content, sig),
			"signature": s.VerifyWithLabel(pub, "LeafNodeTBS", content, badSig),
			"truncated": s.VerifyWithLabel(pub, "LeafNodeTBS", content, sig[:len(sig)-1]),
			"appended":  s.VerifyWithLabel(pub, "LeafNodeTBS", content, append(sig, 0)),
			"empty":     s.VerifyWithLabel(pub, "LeafNodeTBS", content, nil),
		} {
			if !errors.Is(err, ErrVerify) {
				t.Errorf("wrong %s: %v", name, err)
			}
		}
		// SignWithLabel signs SignContent (§5.1.2) with the plain algorithm.
		msg, _ := signContent("LeafNodeTBS", content)
		if err := s.sig.verify(pub, msg, sig); err != nil {
			t.Errorf("signature is not over SignContent: %v", err)
		}
		if !bytes.HasPrefix(msg, append([]byte{19}, "MLS 1.0 LeafNodeTBS"...)) {
			t.Errorf("SignContent %x", msg)
		}
	})
}

type failingSigner struct{}

func (failingSigner) Sign([]byte) ([]byte, error) { return nil, io.ErrClosedPipe }
func (failingSigner) Public() []byte              { return nil }

func TestSignerError(t *testing.T) {
	s, _ := Lookup(MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519)
	if _, err := s.SignWithLabel(failingSigner{}, "x", nil); !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("signer error not wrapped: %v", err)
	}
}

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
		for _, k := range [][]byte{nil, goodPriv[1:], append(goodPriv, 0)} {
			if _, err := s.HPKEPublicKey(k); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("HPKEPublicKey of %d bytes: %v", len(k), err)
			}
		}
		for _, k := range [][]byte{nil, sigPriv[1:], append(sigPriv, 0)} {
			if _, err := s.NewSigner(k); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("NewSigner of %d bytes: %v", len(k), err)
			}
		}
	})
}

// TestInvalidPoints checks public keys that have the right length but are
// not usable: off-curve NIST points and low-order X25519/X448 points
// (RFC 9180 §7.1.4), and NIST private keys out of range.
func TestInvalidPoints(t *testing.T) {
	forEachSuite(t, func(t *testing.T, s *Suite) {
		npk := s.HPKEPublicKeySize()
		var bad [][]byte
		if s.kem.params().bitmask != 0 {
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
		if s.sig.name() == "Ed25519" || s.sig.name() == "Ed448" {
			return
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

// TestConcurrentUse exercises one Suite from several goroutines (run with
// -race).
func TestConcurrentUse(t *testing.T) {
	forEachSuite(t, func(t *testing.T, s *Suite) {
		priv, pub, _ := s.DeriveKeyPair([]byte("shared"))
		sigPriv, sigPub, _ := s.GenerateSignatureKey(nil)
		signer, _ := s.NewSigner(sigPriv)
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Go(func() {
				pt := []byte{byte(i)}
				enc, ct, err := s.EncryptWithLabel(nil, pub, "l", nil, pt)
				if err != nil {
					t.Error(err)
					return
				}
				if got, err := s.DecryptWithLabel(priv, "l", nil, enc, ct); err != nil || !bytes.Equal(got, pt) {
					t.Error("concurrent HPKE", err)
				}
				sig, err := s.SignWithLabel(signer, "l", pt)
				if err != nil || s.VerifyWithLabel(sigPub, "l", pt, sig) != nil {
					t.Error("concurrent signature", err)
				}
			})
		}
		wg.Wait()
	})
}

// TestKEMImplementations checks which implementation serves each suite.
func TestKEMImplementations(t *testing.T) {
	forEachSuite(t, func(t *testing.T, s *Suite) {
		switch k := s.kem.(type) {
		case *stdKEM:
			if k.curve != stdCurves[s.ID()] || (k.curve == ecdh.X25519() && circlX25519Faster) {
				t.Errorf("crypto/hpke with %v", k.curve)
			}
		case *circlKEM:
			x25519 := stdCurves[s.ID()] == ecdh.X25519()
			if !(k.npk == 56 && stdCurves[s.ID()] == nil) && !(x25519 && circlX25519Faster) {
				t.Errorf("circl %s", k.name)
			}
		default:
			t.Errorf("KEM %T", s.kem)
		}
	})
}

// TestX25519Implementations checks that crypto/hpke and circl agree for
// DHKEM(X25519), whichever one this CPU uses: same keys, and each opens and
// exports what the other sealed.
func TestX25519Implementations(t *testing.T) {
	impls := []kemScheme{
		newStdKEM(ecdh.X25519(), crypto.SHA256, hpke.HKDFSHA256(), hpke.ChaCha20Poly1305()),
		newCirclKEM(circlhpke.KEM_X25519_HKDF_SHA256, circlhpke.KDF_HKDF_SHA256, circlhpke.AEAD_ChaCha20Poly1305),
	}
	a, b := impls[0].params(), impls[1].params()
	if a.name != b.name || a.id != b.id || a.nh != b.nh || a.nsk != b.nsk || a.npk != b.npk || a.bitmask != b.bitmask {
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

// TestFIPSOnly runs TestLookupFIPSOnlyChild under GODEBUG=fips140=only:
// Lookup must refuse every suite there instead of failing later.
func TestFIPSOnly(t *testing.T) {
	if os.Getenv("SUITE_FIPS_CHILD") != "" {
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestLookupFIPSOnlyChild$", "-test.v")
	cmd.Env = append(os.Environ(), "GODEBUG=fips140=only", "SUITE_FIPS_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("--- PASS: TestLookupFIPSOnlyChild")) {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func TestLookupFIPSOnlyChild(t *testing.T) {
	if os.Getenv("SUITE_FIPS_CHILD") == "" {
		return // run by TestFIPSOnly only
	}
	if !fips140.Enforced() {
		t.Fatal("GODEBUG=fips140=only not in effect")
	}
	for _, id := range IDs() {
		if s, err := Lookup(id); s != nil || !errors.Is(err, ErrUnsupportedSuite) {
			t.Errorf("Lookup(%v) = %v, %v", id, s, err)
		}
	}
}
