package delivery

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/mlsengine/engine/delivery/store"
	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/mls/wire"
	"github.com/mlsengine/engine/treekem"
)

// This file decodes the cleartext framing of MLS messages, strictly, by
// package message (minimal varints, known enum values, no trailing bytes;
// a proposal of an unknown type makes its message undecodable, RFC 9420
// §13.5): all the service reads of an opaque group's messages. A tracked
// group's handshake messages are verified besides by its view (see
// validate.go); nothing is ever decrypted.

// parseMLSMessage decodes data as an MLSMessage of one of the wire formats
// want.
func parseMLSMessage(what string, data []byte, want ...message.WireFormat) (*message.MLSMessage, error) {
	m := new(message.MLSMessage)
	if err := wire.Unmarshal(data, m); err != nil {
		return nil, &MalformedError{What: what, Err: err}
	}
	if !slices.Contains(want, m.WireFormat) {
		return nil, malformed(what, fmt.Sprintf("wire format %v, want %v", m.WireFormat, want[0]))
	}
	return m, nil
}

// parseGroupMessage decodes a PublicMessage or PrivateMessage posted to
// groupID and returns it with what the store keeps of it.
func parseGroupMessage(what string, data, groupID []byte) (*message.MLSMessage, store.Message, error) {
	m, err := parseMLSMessage(what, data, message.WireFormatPublicMessage, message.WireFormatPrivateMessage)
	if err != nil {
		return nil, store.Message{}, err
	}
	gid, epoch, _ := m.Epoch()
	ct, _ := m.ContentType()
	if !bytes.Equal(gid, groupID) {
		return nil, store.Message{}, malformed(what, "group_id differs from the group in the URL")
	}
	if err := checkSender(m); err != nil {
		return nil, store.Message{}, &MalformedError{What: what, Err: err}
	}
	return m, store.Message{Epoch: epoch, ContentType: store.ContentType(ct), WireFormat: uint16(m.WireFormat), Data: data}, nil
}

// checkSender enforces the rules of RFC 9420 §6 on who may send what, so
// that an impossible message never takes a place in the log (an invalid
// commit that won an epoch would stall the group): application data only in
// a PrivateMessage; external senders send proposals of the types allowed
// for them; new_member_proposal senders send Add proposals and
// new_member_commit senders commits. A PrivateMessage hides its sender.
func checkSender(m *message.MLSMessage) error {
	if m.WireFormat != message.WireFormatPublicMessage {
		return nil
	}
	fc := &m.PublicMessage.Content
	switch {
	case fc.ContentType == message.ContentApplication:
		return message.ErrApplicationPublic
	case fc.Sender.Type == message.SenderExternal &&
		(fc.ContentType != message.ContentProposal || !fc.Proposal.Type().AllowedExternal()):
	case fc.Sender.Type == message.SenderNewMemberProposal &&
		(fc.ContentType != message.ContentProposal || fc.Proposal.Type() != message.ProposalAdd):
	case fc.Sender.Type == message.SenderNewMemberCommit && fc.ContentType != message.ContentCommit:
	default:
		return nil
	}
	return &message.SenderError{Sender: fc.Sender, Reason: fmt.Sprintf("may not send %v content", fc.ContentType)}
}

// parseKeyPackage decodes an uploaded MLSMessage(key_package) and returns
// its cipher suite, one of suites, and KeyPackageRef (RFC 9420 §5.2).
func parseKeyPackage(data []byte, suites *suite.Registry) (suite.ID, []byte, error) {
	m, err := parseMLSMessage("KeyPackage", data, message.WireFormatKeyPackage)
	if err != nil {
		return 0, nil, err
	}
	kp := m.KeyPackage
	// §10: "The field leaf_node.leaf_node_source of the LeafNode in a
	// KeyPackage MUST be set to key_package."
	if kp.LeafNode.Source != treekem.SourceKeyPackage {
		return 0, nil, malformed("KeyPackage", "leaf_node_source is not key_package")
	}
	cs, err := suites.Lookup(kp.CipherSuite)
	if err != nil {
		return 0, nil, &MalformedError{What: "KeyPackage", Err: err}
	}
	ref, err := kp.Ref(cs)
	if err != nil {
		return 0, nil, &MalformedError{What: "KeyPackage", Err: err}
	}
	return kp.CipherSuite, ref, nil
}

// parseWelcome decodes an MLSMessage(welcome) and returns how many new
// members it has secrets for.
func parseWelcome(data []byte) (int, error) {
	m, err := parseMLSMessage("Welcome", data, message.WireFormatWelcome)
	if err != nil {
		return 0, err
	}
	return len(m.Welcome.Secrets), nil
}

// parseGroupInfo decodes an MLSMessage(group_info) and returns its group id
// and epoch.
func parseGroupInfo(data []byte) (groupID []byte, epoch uint64, err error) {
	m, err := parseMLSMessage("GroupInfo", data, message.WireFormatGroupInfo)
	if err != nil {
		return nil, 0, err
	}
	return m.GroupInfo.GroupContext.GroupID, m.GroupInfo.GroupContext.Epoch, nil
}
