package mls

import (
	"bytes"
	"errors"

	"github.com/mlsengine/engine/mls/keyschedule"
	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/mls/wire"
	"github.com/mlsengine/engine/treekem"
)

// Message protection (§6) on top of package message: signing and
// protecting what the member sends, and unprotecting what it receives
// without consuming a key until the message is accepted.

// handshakeFormat returns the wire format of the member's handshake messages.
func (g *Group) handshakeFormat() message.WireFormat {
	if g.cf.EncryptHandshake {
		return message.WireFormatPrivateMessage
	}
	return message.WireFormatPublicMessage
}

// framed returns a FramedContent of the member for the current epoch.
func (g *Group) framed(ct message.ContentType, aad []byte) *message.FramedContent {
	return &message.FramedContent{
		GroupID:           g.ep.gc.GroupID,
		Epoch:             g.ep.gc.Epoch,
		Sender:            message.MemberSender(g.ep.leaf()),
		AuthenticatedData: aad,
		ContentType:       ct,
	}
}

// sign signs content of the current epoch for wire format wf (§6.1).
func (g *Group) sign(wf message.WireFormat, fc *message.FramedContent) (*message.AuthenticatedContent, error) {
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

// senderKey returns the signature key of a sender of content received in
// the current epoch (§6.1).
func (g *Group) senderKey(fc *message.FramedContent) ([]byte, error) {
	switch fc.Sender.Type {
	case message.SenderMember:
		if k := g.ep.tree.SignatureKey(fc.Sender.Leaf); k != nil {
			return k, nil
		}
		return nil, errorf(ErrAuthentication, "sender leaf %d is blank", fc.Sender.Leaf)
	case message.SenderExternal:
		es, ok, err := message.ParseExternalSenders(g.ep.gc.Extensions)
		if err != nil {
			return nil, wrapErr(ErrAuthentication, "external_senders extension", err)
		}
		if !ok || uint64(fc.Sender.ExternalIndex) >= uint64(len(es)) {
			return nil, errorf(ErrAuthentication, "no external sender %d (§12.1.8.1)", fc.Sender.ExternalIndex)
		}
		return es[fc.Sender.ExternalIndex].SignatureKey, nil
	case message.SenderNewMemberCommit, message.SenderNewMemberProposal:
		k, err := message.NewMemberSignatureKey(fc)
		if err != nil {
			return nil, wrapErr(ErrAuthentication, "new member's signature key", err)
		}
		return k, nil
	}
	return nil, errorf(ErrAuthentication, "unknown sender type %v", fc.Sender.Type)
}

// openedPrivate is a PrivateMessage whose content was decrypted and
// verified, but whose key generation is not consumed yet.
type openedPrivate struct {
	ac   *message.AuthenticatedContent
	sd   message.SenderData
	tree *keyschedule.SecretTree
}

// consume deletes the key of the message's generation (§9.2), once the
// message is accepted.
func (o *openedPrivate) consume() {
	kind := keyschedule.Handshake
	if o.ac.Content.ContentType == message.ContentApplication {
		kind = keyschedule.Application
	}
	// The same generation opened the message a moment ago: only a bug can
	// make this fail, and a failure leaves the key in place.
	_ = o.tree.UseReceiveKey(o.sd.Leaf, kind, o.sd.Generation, func(_, _ []byte) error { return nil })
}

// errPeek makes UseReceiveKey keep the key it handed out.
var errPeek = errors.New("peek")

// openPrivate decrypts and verifies a PrivateMessage (§6.3) with the
// secrets of its epoch, like message.UnprotectPrivate but without consuming
// the key: the caller calls consume once it has accepted the message, so
// that a message rejected for any reason leaves the group unchanged.
// sigKey returns the signature key of the member at a leaf in that epoch,
// nil if the leaf was blank.
func openPrivate(cs *suite.Suite, pm *message.PrivateMessage, gcBytes []byte, tree *keyschedule.SecretTree,
	senderDataSecret []byte, sigKey func(treekem.LeafIndex) []byte, self treekem.LeafIndex) (*openedPrivate, error) {
	if pm.ContentType < message.ContentApplication || pm.ContentType > message.ContentCommit {
		return nil, errorf(ErrMalformed, "content type %d", pm.ContentType)
	}
	// §6.3.2: the sender data.
	sdKey, sdNonce, err := keyschedule.SenderDataKeyNonce(cs, senderDataSecret, pm.Ciphertext)
	if err != nil {
		return nil, internalErr("sender data key: %v", err)
	}
	defer clear(sdKey)
	defer clear(sdNonce)
	sdAAD, err := senderDataAAD(pm)
	if err != nil {
		return nil, err
	}
	sdBytes, err := cs.Open(sdKey, sdNonce, sdAAD, pm.EncryptedSenderData)
	if err != nil {
		return nil, errorf(ErrAuthentication, "sender data does not decrypt (§6.3.2)")
	}
	var sd message.SenderData
	if err := wire.Unmarshal(sdBytes, &sd); err != nil {
		return nil, wrapErr(ErrMalformed, "SenderData", err)
	}
	if sd.Leaf == self {
		return nil, errorf(ErrOwnMessage, "the member's own PrivateMessage (its key was deleted when sent)")
	}
	// §6.3.2: "the recipient MUST verify that the leaf index indicated in
	// the leaf_index field identifies a non-blank node".
	if sd.Leaf >= treekem.LeafIndex(tree.Leaves()) {
		return nil, errorf(ErrAuthentication, "sender leaf %d outside the tree (§6.3.2)", sd.Leaf)
	}
	pub := sigKey(sd.Leaf)
	if pub == nil {
		return nil, errorf(ErrAuthentication, "sender leaf %d is blank (§6.3.2)", sd.Leaf)
	}
	// §6.3.1: the content.
	aad, err := contentAAD(pm)
	if err != nil {
		return nil, err
	}
	kind := keyschedule.Handshake
	if pm.ContentType == message.ContentApplication {
		kind = keyschedule.Application
	}
	var plaintext []byte
	err = tree.UseReceiveKey(sd.Leaf, kind, sd.Generation, func(key, nonce []byte) error {
		n := append([]byte(nil), nonce...)
		for i := range sd.ReuseGuard {
			n[i] ^= sd.ReuseGuard[i]
		}
		pt, err := cs.Open(key, n, aad, pm.Ciphertext)
		clear(n)
		if err != nil {
			return errorf(ErrAuthentication, "content does not decrypt (§6.3.1)")
		}
		plaintext = pt
		return errPeek
	})
	switch {
	case err == errPeek:
	case errors.Is(err, ErrAuthentication):
		return nil, err
	case errors.Is(err, keyschedule.ErrReplay), errors.Is(err, keyschedule.ErrExpired),
		errors.Is(err, keyschedule.ErrTooFarAhead), errors.Is(err, keyschedule.ErrExhausted):
		return nil, wrapErr(ErrReplay, "message key", err)
	default:
		return nil, wrapErr(ErrMalformed, "message key", err)
	}
	// The decoded content aliases plaintext, which is the application's.
	content, err := message.DecodePrivateMessageContent(plaintext, pm.ContentType)
	if err != nil {
		return nil, wrapErr(ErrMalformed, "PrivateMessageContent", err)
	}
	fc := message.FramedContent{
		GroupID:           pm.GroupID,
		Epoch:             pm.Epoch,
		Sender:            message.MemberSender(sd.Leaf),
		AuthenticatedData: pm.AuthenticatedData,
		ContentType:       pm.ContentType,
		ApplicationData:   content.ApplicationData,
		Proposal:          content.Proposal,
		Commit:            content.Commit,
	}
	if fc.Raw, err = wire.Marshal(&fc); err != nil {
		return nil, wrapErr(ErrMalformed, "FramedContent", err)
	}
	ac := &message.AuthenticatedContent{WireFormat: message.WireFormatPrivateMessage, Content: fc, Auth: content.Auth}
	if err := ac.VerifySignature(cs, pub, gcBytes); err != nil {
		return nil, wrapErr(ErrAuthentication, "signature (§6.1)", err)
	}
	return &openedPrivate{ac: ac, sd: sd, tree: tree}, nil
}

// senderDataAAD encodes SenderDataAAD (§6.3.2):
//
//	struct { opaque group_id<V>; uint64 epoch; ContentType content_type; } SenderDataAAD;
func senderDataAAD(pm *message.PrivateMessage) ([]byte, error) {
	b := wire.NewBuilder(nil)
	b.AddVector(pm.GroupID)
	b.AddUint64(pm.Epoch)
	b.AddUint8(uint8(pm.ContentType))
	out, err := b.Bytes()
	if err != nil {
		return nil, wrapErr(ErrMalformed, "SenderDataAAD", err)
	}
	return out, nil
}

// contentAAD encodes PrivateContentAAD (§6.3.1):
//
//	struct { opaque group_id<V>; uint64 epoch; ContentType content_type;
//	         opaque authenticated_data<V>; } PrivateContentAAD;
func contentAAD(pm *message.PrivateMessage) ([]byte, error) {
	b := wire.NewBuilder(nil)
	b.AddVector(pm.GroupID)
	b.AddUint64(pm.Epoch)
	b.AddUint8(uint8(pm.ContentType))
	b.AddVector(pm.AuthenticatedData)
	out, err := b.Bytes()
	if err != nil {
		return nil, wrapErr(ErrMalformed, "PrivateContentAAD", err)
	}
	return out, nil
}
