package testvectors

import (
	"fmt"

	"github.com/mlsengine/engine/mls/keyschedule"
	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/treekem"
)

// SecretTree is one case of secret-tree.json (FORMAT.md "Secret Tree"): the
// sender-data key and nonce (RFC 9420 §6.3.2) and the handshake and
// application ratchets of every leaf (§9) for one suite.
type SecretTree struct {
	Suite uint16 `json:"cipher_suite"`

	SenderData struct {
		SenderDataSecret HexBytes `json:"sender_data_secret"`
		Ciphertext       HexBytes `json:"ciphertext"`
		Key              HexBytes `json:"key"`
		Nonce            HexBytes `json:"nonce"`
	} `json:"sender_data"`

	EncryptionSecret HexBytes                 `json:"encryption_secret"`
	Leaves           [][]SecretTreeGeneration `json:"leaves"`
}

// SecretTreeGeneration is the keys and nonces of one generation of a leaf's
// ratchets in a SecretTree case.
type SecretTreeGeneration struct {
	Generation       uint32   `json:"generation"`
	HandshakeKey     HexBytes `json:"handshake_key"`
	HandshakeNonce   HexBytes `json:"handshake_nonce"`
	ApplicationKey   HexBytes `json:"application_key"`
	ApplicationNonce HexBytes `json:"application_nonce"`
}

// CipherSuite returns the case's cipher suite.
func (c *SecretTree) CipherSuite() uint16 { return c.Suite }

// Verify checks the sender-data key and nonce, then builds a secret tree of
// len(leaves) leaves from encryption_secret and checks each listed
// generation of both ratchets of every leaf.
func (c *SecretTree) Verify() error {
	s, err := suite.Lookup(suite.ID(c.Suite))
	if err != nil {
		return err
	}
	sd := &c.SenderData
	key, nonce, err := keyschedule.SenderDataKeyNonce(s, sd.SenderDataSecret, sd.Ciphertext)
	if err != nil {
		return err
	}
	if err := expectEqual("sender_data.key", key, sd.Key); err != nil {
		return err
	}
	if err := expectEqual("sender_data.nonce", nonce, sd.Nonce); err != nil {
		return err
	}

	tree, err := keyschedule.NewSecretTree(s, c.EncryptionSecret, uint32(len(c.Leaves)), keyschedule.Config{})
	if err != nil {
		return err
	}
	defer tree.Wipe()
	for i, gens := range c.Leaves {
		leaf := treekem.LeafIndex(i)
		for _, g := range gens {
			for _, r := range []struct {
				kind       keyschedule.Kind
				key, nonce []byte
			}{
				{keyschedule.Handshake, g.HandshakeKey, g.HandshakeNonce},
				{keyschedule.Application, g.ApplicationKey, g.ApplicationNonce},
			} {
				key, nonce, err := tree.ReceiveKey(leaf, r.kind, g.Generation)
				if err != nil {
					return err
				}
				what := fmt.Sprintf("leaf %d %s generation %d", i, r.kind, g.Generation)
				if err := expectEqual(what+" key", key, r.key); err != nil {
					return err
				}
				if err := expectEqual(what+" nonce", nonce, r.nonce); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
