package message

import (
	"fmt"

	"github.com/mlsengine/engine/mls/wire"
	"github.com/mlsengine/engine/treekem"
)

// Sender identifies the sender of a FramedContent (§6). Leaf is meaningful
// for a member sender only, ExternalIndex for an external sender only (an
// index into the group's external_senders extension); the encoding ignores
// the other field.
type Sender struct {
	Type          SenderType
	Leaf          treekem.LeafIndex
	ExternalIndex uint32
}

// MemberSender returns the sender for the member at leaf.
func MemberSender(leaf treekem.LeafIndex) Sender {
	return Sender{Type: SenderMember, Leaf: leaf}
}

// ExternalSenderAt returns the sender for the external sender at index i of
// the external_senders extension.
func ExternalSenderAt(i uint32) Sender {
	return Sender{Type: SenderExternal, ExternalIndex: i}
}

func (s Sender) String() string {
	switch s.Type {
	case SenderMember:
		return fmt.Sprintf("member(%d)", s.Leaf)
	case SenderExternal:
		return fmt.Sprintf("external(%d)", s.ExternalIndex)
	}
	return s.Type.String()
}

// MarshalMLS encodes the Sender. An unknown sender type is an encoding error.
func (s *Sender) MarshalMLS(b *wire.Builder) {
	b.AddUint8(uint8(s.Type))
	switch s.Type {
	case SenderMember:
		b.AddUint32(uint32(s.Leaf))
	case SenderExternal:
		b.AddUint32(s.ExternalIndex)
	case SenderNewMemberProposal, SenderNewMemberCommit:
	default:
		b.SetError(encodeError("unknown sender type %d", s.Type))
	}
}

// UnmarshalMLS decodes a Sender, rejecting unknown sender types.
func (s *Sender) UnmarshalMLS(r *wire.Reader) bool {
	*s = Sender{}
	var t uint8
	if !r.ReadUint8(&t) {
		return false
	}
	s.Type = SenderType(t)
	switch s.Type {
	case SenderMember:
		var l uint32
		if !r.ReadUint32(&l) {
			return false
		}
		s.Leaf = treekem.LeafIndex(l)
		return true
	case SenderExternal:
		return r.ReadUint32(&s.ExternalIndex)
	case SenderNewMemberProposal, SenderNewMemberCommit:
		return true
	}
	return r.Fail("unknown sender type")
}
