package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/mlsengine/engine/delivery"
	"github.com/mlsengine/engine/delivery/store"
	"github.com/mlsengine/engine/mls"
	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/mls/wire"
	"github.com/mlsengine/engine/treekem"
)

// Rejoin continues the group named group by external commit (RFC 9420
// §12.4.3.2) from the GroupInfo and tree the delivery service serves for
// its current epoch, for a client whose state cannot follow the group
// (ErrOutOfSync) or was lost: a resync, whose commit removes the client's
// old leaf (§12.2), which the group admits by default. A client that was
// removed or left comes back only if the group admits it (created open or
// with it on its admission list, see CreateOptions); otherwise a member
// adds it again.
//
// Rejoin continues only the group the client knew, since the delivery
// service is not trusted with it: same group id, an epoch at least the
// client's, and every member the client knew still in the tree unless the
// log since the client's cursor removes it. Otherwise it refuses, with
// ErrDelivery. The commit is written ahead (see Write-ahead in the package
// documentation): if the process dies or the answer is lost, the next
// command on the group finishes it. A commit that loses its epoch is built
// again from the new GroupInfo, twice at most. Whatever state the client
// had of the group is replaced; its unread events stay.
func (a *Agent) Rejoin(ctx context.Context, group string) error {
	rec, err := a.st.findRecord(group)
	if err != nil {
		return err
	}
	return a.rejoin(ctx, rec)
}

// RejoinID is Rejoin for a group given by its MLS group id (Summary.GroupID,
// `mls client info`), e.g. when its local name is ambiguous. The client
// must have a record of the group: rejoin continues only a group it knew.
// It returns the group's local name.
func (a *Agent) RejoinID(ctx context.Context, groupID []byte) (string, error) {
	if len(groupID) == 0 {
		return "", errorf(ErrInvalidArgument, "rejoin: empty group id")
	}
	rec, err := a.st.recordByID(groupID)
	if err != nil {
		return "", err
	}
	if rec == nil {
		return "", errorf(ErrUnknownGroup, "this client has no record of group %x: rejoin only continues a group it knew (a member adds it with 'mls client add')", groupID)
	}
	return rec.Name, a.rejoin(ctx, rec)
}

func (a *Agent) rejoin(ctx context.Context, prev *groupRecord) error {
	if prev.Status == StatusClosed {
		return errorf(ErrInactive, "%s was reinitialized (RFC 9420 §11.2): it takes no more commits", prev.Name)
	}
	done, err := a.finishRejoin(ctx, prev)
	if err != nil || done {
		return err
	}
	if prev, err = a.needsRejoin(ctx, prev); err != nil {
		return err
	}
	// The state the client had, if it can be read: the members it knew.
	var old *mls.Group
	if len(prev.State) > 0 {
		old, _ = mls.UnmarshalGroup(a.cfg, prev.State)
	}
	for attempt := 1; ; attempt++ {
		gi, tree, served, err := a.currentState(ctx, prev)
		if err != nil {
			return err
		}
		if err := a.checkContinues(ctx, prev, old, served); err != nil {
			return err
		}
		g, commit, err := a.externalCommit(gi, tree, served.nodes)
		var refused *mls.AdmissionError
		switch {
		case errors.As(err, &refused):
			return wrapErr(ErrInactive, prev.Name+": the group does not admit this client back (it was removed or left; a member adds it again with 'mls client add')", err)
		case errors.Is(err, mls.ErrInvalidWelcome), errors.Is(err, mls.ErrAuthentication), errors.Is(err, mls.ErrRejected):
			return wrapErr(ErrDelivery, prev.Name+": the GroupInfo and tree the delivery service serves are not a valid group", err)
		case err != nil:
			return wrapErr(ErrCommit, prev.Name+": joining by external commit", err)
		}
		sent, err := a.rejoinAhead(prev, g, commit)
		if err != nil {
			return err
		}
		posted, err := a.postRejoin(ctx, prev.GroupID, sent)
		var ee *store.EpochError
		if errors.As(err, &ee) {
			if err := a.dropRejoin(prev); err != nil {
				return err
			}
			if attempt < 3 {
				continue // another commit won: build it again on the new GroupInfo
			}
			return wrapErr(ErrConflict, prev.Name+": other commits won three times; try again", err)
		}
		if err != nil {
			return dsErr("posting the external commit to "+prev.Name+" (the next command on the group finishes it)", err)
		}
		return a.saveRejoined(g, prev, posted.Seq)
	}
}

// needsRejoin checks that the client needs to rejoin the group of rec: it
// is not a member, or its state cannot follow the group. It returns the
// group's record as it is after catching up.
func (a *Agent) needsRejoin(ctx context.Context, rec *groupRecord) (*groupRecord, error) {
	if rec.Status != StatusActive || rec.Leaving {
		return rec, nil
	}
	s, err := a.load(rec)
	if err != nil {
		return rec, nil // a state that cannot be loaded is replaced
	}
	err = a.catchUp(ctx, s)
	switch {
	case err == nil && s.g != nil:
		return nil, errorf(ErrMember, "%s: this client is a member, in sync at epoch %d: nothing to rejoin (rejoin is for a client removed from the group or whose state cannot follow it)", rec.Name, s.g.Epoch())
	case err == nil, errors.Is(err, ErrOutOfSync):
		return s.rec, nil
	}
	return nil, err
}

// currentState fetches the GroupInfo and the tree of the group's current
// epoch, and decodes them.
func (a *Agent) currentState(ctx context.Context, rec *groupRecord) (gi, tree []byte, sv *served, err error) {
	for range 3 {
		gi, err = a.ds.GroupInfo(ctx, rec.GroupID)
		if errors.Is(err, delivery.ErrForbidden) {
			return nil, nil, nil, wrapErr(ErrInactive, rec.Name+": the group does not admit this client back (it was removed or left; a member adds it again with 'mls client add')", err)
		}
		if errors.Is(err, store.ErrNoGroupInfo) {
			return nil, nil, nil, dsErr(rec.Name+": no GroupInfo published for the current epoch (the last commit came without one)", err)
		}
		if err != nil {
			return nil, nil, nil, dsErr("fetching the GroupInfo of "+rec.Name, err)
		}
		var epoch uint64
		if tree, epoch, err = a.ds.Tree(ctx, rec.GroupID); err != nil {
			return nil, nil, nil, dsErr("fetching the tree of "+rec.Name, err)
		}
		if sv, err = parseServed(gi, tree); err != nil {
			return nil, nil, nil, err
		}
		if sv.gc.Epoch == epoch {
			return gi, tree, sv, nil
		}
		// A commit came between the two requests.
	}
	return nil, nil, nil, errorf(ErrConflict, "%s: the group keeps moving on; try again", rec.Name)
}

// served is the state of a group the delivery service serves.
type served struct {
	gc    *message.GroupContext
	nodes treekem.NodeList
}

// parseServed decodes a GroupInfo (an MLSMessage) and a ratchet tree
// served for rejoining; mls.JoinExternal validates them.
func parseServed(gi, tree []byte) (*served, error) {
	var m message.MLSMessage
	if err := wire.Unmarshal(gi, &m); err != nil || m.WireFormat != message.WireFormatGroupInfo {
		return nil, errorf(ErrDelivery, "the GroupInfo served is not an MLSMessage holding a GroupInfo")
	}
	var nodes treekem.NodeList
	if err := wire.Unmarshal(tree, &nodes); err != nil {
		return nil, wrapErr(ErrDelivery, "the tree served", err)
	}
	return &served{gc: &m.GroupInfo.GroupContext, nodes: nodes}, nil
}

// leaves calls f for each leaf of the tree.
func (sv *served) leaves(f func(treekem.LeafIndex, *treekem.LeafNode)) {
	for i := 0; i < len(sv.nodes); i += 2 {
		if n := sv.nodes[i]; n != nil && n.Leaf != nil {
			f(treekem.LeafIndex(i/2), n.Leaf)
		}
	}
}

// externalCommit builds the external commit joining the group of the
// GroupInfo gi, whose tree is tree (decoded: nodes), removing the client's
// old leaf if the tree still has one.
func (a *Agent) externalCommit(gi, tree []byte, nodes treekem.NodeList) (*mls.Group, []byte, error) {
	old := a.oldLeaf(&served{nodes: nodes})
	return mls.JoinExternal(a.cfg, gi, &mls.ExternalJoinOptions{JoinOptions: mls.JoinOptions{RatchetTree: tree}, Remove: old})
}

// oldLeaf finds the client's leaf in a served tree: the one with its
// signature key (only that one may be replaced by a resync, see
// mls.DefaultAdmit); nil if there is none.
func (a *Agent) oldLeaf(sv *served) *treekem.LeafIndex {
	pub := a.cfg.Signer.Public()
	var old *treekem.LeafIndex
	sv.leaves(func(i treekem.LeafIndex, ln *treekem.LeafNode) {
		if old == nil && bytes.Equal(ln.SignatureKey, pub) {
			old = &i
		}
	})
	return old
}

// checkContinues checks that the group served is the one of rec: the same
// group id, an epoch at least the client's last and, if its old state old
// is known, every member it had (itself included) still in the tree
// unless the log since its cursor removes it. The delivery service chose
// what it serves; it is not trusted to serve the right group.
func (a *Agent) checkContinues(ctx context.Context, rec *groupRecord, old *mls.Group, sv *served) error {
	if !bytes.Equal(sv.gc.GroupID, rec.GroupID) {
		return errorf(ErrDelivery, "refusing to rejoin %s: the GroupInfo served is for group %x", rec.Name, sv.gc.GroupID)
	}
	if sv.gc.Epoch < rec.Epoch {
		return errorf(ErrDelivery, "refusing to rejoin %s: the GroupInfo served is of epoch %d, before this client's %d", rec.Name, sv.gc.Epoch, rec.Epoch)
	}
	if old == nil {
		return nil
	}
	removed, err := a.removedSince(ctx, rec)
	if err != nil {
		return err
	}
	present := map[string]bool{}
	sv.leaves(func(_ treekem.LeafIndex, ln *treekem.LeafNode) { present[identity(ln)] = true })
	for _, m := range old.Identities() {
		if !present[string(m.Identity)] && !removed[m.Leaf] {
			return errorf(ErrDelivery, "refusing to rejoin %s: the group served lacks %s, and the log since this client's last message does not remove it (another group, or a forged state)",
				rec.Name, clean(string(m.Identity)))
		}
	}
	return nil
}

// removedSince returns the leaves that Remove proposals in the group's log
// after rec's cursor name (in commits or on their own): members who may
// have left since.
func (a *Agent) removedSince(ctx context.Context, rec *groupRecord) (map[treekem.LeafIndex]bool, error) {
	removed := map[treekem.LeafIndex]bool{}
	for after := rec.Cursor; ; {
		entries, err := a.ds.Fetch(ctx, rec.GroupID, after, 0, 0)
		if err != nil {
			return nil, dsErr("fetching the messages of "+rec.Name, err)
		}
		if len(entries) == 0 {
			return removed, nil
		}
		for _, e := range entries {
			after = e.Seq
			var m message.MLSMessage
			if wire.Unmarshal(e.Message, &m) != nil || m.WireFormat != message.WireFormatPublicMessage {
				continue
			}
			fc := &m.PublicMessage.Content
			var props []*message.Proposal
			switch {
			case fc.Proposal != nil:
				props = append(props, fc.Proposal)
			case fc.Commit != nil:
				for _, p := range fc.Commit.Proposals {
					if p.Proposal != nil {
						props = append(props, p.Proposal)
					}
				}
			}
			for _, p := range props {
				if r, ok := p.Body.(*message.Remove); ok {
					removed[r.Removed] = true
				}
			}
		}
	}
}

// rejoinAhead writes the external commit ahead to the group's record:
// what to post, and the state of the group joined.
func (a *Agent) rejoinAhead(rec *groupRecord, g *mls.Group, commit []byte) (*sentRecord, error) {
	gi, err := g.GroupInfo(nil)
	if err != nil {
		return nil, wrapErr(ErrCommit, rec.Name+": GroupInfo of the new epoch", err)
	}
	sent := newSent(sentCommit, g.Epoch()-1, commit)
	sent.GroupInfo = gi
	if sent.Next, err = g.MarshalBinary(); err != nil {
		return nil, wrapErr(ErrState, "saving group "+rec.Name, err)
	}
	rec.Rejoin = sent
	return sent, a.st.saveRecord(rec)
}

// postRejoin posts a rejoin's external commit, again if its answer may
// have been lost.
func (a *Agent) postRejoin(ctx context.Context, groupID []byte, sent *sentRecord) (delivery.Posted, error) {
	var posted delivery.Posted
	err := a.retry(ctx, func() (err error) {
		posted, err = a.ds.PostCommit(ctx, groupID, &delivery.CommitBundle{Commit: sent.Message, GroupInfo: sent.GroupInfo})
		return err
	})
	return posted, err
}

// dropRejoin forgets a rejoin that lost its epoch, and its secrets.
func (a *Agent) dropRejoin(rec *groupRecord) error {
	rec.Rejoin.wipe()
	rec.Rejoin = nil
	return a.st.saveRecord(rec)
}

// finishRejoin finishes a rejoin written ahead by an earlier command whose
// answer it never got: posted again, it is either accepted (it was, or is
// now: the state it recorded becomes the group's, and done is true) or
// refused for its epoch (forgotten).
func (a *Agent) finishRejoin(ctx context.Context, rec *groupRecord) (done bool, err error) {
	if rec.Rejoin == nil {
		return false, nil
	}
	posted, err := a.postRejoin(ctx, rec.GroupID, rec.Rejoin)
	if errors.Is(err, store.ErrEpoch) {
		return false, a.dropRejoin(rec)
	}
	if err != nil {
		return false, dsErr("finishing the rejoin of "+rec.Name, err)
	}
	g, err := mls.UnmarshalGroup(a.cfg, rec.Rejoin.Next)
	if err != nil {
		return false, wrapErr(ErrState, fmt.Sprintf("%s: finishing the rejoin accepted at %d", rec.Name, posted.Seq), err)
	}
	return true, a.saveRejoined(g, rec, posted.Seq)
}

// saveRejoined replaces the group's record with the group joined by the
// external commit accepted at seq: the log before it is of past epochs,
// so the cursor starts there.
func (a *Agent) saveRejoined(g *mls.Group, prev *groupRecord, seq uint64) error {
	rec := &groupRecord{Version: recordVersion, Name: prev.Name, GroupID: g.GroupID(), Cursor: seq, JoinSeq: seq, Inbox: prev.Inbox}
	clear(prev.State)
	if prev.Rejoin != nil {
		prev.Rejoin.wipe()
	}
	prev.dropSent(^uint64(0))
	return a.save(&session{rec: rec, g: g})
}
