package testvectors

import (
	"bytes"
	"fmt"
	"time"

	"github.com/mlsengine/engine/mls"
	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/mls/wire"
	"github.com/mlsengine/engine/treekem"
)

// PassiveClient is a case of the passive-client-*.json files: a client
// joins a group with a Welcome and follows it through commits, agreeing
// on the epoch authenticator at every epoch (FORMAT.md, "Passive Client
// Scenarios"). It runs the group state machine of package mls as an
// application would: Join, then Process for every proposal and commit and
// Apply for every commit.
type PassiveClient struct {
	Suite        uint16 `json:"cipher_suite"`
	ExternalPSKs []struct {
		ID  HexBytes `json:"psk_id"`
		PSK HexBytes `json:"psk"`
	} `json:"external_psks"`
	KeyPackage     HexBytes `json:"key_package"`
	SignaturePriv  HexBytes `json:"signature_priv"`
	EncryptionPriv HexBytes `json:"encryption_priv"`
	InitPriv       HexBytes `json:"init_priv"`

	Welcome                   HexBytes `json:"welcome"`
	RatchetTree               HexBytes `json:"ratchet_tree"`
	InitialEpochAuthenticator HexBytes `json:"initial_epoch_authenticator"`

	Epochs []struct {
		Proposals          []HexBytes `json:"proposals"`
		Commit             HexBytes   `json:"commit"`
		EpochAuthenticator HexBytes   `json:"epoch_authenticator"`
	} `json:"epochs"`
}

// CipherSuite returns the case's cipher suite.
func (c *PassiveClient) CipherSuite() uint16 { return c.Suite }

// Verify checks that the private keys match the KeyPackage, joins with the
// Welcome (the tree from ratchet_tree when given, else from the Welcome's
// extension) and the external PSKs, then for each epoch processes the
// proposals and the commit and compares the epoch authenticator.
// Resumption PSKs of earlier epochs are kept by the group for the whole
// scenario; a commit with a ReInit closes the group, as §11.2 requires.
func (c *PassiveClient) Verify() error {
	cs, err := suite.Lookup(suite.ID(c.Suite))
	if err != nil {
		return err
	}
	kp, err := mls.ParseKeyPackage(c.KeyPackage)
	if err != nil {
		return fmt.Errorf("key_package: %w", err)
	}
	if kp.CipherSuite != cs.ID() {
		return fmt.Errorf("%w: KeyPackage of suite %v", ErrMismatch, kp.CipherSuite)
	}
	// The private keys must be those of the KeyPackage's public keys.
	sigPub, err := cs.SignaturePublicKey(c.SignaturePriv)
	if err != nil {
		return fmt.Errorf("signature_priv: %w", err)
	}
	if err := expectEqual("signature key", sigPub, kp.LeafNode.SignatureKey); err != nil {
		return err
	}
	encPub, err := cs.HPKEPublicKey(c.EncryptionPriv)
	if err != nil {
		return fmt.Errorf("encryption_priv: %w", err)
	}
	if err := expectEqual("encryption key", encPub, kp.LeafNode.EncryptionKey); err != nil {
		return err
	}
	initPub, err := cs.HPKEPublicKey(c.InitPriv)
	if err != nil {
		return fmt.Errorf("init_priv: %w", err)
	}
	if err := expectEqual("init key", initPub, kp.InitKey); err != nil {
		return err
	}
	signer, err := cs.NewSigner(c.SignaturePriv)
	if err != nil {
		return err
	}

	psks := map[string][]byte{}
	for _, p := range c.ExternalPSKs {
		psks[string(p.ID)] = p.PSK
	}
	cfg := mls.Config{
		Suite:      cs.ID(),
		Signer:     signer,
		Credential: kp.LeafNode.Credential,
		// The vectors come with no authentication service: every
		// credential is acceptable, and any client may join by itself.
		Authentication: anyCredential{},
		Policy:         mls.Policy{Admit: mls.AdmitAll},
		ExternalPSK: func(id []byte) ([]byte, error) {
			if psk, ok := psks[string(id)]; ok {
				return psk, nil
			}
			return nil, fmt.Errorf("unknown external PSK %x", id)
		},
		// Resumption PSKs of any earlier epoch may be referenced.
		ResumptionEpochs: len(c.Epochs) + 1,
		PastEpochs:       -1,
	}
	priv := &mls.KeyPackagePrivate{KeyPackage: c.KeyPackage, InitKey: c.InitPriv, EncryptionKey: c.EncryptionPriv}
	g, err := mls.Join(cfg, c.Welcome, priv, &mls.JoinOptions{RatchetTree: c.RatchetTree})
	if err != nil {
		return fmt.Errorf("join: %w", err)
	}
	if err := expectEqual("initial epoch authenticator", g.EpochAuthenticator(), c.InitialEpochAuthenticator); err != nil {
		return err
	}
	for i, e := range c.Epochs {
		for j, p := range e.Proposals {
			r, err := g.Process(p)
			if err != nil {
				return fmt.Errorf("epoch %d: proposal %d: %w", i, j, err)
			}
			if r.Proposal == nil {
				return fmt.Errorf("%w: epoch %d: proposal %d is a %v message", ErrMismatch, i, j, r.ContentType)
			}
		}
		r, err := g.Process(e.Commit)
		if err != nil {
			return fmt.Errorf("epoch %d: commit: %w", i, err)
		}
		if r.Commit == nil {
			return fmt.Errorf("%w: epoch %d: commit is a %v message", ErrMismatch, i, r.ContentType)
		}
		if err := g.Apply(r.Commit); err != nil {
			return fmt.Errorf("epoch %d: applying the commit: %w", i, err)
		}
		if g.Removed() {
			return fmt.Errorf("%w: epoch %d: the passive client was removed", ErrMismatch, i)
		}
		if !bytes.Equal(g.EpochAuthenticator(), e.EpochAuthenticator) {
			return fmt.Errorf("%w: epoch %d: epoch authenticator: got %x, want %x", ErrMismatch, i, g.EpochAuthenticator(), e.EpochAuthenticator)
		}
	}
	return nil
}

// anyCredential is the authentication service of the vectors, which come
// without one: it accepts every credential and every successor, and names
// a credential by its encoding.
type anyCredential struct{}

func (anyCredential) Validate(*treekem.Credential, []byte, time.Time) error { return nil }
func (anyCredential) ValidSuccessor(_, _ *treekem.Credential) error         { return nil }
func (anyCredential) Identity(c *treekem.Credential) ([]byte, error)        { return wire.Marshal(c) }
