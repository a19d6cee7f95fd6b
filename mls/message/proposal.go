package message

import (
	"github.com/mlsengine/engine/mls/keyschedule"
	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/mls/wire"
	"github.com/mlsengine/engine/treekem"
)

// ProposalBody is the body of a Proposal: one of *Add, *Update, *Remove,
// *PreSharedKey, *ReInit, *ExternalInit and *GroupContextExtensions, or a
// *CustomProposal for any other type.
type ProposalBody interface {
	// ProposalType returns the proposal_type that selects this body.
	ProposalType() ProposalType
	wire.Marshaler
	wire.Unmarshaler
}

// Proposal is a proposed change to the group (§12.1):
//
//	struct {
//	    ProposalType proposal_type;
//	    select (Proposal.proposal_type) { case add: Add; ... };
//	} Proposal;
//
// Switch on the type of Body to get at the proposal.
type Proposal struct {
	Body ProposalBody
}

// Type returns the proposal type, or 0 if Body is nil.
func (p *Proposal) Type() ProposalType {
	if p.Body == nil {
		return 0
	}
	return p.Body.ProposalType()
}

// newProposalBody returns an empty body for type t: the body of one of the
// seven types of RFC 9420, or a CustomProposal for any other type.
func newProposalBody(t ProposalType) ProposalBody {
	switch t {
	case ProposalAdd:
		return new(Add)
	case ProposalUpdate:
		return new(Update)
	case ProposalRemove:
		return new(Remove)
	case ProposalPSK:
		return new(PreSharedKey)
	case ProposalReInit:
		return new(ReInit)
	case ProposalExternalInit:
		return new(ExternalInit)
	case ProposalGroupContextExtensions:
		return new(GroupContextExtensions)
	}
	return &CustomProposal{Type: t}
}

// MarshalMLS encodes the Proposal. A nil Body is an encoding error.
func (p *Proposal) MarshalMLS(b *wire.Builder) {
	if p.Body == nil {
		b.SetError(encodeError("proposal without body"))
		return
	}
	b.AddUint16(uint16(p.Body.ProposalType()))
	p.Body.MarshalMLS(b)
}

// UnmarshalMLS decodes a Proposal. A type other than the seven of RFC 9420
// is decoded as a CustomProposal, whose body is opaque data<V>; the
// reserved type 0 is rejected (§17.4).
func (p *Proposal) UnmarshalMLS(r *wire.Reader) bool {
	*p = Proposal{}
	var t uint16
	if !r.ReadUint16(&t) {
		return false
	}
	if t == 0 {
		return r.Fail("reserved proposal type")
	}
	body := newProposalBody(ProposalType(t))
	if !body.UnmarshalMLS(r) {
		return false
	}
	p.Body = body
	return true
}

// CustomProposal is a proposal of a type that RFC 9420 does not define: a
// type registered or used by an application (§13.2, §17.4), or a GREASE
// value (§13.5), which is decoded like any other unknown type.
//
// The Proposal struct selects its body by type and has no length prefix,
// so the end of the body of a type a client does not implement cannot be
// found. This package follows the convention that the body of every
// non-RFC 9420 proposal type is a single variable-length vector:
//
//	struct {
//	    opaque data<V>;
//	} CustomProposal;
//
// the framing that draft-ietf-mls-extensions uses for the proposal types
// it defines. A type whose body is framed otherwise cannot be exchanged
// with this package.
//
// Data is the content of the vector, as received. Its encoding is
// canonical (decoding rejects non-minimal lengths), and the exact bytes
// that signatures, proposal references and transcript hashes cover are
// kept in the enclosing FramedContent's Raw. Decoding does not judge the
// type: whether a custom type is acceptable is the group's decision (§12.2:
// a commit may cover it only if every member supports it; §13.5: a GREASE
// value is an unsupported value).
type CustomProposal struct {
	Type ProposalType
	Data []byte
}

// ProposalType returns the custom type.
func (c *CustomProposal) ProposalType() ProposalType { return c.Type }

// MarshalMLS encodes the body as opaque data<V>. A type of RFC 9420, or the
// reserved 0, is an encoding error: its body is not a vector.
func (c *CustomProposal) MarshalMLS(b *wire.Builder) {
	if c.Type == 0 || c.Type.IsDefault() {
		b.SetError(encodeError("custom proposal of type %v", c.Type))
		return
	}
	b.AddVector(c.Data)
}

// UnmarshalMLS decodes the body, opaque data<V>. Type must be set.
func (c *CustomProposal) UnmarshalMLS(r *wire.Reader) bool { return r.ReadVector(&c.Data) }

// Add requests that the client of a KeyPackage be added (§12.1.1).
type Add struct {
	KeyPackage KeyPackage
}

// ProposalType returns ProposalAdd.
func (*Add) ProposalType() ProposalType { return ProposalAdd }

// MarshalMLS encodes the Add.
func (a *Add) MarshalMLS(b *wire.Builder) { a.KeyPackage.MarshalMLS(b) }

// UnmarshalMLS decodes an Add.
func (a *Add) UnmarshalMLS(r *wire.Reader) bool { return a.KeyPackage.UnmarshalMLS(r) }

// Update replaces the sender's LeafNode (§12.1.2).
type Update struct {
	LeafNode treekem.LeafNode
}

// ProposalType returns ProposalUpdate.
func (*Update) ProposalType() ProposalType { return ProposalUpdate }

// MarshalMLS encodes the Update.
func (u *Update) MarshalMLS(b *wire.Builder) { u.LeafNode.MarshalMLS(b) }

// UnmarshalMLS decodes an Update.
func (u *Update) UnmarshalMLS(r *wire.Reader) bool { return u.LeafNode.UnmarshalMLS(r) }

// Remove requests that the member at leaf Removed be removed (§12.1.3).
type Remove struct {
	Removed treekem.LeafIndex
}

// ProposalType returns ProposalRemove.
func (*Remove) ProposalType() ProposalType { return ProposalRemove }

// MarshalMLS encodes the Remove.
func (rm *Remove) MarshalMLS(b *wire.Builder) { b.AddUint32(uint32(rm.Removed)) }

// UnmarshalMLS decodes a Remove.
func (rm *Remove) UnmarshalMLS(r *wire.Reader) bool {
	var v uint32
	if !r.ReadUint32(&v) {
		return false
	}
	rm.Removed = treekem.LeafIndex(v)
	return true
}

// PreSharedKey requests that a PSK be injected into the key schedule
// (§12.1.4).
type PreSharedKey struct {
	PSK keyschedule.PreSharedKeyID
}

// ProposalType returns ProposalPSK.
func (*PreSharedKey) ProposalType() ProposalType { return ProposalPSK }

// MarshalMLS encodes the PreSharedKey.
func (p *PreSharedKey) MarshalMLS(b *wire.Builder) { p.PSK.MarshalMLS(b) }

// UnmarshalMLS decodes a PreSharedKey.
func (p *PreSharedKey) UnmarshalMLS(r *wire.Reader) bool { return p.PSK.UnmarshalMLS(r) }

// ReInit requests that the group be reinitialized with new parameters
// (§12.1.5). Version and CipherSuite are kept as received, whatever their
// value; the group decides whether it supports them.
type ReInit struct {
	GroupID     []byte
	Version     ProtocolVersion
	CipherSuite suite.ID
	Extensions  treekem.Extensions
}

// ProposalType returns ProposalReInit.
func (*ReInit) ProposalType() ProposalType { return ProposalReInit }

// MarshalMLS encodes the ReInit.
func (ri *ReInit) MarshalMLS(b *wire.Builder) {
	b.AddVector(ri.GroupID)
	b.AddUint16(uint16(ri.Version))
	b.AddUint16(uint16(ri.CipherSuite))
	ri.Extensions.MarshalMLS(b)
}

// UnmarshalMLS decodes a ReInit.
func (ri *ReInit) UnmarshalMLS(r *wire.Reader) bool {
	*ri = ReInit{}
	var v, cs uint16
	if !r.ReadVector(&ri.GroupID) || !r.ReadUint16(&v) || !r.ReadUint16(&cs) ||
		!ri.Extensions.UnmarshalMLS(r) {
		return false
	}
	ri.Version, ri.CipherSuite = ProtocolVersion(v), suite.ID(cs)
	return true
}

// ExternalInit carries the KEM output of an external joiner's init secret
// (§12.1.6, §8.3).
type ExternalInit struct {
	KEMOutput []byte
}

// ProposalType returns ProposalExternalInit.
func (*ExternalInit) ProposalType() ProposalType { return ProposalExternalInit }

// MarshalMLS encodes the ExternalInit.
func (e *ExternalInit) MarshalMLS(b *wire.Builder) { b.AddVector(e.KEMOutput) }

// UnmarshalMLS decodes an ExternalInit.
func (e *ExternalInit) UnmarshalMLS(r *wire.Reader) bool { return r.ReadVector(&e.KEMOutput) }

// GroupContextExtensions replaces the GroupContext's extensions (§12.1.7).
type GroupContextExtensions struct {
	Extensions treekem.Extensions
}

// ProposalType returns ProposalGroupContextExtensions.
func (*GroupContextExtensions) ProposalType() ProposalType { return ProposalGroupContextExtensions }

// MarshalMLS encodes the GroupContextExtensions.
func (g *GroupContextExtensions) MarshalMLS(b *wire.Builder) { g.Extensions.MarshalMLS(b) }

// UnmarshalMLS decodes a GroupContextExtensions.
func (g *GroupContextExtensions) UnmarshalMLS(r *wire.Reader) bool {
	g.Extensions = nil
	return g.Extensions.UnmarshalMLS(r)
}
