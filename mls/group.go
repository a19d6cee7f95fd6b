package mls

import (
	"bytes"
	"iter"
	"slices"

	"github.com/mlsengine/engine/treekem"
)

// A Group is one member's state of an MLS group (RFC 9420): the current
// epoch's GroupContext, ratchet tree, private keys and secrets, the
// proposals pending in the epoch, and what is kept of past epochs to
// decrypt late messages.
//
// A Group changes only through Apply (a commit), Process (a proposal is
// cached, a message key consumed), Propose, Encrypt and the creation of a
// commit sent as a PrivateMessage (which consumes a handshake key). Every
// method leaves the group unchanged when it returns an error.
//
// A Group is not safe for concurrent use: the application serializes the
// work on each group.
type Group struct {
	cf         *config
	ep         *epochState
	past       []*pastEpoch    // oldest first
	resumption []resumptionPSK // resumption_psk of past epochs, oldest first
	removed    bool            // a commit removed the member
}

// GroupID returns the group's identifier.
func (g *Group) GroupID() []byte { return bytes.Clone(g.ep.gc.GroupID) }

// Epoch returns the current epoch.
func (g *Group) Epoch() uint64 { return g.ep.gc.Epoch }

// CipherSuite returns the group's cipher suite.
func (g *Group) CipherSuite() CipherSuite { return g.cf.cs.ID() }

// LeafIndex returns the member's own leaf.
func (g *Group) LeafIndex() LeafIndex { return g.ep.leaf() }

// GroupContext returns a copy of the current GroupContext (§8.1).
func (g *Group) GroupContext() GroupContext { return cloneGroupContext(&g.ep.gc) }

// Extensions returns the GroupContext extensions.
func (g *Group) Extensions() Extensions { return cloneExtensions(g.ep.gc.Extensions) }

// MemberCount returns the number of members.
func (g *Group) MemberCount() uint32 { return g.ep.tree.MemberCount() }

// Members iterates over the members' leaf indices in increasing order.
func (g *Group) Members() iter.Seq[LeafIndex] { return g.ep.tree.Members() }

// Member returns the LeafNode of the member at leaf, and false if the leaf
// is blank.
func (g *Group) Member(leaf LeafIndex) (*LeafNode, bool) { return g.ep.tree.Leaf(leaf) }

// FindMember returns the leaf of the member whose signature key is
// signatureKey.
func (g *Group) FindMember(signatureKey []byte) (LeafIndex, bool) {
	return g.ep.tree.FindSignatureKey(signatureKey)
}

// Tree returns a copy of the ratchet tree, sharing storage copy-on-write
// with the group's (treekem.Tree.Clone): cheap, and safe to modify.
func (g *Group) Tree() *treekem.Tree { return g.ep.tree.Clone() }

// RatchetTree returns the ratchet_tree encoding of the tree (§12.4.3.3),
// for delivering it to joiners out of band.
func (g *Group) RatchetTree() ([]byte, error) { return g.ep.ratchetTree() }

// EpochAuthenticator returns the epoch_authenticator of the current epoch
// (§8.7).
func (g *Group) EpochAuthenticator() []byte { return bytes.Clone(g.ep.secrets.EpochAuthenticator) }

// Export returns MLS-Exporter(label, context, length) of the current epoch
// (§8.5).
func (g *Group) Export(label string, context []byte, length int) ([]byte, error) {
	out, err := g.ep.secrets.Export(g.cf.cs, label, context, length)
	if err != nil {
		return nil, wrapErr(ErrInvalidArgument, "exporter", err)
	}
	return out, nil
}

// ResumptionPSK returns the resumption_psk of the given epoch (§8.6), if it
// is the current epoch or one of the Config.ResumptionEpochs last ones.
func (g *Group) ResumptionPSK(epoch uint64) ([]byte, bool) {
	if epoch == g.ep.gc.Epoch {
		return bytes.Clone(g.ep.secrets.Resumption), true
	}
	for _, r := range g.resumption {
		if r.epoch == epoch {
			return bytes.Clone(r.psk), true
		}
	}
	return nil, false
}

// PendingProposals returns the proposals received or sent in the current
// epoch, in order of arrival: a commit created with default options covers
// those that are valid together.
func (g *Group) PendingProposals() []*Proposal { return g.ep.pendingProposals() }

// Active reports whether the member can still send in the group: false
// once a commit removed it or reinitialized the group.
func (g *Group) Active() bool { return !g.removed && g.ep.reinit == nil }

// Removed reports whether a commit removed the member from the group.
func (g *Group) Removed() bool { return g.removed }

// ReInit returns the ReInit proposal committed in the last commit, if any:
// the group is then closed and its members move to a new group with those
// parameters (§11.2). See Group.Reinitialize and JoinOptions.Resumption.
func (g *Group) ReInit() (*ReInit, bool) { return g.ep.reInit() }

// checkActive returns ErrInactive if the member may not send or commit.
func (g *Group) checkActive() error {
	switch {
	case g.removed:
		return errorf(ErrInactive, "the member was removed")
	case g.ep.reinit != nil:
		return errorf(ErrInactive, "the group was reinitialized (§11.2)")
	}
	return nil
}

// advance makes next the current epoch. The old epoch's message keys are
// kept for late messages, with the signature keys that the commit changed.
func (g *Group) advance(next *epochState, changed changedLeaves) {
	old := g.ep
	g.resumption = append(g.resumption, resumptionPSK{epoch: old.gc.Epoch, psk: bytes.Clone(old.secrets.Resumption)})
	if n := g.cf.resumptionEpochs(); len(g.resumption) > n {
		for _, r := range g.resumption[:len(g.resumption)-n] {
			clear(r.psk)
		}
		g.resumption = slices.Delete(g.resumption, 0, len(g.resumption)-n)
	}
	if keep := g.cf.pastEpochs(); keep > 0 {
		g.past = append(g.past, &pastEpoch{
			epoch:      old.gc.Epoch,
			gcBytes:    old.gcBytes,
			senderData: old.secrets.SenderData,
			stree:      old.stree,
			sigKeys:    changed,
		})
		if len(g.past) > keep {
			for _, p := range g.past[:len(g.past)-keep] {
				p.wipe()
			}
			g.past = slices.Delete(g.past, 0, len(g.past)-keep)
		}
	} else {
		clear(old.secrets.SenderData)
		old.stree.Wipe()
	}
	old.wipeKeepingTree()
	g.ep = next
}

func cloneExtensions(es Extensions) Extensions {
	if es == nil {
		return nil
	}
	out := make(Extensions, len(es))
	for i, e := range es {
		out[i] = Extension{Type: e.Type, Data: bytes.Clone(e.Data)}
	}
	return out
}
