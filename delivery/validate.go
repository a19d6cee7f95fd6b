package delivery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/mlsengine/engine/delivery/store"
	"github.com/mlsengine/engine/mls"
	"github.com/mlsengine/engine/mls/message"
)

// This file is what the service checks of a tracked group's messages
// before it orders them: the library's validation (mls.PublicGroup, the
// code members run, minus what needs the epoch's secrets) and that the
// authenticated client speaks only for itself.

// createTracked creates a tracked group from its GroupInfo of epoch 0,
// whose tree the caller must be in.
func (s *Server) createTracked(ctx context.Context, gid []byte, caller string, setup *GroupSetup) (created bool, err error) {
	m, err := parseMLSMessage("GroupInfo", setup.GroupInfo, message.WireFormatGroupInfo)
	if err != nil {
		return false, err
	}
	gc := &m.GroupInfo.GroupContext
	if !bytes.Equal(gc.GroupID, gid) || gc.Epoch != 0 {
		return false, malformed("GroupInfo", "not of epoch 0 of the group in the URL")
	}
	pg, err := mls.NewPublicGroup(s.publicConfig(), setup.GroupInfo, &mls.PublicGroupOptions{RatchetTree: setup.RatchetTree})
	if err != nil {
		return false, rejected("the group's initial state", err)
	}
	if _, _, err := GroupAdmission(gc.Extensions); err != nil {
		return false, err
	}
	ix := newMemberIndex(pg.Identities(), 0)
	if !ix.isMember(caller) {
		return false, forbidden("the client creating a group must be one of its members")
	}
	data, err := encodeView(pg, ix)
	if err != nil {
		return false, err
	}
	created, err = s.st.CreateTrackedGroup(ctx, gid, store.View{Data: data}, setup.GroupInfo)
	if err != nil || created {
		return created, err
	}
	// A retry of the same creation is answered as the first was.
	g, err := s.st.Group(ctx, gid)
	if err != nil {
		return false, err
	}
	if gi, err := s.st.GroupInfo(ctx, gid); err != nil || g.Epoch != 0 || !bytes.Equal(gi, setup.GroupInfo) {
		return false, fmt.Errorf("%w with another initial state", ErrGroupExists)
	}
	return false, nil
}

// postTracked validates a message posted to a tracked group by caller,
// then appends it (c.Message is the message; for a commit, c carries its
// Welcome and GroupInfo). tg is locked and caught up; the view moves on
// with what is stored.
func (s *Server) postTracked(ctx context.Context, tg *trackedGroup, caller string, m *message.MLSMessage, c *store.Commit) (store.Appended, error) {
	epoch := tg.pg.Epoch()
	if m.WireFormat == message.WireFormatPrivateMessage {
		if c.Message.ContentType != store.ContentApplication {
			return store.Appended{}, rejected("a tracked group", errors.New("handshake messages must be PublicMessages, which the service can check (RFC 9750 §6.4); create the group opaque to encrypt them"))
		}
		if !tg.ix.isMember(caller) {
			return store.Appended{}, forbidden("only members send to the group")
		}
		return s.st.Append(ctx, tg.gid, c.Message)
	}
	if c.Message.Epoch != epoch {
		// An earlier epoch's message can only be a retry (the store
		// answers with its place) or too late; a later one is refused.
		if c.Message.Epoch > epoch {
			return store.Appended{}, &store.EpochError{Epoch: c.Message.Epoch, Current: epoch}
		}
		return s.storeMessage(ctx, tg, c)
	}
	if err := s.checkSender(tg, caller, &m.PublicMessage.Content.Sender); err != nil {
		return store.Appended{}, err
	}
	r, err := tg.pg.Process(c.Message.Data)
	if err != nil {
		return store.Appended{}, rejected(contentTypeLabel(int(c.Message.ContentType)), err)
	}
	if r.Proposal != nil {
		if err := s.checkProposer(tg, caller, r); err != nil {
			s.views.drop(tg) // the view cached the proposal
			tg.loaded = false
			return store.Appended{}, err
		}
		a, err := s.st.Append(ctx, tg.gid, c.Message)
		if err != nil {
			s.views.drop(tg)
			tg.loaded = false
			return a, err
		}
		if a.Seq == tg.seq+1 {
			tg.seq = a.Seq
		} else if a.Seq > tg.seq {
			tg.markAhead(a.Seq)
		}
		return a, nil
	}
	sc := r.Commit
	if err := s.checkCommit(ctx, tg, caller, sc, c); err != nil {
		sc.Discard()
		return store.Appended{}, err
	}
	a, err := s.st.Commit(ctx, *c)
	if err != nil || a.Duplicate {
		sc.Discard()
		return a, err
	}
	if err := s.applyCommit(tg, sc, a.Seq); err != nil {
		// The commit is the group's: the view, which cannot follow it,
		// is rebuilt from the store by the next request.
		s.log.Error("delivery: applying a stored commit to a tracked group's view", "group", EncodeGroupID(tg.gid), "err", err)
		s.views.drop(tg)
		tg.loaded = false
	}
	return a, nil
}

// storeMessage hands an unvalidated message of an ended epoch to the
// store, which can only find it a duplicate or refuse it: the store's
// epoch is never behind the view's.
func (s *Server) storeMessage(ctx context.Context, tg *trackedGroup, c *store.Commit) (store.Appended, error) {
	if c.Message.ContentType == store.ContentCommit {
		// A retried winner's Welcome was queued when it won.
		c.Welcome, c.Recipients = nil, nil
		return s.st.Commit(ctx, *c)
	}
	return s.st.Append(ctx, tg.gid, c.Message)
}

func (tg *trackedGroup) markAhead(seq uint64) {
	if tg.ahead == nil {
		tg.ahead = make(map[uint64]bool)
	}
	tg.ahead[seq] = true
}

// checkSender checks, before the view verifies the signature, that a
// member's message comes from that member's client.
func (s *Server) checkSender(tg *trackedGroup, caller string, sender *message.Sender) error {
	if sender.Type != message.SenderMember {
		return nil // checked once the view has verified it (checkProposer, checkCommit)
	}
	if id, ok := tg.ix.byLeaf[sender.Leaf]; !ok || id != caller {
		return forbidden(fmt.Sprintf("the message is signed by the member at leaf %d, which is not this client", sender.Leaf))
	}
	return nil
}

// checkProposer checks that a proposal from outside the group comes from
// the client it names: a new member proposes its own KeyPackage, an
// external sender is the client of its credential.
func (s *Server) checkProposer(tg *trackedGroup, caller string, r *mls.Received) error {
	var cred *mls.Credential
	switch r.Sender.Type {
	case message.SenderNewMemberProposal:
		add, ok := r.Proposal.Body.(*message.Add)
		if !ok {
			return forbidden("a new member may only propose to add itself")
		}
		cred = &add.KeyPackage.LeafNode.Credential
	case message.SenderExternal:
		// The view verified the signature against this entry.
		senders, _, err := message.ParseExternalSenders(tg.pg.GroupContext().Extensions)
		if err != nil || int64(r.Sender.ExternalIndex) >= int64(len(senders)) {
			return rejected("proposal", errors.New("unknown external sender"))
		}
		cred = &senders[r.Sender.ExternalIndex].Credential
	default:
		return nil // a member, checked by checkSender
	}
	return s.isCaller(caller, cred, "the proposal's sender")
}

// isCaller checks that cred presents caller's identity.
func (s *Server) isCaller(caller string, cred *mls.Credential, what string) error {
	id, err := s.as.Identity(cred)
	if err != nil {
		return rejected(what, err)
	}
	if string(id) != caller {
		return forbidden(what + " is another client")
	}
	return nil
}

// checkCommit checks what a staged commit brings: an external commit's
// joiner is the caller; the GroupInfo (required) is the new epoch's,
// signed by the committer; the Welcome is the commit's, and its
// recipients the owners of the KeyPackages it names (c.Recipients is set
// to them).
func (s *Server) checkCommit(ctx context.Context, tg *trackedGroup, caller string, sc *mls.StagedCommit, c *store.Commit) error {
	if sc.Joiner != nil {
		if err := s.isCaller(caller, &sc.Joiner.LeafNode.Credential, "the external commit's joiner"); err != nil {
			return err
		}
	}
	if c.GroupInfo == nil {
		return malformed("commit bundle", "a commit to a tracked group comes with the GroupInfo of the new epoch")
	}
	if err := sc.CheckGroupInfo(c.GroupInfo); err != nil {
		return rejected("GroupInfo", err)
	}
	gi, err := parseMLSMessage("GroupInfo", c.GroupInfo, message.WireFormatGroupInfo)
	if err != nil {
		return err
	}
	if gi.GroupInfo.Signer != sc.CommitterLeaf {
		return rejected("GroupInfo", errors.New("not signed by the committer"))
	}
	if c.Welcome == nil {
		if len(sc.Adds) > 0 {
			return malformed("commit bundle", "a commit adding members comes with their Welcome")
		}
		return nil
	}
	if err := sc.CheckWelcome(c.Welcome); err != nil {
		return rejected("Welcome", err)
	}
	return s.welcomeRecipients(ctx, c)
}

// welcomeRecipients sets c.Recipients to the owners of the KeyPackages
// c.Welcome names: nothing else is queued. Recipients named in the bundle
// must be exactly those.
func (s *Server) welcomeRecipients(ctx context.Context, c *store.Commit) error {
	info, err := mls.ParseWelcome(c.Welcome)
	if err != nil {
		return &MalformedError{What: "Welcome", Err: err}
	}
	var owners []string
	for _, ref := range info.KeyPackageRefs {
		owner, err := s.st.KeyPackageOwner(ctx, ref)
		if errors.Is(err, store.ErrNotFound) {
			continue // a KeyPackage from elsewhere: its owner has no queue here
		}
		if err != nil {
			return err
		}
		if !slices.Contains(owners, owner) {
			owners = append(owners, owner)
		}
	}
	if len(c.Recipients) > 0 {
		given := slices.Sorted(slices.Values(c.Recipients))
		if !slices.Equal(given, slices.Sorted(slices.Values(owners))) {
			return malformed("commit bundle", "the recipients are not the owners of the KeyPackages the Welcome names")
		}
	}
	c.Recipients = owners
	if len(owners) == 0 {
		c.Welcome = nil
	}
	return nil
}

// checkGroupInfo checks a GroupInfo a member publishes for the current
// epoch (PUT .../groupinfo): the view's, signed by the caller's leaf.
func (s *Server) checkGroupInfo(tg *trackedGroup, caller string, data []byte) error {
	if err := tg.pg.CheckGroupInfo(data); err != nil {
		return rejected("GroupInfo", err)
	}
	m, err := parseMLSMessage("GroupInfo", data, message.WireFormatGroupInfo)
	if err != nil {
		return err
	}
	if id, ok := tg.ix.byLeaf[m.GroupInfo.Signer]; !ok || id != caller {
		return forbidden("the GroupInfo is signed by another member")
	}
	return nil
}

// admitted reports whether caller may read a tracked group's GroupInfo
// and current tree without being a member: the group's ExtensionAdmission
// admits it.
func (s *Server) admitted(tg *trackedGroup, caller string) bool {
	adm, ok, err := GroupAdmission(tg.pg.GroupContext().Extensions)
	return err == nil && ok && adm.admits([]byte(caller))
}
