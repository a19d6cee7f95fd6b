package testvectors

import (
	"io"

	"github.com/mlsengine/engine/mls"
	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/mls/wire"
	"github.com/mlsengine/engine/treekem"
)

// generateMessageProtection makes one case: a Remove proposal, a commit of
// a Remove by value and a proposal by reference (no path), and application
// data, protected by leaf 1 of a two-member tree as MessageProtection.Verify
// unprotects them.
func generateMessageProtection(s *suite.Suite, r io.Reader) ([]Case, error) {
	ch := &chooser{r: r}
	nh := s.HashSize()
	c := &MessageProtection{
		Suite: uint16(s.ID()), GroupID: ch.bytes(nh), Epoch: uint64(ch.uint32()),
		TreeHash: ch.bytes(nh), ConfirmedTranscriptHash: ch.bytes(nh),
		EncryptionSecret: ch.bytes(nh), SenderDataSecret: ch.bytes(nh), MembershipKey: ch.bytes(nh),
		Application: ch.bytes(2 * nh),
	}
	removed := treekem.LeafIndex(ch.uint32() & 0xffff)
	ref := ch.bytes(nh)
	tagKey := ch.bytes(nh)
	if ch.err != nil {
		return nil, ch.err
	}
	var err error
	if c.SignaturePriv, c.SignaturePub, err = s.GenerateSignatureKey(r); err != nil {
		return nil, err
	}
	signer, err := s.NewSigner(c.SignaturePriv)
	if err != nil {
		return nil, err
	}
	remove := &message.Proposal{Body: &message.Remove{Removed: removed}}
	if c.Proposal, err = wire.Marshal(remove); err != nil {
		return nil, err
	}
	commit := &message.Commit{Proposals: []message.ProposalOrRef{{Proposal: remove}, {Reference: message.ProposalRef(ref)}}}
	if c.Commit, err = wire.Marshal(commit); err != nil {
		return nil, err
	}
	gc := &message.GroupContext{Version: message.MLS10, CipherSuite: s.ID(), GroupID: c.GroupID, Epoch: c.Epoch,
		TreeHash: c.TreeHash, ConfirmedTranscriptHash: c.ConfirmedTranscriptHash}
	gcBytes, err := gc.Bytes()
	if err != nil {
		return nil, err
	}
	env := &mpEnv{s: s, signer: signer, groupContext: gcBytes}
	for _, m := range []struct {
		ct        message.ContentType
		raw       []byte
		pub, priv *HexBytes
	}{
		{message.ContentProposal, c.Proposal, &c.ProposalPub, &c.ProposalPriv},
		{message.ContentCommit, c.Commit, &c.CommitPub, &c.CommitPriv},
		{message.ContentApplication, c.Application, nil, &c.ApplicationPriv},
	} {
		fc, err := c.content(m.ct, m.raw)
		if err != nil {
			return nil, err
		}
		// The confirmation tag of a commit is not checked: any MAC will do.
		tag := s.MAC(tagKey, m.raw)
		if m.pub != nil {
			if *m.pub, err = c.send(env, message.WireFormatPublicMessage, fc, tag); err != nil {
				return nil, err
			}
		}
		if *m.priv, err = c.send(env, message.WireFormatPrivateMessage, fc, tag); err != nil {
			return nil, err
		}
	}
	return []Case{c}, nil
}

// generateWelcome makes one case: a one-member group adds a KeyPackage by
// a commit (with a path, without PSKs), and the Welcome is for it.
func generateWelcome(s *suite.Suite, r io.Reader) ([]Case, error) {
	// A registry of s alone, so that any suite can be generated.
	reg, err := suite.NewRegistry(s)
	if err != nil {
		return nil, err
	}
	config := func(name string) (mls.Config, []byte, error) {
		priv, pub, err := s.GenerateSignatureKey(r)
		if err != nil {
			return mls.Config{}, nil, err
		}
		signer, err := s.NewSigner(priv)
		return mls.Config{Suite: s.ID(), Suites: reg, Signer: signer, Credential: treekem.BasicCredential([]byte(name)), Rand: r}, pub, err
	}
	creator, signerPub, err := config("creator")
	if err != nil {
		return nil, err
	}
	joiner, _, err := config("joiner")
	if err != nil {
		return nil, err
	}
	g, err := mls.NewGroup(creator, nil)
	if err != nil {
		return nil, err
	}
	kp, priv, err := mls.NewKeyPackage(joiner, nil)
	if err != nil {
		return nil, err
	}
	add, err := mls.NewAdd(kp)
	if err != nil {
		return nil, err
	}
	pc, err := g.Commit(&mls.CommitOptions{Proposals: []*mls.Proposal{add}})
	if err != nil {
		return nil, err
	}
	return []Case{&Welcome{Suite: uint16(s.ID()), InitPriv: priv.InitKey, SignerPub: signerPub, KeyPackage: kp, Welcome: pc.Welcome}}, nil
}
