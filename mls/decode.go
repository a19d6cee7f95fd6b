package mls

import (
	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/mls/wire"
	"github.com/mlsengine/engine/treekem"
)

// Decoding of handshake content that carries custom proposals (§13.3).
// Package message decodes the seven proposal types of RFC 9420 only; a
// proposal of another type fails there, and is then decoded here, with its
// body as opaque data<V> (see CustomProposal). The decoding is as strict as
// package message's, and keeps the FramedContent's encoding (Raw) that
// signatures, references and transcript hashes cover. Whether the custom
// type is acceptable is decided later (Config.SupportedProposals,
// Config.AcceptProposal).

// decodeMLSMessage decodes an MLSMessage, falling back on a decoder that
// knows custom proposals for a PublicMessage.
func decodeMLSMessage(data []byte) (*message.MLSMessage, error) {
	var m message.MLSMessage
	err := wire.Unmarshal(data, &m)
	if err == nil {
		return &m, nil
	}
	r := wire.NewReader(data)
	var version, wf uint16
	if !r.ReadUint16(&version) || !r.ReadUint16(&wf) || message.ProtocolVersion(version) != message.MLS10 ||
		message.WireFormat(wf) != message.WireFormatPublicMessage {
		return nil, wrapErr(ErrMalformed, "MLSMessage", err)
	}
	pm := new(message.PublicMessage)
	if !readPublicMessage(r, pm) || !r.Empty() {
		return nil, wrapErr(ErrMalformed, "MLSMessage", err)
	}
	return &message.MLSMessage{Version: message.MLS10, WireFormat: message.WireFormatPublicMessage, PublicMessage: pm}, nil
}

// decodePrivateContent decodes the plaintext of a PrivateMessage of content
// type ct (§6.3.1), falling back on the decoder that knows custom
// proposals.
func decodePrivateContent(plaintext []byte, ct message.ContentType) (*message.PrivateMessageContent, error) {
	c, err := message.DecodePrivateMessageContent(plaintext, ct)
	if err == nil {
		return c, nil
	}
	if ct == message.ContentApplication {
		return nil, err
	}
	r := wire.NewReader(plaintext)
	c = &message.PrivateMessageContent{ContentType: ct}
	var fc message.FramedContent
	if !readBody(r, ct, &fc) || !readAuth(r, ct, &c.Auth) {
		return nil, err
	}
	c.Proposal, c.Commit = fc.Proposal, fc.Commit
	var pad []byte
	n := r.Len()
	r.ReadFixed(n, &pad)
	for _, b := range pad {
		if b != 0 {
			return nil, err
		}
	}
	c.Padding = n
	return c, nil
}

func readPublicMessage(r *wire.Reader, pm *message.PublicMessage) bool {
	if !readFramedContent(r, &pm.Content) || !readAuth(r, pm.Content.ContentType, &pm.Auth) {
		return false
	}
	if pm.Content.Sender.Type == message.SenderMember {
		return r.ReadVector(&pm.MembershipTag)
	}
	return true
}

func readFramedContent(r *wire.Reader, fc *message.FramedContent) bool {
	*fc = message.FramedContent{}
	return r.ReadRaw(&fc.Raw, func(r *wire.Reader) bool {
		var ct uint8
		if !r.ReadVector(&fc.GroupID) || !r.ReadUint64(&fc.Epoch) || !fc.Sender.UnmarshalMLS(r) ||
			!r.ReadVector(&fc.AuthenticatedData) || !r.ReadUint8(&ct) {
			return false
		}
		fc.ContentType = message.ContentType(ct)
		return readBody(r, fc.ContentType, fc)
	})
}

// readBody reads the content of type ct into fc: the proposal or commit
// (application data never carries proposals, so package message decodes
// it).
func readBody(r *wire.Reader, ct message.ContentType, fc *message.FramedContent) bool {
	switch ct {
	case message.ContentProposal:
		fc.Proposal = new(message.Proposal)
		return readProposal(r, fc.Proposal)
	case message.ContentCommit:
		fc.Commit = new(message.Commit)
		return readCommit(r, fc.Commit)
	}
	return r.Fail("content type")
}

func readAuth(r *wire.Reader, ct message.ContentType, a *message.FramedContentAuthData) bool {
	*a = message.FramedContentAuthData{}
	if !r.ReadVector(&a.Signature) {
		return false
	}
	if ct == message.ContentCommit {
		return r.ReadVector(&a.ConfirmationTag)
	}
	return true
}

func readCommit(r *wire.Reader, c *message.Commit) bool {
	*c = message.Commit{}
	if !r.ReadList(func(r *wire.Reader) bool {
		var t uint8
		if !r.ReadUint8(&t) {
			return false
		}
		var por message.ProposalOrRef
		switch message.ProposalOrRefType(t) {
		case message.ProposalOrRefProposal:
			por.Proposal = new(message.Proposal)
			if !readProposal(r, por.Proposal) {
				return false
			}
		case message.ProposalOrRefReference:
			var ref []byte
			if !r.ReadVector(&ref) {
				return false
			}
			if ref == nil {
				ref = []byte{}
			}
			por.Reference = ref
		default:
			return r.Fail("ProposalOrRefType")
		}
		c.Proposals = append(c.Proposals, por)
		return true
	}) {
		return false
	}
	var present bool
	return r.ReadOptional(&present, func(r *wire.Reader) bool {
		c.Path = new(treekem.UpdatePath)
		return c.Path.UnmarshalMLS(r)
	})
}

// readProposal reads a Proposal; a type outside RFC 9420 is read as a
// CustomProposal.
func readProposal(r *wire.Reader, p *message.Proposal) bool {
	var t uint16
	if !r.ReadUint16(&t) {
		return false
	}
	var body message.ProposalBody
	switch message.ProposalType(t) {
	case message.ProposalAdd:
		body = new(message.Add)
	case message.ProposalUpdate:
		body = new(message.Update)
	case message.ProposalRemove:
		body = new(message.Remove)
	case message.ProposalPSK:
		body = new(message.PreSharedKey)
	case message.ProposalReInit:
		body = new(message.ReInit)
	case message.ProposalExternalInit:
		body = new(message.ExternalInit)
	case message.ProposalGroupContextExtensions:
		body = new(message.GroupContextExtensions)
	default:
		body = &CustomProposal{Type: message.ProposalType(t)}
	}
	if !body.UnmarshalMLS(r) {
		return false
	}
	p.Body = body
	return true
}
