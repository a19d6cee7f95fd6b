package message

import (
	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/mls/wire"
	"github.com/mlsengine/engine/treekem"
)

const labelProposalRef = "MLS 1.0 Proposal Reference"

// ProposalRef identifies a proposal sent in its own message: the RefHash of
// the AuthenticatedContent that carried it (§5.2).
type ProposalRef []byte

// MakeProposalRef returns RefHash("MLS 1.0 Proposal Reference",
// AuthenticatedContent) (§5.2) for the content of a proposal message.
func MakeProposalRef(s *suite.Suite, ac *AuthenticatedContent) (ProposalRef, error) {
	if ac.Content.ContentType != ContentProposal {
		return nil, malformed("proposal reference of non-proposal content", nil)
	}
	enc, err := ac.Bytes()
	if err != nil {
		return nil, err
	}
	return s.RefHash(labelProposalRef, enc), nil
}

// ProposalOrRefType says whether a Commit carries a proposal by value or by
// reference (§12.4).
type ProposalOrRefType uint8

// ProposalOrRef types; 0 is reserved.
const (
	ProposalOrRefProposal  ProposalOrRefType = 1
	ProposalOrRefReference ProposalOrRefType = 2
)

// ProposalOrRef is one entry of a Commit's proposal list (§12.4): exactly
// one of Proposal (by value) and Reference is set.
type ProposalOrRef struct {
	Proposal  *Proposal
	Reference ProposalRef
}

// MarshalMLS encodes the ProposalOrRef.
func (p *ProposalOrRef) MarshalMLS(b *wire.Builder) {
	if p.Proposal != nil {
		if p.Reference != nil {
			b.SetError(encodeError("ProposalOrRef with both proposal and reference"))
			return
		}
		b.AddUint8(uint8(ProposalOrRefProposal))
		p.Proposal.MarshalMLS(b)
		return
	}
	b.AddUint8(uint8(ProposalOrRefReference))
	b.AddVector(p.Reference)
}

// UnmarshalMLS decodes a ProposalOrRef.
func (p *ProposalOrRef) UnmarshalMLS(r *wire.Reader) bool {
	*p = ProposalOrRef{}
	var t uint8
	if !r.ReadUint8(&t) {
		return false
	}
	switch ProposalOrRefType(t) {
	case ProposalOrRefProposal:
		p.Proposal = new(Proposal)
		return p.Proposal.UnmarshalMLS(r)
	case ProposalOrRefReference:
		var ref []byte
		if !r.ReadVector(&ref) {
			return false
		}
		// Keep a non-nil reference even when it is empty, so that the
		// value re-encodes as a reference.
		if ref == nil {
			ref = []byte{}
		}
		p.Reference = ref
		return true
	}
	return r.Fail("unknown ProposalOrRefType")
}

// Commit applies proposals and starts a new epoch (§12.4). Path is nil if
// the Commit has no UpdatePath.
type Commit struct {
	Proposals []ProposalOrRef
	Path      *treekem.UpdatePath
}

// MarshalMLS encodes the Commit.
func (c *Commit) MarshalMLS(b *wire.Builder) {
	b.AddVectorFunc(func(b *wire.Builder) {
		for i := range c.Proposals {
			c.Proposals[i].MarshalMLS(b)
		}
	})
	b.AddOptional(c.Path != nil, func(b *wire.Builder) { c.Path.MarshalMLS(b) })
}

// UnmarshalMLS decodes a Commit.
func (c *Commit) UnmarshalMLS(r *wire.Reader) bool {
	*c = Commit{}
	if !r.ReadList(func(r *wire.Reader) bool {
		var p ProposalOrRef
		if !p.UnmarshalMLS(r) {
			return false
		}
		c.Proposals = append(c.Proposals, p)
		return true
	}) {
		return false
	}
	var present bool
	path := new(treekem.UpdatePath)
	if !r.ReadOptional(&present, path.UnmarshalMLS) {
		return false
	}
	if present {
		c.Path = path
	}
	return true
}
