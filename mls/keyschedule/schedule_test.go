package keyschedule

import (
	"bytes"
	"errors"
	"testing"

	"github.com/mlsengine/engine/mls/suite"
)

func mustSuite(t testing.TB, id suite.ID) *suite.Suite {
	t.Helper()
	s, err := suite.Lookup(id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func filled(n int, b byte) []byte { return bytes.Repeat([]byte{b}, n) }

func TestDeriveMatchesJoin(t *testing.T) {
	for _, id := range suite.IDs() {
		s := mustSuite(t, id)
		nh := s.HashSize()
		gc := []byte("group context")
		e, err := Derive(s, filled(nh, 1), filled(nh, 2), filled(nh, 3), gc)
		if err != nil {
			t.Fatal(err)
		}
		j, err := Join(s, e.JoinerSecret, filled(nh, 3), gc)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(j.Init, e.Init) || !bytes.Equal(j.EpochAuthenticator, e.EpochAuthenticator) ||
			!bytes.Equal(j.WelcomeSecret, e.WelcomeSecret) {
			t.Errorf("%v: Join differs from Derive", id)
		}
		w, err := WelcomeSecret(s, e.JoinerSecret, filled(nh, 3))
		if err != nil || !bytes.Equal(w, e.WelcomeSecret) {
			t.Errorf("%v: WelcomeSecret = %x, %v; want %x", id, w, err, e.WelcomeSecret)
		}
		key, nonce, err := WelcomeKeyNonce(s, w)
		if err != nil || len(key) != s.AEADKeySize() || len(nonce) != s.AEADNonceSize() {
			t.Errorf("%v: WelcomeKeyNonce: %d, %d, %v", id, len(key), len(nonce), err)
		}
		// A different GroupContext gives a different epoch.
		e2, err := Derive(s, filled(nh, 1), filled(nh, 2), filled(nh, 3), []byte("other context"))
		if err != nil || bytes.Equal(e2.JoinerSecret, e.JoinerSecret) || bytes.Equal(e2.Init, e.Init) {
			t.Errorf("%v: GroupContext does not bind the epoch", id)
		}
		all := [][]byte{e.SenderData, e.Encryption, e.Exporter, e.External, e.Confirmation,
			e.Membership, e.Resumption, e.EpochAuthenticator, e.Init}
		for i := range all {
			if len(all[i]) != nh {
				t.Fatalf("%v: secret %d has %d bytes", id, i, len(all[i]))
			}
			for k := range i {
				if bytes.Equal(all[i], all[k]) {
					t.Errorf("%v: secrets %d and %d are equal", id, i, k)
				}
			}
		}
	}
}

func TestNilMeansZero(t *testing.T) {
	s := mustSuite(t, suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519)
	nh := s.HashSize()
	a, err := Derive(s, filled(nh, 1), nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Derive(s, filled(nh, 1), make([]byte, nh), make([]byte, nh), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Init, b.Init) {
		t.Error("nil commit_secret/psk_secret differ from the zero vector")
	}
}

func TestSecretLengths(t *testing.T) {
	s := mustSuite(t, suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519)
	nh := s.HashSize()
	for _, tc := range []struct {
		name string
		f    func() error
	}{
		{"init_secret", func() error { _, err := Derive(s, filled(nh-1, 1), nil, nil, nil); return err }},
		{"commit_secret", func() error { _, err := Derive(s, filled(nh, 1), filled(nh+1, 1), nil, nil); return err }},
		{"psk_secret", func() error { _, err := Derive(s, filled(nh, 1), nil, []byte{}, nil); return err }},
		{"joiner_secret", func() error { _, err := Join(s, nil, nil, nil); return err }},
		{"welcome_secret", func() error { _, _, err := WelcomeKeyNonce(s, filled(3, 1)); return err }},
		{"epoch_secret", func() error { _, err := FromEpochSecret(s, filled(nh*2, 1)); return err }},
		{"sender_data_secret", func() error { _, _, err := SenderDataKeyNonce(s, nil, nil); return err }},
		{"encryption_secret", func() error { _, err := NewSecretTree(s, nil, 1, Config{}); return err }},
	} {
		err := tc.f()
		var le *SecretLengthError
		if !errors.Is(err, ErrSecretLength) || !errors.As(err, &le) || le.Name != tc.name {
			t.Errorf("%s: err = %v", tc.name, err)
		}
	}
}

func TestExporter(t *testing.T) {
	s := mustSuite(t, suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519)
	x, err := FromEpochSecret(s, filled(s.HashSize(), 9))
	if err != nil {
		t.Fatal(err)
	}
	a, err := x.Export(s, "label", []byte("ctx"), 42)
	if err != nil || len(a) != 42 {
		t.Fatalf("Export: %d bytes, %v", len(a), err)
	}
	b, _ := x.Export(s, "label2", []byte("ctx"), 42)
	c, _ := x.Export(s, "label", []byte("ctx2"), 42)
	if bytes.Equal(a, b) || bytes.Equal(a, c) {
		t.Error("label or context does not change the exported secret")
	}
	for _, n := range []int{-1, 1 << 16, 255*s.HashSize() + 1} {
		if _, err := x.Export(s, "label", nil, n); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("Export length %d: err = %v", n, err)
		}
	}
}

func TestExternalInit(t *testing.T) {
	for _, id := range suite.IDs() {
		s := mustSuite(t, id)
		x, err := FromEpochSecret(s, filled(s.HashSize(), 7))
		if err != nil {
			t.Fatal(err)
		}
		priv, pub, err := x.ExternalKeyPair(s)
		if err != nil {
			t.Fatal(err)
		}
		kemOutput, sent, err := ExternalInit(s, nil, pub)
		if err != nil {
			t.Fatalf("%v: %v", id, err)
		}
		got, err := ExternalInitSecret(s, priv, kemOutput)
		if err != nil || !bytes.Equal(got, sent) || len(sent) != s.HashSize() {
			t.Errorf("%v: receiver init_secret %x (%v), sender %x", id, got, err, sent)
		}
		if _, err := ExternalInitSecret(s, priv, kemOutput[:len(kemOutput)-1]); err == nil {
			t.Errorf("%v: truncated kem_output accepted", id)
		}
	}
}

func TestWipe(t *testing.T) {
	s := mustSuite(t, suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519)
	nh := s.HashSize()
	e, err := Derive(s, filled(nh, 1), nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	init := e.Init
	e.Wipe()
	if e.Init != nil || e.JoinerSecret != nil || !bytes.Equal(init, make([]byte, nh)) {
		t.Error("Wipe left secrets behind")
	}
}
