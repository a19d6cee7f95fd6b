package suite

import (
	"bytes"
	"crypto/sha3"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"testing"
)

// hpkePQVector is a base-mode case of draft-ietf-hpke-pq, as in
// testdata/hpke-pq.json: the cases with an HKDF of Go 1.26's
// src/crypto/hpke/testdata/hpke-pq.json, with their first encryption.
type hpkePQVector struct {
	KEM         KEM     `json:"kem_id"`
	KDF         KDF     `json:"kdf_id"`
	AEAD        AEAD    `json:"aead_id"`
	Info        hexData `json:"info"`
	IKMR        hexData `json:"ikmR"`
	SKRm        hexData `json:"skRm"`
	PKRm        hexData `json:"pkRm"`
	Enc         hexData `json:"enc"`
	Encryptions []struct {
		AAD hexData `json:"aad"`
		CT  hexData `json:"ct"`
		PT  hexData `json:"pt"`
	} `json:"encryptions"`
	Exports []struct {
		Context hexData `json:"exporter_context"`
		L       int     `json:"L"`
		Value   hexData `json:"exported_value"`
	} `json:"exports"`
}

type hexData []byte

func (h *hexData) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	d, err := hex.DecodeString(s)
	*h = d
	return err
}

// TestHPKEPQVectors checks the five post-quantum KEMs against the published
// vectors of draft-ietf-hpke-pq, through suites composed for each case:
// DeriveKeyPair, the public key of the private key, decryption and the
// exporter. (Encryption is randomized; TestHPKE checks round trips.)
func TestHPKEPQVectors(t *testing.T) {
	data, err := os.ReadFile("testdata/hpke-pq.json")
	if err != nil {
		t.Fatal(err)
	}
	var vectors []hpkePQVector
	if err := json.Unmarshal(data, &vectors); err != nil {
		t.Fatal(err)
	}
	seen := map[KEM]bool{}
	for _, v := range vectors {
		c := Composition{KEM: v.KEM, KDF: v.KDF, AEAD: v.AEAD, Hash: kdfHashes[v.KDF], Signature: Ed25519}
		t.Run(c.String(), func(t *testing.T) {
			s, err := New(0xF000, "test", c)
			if err != nil {
				t.Fatal(err)
			}
			seen[v.KEM] = true
			priv, pub, err := s.DeriveKeyPair(v.IKMR)
			if err != nil || !bytes.Equal(priv, v.SKRm) || !bytes.Equal(pub, v.PKRm) {
				t.Fatalf("DeriveKeyPair: %x, %x, %v", priv, pub, err)
			}
			if got, err := s.HPKEPublicKey(v.SKRm); err != nil || !bytes.Equal(got, v.PKRm) {
				t.Errorf("HPKEPublicKey: %v", err)
			}
			if len(v.Enc) != s.HPKEEncapsulatedKeySize() {
				t.Errorf("enc of %d bytes, Nenc %d", len(v.Enc), s.HPKEEncapsulatedKeySize())
			}
			e := v.Encryptions[0]
			if pt, err := s.HPKEOpen(v.SKRm, v.Enc, v.Info, e.AAD, e.CT); err != nil || !bytes.Equal(pt, e.PT) {
				t.Errorf("HPKEOpen: %x, %v", pt, err)
			}
			bad := bytes.Clone(v.Enc)
			bad[0] ^= 1 // ML-KEM's implicit rejection: another shared secret
			if _, err := s.HPKEOpen(v.SKRm, bad, v.Info, e.AAD, e.CT); !errors.Is(err, ErrDecrypt) {
				t.Errorf("HPKEOpen with a modified enc: %v", err)
			}
			for _, x := range v.Exports {
				if got, err := s.HPKEExportReceiver(v.SKRm, v.Enc, v.Info, x.Context, x.L); err != nil || !bytes.Equal(got, x.Value) {
					t.Errorf("export %x: %x, %v", x.Context, got, err)
				}
			}
		})
	}
	for _, k := range []KEM{MLKEM768, MLKEM1024, MLKEM768P256, MLKEM1024P384, MLKEM768X25519} {
		if !seen[k] {
			t.Errorf("no vector for %v", k)
		}
	}
}

// TestMLDSAAccumulated is the known-answer test of Go's ML-DSA
// (src/crypto/internal/fips140test/mldsa_test.go, 100 cases per parameter
// set): keys from seeds read from SHAKE128(""), deterministic signatures of
// the empty message with an empty context, public keys and signatures
// hashed with SHAKE128. It pins the key encoding (the seed) and the
// signing mode (pure, empty context) of the ML-DSA suites.
func TestMLDSAAccumulated(t *testing.T) {
	for _, c := range []struct {
		m        *mldsaScheme
		pub, sig int
		want     string
	}{
		{mldsa44Scheme, 1312, 2420, "d51148e1f9f4fa1a723a6cf42e25f2a99eb5c1b378b3d2dbbd561b1203beeae4"},
		{mldsa65Scheme, 1952, 3309, "8358a1843220194417cadbc2651295cd8fc65125b5a5c1a239a16dc8b57ca199"},
		{mldsa87Scheme, 2592, 4627, "8c3ad714777622b8f21ce31bb35f71394f23bc0fcf3c78ace5d608990f3b061b"},
	} {
		t.Run(c.m.label, func(t *testing.T) {
			seeds, out := sha3.NewSHAKE128(), sha3.NewSHAKE128()
			seed := make([]byte, 32)
			for range 100 {
				seeds.Read(seed)
				signer, err := c.m.signer(seed, false)
				if err != nil {
					t.Fatal(err)
				}
				pub := signer.Public()
				sig, err := signer.Sign(nil)
				if err != nil {
					t.Fatal(err)
				}
				if len(pub) != c.pub || len(sig) != c.sig {
					t.Fatalf("public key of %d bytes, signature of %d", len(pub), len(sig))
				}
				if err := c.m.verify(pub, nil, sig); err != nil {
					t.Fatal(err)
				}
				out.Write(pub)
				out.Write(sig)
			}
			sum := make([]byte, 32)
			out.Read(sum)
			if got := hex.EncodeToString(sum); got != c.want {
				t.Errorf("accumulated %s, want %s", got, c.want)
			}
		})
	}
}

// TestMLDSAHedged checks that signatures are randomized (FIPS 204 §3.4)
// and still verify, and that a deterministic one verifies too.
func TestMLDSAHedged(t *testing.T) {
	for _, m := range []*mldsaScheme{mldsa44Scheme, mldsa65Scheme, mldsa87Scheme} {
		priv, pub, err := m.generate(newSeededReader(m.label))
		if err != nil {
			t.Fatal(err)
		}
		signer, _ := m.newSigner(priv)
		a, _ := signer.Sign([]byte("msg"))
		b, _ := signer.Sign([]byte("msg"))
		if bytes.Equal(a, b) {
			t.Errorf("%s: two signatures are equal", m.label)
		}
		det, _ := m.signer(priv, false)
		c, _ := det.Sign([]byte("msg"))
		for _, sig := range [][]byte{a, b, c} {
			if err := m.verify(pub, []byte("msg"), sig); err != nil {
				t.Errorf("%s: %v", m.label, err)
			}
		}
	}
}

// TestMLDSAKeyGenACVP checks ML-DSA key generation from seeds, the private
// key encoding of the ML-DSA suites, against NIST ACVP vectors
// (testdata/mldsa-keygen.json: two cases per parameter set of circl's
// copy).
func TestMLDSAKeyGenACVP(t *testing.T) {
	data, err := os.ReadFile("testdata/mldsa-keygen.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Tests []struct {
			ParameterSet string  `json:"parameterSet"`
			Seed         hexData `json:"seed"`
			PK           hexData `json:"pk"`
		} `json:"tests"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	schemes := map[string]*mldsaScheme{"ML-DSA-44": mldsa44Scheme, "ML-DSA-65": mldsa65Scheme, "ML-DSA-87": mldsa87Scheme}
	seen := map[string]int{}
	for _, c := range f.Tests {
		m := schemes[c.ParameterSet]
		signer, err := m.newSigner(c.Seed)
		if err != nil || !bytes.Equal(signer.Public(), c.PK) {
			t.Errorf("%s: public key of seed %x differs (%v)", c.ParameterSet, c.Seed, err)
		}
		seen[c.ParameterSet]++
	}
	if len(seen) != 3 {
		t.Errorf("parameter sets %v", seen)
	}
}
