package testvectors

import (
	"errors"
	"fmt"

	"github.com/mlsengine/engine/mls/keyschedule"
	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/mls/wire"
	"github.com/mlsengine/engine/treekem"
)

// MessageProtection is a case of message-protection.json: a proposal, a
// commit and application data, each protected as a PublicMessage (except
// the application data) and as a PrivateMessage (RFC 9420 §6).
type MessageProtection struct {
	Suite uint16 `json:"cipher_suite"`

	GroupID                 HexBytes `json:"group_id"`
	Epoch                   uint64   `json:"epoch"`
	TreeHash                HexBytes `json:"tree_hash"`
	ConfirmedTranscriptHash HexBytes `json:"confirmed_transcript_hash"`

	SignaturePriv HexBytes `json:"signature_priv"`
	SignaturePub  HexBytes `json:"signature_pub"`

	EncryptionSecret HexBytes `json:"encryption_secret"`
	SenderDataSecret HexBytes `json:"sender_data_secret"`
	MembershipKey    HexBytes `json:"membership_key"`

	Proposal     HexBytes `json:"proposal"`
	ProposalPub  HexBytes `json:"proposal_pub"`
	ProposalPriv HexBytes `json:"proposal_priv"`

	Commit     HexBytes `json:"commit"`
	CommitPub  HexBytes `json:"commit_pub"`
	CommitPriv HexBytes `json:"commit_priv"`

	Application     HexBytes `json:"application"`
	ApplicationPriv HexBytes `json:"application_priv"`
}

// CipherSuite returns the case's cipher suite.
func (c *MessageProtection) CipherSuite() uint16 { return c.Suite }

// mpSender is the sender of every message of the vectors.
const mpSender treekem.LeafIndex = 1

// mpEnv is what protecting and unprotecting a case's messages needs.
type mpEnv struct {
	s            *suite.Suite
	signer       suite.Signer
	groupContext []byte
	lookup       message.KeyLookup
}

// Verify runs the checks of FORMAT.md for the proposal, the commit and the
// application data.
func (c *MessageProtection) Verify() error {
	s, err := suite.Lookup(suite.ID(c.Suite))
	if err != nil {
		return err
	}
	signer, err := vectorSigner(s, c.SignaturePriv, c.SignaturePub)
	if err != nil {
		return err
	}
	gc := &message.GroupContext{
		Version:                 message.MLS10,
		CipherSuite:             s.ID(),
		GroupID:                 c.GroupID,
		Epoch:                   c.Epoch,
		TreeHash:                c.TreeHash,
		ConfirmedTranscriptHash: c.ConfirmedTranscriptHash,
	}
	gcBytes, err := gc.Bytes()
	if err != nil {
		return err
	}
	env := &mpEnv{
		s: s, signer: signer, groupContext: gcBytes,
		lookup: func(fc *message.FramedContent) ([]byte, error) {
			if fc.Sender.Type != message.SenderMember || fc.Sender.Leaf != mpSender {
				return nil, fmt.Errorf("unexpected sender %v", fc.Sender)
			}
			return c.SignaturePub, nil
		},
	}

	for _, k := range []struct {
		name      string
		ct        message.ContentType
		raw       []byte
		pub, priv []byte
	}{
		{"proposal", message.ContentProposal, c.Proposal, c.ProposalPub, c.ProposalPriv},
		{"commit", message.ContentCommit, c.Commit, c.CommitPub, c.CommitPriv},
		{"application", message.ContentApplication, c.Application, nil, c.ApplicationPriv},
	} {
		if err := c.verifyContent(env, k.ct, k.raw, k.pub, k.priv); err != nil {
			return fmt.Errorf("%s: %w", k.name, err)
		}
	}
	return nil
}

// content returns the FramedContent that carries raw, the encoding of a
// Proposal or Commit or the application data.
func (c *MessageProtection) content(ct message.ContentType, raw []byte) (*message.FramedContent, error) {
	fc := &message.FramedContent{
		GroupID:     c.GroupID,
		Epoch:       c.Epoch,
		Sender:      message.MemberSender(mpSender),
		ContentType: ct,
	}
	switch ct {
	case message.ContentProposal:
		fc.Proposal = new(message.Proposal)
		if err := wire.Unmarshal(raw, fc.Proposal); err != nil {
			return nil, err
		}
	case message.ContentCommit:
		fc.Commit = new(message.Commit)
		if err := wire.Unmarshal(raw, fc.Commit); err != nil {
			return nil, err
		}
	default:
		fc.ApplicationData = raw
	}
	return fc, nil
}

// checkBody compares the body of unprotected content with raw.
func checkBody(what string, ac *message.AuthenticatedContent, ct message.ContentType, raw []byte) error {
	if ac.Content.ContentType != ct {
		return fmt.Errorf("%w: %s: content type %v, want %v", ErrMismatch, what, ac.Content.ContentType, ct)
	}
	var got []byte
	var err error
	switch ct {
	case message.ContentProposal:
		got, err = wire.Marshal(ac.Content.Proposal)
	case message.ContentCommit:
		got, err = wire.Marshal(ac.Content.Commit)
	default:
		got = ac.Content.ApplicationData
	}
	if err != nil {
		return err
	}
	return expectEqual(what+" content", got, raw)
}

func (c *MessageProtection) newTree(s *suite.Suite) (*keyschedule.SecretTree, error) {
	return keyschedule.NewSecretTree(s, c.EncryptionSecret, 2, keyschedule.Config{})
}

func decodeMLS(data []byte, wf message.WireFormat) (*message.MLSMessage, error) {
	var m message.MLSMessage
	if err := wire.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	if m.WireFormat != wf {
		return nil, fmt.Errorf("%w: wire format %v, want %v", ErrMismatch, m.WireFormat, wf)
	}
	return &m, nil
}

func (c *MessageProtection) verifyContent(env *mpEnv, ct message.ContentType, raw, pubMsg, privMsg []byte) error {
	fc, err := c.content(ct, raw)
	if err != nil {
		return err
	}

	// The messages of the vector.
	var confirmationTag []byte
	if pubMsg != nil {
		ac, err := c.receive(env, "pub", message.WireFormatPublicMessage, pubMsg, ct, raw)
		if err != nil {
			return err
		}
		confirmationTag = ac.Auth.ConfirmationTag
	} else {
		// A commit needs a confirmation tag; any MAC will do here.
		confirmationTag = env.s.MAC(c.MembershipKey, raw)
	}
	if _, err := c.receive(env, "priv", message.WireFormatPrivateMessage, privMsg, ct, raw); err != nil {
		return err
	}

	// Ours, sent and received with secret trees of their own.
	for _, wf := range []message.WireFormat{message.WireFormatPublicMessage, message.WireFormatPrivateMessage} {
		what := "own pub"
		if wf == message.WireFormatPrivateMessage {
			what = "own priv"
		}
		enc, err := c.send(env, wf, fc, confirmationTag)
		if wf == message.WireFormatPublicMessage && ct == message.ContentApplication {
			// §6: application data must not be sent as a PublicMessage.
			if !errors.Is(err, message.ErrApplicationPublic) {
				return fmt.Errorf("%w: protecting application data as a PublicMessage: err = %v", ErrMismatch, err)
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: protecting: %w", what, err)
		}
		if _, err := c.receive(env, what, wf, enc, ct, raw); err != nil {
			return err
		}
	}
	return nil
}

// send signs fc, protects it as a message of wire format wf (a commit with
// confirmationTag, a PrivateMessage with a fresh secret tree) and encodes
// it as an MLSMessage.
func (c *MessageProtection) send(env *mpEnv, wf message.WireFormat, fc *message.FramedContent, confirmationTag []byte) ([]byte, error) {
	ac, err := message.SignContent(env.s, env.signer, wf, fc, env.groupContext)
	if err != nil {
		return nil, err
	}
	if fc.ContentType == message.ContentCommit {
		ac.Auth.ConfirmationTag = confirmationTag
	}
	var body wire.Marshaler
	if wf == message.WireFormatPublicMessage {
		body, err = message.ProtectPublic(env.s, ac, c.MembershipKey, env.groupContext)
	} else {
		tree, terr := c.newTree(env.s)
		if terr != nil {
			return nil, terr
		}
		body, err = message.ProtectPrivate(env.s, ac, tree, c.SenderDataSecret, message.PadToMultiple(32), nil)
	}
	if err != nil {
		return nil, err
	}
	return wire.Marshal(message.NewMLSMessage(body))
}

// receive decodes data, an MLSMessage of wire format wf, unprotects it with
// the case's keys (a PrivateMessage with a fresh secret tree) and checks
// that it carries raw, content of type ct.
func (c *MessageProtection) receive(env *mpEnv, what string, wf message.WireFormat, data []byte, ct message.ContentType, raw []byte) (*message.AuthenticatedContent, error) {
	m, err := decodeMLS(data, wf)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	var ac *message.AuthenticatedContent
	if wf == message.WireFormatPublicMessage {
		ac, err = message.UnprotectPublic(env.s, m.PublicMessage, env.groupContext, c.MembershipKey, env.lookup)
	} else {
		tree, terr := c.newTree(env.s)
		if terr != nil {
			return nil, terr
		}
		ac, err = message.UnprotectPrivate(env.s, m.PrivateMessage, env.groupContext, tree, c.SenderDataSecret, env.lookup)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return ac, checkBody(what, ac, ct, raw)
}

// vectorSigner returns a signer for priv, whose public key must be pub.
func vectorSigner(s *suite.Suite, priv, pub []byte) (suite.Signer, error) {
	signer, err := s.NewSigner(priv)
	if err != nil {
		return nil, err
	}
	if err := expectEqual("signature public key", signer.Public(), pub); err != nil {
		return nil, err
	}
	return signer, nil
}
