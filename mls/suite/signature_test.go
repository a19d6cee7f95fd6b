package suite

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

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

func (failingSigner) Public() []byte { return nil }

func TestSignerError(t *testing.T) {
	s, _ := Lookup(MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519)
	if _, err := s.SignWithLabel(failingSigner{}, "x", nil); !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("signer error not wrapped: %v", err)
	}
}
