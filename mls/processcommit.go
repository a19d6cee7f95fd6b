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
	Committer     Sender
	CommitterLeaf LeafIndex
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
	PSKs []PreSharedKeyID
	// ReInit is set if the commit reinitializes the group (§11.2): after
	// it is applied, the group is closed.
	ReInit *ReInit
	// Extensions are the new GroupContext extensions, and
	// ExtensionsChanged reports whether a GroupContextExtensions proposal
	// set them.
	Extensions        Extensions
	ExtensionsChanged bool
	// SelfRemoved reports that the commit removes the member: applying it
	// makes the group inactive, and the new epoch is unknown to the member.
	SelfRemoved bool
	// Epoch is the epoch the commit starts.
	Epoch uint64

	g       *Group       // the member's group, nil for a PublicGroup's commit
	pg      *PublicGroup // the PublicGroup's, nil for a member's
	base    *publicEpoch
	next    *epochState // nil if SelfRemoved; only the public part for a PublicGroup
	changed changedLeaves
	opened  *message.OpenedPrivate
	signer  Signer // the member's new signer, from its own Update
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
	if sc.g != nil && sc.base == &sc.g.ep.publicEpoch {
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

// commitStage is a commit validated as far as no secret is needed
// (§12.4.2): its proposals applied, its path merged and the next epoch's
// tree and GroupContext computed. A member continues with the path
// secrets and the key schedule; a PublicGroup takes it as is.
type commitStage struct {
	sc        *StagedCommit // the changes, for the application
	s         *staged
	committer LeafIndex // the committer's leaf in the new tree
	// gc is the next epoch's GroupContext, complete, and gcBytes its
	// encoding; provisional is the encoding, before the confirmed
	// transcript hash, that the path secrets are encrypted to (§12.4.2).
	gc          GroupContext
	gcBytes     []byte
	provisional []byte
}

// stageCommit verifies a commit of the view's epoch (§12.4.2) without
// secrets: the sender, the proposals by reference, the list of proposals
// (§12.2), the path's presence, its LeafNode, keys and parent hashes
// (§7.3, §7.9.2), the successor of a changed credential (§5.3.1) and the
// admission of an external committer (Config.Policy). It stages the next
// epoch's tree and GroupContext on copies; the view's epoch is unchanged.
func (v *view) stageCommit(ac *message.AuthenticatedContent) (*commitStage, error) {
	fc := &ac.Content
	base, cf := v.ep, v.cf
	commit := fc.Commit
	sender := fc.Sender
	external := sender.Type == message.SenderNewMemberCommit
	switch {
	case sender.Type == message.SenderMember && sender.Leaf == v.self:
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
	s, err := v.applyList(list, &commitContext{committer: sender, firstCommit: base.gc.Epoch == 0})
	if err != nil {
		return nil, err
	}
	// §12.4: the path is required for an empty list, a "path required"
	// proposal, and an external commit (§12.4.3.2).
	if commit.Path == nil && (external || pathRequired(list)) {
		return nil, errorf(ErrInvalidCommit, "commit without the required path (§12.4)")
	}

	st := &commitStage{s: s, committer: sender.Leaf, gc: base.nextContext(s.exts)}
	st.sc = &StagedCommit{
		Committer: sender, CommitterLeaf: sender.Leaf, External: external,
		Adds: s.adds, Updates: s.updates, Removes: s.removes, Proposals: s.proposals,
		PSKs: s.psks, ReInit: s.reinit, Extensions: s.exts, ExtensionsChanged: s.gce,
		SelfRemoved: s.selfRemoved, Epoch: base.gc.Epoch + 1,
		base: base, changed: s.changed, signer: s.ownSigner,
	}
	if path := commit.Path; path != nil {
		if err := v.mergePath(st, path, external); err != nil {
			return nil, err
		}
	}
	st.gc.TreeHash = s.tree.TreeHash()
	if commit.Path != nil {
		if st.provisional, err = st.gc.Bytes(); err != nil {
			return nil, internalErr("provisional GroupContext: %v", err)
		}
	}
	if st.gcBytes, err = confirm(cf.cs, base.interim, &st.gc, ac); err != nil {
		return nil, err
	}
	return st, nil
}

// mergePath validates a commit's UpdatePath and merges it into the staged
// tree (§12.4.2): the committer's new credential must be a valid successor
// of its old one (§5.3.1), and an external committer, placed at the
// leftmost free leaf, must be admitted by the policy.
func (v *view) mergePath(st *commitStage, path *treekem.UpdatePath, external bool) error {
	cf, s := v.cf, st.s
	pol, err := cf.policy(s.exts, false)
	if err != nil {
		return err
	}
	var old *Credential
	if external {
		if st.committer, err = s.tree.FreeLeaf(); err != nil {
			return wrapErr(ErrInvalidCommit, "placing the joiner", err)
		}
		st.sc.CommitterLeaf = st.committer
	} else {
		old, _ = s.tree.LeafCredential(st.committer)
	}
	// §12.4.2: validate the path's LeafNode and keys, and merge it.
	if err := s.tree.MergeUpdatePath(st.committer, path, v.ep.gc.GroupID, pol); err != nil {
		return wrapErr(ErrInvalidCommit, "update path (§12.4.2)", err)
	}
	ln := &path.LeafNode
	if old != nil {
		if err := cf.checkSuccessor(old, &ln.Credential); err != nil {
			return wrapErr(ErrInvalidCommit, "update path leaf (§5.3.1)", err)
		}
	}
	if external {
		if err := cf.admitJoiner(&v.ep.gc, ln, s.removes); err != nil {
			return wrapErr(ErrInvalidCommit, "external commit (§12.4.3.2)", err)
		}
		c := *ln
		st.sc.Joiner = &MemberChange{Leaf: st.committer, LeafNode: &c, Sender: st.sc.Committer}
	}
	s.changed.note(v.ep.tree, st.committer)
	return nil
}

// confirm sets the confirmed transcript hash of gc, the GroupContext of
// the epoch that commit ac starts from an epoch of interim transcript hash
// interim (§8.2), and returns gc's encoding.
func confirm(cs *suite.Suite, interim []byte, gc *GroupContext, ac *message.AuthenticatedContent) ([]byte, error) {
	confirmed, err := message.ConfirmedTranscriptHash(cs, interim, ac)
	if err != nil {
		return nil, internalErr("confirmed transcript hash: %v", err)
	}
	gc.ConfirmedTranscriptHash = confirmed
	b, err := gc.Bytes()
	if err != nil {
		return nil, internalErr("GroupContext: %v", err)
	}
	return b, nil
}

// processCommit verifies a commit of the current epoch (§12.4.2) and
// stages the new epoch on copies of the group's state: stageCommit, then
// what needs the member's secrets (the path secret, the PSKs, the key
// schedule and the confirmation tag).
func (g *Group) processCommit(ac *message.AuthenticatedContent, op *message.OpenedPrivate) (*StagedCommit, error) {
	st, err := g.view().stageCommit(ac)
	if err != nil {
		return nil, err
	}
	base, s, sc := g.ep, st.s, st.sc
	sc.g, sc.opened = g, op
	if sc.SelfRemoved {
		return sc, nil // the member cannot decrypt the new epoch's secrets
	}
	mine := base.priv
	if s.ownLeafPriv != nil {
		mine = mine.Clone()
		if err := mine.SetLeafKey(s.ownLeafPriv); err != nil {
			return nil, internalErr("own update key: %v", err)
		}
	}
	var commitSecret []byte
	var priv *treekem.PrivateState
	if path := ac.Content.Commit.Path; path != nil {
		dp, err := mine.DecryptPath(s.tree, st.committer, path, st.provisional, s.addedLeaves())
		if err != nil {
			return nil, wrapErr(ErrInvalidCommit, "decrypting the update path (§12.4.2)", err)
		}
		commitSecret, priv = dp.CommitSecret, dp.Private
		defer clear(dp.PathSecret)
	} else {
		if mine == base.priv {
			mine = mine.Clone()
		}
		priv = mine
		priv.Prune(s.tree)
	}
	defer clear(commitSecret)

	initSecret := base.secrets.Init
	if sc.External {
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

	next, ks, err := g.deriveEpoch(&st.gc, st.gcBytes, ac, s.tree, priv, initSecret, commitSecret, pskSecret, true)
	if err != nil {
		return nil, err
	}
	ks.Wipe()
	next.reinit = s.reinit
	sc.next = next
	return sc, nil
}
