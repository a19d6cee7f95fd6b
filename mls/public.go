package mls

import (
	"bytes"
	"iter"

	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/treekem"
)

// A PublicGroup tracks a group without any of its secrets, as a delivery
// service or any other server does: the public state of its current epoch
// (GroupContext, ratchet tree, transcript hash, pending proposals), kept up
// to date by processing the group's handshake messages. It runs the checks
// members run, through the same code, minus those that need a secret:
//
//   - the sender's signature, against the tree (members) or the
//     external_senders extension (§6.1), for the current group and epoch;
//   - every proposal, alone (§12.1) and in a commit's list (§12.2), with
//     the Authentication Service and authorization policy of its Config
//     (Config.Authentication, Config.Policy): credentials, successors of
//     changed credentials, admission of external joiners and
//     new_member_proposal senders;
//   - a commit's path: its LeafNode (§7.3), keys and parent hashes
//     (§7.9.2), and its presence where required (§12.4);
//   - the next epoch's tree hash, GroupContext and confirmed and interim
//     transcript hashes (§8.2), which StagedCommit.CheckGroupInfo compares
//     with the GroupInfo a committer publishes, and StagedCommit.CheckWelcome
//     the Welcome's KeyPackage references with the commit's Adds.
//
// It cannot check, and members still do:
//
//   - the membership tag of a PublicMessage from a member (§6.2), so a
//     message signed by a member's key is accepted from anyone holding it;
//   - the confirmation tag of a commit (§8.1), so the view cannot tell
//     whether the committer derived the epoch's secrets correctly;
//   - the path secrets of an UpdatePath (§7.6): that their encryptions
//     decrypt, and to keys matching the path's public keys;
//   - the secrets of PreSharedKey proposals (§8.4) and the kem_output of
//     an ExternalInit (§8.3), only their form;
//   - anything of a PrivateMessage, which it refuses with ErrUnsupported
//     (handshake messages must be PublicMessages for a server to check
//     them; see Config.EncryptHandshake).
//
// A commit costs it what it costs a member, minus the decryption: O(log n)
// hashing, the tree staged copy-on-write. It keeps one epoch and its
// pending proposals, no past epochs, so its memory is the tree and O(1)
// per group beyond it. Its Config needs no Signer or Credential; its Suite
// may be zero.
//
// A PublicGroup is not safe for concurrent use.
type PublicGroup struct {
	cf *config
	ep *publicEpoch
}

// PublicGroupOptions are the options of NewPublicGroup.
type PublicGroupOptions struct {
	// RatchetTree is the group's tree (see Group.RatchetTree) when the
	// GroupInfo does not carry a ratchet_tree extension.
	RatchetTree []byte
}

// NewPublicGroup starts tracking a group from a GroupInfo of its current
// epoch (an MLSMessage) and its tree (in the GroupInfo or opts), verified
// as a joiner verifies them (§12.4.3.1): the GroupInfo's signature by its
// signer's leaf, the tree's hash, parent hashes and every leaf, and the
// GroupContext extensions. For a group at its creation, the GroupInfo of
// epoch 0 (Group.GroupInfo) serves. The confirmation tag cannot be checked
// without the epoch's secrets.
func NewPublicGroup(cfg Config, groupInfo []byte, opts *PublicGroupOptions) (pg *PublicGroup, err error) {
	defer func() {
		if p := recover(); p != nil {
			pg, err = nil, recovered("starting a public group", p)
		}
	}()
	if opts == nil {
		opts = &PublicGroupOptions{}
	}
	gi, err := parseGroupInfo(groupInfo)
	if err != nil {
		return nil, err
	}
	if cfg.Suite == 0 {
		cfg.Suite = gi.GroupContext.CipherSuite
	}
	cf, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	if gi.GroupContext.CipherSuite != cf.cs.ID() {
		return nil, errorf(ErrUnsupported, "group of suite %v, Config of suite %v", gi.GroupContext.CipherSuite, cf.cs.ID())
	}
	tree, err := groupTree(cf, gi, opts.RatchetTree)
	if err != nil {
		return nil, err
	}
	if err := checkJoinedGroup(cf, gi, tree, nil); err != nil {
		return nil, err
	}
	interim, err := message.InterimTranscriptHash(cf.cs, gi.GroupContext.ConfirmedTranscriptHash, gi.ConfirmationTag)
	if err != nil {
		return nil, wrapErr(ErrInvalidWelcome, "interim transcript hash", err)
	}
	gcBytes, err := gi.GroupContext.Bytes()
	if err != nil {
		return nil, internalErr("GroupContext: %v", err)
	}
	return &PublicGroup{cf: cf, ep: &publicEpoch{
		gc: gi.GroupContext, gcBytes: gcBytes, tree: tree, interim: interim, confirmationTag: bytes.Clone(gi.ConfirmationTag),
	}}, nil
}

// PublicGroup returns a PublicGroup of the group's current epoch, with the
// member's Config, sharing the tree copy-on-write: what a server co-located
// with a member, or a test, starts from. The member's own pending Update
// proposals are included without their private keys.
func (g *Group) PublicGroup() *PublicGroup {
	pub := g.ep.publicEpoch
	pub.tree = pub.tree.Clone()
	pub.proposals = nil
	for _, c := range g.ep.proposals {
		pub.proposals = append(pub.proposals, &cachedProposal{ref: c.ref, sender: c.sender, proposal: c.proposal})
	}
	return &PublicGroup{cf: g.cf, ep: &pub}
}

func (pg *PublicGroup) view() *view { return &view{cf: pg.cf, ep: pg.ep, self: noLeaf} }

// Process verifies a handshake message for the group (an MLSMessage
// carrying a PublicMessage) as far as no secret is needed (see
// PublicGroup): a proposal is validated and cached until the epoch ends; a
// commit is validated and staged, and the view moves to the new epoch only
// when Apply is called. On error the view is unchanged. Nothing in data can
// make it panic.
func (pg *PublicGroup) Process(data []byte) (r *Received, err error) {
	defer func() {
		if p := recover(); p != nil {
			r, err = nil, recovered("processing a message in a public group", p)
		}
	}()
	m, err := decodeMessage(data)
	if err != nil {
		return nil, err
	}
	switch m.WireFormat {
	case message.WireFormatPublicMessage:
	case message.WireFormatPrivateMessage:
		return nil, errorf(ErrUnsupported, "a PrivateMessage: a public group has no keys to decrypt it")
	default:
		return nil, errorf(ErrMalformed, "an MLSMessage of wire format %v, not a PublicMessage", m.WireFormat)
	}
	pm := m.PublicMessage
	ep := pg.ep
	if !bytes.Equal(pm.Content.GroupID, ep.gc.GroupID) {
		return nil, ErrWrongGroup
	}
	if pm.Content.Epoch != ep.gc.Epoch {
		return nil, &EpochError{Got: pm.Content.Epoch, Current: ep.gc.Epoch}
	}
	if ep.reinit != nil {
		return nil, errorf(ErrInactive, "the group was reinitialized (§11.2)")
	}
	v := pg.view()
	ac, err := message.VerifyPublic(pg.cf.cs, pm, ep.gcBytes, v.senderKey)
	if err != nil {
		return nil, messageErr(err)
	}
	fc := &ac.Content
	r = &Received{ContentType: fc.ContentType, WireFormat: ac.WireFormat, Sender: fc.Sender, Epoch: fc.Epoch, AuthenticatedData: fc.AuthenticatedData}
	switch fc.ContentType {
	case message.ContentProposal:
		if r.Proposal, err = v.processProposal(ac); err != nil {
			return nil, err
		}
	case message.ContentCommit:
		if r.Commit, err = pg.stage(v, ac); err != nil {
			return nil, err
		}
	default:
		return nil, errorf(ErrMalformed, "content type %v", fc.ContentType)
	}
	return r, nil
}

// stage validates a commit and stages the view's next epoch.
func (pg *PublicGroup) stage(v *view, ac *message.AuthenticatedContent) (*StagedCommit, error) {
	st, err := v.stageCommit(ac)
	if err != nil {
		return nil, err
	}
	// The confirmation tag is the committer's; only members can check it.
	interim, err := message.InterimTranscriptHash(pg.cf.cs, st.gc.ConfirmedTranscriptHash, ac.Auth.ConfirmationTag)
	if err != nil {
		return nil, internalErr("interim transcript hash: %v", err)
	}
	sc := st.sc
	sc.pg = pg
	sc.next = &epochState{publicEpoch: publicEpoch{
		gc: st.gc, gcBytes: st.gcBytes, tree: st.s.tree, interim: interim,
		confirmationTag: bytes.Clone(ac.Auth.ConfirmationTag), reinit: st.s.reinit,
	}}
	return sc, nil
}

// Apply moves the view to the epoch of a commit it staged (Process). A
// commit staged for another epoch fails with ErrStale, one of another
// group or view with ErrInvalidArgument; the view is then unchanged.
func (pg *PublicGroup) Apply(sc *StagedCommit) error {
	switch {
	case sc == nil || sc.pg != pg:
		return errorf(ErrInvalidArgument, "commit not staged by this public group")
	case sc.state == commitDiscarded:
		return errorf(ErrStale, "commit for epoch %d was discarded", sc.Epoch-1)
	case sc.base != pg.ep:
		return errorf(ErrStale, "commit for epoch %d, group is at epoch %d", sc.Epoch-1, pg.ep.gc.Epoch)
	}
	sc.state = commitApplied
	pg.ep = &sc.next.publicEpoch
	return nil
}

// GroupID returns the group's identifier.
func (pg *PublicGroup) GroupID() []byte { return bytes.Clone(pg.ep.gc.GroupID) }

// Epoch returns the current epoch.
func (pg *PublicGroup) Epoch() uint64 { return pg.ep.gc.Epoch }

// GroupContext returns a copy of the current GroupContext (§8.1).
func (pg *PublicGroup) GroupContext() GroupContext { return cloneGroupContext(&pg.ep.gc) }

// Tree returns a copy of the current ratchet tree, sharing storage
// copy-on-write with the view's.
func (pg *PublicGroup) Tree() *treekem.Tree { return pg.ep.tree.Clone() }

// RatchetTree returns the ratchet_tree encoding of the current tree
// (§12.4.3.3), to serve to joiners.
func (pg *PublicGroup) RatchetTree() ([]byte, error) { return pg.ep.ratchetTree() }

// MemberCount returns the number of members.
func (pg *PublicGroup) MemberCount() uint32 { return pg.ep.tree.MemberCount() }

// Members iterates over the members' leaf indices in increasing order.
func (pg *PublicGroup) Members() iter.Seq[LeafIndex] { return pg.ep.tree.Members() }

// Member returns the LeafNode of the member at leaf, and false if the leaf
// is blank.
func (pg *PublicGroup) Member(leaf LeafIndex) (*LeafNode, bool) {
	return pg.ep.tree.Leaf(leaf)
}

// PendingProposals returns the proposals received in the current epoch.
func (pg *PublicGroup) PendingProposals() []*Proposal { return pg.ep.pendingProposals() }

// ReInit returns the ReInit proposal committed by the last commit, if any:
// the group is then closed (§11.2).
func (pg *PublicGroup) ReInit() (*ReInit, bool) { return pg.ep.reInit() }

// CheckGroupInfo checks a GroupInfo (an MLSMessage) claimed to be of the
// current epoch, as one published by the last committer: see
// StagedCommit.CheckGroupInfo.
func (pg *PublicGroup) CheckGroupInfo(groupInfo []byte) error {
	return checkGroupInfo(pg.ep, groupInfo)
}

// CheckGroupInfo checks a GroupInfo (an MLSMessage) claimed to be of the
// epoch the commit starts, as a committer publishes it with the commit:
// its GroupContext must be that epoch's (which gives the tree hash and
// transcript hash), its confirmation tag the commit's, its signature valid
// under the signer's leaf in the new tree (§12.4.3), and a ratchet_tree
// extension, if present, the new tree. The external_pub extension cannot
// be checked without the epoch's secrets. It fails with ErrInvalidWelcome
// (ErrAuthentication for the signature); nothing changes.
func (sc *StagedCommit) CheckGroupInfo(groupInfo []byte) error {
	if sc.next == nil {
		return errorf(ErrInvalidArgument, "the commit removes the member: its epoch is unknown")
	}
	return checkGroupInfo(&sc.next.publicEpoch, groupInfo)
}

// checkGroupInfo checks a GroupInfo against the public state of its epoch.
func checkGroupInfo(ep *publicEpoch, groupInfo []byte) error {
	gi, err := parseGroupInfo(groupInfo)
	if err != nil {
		return err
	}
	gcBytes, err := gi.GroupContext.Bytes()
	if err != nil || !bytes.Equal(gcBytes, ep.gcBytes) {
		return errorf(ErrInvalidWelcome, "GroupInfo's GroupContext differs from epoch %d's", ep.gc.Epoch)
	}
	if !bytes.Equal(gi.ConfirmationTag, ep.confirmationTag) {
		return errorf(ErrInvalidWelcome, "GroupInfo's confirmation tag is not the commit's")
	}
	key := ep.tree.SignatureKey(gi.Signer)
	if key == nil {
		return errorf(ErrInvalidWelcome, "GroupInfo signer %d is blank", gi.Signer)
	}
	if err := gi.VerifySignature(ep.tree.Suite(), key); err != nil {
		return wrapErr(ErrAuthentication, "GroupInfo signature (§12.4.3.1)", err)
	}
	if rt, ok := gi.Extensions.Find(treekem.ExtensionRatchetTree); ok {
		mine, err := ep.tree.RatchetTree()
		if err != nil {
			return internalErr("encoding the tree: %v", err)
		}
		if !bytes.Equal(rt, mine) {
			return errorf(ErrInvalidWelcome, "GroupInfo's ratchet_tree is not the epoch's tree")
		}
	}
	return nil
}

// CheckWelcome checks the Welcome (an MLSMessage) sent with the commit
// against it: its cipher suite is the group's, and it has one entry for
// the KeyPackage of each member the commit adds, and no other (§12.4.3.1).
// Its GroupInfo and secrets are encrypted and cannot be checked. It fails
// with ErrInvalidWelcome; nothing changes.
func (sc *StagedCommit) CheckWelcome(welcome []byte) error {
	w, err := parseWelcome(welcome)
	if err != nil {
		return err
	}
	cs := sc.base.tree.Suite()
	if w.CipherSuite != cs.ID() {
		return errorf(ErrInvalidWelcome, "Welcome of suite %v in a group of suite %v", w.CipherSuite, cs.ID())
	}
	want := map[string]bool{}
	for _, a := range sc.Adds {
		ref, err := a.KeyPackage.Ref(cs)
		if err != nil {
			return internalErr("KeyPackageRef: %v", err)
		}
		want[string(ref)] = true
	}
	if len(w.Secrets) != len(want) {
		return errorf(ErrInvalidWelcome, "Welcome for %d KeyPackages, the commit adds %d members", len(w.Secrets), len(want))
	}
	for _, e := range w.Secrets {
		if !want[string(e.NewMember)] {
			return errorf(ErrInvalidWelcome, "Welcome for KeyPackage %x, which the commit does not add", e.NewMember)
		}
		delete(want, string(e.NewMember))
	}
	return nil
}

// ratchetTree returns the ratchet_tree encoding of the epoch's tree.
func (ep *publicEpoch) ratchetTree() ([]byte, error) {
	rt, err := ep.tree.RatchetTree()
	if err != nil {
		return nil, internalErr("encoding the tree: %v", err)
	}
	return rt, nil
}

// pendingProposals returns the proposals cached in the epoch.
func (ep *publicEpoch) pendingProposals() []*Proposal {
	out := make([]*Proposal, len(ep.proposals))
	for i, c := range ep.proposals {
		out[i] = c.view()
	}
	return out
}

// reInit returns a copy of the ReInit that started the epoch, if any.
func (ep *publicEpoch) reInit() (*ReInit, bool) {
	if ep.reinit == nil {
		return nil, false
	}
	ri := *ep.reinit
	return &ri, true
}

func cloneGroupContext(src *GroupContext) GroupContext {
	gc := *src
	gc.GroupID = bytes.Clone(gc.GroupID)
	gc.TreeHash = bytes.Clone(gc.TreeHash)
	gc.ConfirmedTranscriptHash = bytes.Clone(gc.ConfirmedTranscriptHash)
	gc.Extensions = cloneExtensions(gc.Extensions)
	return gc
}
