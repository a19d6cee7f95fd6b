package suite

import (
	"bytes"
	"crypto"
	"errors"
	"slices"
	"testing"
)

func TestParseID(t *testing.T) {
	for in, want := range map[string]ID{
		"1":      MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519,
		"0x0001": MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519,
		"0x7":    MLS_256_DHKEMP384_AES256GCM_SHA384_P384,
		"0xF101": MLS_128_MLKEM768X25519_AES128GCM_SHA256_Ed25519,
		"61707":  MLS_256_MLKEM1024_AES256GCM_SHA384_MLDSA87, // 0xF10B
		"MLS_128_DHKEMP256_AES128GCM_SHA256_P256":         MLS_128_DHKEMP256_AES128GCM_SHA256_P256,
		"mls_256_dhkemx448_aes256gcm_sha512_ed448":        MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448,
		"MLS_192_MLKEM768_AES256GCM_SHA384_MLDSA65":       MLS_192_MLKEM768_AES256GCM_SHA384_MLDSA65,
		"mls_128_mlkem768x25519_aes128gcm_sha256_ed25519": MLS_128_MLKEM768X25519_AES128GCM_SHA256_Ed25519,
	} {
		if got, err := ParseID(in); err != nil || got != want {
			t.Errorf("ParseID(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "0x0a0a", "65536", "-1", "x25519", "MLS_128", "0x", "1.0", "0xF100", "0x0053", " 3"} {
		if got, err := ParseID(in); !errors.Is(err, ErrUnsupportedSuite) {
			t.Errorf("ParseID(%q) = %v, %v; want ErrUnsupportedSuite", in, got, err)
		}
	}
}

// xwingSHA512 is the composition of the tests of custom suites: X-Wing with
// AES-256-GCM, SHA-512 and Ed25519, under 0x0053 as some peers use it.
var xwingSHA512 = Composition{MLKEM768X25519, HKDFSHA512, AES256GCM, crypto.SHA512, Ed25519}

func TestNew(t *testing.T) {
	s, err := New(0x0053, "MLS_256_XWING_AES256GCM_SHA512_Ed25519", xwingSHA512)
	if err != nil {
		t.Fatal(err)
	}
	if s.ID() != 0x0053 || s.String() != "MLS_256_XWING_AES256GCM_SHA512_Ed25519" || s.Composition() != xwingSHA512 {
		t.Errorf("suite %v %v %v", s.ID(), s, s.Composition())
	}
	if s.HashSize() != 64 || s.AEADKeySize() != 32 || s.HPKEPublicKeySize() != 1216 || s.HPKEEncapsulatedKeySize() != 1120 {
		t.Error("sizes")
	}
	// The RFC suites' code points take their own compositions only.
	rfc, _ := Lookup(MLS_128_DHKEMP256_AES128GCM_SHA256_P256)
	if _, err := New(0x0002, "P-256", rfc.Composition()); err != nil {
		t.Errorf("RFC composition at its code point: %v", err)
	}
	sha256 := Composition{DHKEMX25519, HKDFSHA256, AES128GCM, crypto.SHA256, Ed25519}
	for name, c := range map[string]struct {
		id   ID
		name string
		c    Composition
	}{
		"reserved":            {0, "n", sha256},
		"GREASE":              {0x1A1A, "n", sha256},
		"GREASE EAEA":         {0xEAEA, "n", sha256},
		"RFC code point":      {0x0002, "n", sha256},
		"no name":             {0xF000, "", sha256},
		"ML-KEM-512":          {0xF000, "n", Composition{0x0040, HKDFSHA256, AES128GCM, crypto.SHA256, Ed25519}},
		"unknown KEM":         {0xF000, "n", Composition{0x0030, HKDFSHA256, AES128GCM, crypto.SHA256, Ed25519}},
		"SHAKE KDF":           {0xF000, "n", Composition{MLKEM768, 0x0010, AES128GCM, crypto.SHA256, Ed25519}},
		"KDF and hash differ": {0xF000, "n", Composition{MLKEM768, HKDFSHA256, AES128GCM, crypto.SHA384, Ed25519}},
		"no hash":             {0xF000, "n", Composition{MLKEM768, HKDFSHA256, AES128GCM, 0, Ed25519}},
		"export-only AEAD":    {0xF000, "n", Composition{MLKEM768, HKDFSHA256, 0xFFFF, crypto.SHA256, Ed25519}},
		"RSA-PSS":             {0xF000, "n", Composition{MLKEM768, HKDFSHA256, AES128GCM, crypto.SHA256, 0x0804}},
	} {
		if s, err := New(c.id, c.name, c.c); s != nil || !errors.Is(err, ErrInvalidComposition) {
			t.Errorf("%s: New = %v, %v", name, s, err)
		}
	}
}

// TestComposedEqualsBuiltin checks that a suite composed like a built-in one
// under another code point computes the same.
func TestComposedEqualsBuiltin(t *testing.T) {
	forEachSuite(t, func(t *testing.T, s *Suite) {
		c, err := New(0xF0F0, "copy", s.Composition())
		if err != nil {
			t.Fatal(err)
		}
		p1, q1, _ := s.DeriveKeyPair([]byte("ikm"))
		p2, q2, _ := c.DeriveKeyPair([]byte("ikm"))
		e1, _ := s.ExpandWithLabel([]byte("secret"), "l", nil, 100)
		e2, _ := c.ExpandWithLabel([]byte("secret"), "l", nil, 100)
		if !bytes.Equal(p1, p2) || !bytes.Equal(q1, q2) || !bytes.Equal(e1, e2) {
			t.Error("differs")
		}
		enc, ct, err := c.EncryptWithLabel(nil, q1, "l", nil, []byte("pt"))
		if err != nil {
			t.Fatal(err)
		}
		if pt, err := s.DecryptWithLabel(p1, "l", nil, enc, ct); err != nil || string(pt) != "pt" {
			t.Errorf("DecryptWithLabel: %v", err)
		}
	})
}

func TestIsGREASE(t *testing.T) {
	n := 0
	for v := range 1 << 16 {
		if ID(v).IsGREASE() {
			n++
			if v&0xff != v>>8 || v&0x0f != 0x0a {
				t.Errorf("%#04x", v)
			}
		}
	}
	if n != 15 {
		t.Errorf("%d GREASE values, want 15", n)
	}
}

func TestRegistry(t *testing.T) {
	custom, err := New(0x0053, "MLS_256_XWING_AES256GCM_SHA512_Ed25519", xwingSHA512)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Default().With(custom)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := r.Lookup(0x0053); err != nil || s != custom {
		t.Errorf("Lookup(0x0053) = %v, %v", s, err)
	}
	if _, err := Lookup(0x0053); !errors.Is(err, ErrUnsupportedSuite) {
		t.Errorf("Default changed: %v", err)
	}
	if id, err := r.ParseID("mls_256_xwing_aes256gcm_sha512_ed25519"); err != nil || id != 0x0053 {
		t.Errorf("ParseID = %v, %v", id, err)
	}
	if ids := r.IDs(); len(ids) != len(IDs())+1 || !slices.IsSorted(ids) || ids[7] != 0x0053 {
		t.Errorf("IDs = %v", ids)
	}

	// A nil registry is Default.
	var none *Registry
	if s, err := none.Lookup(1); err != nil || s.ID() != 1 || len(none.IDs()) != len(IDs()) || len(none.Suites()) != len(IDs()) {
		t.Errorf("nil registry: %v, %v", s, err)
	}
	if id, err := none.ParseID("0xF10B"); err != nil || id != 0xF10B {
		t.Errorf("nil registry ParseID: %v", err)
	}

	// Moving a draft suite: same name elsewhere replaces it.
	tbd1, _ := Lookup(MLS_128_MLKEM768X25519_AES128GCM_SHA256_Ed25519)
	moved, err := New(0xF0A1, tbd1.String(), tbd1.Composition())
	if err != nil {
		t.Fatal(err)
	}
	r2, err := Default().With(moved)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r2.Lookup(tbd1.ID()); !errors.Is(err, ErrUnsupportedSuite) {
		t.Errorf("old code point still there: %v", err)
	}
	if id, err := r2.ParseID(tbd1.String()); err != nil || id != 0xF0A1 {
		t.Errorf("ParseID = %v, %v", id, err)
	}
	// Replacing by code point.
	other, _ := New(tbd1.ID(), "OTHER", xwingSHA512)
	r3, err := Default().With(other)
	if s, _ := r3.Lookup(tbd1.ID()); err != nil || s != other || len(r3.IDs()) != len(IDs()) {
		t.Errorf("replace by code point: %v, %v", s, err)
	}

	s1, _ := Lookup(1)
	dupName, _ := New(0xF000, "mls_128_dhkemx25519_aes128gcm_sha256_ed25519", s1.Composition())
	dupID, _ := New(1, "other", s1.Composition())
	for name, suites := range map[string][]*Suite{
		"code point": {s1, dupID},
		"name":       {s1, dupName},
		"nil":        {s1, nil},
	} {
		if r, err := NewRegistry(suites...); r != nil || !errors.Is(err, ErrInvalidComposition) {
			t.Errorf("duplicate %s: %v", name, err)
		}
	}
	if r, err := NewRegistry(); err != nil || len(r.IDs()) != 0 {
		t.Errorf("empty registry: %v", err)
	}
}
