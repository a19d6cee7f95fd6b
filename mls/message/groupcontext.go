package message

import (
	"fmt"

	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/mls/wire"
	"github.com/mlsengine/engine/treekem"
)

// GroupContext summarizes the state of a group in an epoch (§8.1):
//
//	struct {
//	    ProtocolVersion version = mls10;
//	    CipherSuite cipher_suite;
//	    opaque group_id<V>;
//	    uint64 epoch;
//	    opaque tree_hash<V>;
//	    opaque confirmed_transcript_hash<V>;
//	    Extension extensions<V>;
//	} GroupContext;
type GroupContext struct {
	Version                 ProtocolVersion
	CipherSuite             suite.ID
	GroupID                 []byte
	Epoch                   uint64
	TreeHash                []byte
	ConfirmedTranscriptHash []byte
	Extensions              treekem.Extensions
}

// MarshalMLS encodes the GroupContext.
func (gc *GroupContext) MarshalMLS(b *wire.Builder) {
	b.AddUint16(uint16(gc.Version))
	b.AddUint16(uint16(gc.CipherSuite))
	b.AddVector(gc.GroupID)
	b.AddUint64(gc.Epoch)
	b.AddVector(gc.TreeHash)
	b.AddVector(gc.ConfirmedTranscriptHash)
	gc.Extensions.MarshalMLS(b)
}

// UnmarshalMLS decodes a GroupContext; the version must be mls10.
func (gc *GroupContext) UnmarshalMLS(r *wire.Reader) bool {
	*gc = GroupContext{}
	var v, cs uint16
	if !r.ReadUint16(&v) {
		return false
	}
	if ProtocolVersion(v) != MLS10 {
		return r.Fail("unsupported protocol version")
	}
	if !r.ReadUint16(&cs) || !r.ReadVector(&gc.GroupID) || !r.ReadUint64(&gc.Epoch) ||
		!r.ReadVector(&gc.TreeHash) || !r.ReadVector(&gc.ConfirmedTranscriptHash) ||
		!gc.Extensions.UnmarshalMLS(r) {
		return false
	}
	gc.Version, gc.CipherSuite = ProtocolVersion(v), suite.ID(cs)
	return true
}

// Bytes returns the encoding of the GroupContext, the form in which the
// framing functions and the key schedule take it.
func (gc *GroupContext) Bytes() ([]byte, error) { return wire.Marshal(gc) }

// contextHeader is the part of a serialized GroupContext that framing checks
// messages against.
type contextHeader struct {
	suite   suite.ID
	groupID []byte
	epoch   uint64
}

// parseContextHeader reads the cipher suite, group_id and epoch of a
// serialized GroupContext without decoding the rest.
func parseContextHeader(groupContext []byte) (*contextHeader, error) {
	r := wire.NewReader(groupContext)
	var v, cs uint16
	h := new(contextHeader)
	if !r.ReadUint16(&v) || !r.ReadUint16(&cs) || !r.ReadVector(&h.groupID) || !r.ReadUint64(&h.epoch) {
		return nil, fmt.Errorf("%w: GroupContext: %s", ErrInvalidArgument, r.Reason())
	}
	if ProtocolVersion(v) != MLS10 {
		return nil, fmt.Errorf("%w: GroupContext version %d", ErrInvalidArgument, v)
	}
	h.suite = suite.ID(cs)
	return h, nil
}
