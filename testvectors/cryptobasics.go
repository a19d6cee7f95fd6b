package testvectors

import (
	"crypto/rand"
	"fmt"

	"github.com/mlsengine/engine/mls/suite"
)

// CryptoBasics is one case of crypto-basics.json (FORMAT.md "Crypto
// Basics"): the labeled operations of RFC 9420 §5 and §8 for one suite.
type CryptoBasics struct {
	Suite uint16 `json:"cipher_suite"`

	RefHash struct {
		Label string   `json:"label"`
		Value HexBytes `json:"value"`
		Out   HexBytes `json:"out"`
	} `json:"ref_hash"`

	ExpandWithLabel struct {
		Secret  HexBytes `json:"secret"`
		Label   string   `json:"label"`
		Context HexBytes `json:"context"`
		Length  uint16   `json:"length"`
		Out     HexBytes `json:"out"`
	} `json:"expand_with_label"`

	DeriveSecret struct {
		Secret HexBytes `json:"secret"`
		Label  string   `json:"label"`
		Out    HexBytes `json:"out"`
	} `json:"derive_secret"`

	DeriveTreeSecret struct {
		Secret     HexBytes `json:"secret"`
		Label      string   `json:"label"`
		Generation uint32   `json:"generation"`
		Length     uint16   `json:"length"`
		Out        HexBytes `json:"out"`
	} `json:"derive_tree_secret"`

	SignWithLabel struct {
		Priv      HexBytes `json:"priv"`
		Pub       HexBytes `json:"pub"`
		Content   HexBytes `json:"content"`
		Label     string   `json:"label"`
		Signature HexBytes `json:"signature"`
	} `json:"sign_with_label"`

	EncryptWithLabel struct {
		Priv       HexBytes `json:"priv"`
		Pub        HexBytes `json:"pub"`
		Label      string   `json:"label"`
		Context    HexBytes `json:"context"`
		Plaintext  HexBytes `json:"plaintext"`
		KEMOutput  HexBytes `json:"kem_output"`
		Ciphertext HexBytes `json:"ciphertext"`
	} `json:"encrypt_with_label"`
}

// CipherSuite returns the case's cipher suite.
func (c *CryptoBasics) CipherSuite() uint16 { return c.Suite }

// Verify performs every check of FORMAT.md "Crypto Basics".
func (c *CryptoBasics) Verify() error {
	s, err := suite.Lookup(suite.ID(c.Suite))
	if err != nil {
		return err
	}
	steps := []func(*suite.Suite) error{
		c.verifyRefHash, c.verifyExpandWithLabel, c.verifyDeriveSecret,
		c.verifyDeriveTreeSecret, c.verifySignWithLabel, c.verifyEncryptWithLabel,
	}
	for _, step := range steps {
		if err := step(s); err != nil {
			return err
		}
	}
	return nil
}

func (c *CryptoBasics) verifyRefHash(s *suite.Suite) error {
	v := &c.RefHash
	return expectEqual("ref_hash", s.RefHash(v.Label, v.Value), v.Out)
}

func (c *CryptoBasics) verifyExpandWithLabel(s *suite.Suite) error {
	v := &c.ExpandWithLabel
	out, err := s.ExpandWithLabel(v.Secret, v.Label, v.Context, int(v.Length))
	if err != nil {
		return fmt.Errorf("expand_with_label: %w", err)
	}
	return expectEqual("expand_with_label", out, v.Out)
}

func (c *CryptoBasics) verifyDeriveSecret(s *suite.Suite) error {
	v := &c.DeriveSecret
	out, err := s.DeriveSecret(v.Secret, v.Label)
	if err != nil {
		return fmt.Errorf("derive_secret: %w", err)
	}
	return expectEqual("derive_secret", out, v.Out)
}

func (c *CryptoBasics) verifyDeriveTreeSecret(s *suite.Suite) error {
	v := &c.DeriveTreeSecret
	out, err := s.DeriveTreeSecret(v.Secret, v.Label, v.Generation, int(v.Length))
	if err != nil {
		return fmt.Errorf("derive_tree_secret: %w", err)
	}
	return expectEqual("derive_tree_secret", out, v.Out)
}

func (c *CryptoBasics) verifySignWithLabel(s *suite.Suite) error {
	v := &c.SignWithLabel
	// The vector's key pair must match (priv encoded as in FORMAT.md).
	pub, err := s.SignaturePublicKey(v.Priv)
	if err != nil {
		return fmt.Errorf("sign_with_label: %w", err)
	}
	if err := expectEqual("sign_with_label: public key of priv", pub, v.Pub); err != nil {
		return err
	}
	// VerifyWithLabel(pub, label, content, signature) == true
	if err := s.VerifyWithLabel(v.Pub, v.Label, v.Content, v.Signature); err != nil {
		return fmt.Errorf("%w: sign_with_label: vector signature: %w", ErrMismatch, err)
	}
	// VerifyWithLabel(pub, label, content, SignWithLabel(priv, label, content)) == true
	signer, err := s.NewSigner(v.Priv)
	if err != nil {
		return fmt.Errorf("sign_with_label: %w", err)
	}
	sig, err := s.SignWithLabel(signer, v.Label, v.Content)
	if err != nil {
		return fmt.Errorf("sign_with_label: %w", err)
	}
	if err := s.VerifyWithLabel(v.Pub, v.Label, v.Content, sig); err != nil {
		return fmt.Errorf("%w: sign_with_label: own signature: %w", ErrMismatch, err)
	}
	return nil
}

func (c *CryptoBasics) verifyEncryptWithLabel(s *suite.Suite) error {
	v := &c.EncryptWithLabel
	pub, err := s.HPKEPublicKey(v.Priv)
	if err != nil {
		return fmt.Errorf("encrypt_with_label: %w", err)
	}
	if err := expectEqual("encrypt_with_label: public key of priv", pub, v.Pub); err != nil {
		return err
	}
	// DecryptWithLabel(priv, label, context, kem_output, ciphertext) == plaintext
	pt, err := s.DecryptWithLabel(v.Priv, v.Label, v.Context, v.KEMOutput, v.Ciphertext)
	if err != nil {
		return fmt.Errorf("%w: encrypt_with_label: vector ciphertext: %w", ErrMismatch, err)
	}
	if err := expectEqual("encrypt_with_label: decrypted plaintext", pt, v.Plaintext); err != nil {
		return err
	}
	// A fresh encryption to pub decrypts to plaintext.
	kemOut, ct, err := s.EncryptWithLabel(rand.Reader, v.Pub, v.Label, v.Context, v.Plaintext)
	if err != nil {
		return fmt.Errorf("encrypt_with_label: %w", err)
	}
	pt, err = s.DecryptWithLabel(v.Priv, v.Label, v.Context, kemOut, ct)
	if err != nil {
		return fmt.Errorf("%w: encrypt_with_label: own ciphertext: %w", ErrMismatch, err)
	}
	return expectEqual("encrypt_with_label: round-trip plaintext", pt, v.Plaintext)
}
