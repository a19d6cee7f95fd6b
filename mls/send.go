package mls

import (
	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/treekem"
)

// SendOptions are the options of Encrypt, ExternalProposal and
// NewMemberProposal.
type SendOptions struct {
	// AuthenticatedData is the message's authenticated_data (§6): sent in
	// the clear, and authenticated.
	AuthenticatedData []byte
}

// ProposeOptions are the options of Propose.
type ProposeOptions struct {
	// AuthenticatedData is the message's authenticated_data (§6).
	AuthenticatedData []byte
	// WireFormat is the proposal's: WireFormatPublicMessage, which a
	// delivery service can check (PublicGroup), or
	// WireFormatPrivateMessage; 0 follows Config.EncryptHandshake.
	WireFormat WireFormat
}

// Encrypt encrypts application data for the group as a PrivateMessage of
// the current epoch (§6.3, §15), padded with Config.Padding, and returns
// the MLSMessage to send. It consumes a generation of the member's
// application ratchet.
//
// §12.4: "A group member that has observed one or more valid proposals
// within an epoch MUST send a Commit message before sending application
// data": Encrypt fails with ErrPendingProposals while proposals are pending.
func (g *Group) Encrypt(data []byte, opts *SendOptions) ([]byte, error) {
	if err := g.checkActive(); err != nil {
		return nil, err
	}
	if len(g.ep.proposals) > 0 {
		return nil, errorf(ErrPendingProposals, "%d proposals pending", len(g.ep.proposals))
	}
	if opts == nil {
		opts = &SendOptions{}
	}
	fc := g.framed(message.ContentApplication, opts.AuthenticatedData)
	fc.ApplicationData = data
	ac, err := g.sign(message.WireFormatPrivateMessage, fc)
	if err != nil {
		return nil, err
	}
	return g.protect(ac)
}

// Propose sends a proposal on its own (§12.1), to be committed by
// reference by any member. It returns the MLSMessage to send; the proposal
// is pending in the group from now on, as if received. Use ProposeUpdate
// for an Update.
func (g *Group) Propose(p *Proposal, opts *ProposeOptions) ([]byte, error) {
	if p == nil || p.Body == nil {
		return nil, errorf(ErrInvalidArgument, "nil proposal")
	}
	if _, ok := p.Body.(*Update); ok {
		return nil, errorf(ErrInvalidArgument, "use ProposeUpdate for an Update")
	}
	return g.propose(p.wire(), nil, nil, opts)
}

// UpdateOptions are the options of ProposeUpdate.
type UpdateOptions struct {
	ProposeOptions
	// Credential, if set, replaces the member's credential; it must keep
	// the member's identity as the application sees it.
	Credential *Credential
	// Signer, if set, holds a new signature key for the new LeafNode: once
	// a commit covering the Update is applied, the group signs with it.
	// (The proposal itself is signed with the current key.)
	Signer Signer
}

// ProposeUpdate proposes to replace the member's LeafNode with a fresh one
// (§12.1.2): a new encryption key, and the credential, capabilities and
// extensions of the Config. The new private key is kept with the pending
// proposal and used if a commit covers it.
func (g *Group) ProposeUpdate(opts *UpdateOptions) ([]byte, error) {
	if opts == nil {
		opts = &UpdateOptions{}
	}
	p, priv, err := g.newUpdate(opts.Credential, opts.Signer)
	if err != nil {
		return nil, err
	}
	return g.propose(p, priv, opts.Signer, &opts.ProposeOptions)
}

// newUpdate returns an Update proposal with a fresh leaf key, and the key.
func (g *Group) newUpdate(cred *Credential, signer Signer) (*message.Proposal, []byte, error) {
	cf := g.cf
	if signer != nil {
		c := *cf
		c.Signer = signer
		cf = &c
		if err := cf.cs.CheckSignaturePublicKey(signer.Public()); err != nil {
			return nil, nil, wrapErr(ErrInvalidArgument, "new signer's public key", err)
		}
	}
	priv, pub, err := cf.cs.GenerateKeyPair(cf.rand())
	if err != nil {
		return nil, nil, wrapErr(ErrInvalidArgument, "generating the leaf key", err)
	}
	ln := cf.leafTemplate()
	if cred != nil {
		ln.Credential = *cred
	}
	ln.EncryptionKey = pub
	ln.Source = treekem.SourceUpdate
	if cf.GREASE {
		if err := cf.greaseLeaf(&ln); err != nil {
			return nil, nil, err
		}
	}
	if err := signLeaf(cf.cs, cf.Signer, &ln, g.ep.gc.GroupID, g.ep.leaf()); err != nil {
		return nil, nil, err
	}
	return &message.Proposal{Body: &Update{LeafNode: ln}}, priv, nil
}

// propose validates, signs, protects and caches a proposal of the member.
func (g *Group) propose(p *message.Proposal, leafPriv []byte, signer Signer, opts *ProposeOptions) ([]byte, error) {
	if err := g.checkActive(); err != nil {
		return nil, err
	}
	if opts == nil {
		opts = &ProposeOptions{}
	}
	wf, err := g.handshakeFormat(opts.WireFormat)
	if err != nil {
		return nil, err
	}
	fc := g.framed(message.ContentProposal, opts.AuthenticatedData)
	fc.Proposal = p
	ac, err := g.sign(wf, fc)
	if err != nil {
		return nil, err
	}
	ref, err := message.MakeProposalRef(g.cf.cs, ac)
	if err != nil {
		return nil, wrapErr(ErrInvalidArgument, "proposal reference", err)
	}
	c := &cachedProposal{ref: ref, sender: fc.Sender, proposal: p, leafPriv: leafPriv, signer: signer}
	if err := g.view().checkProposal(c); err != nil {
		return nil, err
	}
	if err := g.cf.accept(c.view()); err != nil {
		return nil, proposalErr(-1, p.Type(), RulePolicy, err)
	}
	out, err := g.protect(ac)
	if err != nil {
		return nil, err
	}
	g.ep.proposals = append(g.ep.proposals, c)
	return out, nil
}
