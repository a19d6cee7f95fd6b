package message

import (
	"fmt"

	"github.com/mlsengine/engine/treekem"
)

// ProtocolVersion is an MLS protocol version (§6); it is treekem's type, so
// that capabilities and messages share it.
type ProtocolVersion = treekem.ProtocolVersion

// MLS10 is the protocol version of RFC 9420.
const MLS10 = treekem.MLS10

// WireFormat identifies the kind of message an MLSMessage carries (§6,
// IANA "MLS Wire Formats").
type WireFormat uint16

// Wire formats of RFC 9420 §17.2.
const (
	WireFormatPublicMessage  WireFormat = 0x0001
	WireFormatPrivateMessage WireFormat = 0x0002
	WireFormatWelcome        WireFormat = 0x0003
	WireFormatGroupInfo      WireFormat = 0x0004
	WireFormatKeyPackage     WireFormat = 0x0005
)

func (w WireFormat) String() string {
	switch w {
	case WireFormatPublicMessage:
		return "mls_public_message"
	case WireFormatPrivateMessage:
		return "mls_private_message"
	case WireFormatWelcome:
		return "mls_welcome"
	case WireFormatGroupInfo:
		return "mls_group_info"
	case WireFormatKeyPackage:
		return "mls_key_package"
	}
	return fmt.Sprintf("WireFormat(0x%04x)", uint16(w))
}

// isFraming reports whether w is a wire format that carries FramedContent.
func (w WireFormat) isFraming() bool {
	return w == WireFormatPublicMessage || w == WireFormatPrivateMessage
}

// ContentType is the type of a FramedContent's content (§6).
type ContentType uint8

// Content types of §6; 0 is reserved.
const (
	ContentApplication ContentType = 1
	ContentProposal    ContentType = 2
	ContentCommit      ContentType = 3
)

func (c ContentType) String() string {
	switch c {
	case ContentApplication:
		return "application"
	case ContentProposal:
		return "proposal"
	case ContentCommit:
		return "commit"
	}
	return fmt.Sprintf("ContentType(%d)", uint8(c))
}

func (c ContentType) valid() bool { return c >= ContentApplication && c <= ContentCommit }

// SenderType says who sent a FramedContent (§6).
type SenderType uint8

// Sender types of §6; 0 is reserved.
const (
	SenderMember            SenderType = 1
	SenderExternal          SenderType = 2
	SenderNewMemberProposal SenderType = 3
	SenderNewMemberCommit   SenderType = 4
)

func (t SenderType) String() string {
	switch t {
	case SenderMember:
		return "member"
	case SenderExternal:
		return "external"
	case SenderNewMemberProposal:
		return "new_member_proposal"
	case SenderNewMemberCommit:
		return "new_member_commit"
	}
	return fmt.Sprintf("SenderType(%d)", uint8(t))
}

// ProposalType identifies a proposal (IANA "MLS Proposal Types").
type ProposalType uint16

// Proposal types of RFC 9420 §17.4.
const (
	ProposalAdd                    ProposalType = 0x0001
	ProposalUpdate                 ProposalType = 0x0002
	ProposalRemove                 ProposalType = 0x0003
	ProposalPSK                    ProposalType = 0x0004
	ProposalReInit                 ProposalType = 0x0005
	ProposalExternalInit           ProposalType = 0x0006
	ProposalGroupContextExtensions ProposalType = 0x0007
)

func (t ProposalType) String() string {
	switch t {
	case ProposalAdd:
		return "add"
	case ProposalUpdate:
		return "update"
	case ProposalRemove:
		return "remove"
	case ProposalPSK:
		return "psk"
	case ProposalReInit:
		return "reinit"
	case ProposalExternalInit:
		return "external_init"
	case ProposalGroupContextExtensions:
		return "group_context_extensions"
	}
	return fmt.Sprintf("ProposalType(0x%04x)", uint16(t))
}

// IsDefault reports whether t is one of the proposal types of RFC 9420,
// which every client implements (§7.2, §17.4). Any other type is decoded
// as a CustomProposal.
func (t ProposalType) IsDefault() bool {
	return t >= ProposalAdd && t <= ProposalGroupContextExtensions
}

// PathRequired reports whether a Commit covering a proposal of type t must
// carry an UpdatePath (§12.4, "Path Required" column of §17.4). Unknown
// types require a path.
func (t ProposalType) PathRequired() bool {
	switch t {
	case ProposalAdd, ProposalPSK, ProposalReInit:
		return false
	}
	return true
}

// AllowedExternal reports whether an external sender may send a proposal
// of type t (§12.1.8, "Ext" column of §17.4).
func (t ProposalType) AllowedExternal() bool {
	switch t {
	case ProposalAdd, ProposalRemove, ProposalPSK, ProposalReInit, ProposalGroupContextExtensions:
		return true
	}
	return false
}
