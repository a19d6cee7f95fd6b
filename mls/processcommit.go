package mls

import (
	"bytes"

	"github.com/mlsengine/engine/mls/keyschedule"
	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/treekem"
)

// StagedCommit is a commit received and verified, ready to be applied
// with Group.Apply once the application has inspected it. Until then the
// group is unchanged; a StagedCommit that is not applied is dropped, with
// Discard to delete the secrets of the epoch it would have started.
type StagedCommit struct {
	// Committer is the commit's sender; for an external commit
	// (External), of type new_member_commit, and CommitterLeaf is the leaf
	// the joiner takes.
	Committer     message.Sender
	CommitterLeaf treekem.LeafIndex
	External      bool
	// Joiner is the member an external commit adds (§12.4.3.2), nil for
	// any other commit: Leaf is the leaf it takes (CommitterLeaf), LeafNode
	// the LeafNode of the commit's UpdatePath, validated like every path
	// leaf (§7.3), Sender the commit's sender (new_member_commit), and
	// KeyPackage nil, as a joiner by external commit has none. It is not
	// in Adds, which lists the members added by Add proposals. A resync
	// (§12.4.3.2: the joiner replaces its own earlier leaf) also lists
	// the replaced member in Removes.
	Joiner *MemberChange
	// Adds, Updates and Removes list the membership changes, Proposals
	// every proposal covered, in the commit's order.
	Adds, Updates, Removes []MemberChange
	Proposals              []*Proposal
	// PSKs are the pre-shared keys injected (§8.4).
	PSKs []keyschedule.PreSharedKeyID
	// ReInit is set if the commit reinitializes the group (§11.2): after
	// it is applied, the group is closed.
	ReInit *message.ReInit
	// Extensions are the new GroupContext extensions, and
	// ExtensionsChanged reports whether a GroupContextExtensions proposal
	// set them.
	Extensions        treekem.Extensions
	ExtensionsChanged bool
	// SelfRemoved reports that the commit removes the member: applying it
	// makes the group inactive, and the new epoch is unknown to the member.
	SelfRemoved bool
	// Epoch is the epoch the commit starts.
	Epoch uint64

	g       *Group
	base    *epochState
	next    *epochState // nil if SelfRemoved
	changed changedLeaves
	opened  *message.OpenedPrivate
	signer  suite.Signer // the member's new signer, from its own Update
	state   commitState
}

func (*StagedCommit) change() {}

// Discard deletes the secrets of the epoch the commit would start, for a
// commit the application drops instead of applying (for instance because
// it refuses a change the commit makes): the new epoch's key schedule
// secrets, its secret tree and the member's private keys of the new
// epoch, among them those derived from the commit's path secret (§8, §9,
// §7.4). RFC 9420 §9.2 and §16.8: secrets no longer needed are deleted so
// that a later compromise does not reveal them. If the commit came as a
// PrivateMessage of the current epoch, the key that decrypted it is
// deleted too (§9.2: a key "used to ... (successfully) decrypt a message"
// is consumed), so the same message processed again fails with ErrReplay.
// The group and its current epoch are unaffected: it can process and apply
// another commit for the epoch.
//
// Afterwards Apply fails with ErrStale and EpochAuthenticator returns nil.
// Discard is a no-op on a commit already applied or discarded, and on nil.
func (sc *StagedCommit) Discard() {
	if sc == nil || sc.state != commitReady {
		return
	}
	sc.state = commitDiscarded
	if sc.g != nil && sc.base == sc.g.ep {
		consume(sc.opened)
	}
	sc.opened = nil
	sc.next.wipeUnused()
	sc.next = nil
}

// EpochAuthenticator returns the epoch_authenticator of the epoch the
// commit starts (§8.7), nil if the commit removes the member.
func (sc *StagedCommit) EpochAuthenticator() []byte {
	if sc.next == nil {
		return nil
	}
	return bytes.Clone(sc.next.secrets.EpochAuthenticator)
}

// processCommit verifies a commit of the current epoch (§12.4.2) and
// stages the new epoch on copies of the group's state.
func (g *Group) processCommit(ac *message.AuthenticatedContent, op *message.OpenedPrivate) (*StagedCommit, error) {
	fc := &ac.Content
	base := g.ep
	commit := fc.Commit
	sender := fc.Sender
	external := sender.Type == message.SenderNewMemberCommit
	switch {
	case sender.Type == message.SenderMember && sender.Leaf == base.leaf():
		return nil, errorf(ErrOwnMessage, "the member's own commit: apply its PendingCommit instead")
	case sender.Type != message.SenderMember && !external:
		return nil, errorf(ErrAuthentication, "commit from a %v sender (§6.1)", sender.Type)
	}

	// Resolve the proposal list (§12.4).
	list := make([]entry, len(commit.Proposals))
	for i, por := range commit.Proposals {
		if por.Proposal != nil {
			list[i] = entry{index: i, p: por.Proposal, sender: sender}
			continue
		}
		// §12.4.3.2: "The Commit MUST NOT include any proposals by
		// reference" in an external commit.
		if external {
			return nil, errorf(ErrInvalidCommit, "external commit with a proposal by reference (§12.4.3.2)")
		}
		c := findProposal(base.proposals, por.Reference)
		if c == nil {
			return nil, errorf(ErrInvalidCommit, "unknown proposal reference %x (§12.4)", por.Reference)
		}
		list[i] = entry{index: i, p: c.proposal, sender: c.sender, ref: c.ref, leafPriv: c.leafPriv, signer: c.signer}
	}
	cc := &commitContext{committer: sender}
	s, err := g.applyList(list, cc)
	if err != nil {
		return nil, err
	}
	// §12.4: the path is required for an empty list, a "path required"
	// proposal, and an external commit (§12.4.3.2).
	if commit.Path == nil && (external || pathRequired(list)) {
		return nil, errorf(ErrInvalidCommit, "commit without the required path (§12.4)")
	}

	sc := &StagedCommit{
		Committer: sender, CommitterLeaf: sender.Leaf, External: external,
		Adds: s.adds, Updates: s.updates, Removes: s.removes, Proposals: s.proposals,
		PSKs: s.psks, ReInit: s.reinit, Extensions: s.exts, ExtensionsChanged: s.gce,
		SelfRemoved: s.selfRemoved, Epoch: base.gc.Epoch + 1,
		g: g, base: base, changed: s.changed, opened: op, signer: s.ownSigner,
	}
	gc := base.nextContext(s.exts)
	pol, err := g.cf.policy(s.exts, false)
	if err != nil {
		return nil, err
	}

	var commitSecret []byte
	var priv *treekem.PrivateState
	if commit.Path != nil {
		committer := sender.Leaf
		if external {
			if committer, err = s.tree.FreeLeaf(); err != nil {
				return nil, wrapErr(ErrInvalidCommit, "placing the joiner", err)
			}
			sc.CommitterLeaf = committer
			// §12.2: with a Remove, the joiner's LeafNode must be
			// acceptable as an Update of the removed member's.
			for _, r := range s.removes {
				if !g.cf.sameIdentity(&r.LeafNode.Credential, &commit.Path.LeafNode.Credential) {
					return nil, proposalErr(-1, message.ProposalRemove, "external commit removes a member of another identity (§12.2)", nil)
				}
			}
		}
		// §12.4.2: validate the path's LeafNode and keys, and merge it.
		if err := s.tree.MergeUpdatePath(committer, commit.Path, gc.GroupID, pol); err != nil {
			return nil, wrapErr(ErrInvalidCommit, "update path (§12.4.2)", err)
		}
		if external {
			ln := commit.Path.LeafNode
			sc.Joiner = &MemberChange{Leaf: committer, LeafNode: &ln, Sender: sender}
		}
		s.changed.note(base.tree, committer)
		if s.selfRemoved {
			return sc, nil // the member cannot decrypt the new epoch's secrets
		}
		gc.TreeHash = s.tree.TreeHash()
		provisional, err := gc.Bytes()
		if err != nil {
			return nil, internalErr("provisional GroupContext: %v", err)
		}
		mine := base.priv
		if s.ownLeafPriv != nil {
			mine = mine.Clone()
			if err := mine.SetLeafKey(s.ownLeafPriv); err != nil {
				return nil, internalErr("own update key: %v", err)
			}
		}
		dp, err := mine.DecryptPath(s.tree, committer, commit.Path, provisional, s.addedLeaves())
		if err != nil {
			return nil, wrapErr(ErrInvalidCommit, "decrypting the update path (§12.4.2)", err)
		}
		commitSecret, priv = dp.CommitSecret, dp.Private
		defer clear(dp.PathSecret)
	} else {
		if s.selfRemoved {
			return sc, nil
		}
		gc.TreeHash = s.tree.TreeHash()
		priv = base.priv.Clone()
		if s.ownLeafPriv != nil {
			if err := priv.SetLeafKey(s.ownLeafPriv); err != nil {
				return nil, internalErr("own update key: %v", err)
			}
		}
		priv.Prune(s.tree)
	}
	defer clear(commitSecret)

	initSecret := base.secrets.Init
	if external {
		if s.extInit == nil {
			return nil, internalErr("external commit without ExternalInit")
		}
		extPriv, _, err := base.secrets.ExternalKeyPair(g.cf.cs)
		if err != nil {
			return nil, internalErr("external key pair: %v", err)
		}
		initSecret, err = keyschedule.ExternalInitSecret(g.cf.cs, extPriv, s.extInit.KEMOutput)
		clear(extPriv)
		if err != nil {
			return nil, wrapErr(ErrInvalidCommit, "external init (§8.3)", err)
		}
		defer clear(initSecret)
	}
	// §12.4.2: "Verify that all PreSharedKey proposals in the proposals
	// vector are available."
	pskSecret, err := (&pskSource{cf: g.cf, self: g}).pskSecret(s.psks)
	if err != nil {
		return nil, err
	}
	defer clear(pskSecret)

	next, ks, err := g.deriveEpoch(&gc, ac, s.tree, priv, initSecret, commitSecret, pskSecret, true)
	if err != nil {
		return nil, err
	}
	ks.Wipe()
	next.reinit = s.reinit
	sc.next = next
	return sc, nil
}
