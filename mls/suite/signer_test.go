package suite_test

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/mlsengine/engine/mls/suite"
)

// TestGenerateSigner checks, in every suite, that GenerateSigner makes the
// key that NewSigner makes of GenerateSignatureKey's from the same
// randomness, and that it signs with it.
func TestGenerateSigner(t *testing.T) {
	for _, cs := range suite.Default().Suites() {
		t.Run(cs.String(), func(t *testing.T) {
			seed := [32]byte{byte(cs.ID()), byte(cs.ID() >> 8)}
			priv, pub, err := cs.GenerateSignatureKey(rand.NewChaCha8(seed))
			if err != nil {
				t.Fatal(err)
			}
			signer, err := cs.GenerateSigner(rand.NewChaCha8(seed))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(signer.Public(), pub) {
				t.Fatal("GenerateSigner made another key than GenerateSignatureKey")
			}
			if _, err := cs.NewSigner(priv); err != nil {
				t.Fatal(err)
			}
			sig, err := cs.SignWithLabel(signer, "test", []byte("content"))
			if err != nil {
				t.Fatal(err)
			}
			if err := cs.VerifyWithLabel(pub, "test", []byte("content"), sig); err != nil {
				t.Fatal(err)
			}
		})
	}
}
