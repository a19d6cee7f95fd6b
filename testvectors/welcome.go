package testvectors

import (
	"fmt"

	"github.com/mlsengine/engine/mls/keyschedule"
	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/mls/suite"
)

// Welcome is a case of welcome.json: a Welcome for a KeyPackage whose
// init key is known (RFC 9420 §12.4.3.1).
type Welcome struct {
	Suite uint16 `json:"cipher_suite"`

	InitPriv   HexBytes `json:"init_priv"`
	SignerPub  HexBytes `json:"signer_pub"`
	KeyPackage HexBytes `json:"key_package"`
	Welcome    HexBytes `json:"welcome"`
}

// CipherSuite returns the case's cipher suite.
func (c *Welcome) CipherSuite() uint16 { return c.Suite }

// Verify finds the KeyPackage's entry in the Welcome, decrypts the
// GroupSecrets and the GroupInfo, and checks the GroupInfo's signature and
// confirmation tag.
func (c *Welcome) Verify() error {
	s, err := suite.Lookup(suite.ID(c.Suite))
	if err != nil {
		return err
	}
	kpMsg, err := decodeMLS(c.KeyPackage, message.WireFormatKeyPackage)
	if err != nil {
		return fmt.Errorf("key_package: %w", err)
	}
	wMsg, err := decodeMLS(c.Welcome, message.WireFormatWelcome)
	if err != nil {
		return fmt.Errorf("welcome: %w", err)
	}
	kp, w := kpMsg.KeyPackage, wMsg.Welcome
	if kp.CipherSuite != s.ID() || w.CipherSuite != s.ID() {
		return fmt.Errorf("%w: suites: KeyPackage %v, Welcome %v, case %v", ErrMismatch, kp.CipherSuite, w.CipherSuite, s.ID())
	}
	if err := kp.Verify(s); err != nil {
		return fmt.Errorf("key_package: %w", err)
	}

	ref, err := kp.Ref(s)
	if err != nil {
		return err
	}
	entry, err := w.Find(ref)
	if err != nil {
		return err
	}
	gs, err := message.DecryptGroupSecrets(s, c.InitPriv, w.EncryptedGroupInfo, &entry.EncryptedGroupSecrets)
	if err != nil {
		return err
	}
	welcomeSecret, err := keyschedule.WelcomeSecret(s, gs.JoinerSecret, nil)
	if err != nil {
		return err
	}
	gi, err := message.DecryptGroupInfo(s, welcomeSecret, w.EncryptedGroupInfo)
	if err != nil {
		return err
	}
	if err := gi.VerifySignature(s, c.SignerPub); err != nil {
		return err
	}

	gc, err := gi.GroupContext.Bytes()
	if err != nil {
		return err
	}
	epoch, err := keyschedule.Join(s, gs.JoinerSecret, nil, gc)
	if err != nil {
		return err
	}
	defer epoch.Wipe()
	if err := message.VerifyConfirmationTag(s, epoch.Confirmation, gi.GroupContext.ConfirmedTranscriptHash, gi.ConfirmationTag); err != nil {
		return fmt.Errorf("%w: %w", ErrMismatch, err)
	}
	return nil
}
