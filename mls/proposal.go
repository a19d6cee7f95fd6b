package mls

import (
	"bytes"

	"github.com/mlsengine/engine/mls/message"
)

// Proposal is a proposal (§12.1), the one type of the API for them: made
// by NewAdd, NewRemove and the other constructors to be sent (Group.Propose,
// ExternalProposal) or committed by value (CommitOptions.Proposals, where
// Sender and Ref are ignored); received on its own (Received.Proposal),
// pending in the group (Group.PendingProposals) or covered by a commit
// (StagedCommit.Proposals, PendingCommit.Proposals), with Sender and Ref
// set; and handed to Config.Policy.Proposal.
type Proposal struct {
	// Body is the proposal: *Add, *Update, *Remove, *PreSharedKey,
	// *ReInit, *ExternalInit, *GroupContextExtensions or *CustomProposal.
	Body message.ProposalBody
	// Sender is who proposed it; for a proposal carried by value in a
	// commit, the committer.
	Sender Sender
	// Ref is the proposal's reference (§5.2), nil for a proposal carried
	// by value in a commit (or not yet sent).
	Ref ProposalRef
}

// wire returns the proposal's wire form.
func (p *Proposal) wire() *message.Proposal { return &message.Proposal{Body: p.Body} }

// Type returns the proposal's type.
func (p *Proposal) Type() ProposalType {
	if p.Body == nil {
		return 0
	}
	return p.Body.ProposalType()
}

// CustomProposal is a proposal of a type outside RFC 9420 (§13.2), which
// the application implements; package message decodes its body as opaque
// data<V> (see message.CustomProposal). Whether the type is acceptable is
// this package's policy: only types listed in Config.SupportedProposals
// are accepted (a GREASE type, §13.5, gets no special treatment: it is
// unsupported unless listed), and they are handed to
// Config.Policy.Proposal; the group applies no change of its own for them,
// and every member must list the type in its capabilities (§12.2). A
// commit covering a custom proposal carries a path: §17.4 has new types
// declare whether they need one, and an unknown type is taken to need it.
type CustomProposal = message.CustomProposal

// cachedProposal is a proposal received (or sent) in the current epoch,
// kept until the epoch ends so that a commit can cover it by reference
// (§12.1).
type cachedProposal struct {
	ref      ProposalRef
	sender   Sender
	proposal *message.Proposal
	// leafPriv is the private key of the LeafNode of the member's own
	// Update proposal, used if a commit covers it.
	leafPriv []byte
	// signer is the new signer of the member's own Update, if it changes
	// the signature key; it is not part of snapshots.
	signer Signer
}

func (c *cachedProposal) view() *Proposal {
	return &Proposal{Body: c.proposal.Body, Sender: c.sender, Ref: c.ref}
}

// findProposal returns the cached proposal with reference ref.
func findProposal(cache []*cachedProposal, ref []byte) *cachedProposal {
	for _, c := range cache {
		if bytes.Equal(c.ref, ref) {
			return c
		}
	}
	return nil
}

// Proposal constructors. A proposal is either sent on its own with
// Group.Propose (and later committed by reference) or committed by value
// with CommitOptions.Proposals.

// NewAdd returns an Add proposal for the KeyPackage kp, an MLSMessage or a
// bare KeyPackage encoding (§12.1.1). The KeyPackage is validated when the
// proposal is sent or committed.
func NewAdd(kp []byte) (*Proposal, error) {
	k, err := ParseKeyPackage(kp)
	if err != nil {
		return nil, err
	}
	return &Proposal{Body: &Add{KeyPackage: *k}}, nil
}

// NewRemove returns a proposal to remove the member at leaf (§12.1.3).
func NewRemove(leaf LeafIndex) *Proposal {
	return &Proposal{Body: &Remove{Removed: leaf}}
}

// NewGroupContextExtensions returns a proposal to replace the GroupContext
// extensions with exts (§12.1.7).
func NewGroupContextExtensions(exts Extensions) *Proposal {
	return &Proposal{Body: &GroupContextExtensions{Extensions: exts}}
}

// NewCustom returns a proposal of a custom type (see CustomProposal).
func NewCustom(t ProposalType, data []byte) *Proposal {
	return &Proposal{Body: &CustomProposal{Type: t, Data: data}}
}
