package message

import (
	"github.com/mlsengine/engine/mls/wire"
)

// MLSMessage is the outermost structure of every MLS message (§6):
//
//	struct {
//	    ProtocolVersion version = mls10;
//	    WireFormat wire_format;
//	    select (MLSMessage.wire_format) {
//	        case mls_public_message:  PublicMessage public_message;
//	        case mls_private_message: PrivateMessage private_message;
//	        case mls_welcome:         Welcome welcome;
//	        case mls_group_info:      GroupInfo group_info;
//	        case mls_key_package:     KeyPackage key_package;
//	    };
//	} MLSMessage;
//
// Exactly the field selected by WireFormat is set.
type MLSMessage struct {
	Version        ProtocolVersion
	WireFormat     WireFormat
	PublicMessage  *PublicMessage
	PrivateMessage *PrivateMessage
	Welcome        *Welcome
	GroupInfo      *GroupInfo
	KeyPackage     *KeyPackage
}

// NewMLSMessage wraps a PublicMessage, PrivateMessage, Welcome, GroupInfo
// or KeyPackage in an MLS 1.0 MLSMessage. It returns nil for any other
// type.
func NewMLSMessage(body wire.Marshaler) *MLSMessage {
	m := &MLSMessage{Version: MLS10}
	switch v := body.(type) {
	case *PublicMessage:
		m.WireFormat, m.PublicMessage = WireFormatPublicMessage, v
	case *PrivateMessage:
		m.WireFormat, m.PrivateMessage = WireFormatPrivateMessage, v
	case *Welcome:
		m.WireFormat, m.Welcome = WireFormatWelcome, v
	case *GroupInfo:
		m.WireFormat, m.GroupInfo = WireFormatGroupInfo, v
	case *KeyPackage:
		m.WireFormat, m.KeyPackage = WireFormatKeyPackage, v
	default:
		return nil
	}
	return m
}

// MarshalMLS encodes the MLSMessage. A missing body is an encoding error.
func (m *MLSMessage) MarshalMLS(b *wire.Builder) {
	b.AddUint16(uint16(m.Version))
	b.AddUint16(uint16(m.WireFormat))
	var body wire.Marshaler
	switch m.WireFormat {
	case WireFormatPublicMessage:
		if m.PublicMessage != nil {
			body = m.PublicMessage
		}
	case WireFormatPrivateMessage:
		if m.PrivateMessage != nil {
			body = m.PrivateMessage
		}
	case WireFormatWelcome:
		if m.Welcome != nil {
			body = m.Welcome
		}
	case WireFormatGroupInfo:
		if m.GroupInfo != nil {
			body = m.GroupInfo
		}
	case WireFormatKeyPackage:
		if m.KeyPackage != nil {
			body = m.KeyPackage
		}
	}
	if body == nil {
		b.SetError(encodeError("MLSMessage of wire format %v without body", m.WireFormat))
		return
	}
	body.MarshalMLS(b)
}

// UnmarshalMLS decodes an MLSMessage. The version must be mls10 (the layout
// of other versions is unknown), the wire format one of the five of RFC
// 9420, and a KeyPackage's version must equal the MLSMessage's (§10).
func (m *MLSMessage) UnmarshalMLS(r *wire.Reader) bool {
	*m = MLSMessage{}
	var v, wf uint16
	if !r.ReadUint16(&v) {
		return false
	}
	if ProtocolVersion(v) != MLS10 {
		return r.Fail("unsupported protocol version")
	}
	if !r.ReadUint16(&wf) {
		return false
	}
	m.Version, m.WireFormat = ProtocolVersion(v), WireFormat(wf)
	switch m.WireFormat {
	case WireFormatPublicMessage:
		m.PublicMessage = new(PublicMessage)
		return m.PublicMessage.UnmarshalMLS(r)
	case WireFormatPrivateMessage:
		m.PrivateMessage = new(PrivateMessage)
		return m.PrivateMessage.UnmarshalMLS(r)
	case WireFormatWelcome:
		m.Welcome = new(Welcome)
		return m.Welcome.UnmarshalMLS(r)
	case WireFormatGroupInfo:
		m.GroupInfo = new(GroupInfo)
		return m.GroupInfo.UnmarshalMLS(r)
	case WireFormatKeyPackage:
		m.KeyPackage = new(KeyPackage)
		if !m.KeyPackage.UnmarshalMLS(r) {
			return false
		}
		// §10: "MUST verify that the version field of the KeyPackage has
		// the same value as the version field of the MLSMessage."
		if m.KeyPackage.Version != m.Version {
			return r.Fail("KeyPackage version differs from MLSMessage version")
		}
		return true
	}
	return r.Fail("unknown wire format")
}

// Epoch returns the group_id and epoch of a PublicMessage or
// PrivateMessage, which a receiver uses to route it to a group and epoch
// before unprotecting it; ok is false for other wire formats.
func (m *MLSMessage) Epoch() (groupID []byte, epoch uint64, ok bool) {
	switch {
	case m.WireFormat == WireFormatPublicMessage && m.PublicMessage != nil:
		return m.PublicMessage.Content.GroupID, m.PublicMessage.Content.Epoch, true
	case m.WireFormat == WireFormatPrivateMessage && m.PrivateMessage != nil:
		return m.PrivateMessage.GroupID, m.PrivateMessage.Epoch, true
	}
	return nil, 0, false
}

// ContentType returns the content type of a PublicMessage or
// PrivateMessage; ok is false for other wire formats.
func (m *MLSMessage) ContentType() (ct ContentType, ok bool) {
	switch {
	case m.WireFormat == WireFormatPublicMessage && m.PublicMessage != nil:
		return m.PublicMessage.Content.ContentType, true
	case m.WireFormat == WireFormatPrivateMessage && m.PrivateMessage != nil:
		return m.PrivateMessage.ContentType, true
	}
	return 0, false
}
