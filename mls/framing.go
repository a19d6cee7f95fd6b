package mls

import (
	"bytes"

	"github.com/mlsengine/engine/mls/keyschedule"
	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/mls/wire"
)

// Message protection (§6) on top of package message: signing and
// protecting what the member sends, and unprotecting what it receives
// without consuming a key until the message is accepted.

// handshakeFormat returns the wire format of a handshake message of the
// member: wf if set, else the Config's (EncryptHandshake).
func (g *Group) handshakeFormat(wf WireFormat) (WireFormat, error) {
	switch wf {
	case 0:
		if g.cf.EncryptHandshake {
			return message.WireFormatPrivateMessage, nil
		}
		return message.WireFormatPublicMessage, nil
	case message.WireFormatPublicMessage, message.WireFormatPrivateMessage:
		return wf, nil
	}
	return 0, errorf(ErrInvalidArgument, "a handshake message cannot be of wire format %v", wf)
}

// framed returns a FramedContent of the member for the current epoch.
func (g *Group) framed(ct ContentType, aad []byte) *message.FramedContent {
	return &message.FramedContent{
		GroupID:           g.ep.gc.GroupID,
		Epoch:             g.ep.gc.Epoch,
		Sender:            message.MemberSender(g.ep.leaf()),
		AuthenticatedData: aad,
		ContentType:       ct,
	}
}

// sign signs content of the current epoch for wire format wf (§6.1).
func (g *Group) sign(wf WireFormat, fc *message.FramedContent) (*message.AuthenticatedContent, error) {
	if fc.Sender.Type == message.SenderMember && !bytes.Equal(g.ep.tree.SignatureKey(fc.Sender.Leaf), g.cf.Signer.Public()) {
		return nil, errorf(ErrInvalidArgument, "Config.Signer does not hold the member's signature key")
	}
	ac, err := message.SignContent(g.cf.cs, g.cf.Signer, wf, fc, g.ep.gcBytes)
	if err != nil {
		return nil, wrapErr(ErrInvalidArgument, "signing content", err)
	}
	return ac, nil
}

// protect wraps signed content of the current epoch in a PublicMessage or
// PrivateMessage and encodes it as an MLSMessage. A PrivateMessage consumes
// a generation of the member's ratchet (never to be reused, §9.2).
func (g *Group) protect(ac *message.AuthenticatedContent) ([]byte, error) {
	var body wire.Marshaler
	switch ac.WireFormat {
	case message.WireFormatPublicMessage:
		pm, err := message.ProtectPublic(g.cf.cs, ac, g.ep.secrets.Membership, g.ep.gcBytes)
		if err != nil {
			return nil, wrapErr(ErrInvalidArgument, "protecting a PublicMessage", err)
		}
		body = pm
	case message.WireFormatPrivateMessage:
		pm, err := message.ProtectPrivate(g.cf.cs, ac, g.ep.stree, g.ep.secrets.SenderData, g.cf.Padding, g.cf.rand())
		if err != nil {
			return nil, wrapErr(ErrInvalidArgument, "protecting a PrivateMessage", err)
		}
		body = pm
	default:
		return nil, internalErr("wire format %v", ac.WireFormat)
	}
	out, err := wire.Marshal(message.NewMLSMessage(body))
	if err != nil {
		return nil, internalErr("encoding a message: %v", err)
	}
	return out, nil
}

// openPrivate decrypts and verifies a PrivateMessage (§6.3) with the
// GroupContext, secret tree and sender data secret of its epoch, without
// consuming its key: the caller consumes it once it has accepted the
// message (see consume), so that a message rejected for any reason leaves
// the group unchanged. sigKey returns the signature key of the member at a
// leaf in that epoch, nil if the leaf was blank.
func (g *Group) openPrivate(pm *message.PrivateMessage, gcBytes []byte, tree *keyschedule.SecretTree,
	senderDataSecret []byte, sigKey func(LeafIndex) []byte) (*message.OpenedPrivate, error) {
	self := g.ep.leaf()
	lookup := func(fc *message.FramedContent) ([]byte, error) {
		leaf := fc.Sender.Leaf
		if leaf == self {
			return nil, errorf(ErrOwnMessage, "the member's own PrivateMessage (its key was deleted when sent)")
		}
		// §6.3.2: "the recipient MUST verify that the leaf index indicated
		// in the leaf_index field identifies a non-blank node".
		if leaf >= LeafIndex(tree.Leaves()) {
			return nil, errorf(ErrAuthentication, "sender leaf %d outside the tree (§6.3.2)", leaf)
		}
		pub := sigKey(leaf)
		if pub == nil {
			return nil, errorf(ErrAuthentication, "sender leaf %d is blank (§6.3.2)", leaf)
		}
		return pub, nil
	}
	op, err := message.OpenPrivate(g.cf.cs, pm, gcBytes, tree, senderDataSecret, lookup)
	if err != nil {
		return nil, messageErr(err)
	}
	return op, nil
}

// consume deletes the key of an accepted PrivateMessage's generation
// (§9.2); op is nil for a PublicMessage. The message was opened with that
// key in the same epoch and nothing else consumes it meanwhile, so only a
// bug can make this fail, and a failure leaves the key in place.
func consume(op *message.OpenedPrivate) {
	if op != nil {
		_ = op.Consume()
	}
}
