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
	s := env.s
	fc, err := c.content(ct, raw)
	if err != nil {
		return err
	}

	// The PublicMessage of the vector, then one of ours.
	var confirmationTag []byte
	if pubMsg != nil {
		m, err := decodeMLS(pubMsg, message.WireFormatPublicMessage)
		if err != nil {
			return fmt.Errorf("pub: %w", err)
		}
		ac, err := message.UnprotectPublic(s, m.PublicMessage, env.groupContext, c.MembershipKey, env.lookup)
		if err != nil {
			return fmt.Errorf("pub: %w", err)
		}
		if err := checkBody("pub", ac, ct, raw); err != nil {
			return err
		}
		confirmationTag = ac.Auth.ConfirmationTag
	} else {
		// A commit needs a confirmation tag; any MAC will do here.
		confirmationTag = s.MAC(c.MembershipKey, raw)
	}
	ac, err := message.SignContent(s, env.signer, message.WireFormatPublicMessage, fc, env.groupContext)
	if ct == message.ContentApplication {
		// §6: application data must not be sent as a PublicMessage.
		if !errors.Is(err, message.ErrApplicationPublic) {
			return fmt.Errorf("%w: protecting application data as a PublicMessage: err = %v", ErrMismatch, err)
		}
	} else {
		if err != nil {
			return fmt.Errorf("protect pub: %w", err)
		}
		if ct == message.ContentCommit {
			ac.Auth.ConfirmationTag = confirmationTag
		}
		pm, err := message.ProtectPublic(s, ac, c.MembershipKey, env.groupContext)
		if err != nil {
			return fmt.Errorf("protect pub: %w", err)
		}
		enc, err := wire.Marshal(message.NewMLSMessage(pm))
		if err != nil {
			return err
		}
		m, err := decodeMLS(enc, message.WireFormatPublicMessage)
		if err != nil {
			return fmt.Errorf("own pub: %w", err)
		}
		back, err := message.UnprotectPublic(s, m.PublicMessage, env.groupContext, c.MembershipKey, env.lookup)
		if err != nil {
			return fmt.Errorf("own pub: %w", err)
		}
		if err := checkBody("own pub", back, ct, raw); err != nil {
			return err
		}
	}

	// The PrivateMessage of the vector.
	tree, err := c.newTree(s)
	if err != nil {
		return err
	}
	m, err := decodeMLS(privMsg, message.WireFormatPrivateMessage)
	if err != nil {
		return fmt.Errorf("priv: %w", err)
	}
	back, err := message.UnprotectPrivate(s, m.PrivateMessage, env.groupContext, tree, c.SenderDataSecret, env.lookup)
	if err != nil {
		return fmt.Errorf("priv: %w", err)
	}
	if err := checkBody("priv", back, ct, raw); err != nil {
		return err
	}

	// One of ours, sent and received with trees of their own.
	ac, err = message.SignContent(s, env.signer, message.WireFormatPrivateMessage, fc, env.groupContext)
	if err != nil {
		return fmt.Errorf("protect priv: %w", err)
	}
	if ct == message.ContentCommit {
		ac.Auth.ConfirmationTag = confirmationTag
	}
	sendTree, err := c.newTree(s)
	if err != nil {
		return err
	}
	pm, err := message.ProtectPrivate(s, ac, sendTree, c.SenderDataSecret, message.PadToMultiple(32), nil)
	if err != nil {
		return fmt.Errorf("protect priv: %w", err)
	}
	enc, err := wire.Marshal(message.NewMLSMessage(pm))
	if err != nil {
		return err
	}
	if m, err = decodeMLS(enc, message.WireFormatPrivateMessage); err != nil {
		return fmt.Errorf("own priv: %w", err)
	}
	recvTree, err := c.newTree(s)
	if err != nil {
		return err
	}
	back, err = message.UnprotectPrivate(s, m.PrivateMessage, env.groupContext, recvTree, c.SenderDataSecret, env.lookup)
	if err != nil {
		return fmt.Errorf("own priv: %w", err)
	}
	return checkBody("own priv", back, ct, raw)
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
