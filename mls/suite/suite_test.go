package suite

import (
	"bytes"
	"crypto/fips140"
	"crypto/sha256"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
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
	// RFC 9420 §17.1 and draft-ietf-mls-pq-ciphersuites-06 Tables 1 and 2.
	want := map[ID]string{
		0x0001: "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519 DHKEM(X25519)/HKDF-SHA-256/AES-128-GCM/SHA-256/ed25519",
		0x0002: "MLS_128_DHKEMP256_AES128GCM_SHA256_P256 DHKEM(P-256)/HKDF-SHA-256/AES-128-GCM/SHA-256/ecdsa_secp256r1_sha256",
		0x0003: "MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519 DHKEM(X25519)/HKDF-SHA-256/ChaCha20-Poly1305/SHA-256/ed25519",
		0x0004: "MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448 DHKEM(X448)/HKDF-SHA-512/AES-256-GCM/SHA-512/ed448",
		0x0005: "MLS_256_DHKEMP521_AES256GCM_SHA512_P521 DHKEM(P-521)/HKDF-SHA-512/AES-256-GCM/SHA-512/ecdsa_secp521r1_sha512",
		0x0006: "MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448 DHKEM(X448)/HKDF-SHA-512/ChaCha20-Poly1305/SHA-512/ed448",
		0x0007: "MLS_256_DHKEMP384_AES256GCM_SHA384_P384 DHKEM(P-384)/HKDF-SHA-384/AES-256-GCM/SHA-384/ecdsa_secp384r1_sha384",
		0xF101: "MLS_128_MLKEM768X25519_AES128GCM_SHA256_Ed25519 MLKEM768-X25519/HKDF-SHA-256/AES-128-GCM/SHA-256/ed25519",
		0xF102: "MLS_128_MLKEM768X25519_AES256GCM_SHA384_Ed25519 MLKEM768-X25519/HKDF-SHA-384/AES-256-GCM/SHA-384/ed25519",
		0xF103: "MLS_128_MLKEM768P256_AES128GCM_SHA256_P256 MLKEM768-P256/HKDF-SHA-256/AES-128-GCM/SHA-256/ecdsa_secp256r1_sha256",
		0xF104: "MLS_128_MLKEM768P256_AES256GCM_SHA384_P256 MLKEM768-P256/HKDF-SHA-384/AES-256-GCM/SHA-384/ecdsa_secp256r1_sha256",
		0xF105: "MLS_192_MLKEM1024P384_AES256GCM_SHA384_P384 MLKEM1024-P384/HKDF-SHA-384/AES-256-GCM/SHA-384/ecdsa_secp384r1_sha384",
		0xF106: "MLS_128_MLKEM768_AES256GCM_SHA384_Ed25519 ML-KEM-768/HKDF-SHA-384/AES-256-GCM/SHA-384/ed25519",
		0xF107: "MLS_128_MLKEM768_AES256GCM_SHA384_P256 ML-KEM-768/HKDF-SHA-384/AES-256-GCM/SHA-384/ecdsa_secp256r1_sha256",
		0xF108: "MLS_192_MLKEM1024_AES256GCM_SHA384_P384 ML-KEM-1024/HKDF-SHA-384/AES-256-GCM/SHA-384/ecdsa_secp384r1_sha384",
		0xF109: "MLS_128_MLKEM768X25519_CHACHA20POLY1305_SHA384_MLDSA44 MLKEM768-X25519/HKDF-SHA-384/ChaCha20-Poly1305/SHA-384/mldsa44",
		0xF10A: "MLS_192_MLKEM768_AES256GCM_SHA384_MLDSA65 ML-KEM-768/HKDF-SHA-384/AES-256-GCM/SHA-384/mldsa65",
		0xF10B: "MLS_256_MLKEM1024_AES256GCM_SHA384_MLDSA87 ML-KEM-1024/HKDF-SHA-384/AES-256-GCM/SHA-384/mldsa87",
	}
	ids := IDs()
	if len(ids) != len(want) || !slices.IsSorted(ids) {
		t.Fatalf("IDs() = %v", ids)
	}
	for _, id := range ids {
		s, err := Lookup(id)
		if err != nil {
			t.Fatalf("Lookup(%d): %v", id, err)
		}
		name, _, _ := strings.Cut(want[id], " ")
		if got := s.String() + " " + s.Composition().String(); s.ID() != id || id.String() != name || got != want[id] {
			t.Errorf("suite %#x: ID %#x, %q, %q", uint16(id), uint16(s.ID()), id.String(), got)
		}
		if s2, _ := Lookup(id); s2 != s {
			t.Errorf("Lookup(%v) builds a new Suite per call", id)
		}
	}
	// 0x0000 is reserved, 0x0A0A is GREASE (§13.6), 0xF000+ private use.
	for _, id := range []ID{0, 8, 0x0a0a, 0xf000, 0xf100, 0xf10c, 0xffff} {
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
	want := map[ID][6]int{ // Nh, Nk, Nn, Nsk, Npk, Nenc
		0x0001: {32, 16, 12, 32, 32, 32},
		0x0002: {32, 16, 12, 32, 65, 65},
		0x0003: {32, 32, 12, 32, 32, 32},
		0x0004: {64, 32, 12, 56, 56, 56},
		0x0005: {64, 32, 12, 66, 133, 133},
		0x0006: {64, 32, 12, 56, 56, 56},
		0x0007: {48, 32, 12, 48, 97, 97},
		// draft-ietf-hpke-pq: ML-KEM keys are 64-byte seeds, the hybrids'
		// 32-byte seeds; a hybrid's public key and ciphertext are the
		// ML-KEM one followed by the curve's.
		0xF101: {32, 16, 12, 32, 1184 + 32, 1088 + 32},
		0xF102: {48, 32, 12, 32, 1184 + 32, 1088 + 32},
		0xF103: {32, 16, 12, 32, 1184 + 65, 1088 + 65},
		0xF104: {48, 32, 12, 32, 1184 + 65, 1088 + 65},
		0xF105: {48, 32, 12, 32, 1568 + 97, 1568 + 97},
		0xF106: {48, 32, 12, 64, 1184, 1088},
		0xF107: {48, 32, 12, 64, 1184, 1088},
		0xF108: {48, 32, 12, 64, 1568, 1568},
		0xF109: {48, 32, 12, 32, 1184 + 32, 1088 + 32},
		0xF10A: {48, 32, 12, 64, 1184, 1088},
		0xF10B: {48, 32, 12, 64, 1568, 1568},
	}
	forEachSuite(t, func(t *testing.T, s *Suite) {
		got := [6]int{s.HashSize(), s.AEADKeySize(), s.AEADNonceSize(), s.HPKEPrivateKeySize(), s.HPKEPublicKeySize(), s.HPKEEncapsulatedKeySize()}
		if got != want[s.ID()] {
			t.Errorf("sizes %v, want %v", got, want[s.ID()])
		}
		if n := len(s.Hash(nil)); n != s.HashSize() {
			t.Errorf("Hash output %d bytes", n)
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
