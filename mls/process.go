package mls

import (
	"bytes"
	"errors"

	"github.com/mlsengine/engine/mls/keyschedule"
	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/mls/wire"
)

// Received is the outcome of processing a message: application data, a
// proposal (now pending in the group) or a commit to inspect and apply.
type Received struct {
	// ContentType says which of ApplicationData, Proposal and Commit is
	// set.
	ContentType ContentType
	// WireFormat is the message's: PublicMessage or PrivateMessage.
	WireFormat WireFormat
	// Sender is the message's sender.
	Sender Sender
	// Epoch is the epoch the message was sent in: the current one, or for
	// a late application message a past one.
	Epoch uint64
	// AuthenticatedData is the message's authenticated_data (§6).
	AuthenticatedData []byte

	ApplicationData []byte
	Proposal        *Proposal
	Commit          *StagedCommit
}

// Process verifies and processes a message received for the group: an
// MLSMessage carrying a PublicMessage or a PrivateMessage (§6).
//
//   - Application data (a PrivateMessage of the current epoch, or of a past
//     epoch still kept) is decrypted and returned; its key is deleted, so a
//     replay fails with ErrReplay.
//   - A proposal is validated (§12.1) and cached until the epoch ends
//     (§12.1: "the Proposal should be cached"), to be committed by
//     reference; one received again is returned without being cached
//     twice.
//   - A commit is validated and applied to a copy of the group's state
//     (§12.4.2); the returned StagedCommit lists its changes, and the group
//     moves to the new epoch only when the application calls Group.Apply.
//
// Nothing in data can make Process panic, and on error the group is
// unchanged.
func (g *Group) Process(data []byte) (r *Received, err error) {
	defer func() {
		if p := recover(); p != nil {
			r, err = nil, recovered("processing a message", p)
		}
	}()
	m, err := decodeMessage(data)
	if err != nil {
		return nil, err
	}
	switch m.WireFormat {
	case message.WireFormatPublicMessage:
		return g.processPublic(m.PublicMessage)
	case message.WireFormatPrivateMessage:
		return g.processPrivate(m.PrivateMessage)
	}
	return nil, errorf(ErrMalformed, "an MLSMessage of wire format %v, not a PublicMessage or PrivateMessage", m.WireFormat)
}

// decodeMessage decodes an MLSMessage from a copy of data.
func decodeMessage(data []byte) (*message.MLSMessage, error) {
	m := new(message.MLSMessage)
	if err := wire.Unmarshal(bytes.Clone(data), m); err != nil { // decoded values alias the copy
		return nil, wrapErr(ErrMalformed, "MLSMessage", err)
	}
	return m, nil
}

func (g *Group) processPublic(pm *message.PublicMessage) (*Received, error) {
	if !bytes.Equal(pm.Content.GroupID, g.ep.gc.GroupID) {
		return nil, ErrWrongGroup
	}
	// §6: handshake messages are processed in their epoch only.
	if pm.Content.Epoch != g.ep.gc.Epoch {
		return nil, &EpochError{Got: pm.Content.Epoch, Current: g.ep.gc.Epoch}
	}
	if err := g.checkActive(); err != nil {
		return nil, err
	}
	ac, err := message.UnprotectPublic(g.cf.cs, pm, g.ep.gcBytes, g.ep.secrets.Membership, g.view().senderKey)
	if err != nil {
		return nil, messageErr(err)
	}
	return g.dispatch(ac, nil)
}

func (g *Group) processPrivate(pm *message.PrivateMessage) (*Received, error) {
	if !bytes.Equal(pm.GroupID, g.ep.gc.GroupID) {
		return nil, ErrWrongGroup
	}
	if pm.Epoch == g.ep.gc.Epoch {
		if pm.ContentType != message.ContentApplication {
			if err := g.checkActive(); err != nil {
				return nil, err
			}
		}
		op, err := g.openPrivate(pm, g.ep.gcBytes, g.ep.stree, g.ep.secrets.SenderData, g.ep.tree.SignatureKey)
		if err != nil {
			return nil, err
		}
		return g.dispatch(op.Content, op)
	}
	// §15.3: late application messages of a past epoch still kept.
	k, ok := findPast(g.past, pm.Epoch)
	if !ok || pm.ContentType != message.ContentApplication {
		return nil, &EpochError{Got: pm.Epoch, Current: g.ep.gc.Epoch}
	}
	p := g.past[k]
	sigKey := func(leaf LeafIndex) []byte { return pastSignatureKey(g.past, k, g.ep.tree, leaf) }
	op, err := g.openPrivate(pm, p.gcBytes, p.stree, p.senderData, sigKey)
	if err != nil {
		return nil, err
	}
	return g.dispatch(op.Content, op)
}

// dispatch processes verified content by type. op is set for a
// PrivateMessage, whose key is consumed once the content is accepted.
func (g *Group) dispatch(ac *message.AuthenticatedContent, op *message.OpenedPrivate) (*Received, error) {
	fc := &ac.Content
	r := &Received{
		ContentType:       fc.ContentType,
		WireFormat:        ac.WireFormat,
		Sender:            fc.Sender,
		Epoch:             fc.Epoch,
		AuthenticatedData: fc.AuthenticatedData,
	}
	switch fc.ContentType {
	case message.ContentApplication:
		r.ApplicationData = fc.ApplicationData
	case message.ContentProposal:
		p, err := g.view().processProposal(ac)
		if err != nil {
			return nil, err
		}
		r.Proposal = p
	case message.ContentCommit:
		sc, err := g.processCommit(ac, op)
		if err != nil {
			return nil, err
		}
		r.Commit = sc
		return r, nil // the key is consumed when the commit is applied
	default:
		return nil, errorf(ErrMalformed, "content type %v", fc.ContentType)
	}
	consume(op)
	return r, nil
}

// processProposal validates a proposal received on its own (§12.1) and
// caches it in the view's epoch.
func (v *view) processProposal(ac *message.AuthenticatedContent) (*Proposal, error) {
	fc := &ac.Content
	ref, err := message.MakeProposalRef(v.cf.cs, ac)
	if err != nil {
		return nil, wrapErr(ErrMalformed, "proposal reference", err)
	}
	if c := findProposal(v.ep.proposals, ref); c != nil {
		return c.view(), nil // a copy of a proposal already received (or sent)
	}
	c := &cachedProposal{ref: ref, sender: fc.Sender, proposal: fc.Proposal}
	if err := v.checkProposal(c); err != nil {
		return nil, err
	}
	p := c.view()
	if err := v.cf.accept(p); err != nil {
		return nil, proposalErr(-1, c.proposal.Type(), RulePolicy, err)
	}
	v.ep.proposals = append(v.ep.proposals, c)
	return p, nil
}

// messageErr maps an error of package message to this package's
// sentinels, keeping the cause.
func messageErr(err error) error {
	switch {
	case errors.Is(err, ErrOwnMessage):
		return wrapErr(ErrOwnMessage, "message", err)
	case errors.Is(err, keyschedule.ErrReplay), errors.Is(err, keyschedule.ErrExpired),
		errors.Is(err, keyschedule.ErrTooFarAhead), errors.Is(err, keyschedule.ErrExhausted):
		return wrapErr(ErrReplay, "message key", err)
	case errors.Is(err, message.ErrWrongGroup):
		return wrapErr(ErrWrongGroup, "message", err)
	case errors.Is(err, message.ErrWrongEpoch):
		return wrapErr(ErrWrongEpoch, "message", err)
	case errors.Is(err, message.ErrSignature), errors.Is(err, message.ErrMembershipTag),
		errors.Is(err, message.ErrConfirmationTag), errors.Is(err, message.ErrInvalidSender),
		errors.Is(err, message.ErrDecrypt), errors.Is(err, ErrAuthentication):
		return wrapErr(ErrAuthentication, "message", err)
	case errors.Is(err, message.ErrInternal):
		return wrapErr(ErrInternal, "message", err)
	}
	return wrapErr(ErrMalformed, "message", err)
}
