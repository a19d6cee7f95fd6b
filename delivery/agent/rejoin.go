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

// Rejoin joins the group named group again by external commit (RFC 9420
// §12.4.3.2), from the GroupInfo the delivery service publishes for its
// current epoch: for a client that was removed or left and is allowed
// back, or whose state cannot follow the group any more (ErrOutOfSync). If
// the group's tree still holds a leaf of the client's identity, the same
// commit removes it (a resync, §12.2 allows this one Remove). Whatever
// state the client had of the group is replaced; its unread events stay.
// A commit that loses its epoch is built again from the new GroupInfo,
// twice at most.
//
// The members accept any valid external commit: whether the client is
// allowed back is up to the delivery service's access control (none in
// package delivery's own server), not to this method.
func (a *Agent) Rejoin(ctx context.Context, group string) error {
	rec, err := a.st.findRecord(group)
	if err != nil {
		return err
	}
	_, err = a.rejoin(ctx, rec.GroupID, rec)
	return err
}

// RejoinID is Rejoin for a group given by its MLS group id, e.g. after
// the client lost its state directory's record of it (Summary.GroupID,
// `mls client info`, shows the id). It returns the group's local name: the
// record's if there is one, else chosen as Join does.
func (a *Agent) RejoinID(ctx context.Context, groupID []byte) (string, error) {
	if len(groupID) == 0 {
		return "", errorf(ErrInvalidArgument, "rejoin: empty group id")
	}
	recs, err := a.st.records()
	if err != nil {
		return "", err
	}
	var prev *groupRecord
	for _, r := range recs {
		if string(r.GroupID) == string(groupID) {
			prev = r
		}
	}
	return a.rejoin(ctx, groupID, prev)
}

func (a *Agent) rejoin(ctx context.Context, groupID []byte, prev *groupRecord) (string, error) {
	what := fmt.Sprintf("group %x", groupID)
	if prev != nil {
		what = prev.Name
		if prev.Status == StatusClosed {
			return "", errorf(ErrInactive, "%s was reinitialized (RFC 9420 §11.2): it takes no more commits", prev.Name)
		}
		var err error
		if prev, err = a.needsRejoin(ctx, prev); err != nil {
			return "", err
		}
	}
	for attempt := 1; ; attempt++ {
		gi, err := a.ds.GroupInfo(ctx, groupID)
		if errors.Is(err, store.ErrNoGroupInfo) {
			return "", dsErr(what+": no GroupInfo published for the current epoch (the last commit came without one)", err)
		}
		if err != nil {
			return "", dsErr("fetching the GroupInfo of "+what, err)
		}
		g, commit, err := a.externalCommit(gi)
		if err != nil {
			return "", wrapErr(ErrCommit, what+": joining by external commit", err)
		}
		// The delivery service is not trusted to serve the right group.
		if string(g.GroupID()) != string(groupID) {
			return "", errorf(ErrDelivery, "%s: the GroupInfo served is for group %x", what, g.GroupID())
		}
		newGI, err := g.GroupInfo(&mls.GroupInfoOptions{RatchetTree: true})
		if err != nil {
			return "", wrapErr(ErrCommit, what+": GroupInfo of the new epoch", err)
		}
		bundle := &delivery.CommitBundle{Commit: commit, GroupInfo: newGI}
		var posted delivery.Posted
		err = a.retry(ctx, func() (err error) {
			posted, err = a.ds.PostCommit(ctx, groupID, bundle)
			return err
		})
		if errors.Is(err, store.ErrEpoch) {
			if attempt < 3 {
				continue // another commit won: build it again on the new GroupInfo
			}
			return "", wrapErr(ErrConflict, what+": other commits won three times; try again", err)
		}
		if err != nil {
			return "", dsErr("posting the external commit to "+what, err)
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

// externalCommit builds the external commit joining the group of the
// GroupInfo gi, removing the client's old leaf if the tree still has one.
func (a *Agent) externalCommit(gi []byte) (*mls.Group, []byte, error) {
	old, err := a.oldLeaf(gi)
	if err != nil {
		return nil, nil, err
	}
	return mls.JoinExternal(a.cfg, gi, &mls.ExternalJoinOptions{Remove: old})
}

// oldLeaf finds the client's leaf in the tree of the GroupInfo gi (an
// MLSMessage): the one with its signature key, else one with its identity;
// nil if there is none. It only picks the leaf: mls.JoinExternal validates
// the GroupInfo and its tree, and checks that the leaf has the client's
// identity (§12.2).
func (a *Agent) oldLeaf(gi []byte) (*treekem.LeafIndex, error) {
	var m message.MLSMessage
	if err := wire.Unmarshal(gi, &m); err != nil || m.WireFormat != message.WireFormatGroupInfo || m.GroupInfo == nil {
		return nil, errorf(ErrDelivery, "the GroupInfo served is not an MLSMessage holding a GroupInfo")
	}
	nodes, ok, err := m.GroupInfo.RatchetTree()
	if err != nil {
		return nil, wrapErr(ErrDelivery, "the GroupInfo served", err)
	}
	if !ok {
		// RFC 9420 §12.4.3.3 lets the tree come by other means; the
		// delivery service offers none.
		return nil, errorf(ErrDelivery, "the GroupInfo served has no ratchet_tree extension, and the delivery service serves no tree")
	}
	pub := a.cfg.Signer.Public()
	var byName *treekem.LeafIndex
	for i := 0; i < len(nodes); i += 2 {
		n := nodes[i]
		if n == nil || n.Leaf == nil {
			continue
		}
		leaf := treekem.LeafIndex(i / 2)
		if bytes.Equal(n.Leaf.SignatureKey, pub) {
			return &leaf, nil
		}
		if byName == nil && identity(n.Leaf) == a.id.Name {
			byName = &leaf
		}
	}
	return byName, nil
}

// saveRejoined saves the group joined by the external commit accepted at
// seq: the log before it is of past epochs, so the cursor starts there.
func (a *Agent) saveRejoined(g *mls.Group, prev *groupRecord, seq uint64) (string, error) {
	recs, err := a.st.records()
	if err != nil {
		return "", err
	}
	var name string
	var others []*groupRecord
	for _, r := range recs {
		if string(r.GroupID) != string(g.GroupID()) {
			others = append(others, r)
		}
	}
	if prev != nil {
		name = prev.Name
	} else {
		want, ok := g.Extensions().Find(ExtensionGroupName)
		if !ok || !validName(string(want)) {
			want = []byte(fallbackName(g.GroupID()))
		}
		name = freeName(recs, string(want), g.GroupID())
	}
	if err := a.dropInactive(others, name); err != nil {
		return "", err
	}
	rec := &groupRecord{Version: recordVersion, Name: name, GroupID: g.GroupID(), Cursor: seq, JoinSeq: seq}
	if prev != nil {
		rec.Inbox = prev.Inbox
		clear(prev.State)
	}
	if err := a.save(&session{rec: rec, g: g}); err != nil {
		return "", err
	}
	return name, nil
}
