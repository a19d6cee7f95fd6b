package suite

import (
	"bytes"
	"encoding/hex"
	"errors"
	"slices"
	"testing"
)

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

func TestHashParts(t *testing.T) {
	forEachSuite(t, func(t *testing.T, s *Suite) {
		a, b, c := []byte("interim"), []byte{}, bytes.Repeat([]byte{7}, 3000)
		if got, want := s.HashParts(a, b, c), s.Hash(slices.Concat(a, b, c)); !bytes.Equal(got, want) {
			t.Errorf("HashParts = %x, want %x", got, want)
		}
	})
}
