package mls

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/mlsengine/engine/internal/parallel"
	"github.com/mlsengine/engine/mls/keyschedule"
	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/treekem"
)

// CommitOptions are the options of Group.Commit.
type CommitOptions struct {
	// Proposals are committed by value (§12.4), after the pending
	// proposals covered by reference. An Update cannot be among them
	// (§12.2: the committer's own Update is invalid; its path updates its
	// leaf).
	Proposals []*Proposal
	// References selects the pending proposals to cover. Nil selects every
	// pending proposal that is valid, preferring Removes to Updates of the
	// same member, the most recent Update of a member, and other proposals
	// to a ReInit (§12.2, §12.4's SHOULDs); invalid and rejected ones are
	// left out.
	References []ProposalRef
	// NoPending covers no pending proposal (References is ignored).
	NoPending bool
	// OmitPath leaves the UpdatePath out if no covered proposal requires
	// one (§12.4: Add, PreSharedKey and ReInit proposals do not). Such a
	// commit is cheaper, but refreshes none of the committer's keys and
	// leaves the added members unmerged in the tree, so that later commits
	// encrypt their path secrets to more nodes. By default every commit
	// carries a path: "By default, the path field of a Commit MUST be
	// populated" (§12.4).
	OmitPath bool
	// OutOfBandTree leaves the ratchet_tree extension out of the Welcome's
	// GroupInfo: new members then get the tree from Group.RatchetTree by
	// other means (§12.4.3.3) and pass it in JoinOptions.RatchetTree.
	OutOfBandTree bool
	// GroupInfo are the options of the GroupInfo of the new epoch that
	// PendingCommit.GroupInfo returns.
	GroupInfo GroupInfoOptions
	// AuthenticatedData is the commit's authenticated_data (§6).
	AuthenticatedData []byte
	// WireFormat is the commit's: WireFormatPublicMessage, which a
	// delivery service can check (PublicGroup), or
	// WireFormatPrivateMessage; 0 follows Config.EncryptHandshake.
	WireFormat WireFormat
}

// Change is a commit ready to be applied with Group.Apply: a *PendingCommit
// the member created or a *StagedCommit it received.
type Change interface {
	change()
}

// PendingCommit is a commit the member created. The group is unchanged
// until the application applies it with Group.Apply, which it does once the
// delivery service accepted Commit; if the delivery service refuses it,
// the application drops it, with Discard so that the secrets of the epoch
// it would have started are deleted, and the group stays in its epoch
// (§14).
type PendingCommit struct {
	// Commit is the commit, an MLSMessage to send to the group.
	Commit []byte
	// Welcome is the Welcome for the added members (§12.4.3.1), an
	// MLSMessage to deliver to them once the commit is accepted; nil if
	// the commit adds no one.
	Welcome []byte
	// Adds, Updates and Removes list the membership changes, Proposals
	// every proposal covered, in the commit's order.
	Adds, Updates, Removes []MemberChange
	Proposals              []*Proposal
	// Epoch is the epoch the commit starts.
	Epoch uint64

	g       *Group
	base    *epochState
	next    *epochState
	changed changedLeaves
	giOpts  GroupInfoOptions
	gi      []byte // the encoded GroupInfo, once made
	state   commitState
}

func (*PendingCommit) change() {}

// commitState is where a PendingCommit or StagedCommit stands.
type commitState uint8

const (
	commitReady     commitState = iota // may be applied
	commitApplied                      // applied: its epoch is (or was) the group's
	commitDiscarded                    // discarded: its secrets are deleted
)

// Discard deletes the secrets of the epoch the commit would start, for a
// commit the application drops instead of applying, for instance because
// the delivery service refused it (§14) or accepted another commit for the
// epoch: the new epoch's key schedule secrets (init_secret,
// exporter_secret, resumption_psk, ... §8), its secret tree (§9) and the
// private keys of the committer's new path and leaf (§7.4). RFC 9420 §9.2
// requires deleting secrets "as soon as they are consumed", and §16.8
// (forward secrecy) that a client compromised later cannot recover the
// keys of an epoch it no longer needs; an abandoned epoch is such an
// epoch. The group and its current epoch are unaffected: it can apply
// another commit for the same epoch, and a new Commit works as before.
//
// Afterwards Apply and GroupInfo fail with ErrStale. Discard is a no-op on
// a commit already applied (its epoch is the group's, or a past one whose
// secrets the group manages) or already discarded, and on nil.
func (pc *PendingCommit) Discard() {
	if pc == nil || pc.state != commitReady {
		return
	}
	pc.state = commitDiscarded
	pc.next.wipeUnused()
	pc.next = nil
	clear(pc.gi) // public, but of an epoch that will not exist
	pc.gi = nil
}

// GroupInfo returns the signed GroupInfo of the new epoch (§12.4.3), with
// the options of CommitOptions.GroupInfo: an MLSMessage to publish for
// external joiners, for instance alongside the commit. It is made on the
// first call, so that a commit whose GroupInfo nobody publishes does not
// pay for a signature and the derivation of the external key pair. Call
// it before the commit is applied or while its epoch is the group's; once
// the group has moved to another epoch it returns ErrStale (the epoch's
// secrets may be deleted), and Group.GroupInfo gives the current one.
func (pc *PendingCommit) GroupInfo() ([]byte, error) {
	if pc.state == commitDiscarded {
		return nil, errorf(ErrStale, "GroupInfo of epoch %d, whose commit was discarded", pc.Epoch)
	}
	if pc.gi != nil {
		return bytes.Clone(pc.gi), nil
	}
	if pc.g.ep != pc.base && pc.g.ep != pc.next {
		return nil, errorf(ErrStale, "GroupInfo of epoch %d, group is at epoch %d", pc.Epoch, pc.g.ep.gc.Epoch)
	}
	gi, err := pc.g.makeGroupInfo(pc.next, &pc.giOpts)
	if err != nil {
		return nil, err
	}
	if pc.gi, err = encodeMLS(gi); err != nil {
		return nil, err
	}
	return bytes.Clone(pc.gi), nil
}

// RatchetTree returns the ratchet_tree encoding (§12.4.3.3) of the tree of
// the epoch the commit starts, for delivering it to the commit's new members
// out of band when the Welcome does not carry it
// (CommitOptions.OutOfBandTree); they pass it in JoinOptions.RatchetTree.
// Like GroupInfo, call it before the commit is applied or while its epoch
// is the group's; otherwise, or after Discard, it returns ErrStale.
func (pc *PendingCommit) RatchetTree() ([]byte, error) {
	if pc.state == commitDiscarded || (pc.g.ep != pc.base && pc.g.ep != pc.next) {
		return nil, errorf(ErrStale, "tree of epoch %d, which is not the group's next or current epoch", pc.Epoch)
	}
	return pc.next.ratchetTree()
}

// Commit creates a commit of the pending proposals selected by opts, and
// of opts.Proposals by value (§12.4.1). The group is unchanged: apply the
// result with Group.Apply once the delivery service accepted it. (A commit
// sent as a PrivateMessage uses a key of the current epoch, which is
// consumed at once so that it is never reused.)
func (g *Group) Commit(opts *CommitOptions) (*PendingCommit, error) {
	if err := g.checkActive(); err != nil {
		return nil, err
	}
	if opts == nil {
		opts = &CommitOptions{}
	}
	return g.commit(opts, &commitContext{committer: message.MemberSender(g.ep.leaf()), sending: true})
}

// commit is Commit in a given context.
func (g *Group) commit(opts *CommitOptions, cc *commitContext) (*PendingCommit, error) {
	list, s, err := g.selectProposals(opts, cc)
	if err != nil {
		return nil, err
	}
	return g.createCommit(list, s, cc, opts, nil)
}

// selectProposals returns the commit's list, applied: the pending
// proposals selected by opts, then opts.Proposals by value.
func (g *Group) selectProposals(opts *CommitOptions, cc *commitContext) ([]entry, *staged, error) {
	var byValue []entry
	for _, p := range opts.Proposals {
		if p == nil || p.Body == nil {
			return nil, nil, errorf(ErrInvalidArgument, "nil proposal")
		}
		byValue = append(byValue, entry{p: p.wire(), sender: cc.committer})
	}
	var pending []entry
	choose := false
	switch {
	case opts.NoPending:
	case opts.References != nil:
		for _, ref := range opts.References {
			c := findProposal(g.ep.proposals, ref)
			if c == nil {
				return nil, nil, errorf(ErrInvalidArgument, "no pending proposal with reference %x", ref)
			}
			pending = append(pending, entry{p: c.proposal, sender: c.sender, ref: c.ref, leafPriv: c.leafPriv, signer: c.signer})
		}
	default:
		pending = g.preferredPending(cc)
		choose = true
	}
	list := append(pending, byValue...)
	for i := range list {
		list[i].index = i
	}
	// When choosing, leave out the pending proposals that make the list
	// invalid, one at a time; an invalid proposal of the caller's is an
	// error.
	v := g.view()
	for {
		s, err := v.applyList(list, cc)
		if err == nil {
			return list, s, nil
		}
		var pe *ProposalError
		if !choose || !errors.As(err, &pe) || pe.Index < 0 || list[pe.Index].ref == nil {
			return nil, nil, err
		}
		list = append(list[:pe.Index:pe.Index], list[pe.Index+1:]...)
		for i := range list {
			list[i].index = i
		}
	}
}

// preferredPending returns the pending proposals a committer includes by
// default, following the SHOULDs of §12.2: a Remove rather than an Update
// of the same member, the latest Update of a member, no ReInit if there are
// other proposals; and never what the committer may not commit (its own
// Update or removal, an ExternalInit, a duplicate).
func (g *Group) preferredPending(cc *commitContext) []entry {
	self := g.ep.leaf()
	removed := map[LeafIndex]bool{}
	lastUpdate := map[LeafIndex]int{}
	for i, c := range g.ep.proposals {
		switch b := c.proposal.Body.(type) {
		case *Remove:
			removed[b.Removed] = true
		case *Update:
			lastUpdate[c.sender.Leaf] = i
		}
	}
	var out []entry
	var reinit *entry
	seen := map[string]bool{}
	gce := false
	for i, c := range g.ep.proposals {
		e := entry{p: c.proposal, sender: c.sender, ref: c.ref, leafPriv: c.leafPriv, signer: c.signer}
		switch b := c.proposal.Body.(type) {
		case *Update:
			if c.sender.Leaf == self || removed[c.sender.Leaf] || lastUpdate[c.sender.Leaf] != i {
				continue
			}
		case *Remove:
			k := fmt.Sprint("remove", b.Removed)
			if b.Removed == self || seen[k] {
				continue
			}
			seen[k] = true
		case *Add:
			k := "add" + string(b.KeyPackage.LeafNode.SignatureKey)
			if seen[k] {
				continue
			}
			seen[k] = true
		case *PreSharedKey:
			k := "psk" + pskIDKey(&b.PSK)
			if seen[k] {
				continue
			}
			if _, err := (&pskSource{cf: g.cf, self: g, others: cc.resumption}).secret(&b.PSK); err != nil {
				continue // §12.4.2: PSKs must be available to be committed
			}
			seen[k] = true
		case *GroupContextExtensions:
			if gce {
				continue
			}
			gce = true
		case *ReInit:
			if reinit == nil {
				reinit = &e
			}
			continue
		case *ExternalInit:
			continue
		}
		out = append(out, e)
	}
	if len(out) == 0 && reinit != nil {
		out = append(out, *reinit)
	}
	return out
}

// createCommit builds the commit of list, already applied in s (§12.4.1),
// and the new epoch. externalInit is set for an external commit: the
// init_secret and the joiner's leaf template.
func (g *Group) createCommit(list []entry, s *staged, cc *commitContext, opts *CommitOptions, ext *externalCommit) (*PendingCommit, error) {
	cf, base := g.cf, g.ep
	if s.selfRemoved {
		return nil, internalErr("committer removes itself")
	}
	withPath := ext != nil || !opts.OmitPath || pathRequired(list)
	gc := base.nextContext(s.exts)
	commit := &message.Commit{}
	for _, e := range list {
		if e.ref != nil {
			commit.Proposals = append(commit.Proposals, message.ProposalOrRef{Reference: e.ref})
		} else {
			commit.Proposals = append(commit.Proposals, message.ProposalOrRef{Proposal: e.p})
		}
	}
	var (
		commitSecret []byte
		priv         *treekem.PrivateState
		pp           *treekem.PendingPath
		self         = cc.committer.Leaf
	)
	if withPath {
		tmpl := cf.leafTemplate()
		if cf.GREASE {
			if err := cf.greaseLeaf(&tmpl); err != nil {
				return nil, err
			}
		}
		if err := checkOwnLeaf(&tmpl, s.exts); err != nil {
			return nil, err
		}
		// What receivers check of the path's LeafNode (§5.3.1).
		if err := cf.validateCredential(&tmpl.Credential, tmpl.SignatureKey); err != nil {
			return nil, err
		}
		if ext == nil {
			if err := cf.checkLeafSuccessor(base.tree, self, &tmpl); err != nil {
				return nil, err
			}
		} else {
			var err error
			if self, err = s.tree.FreeLeaf(); err != nil {
				return nil, wrapErr(ErrInvalidArgument, "placing the joiner", err)
			}
		}
		var err error
		pp, err = s.tree.PrepareUpdatePath(treekem.PathParams{
			Sender: self, GroupID: gc.GroupID, Signer: cf.Signer, Leaf: &tmpl, Rand: cf.rand(),
		})
		defer pp.Wipe()
		if err != nil {
			return nil, wrapErr(ErrInvalidArgument, "update path", err)
		}
		gc.TreeHash = s.tree.TreeHash()
		provisional, err := gc.Bytes()
		if err != nil {
			return nil, internalErr("provisional GroupContext: %v", err)
		}
		if commit.Path, err = pp.Encrypt(cf.rand(), provisional, s.addedLeaves()); err != nil {
			return nil, wrapErr(ErrInvalidArgument, "encrypting the update path", err)
		}
		commitSecret = pp.CommitSecret()
		priv = pp.PrivateState()
		s.changed.note(base.tree, self)
	} else {
		gc.TreeHash = s.tree.TreeHash()
		priv = base.priv.Clone()
		priv.Prune(s.tree)
	}
	defer clear(commitSecret)

	psks := &pskSource{cf: cf, self: g, others: cc.resumption}
	if ext != nil {
		psks.self = nil // the joiner's view has no secrets
	}
	pskSecret, err := psks.pskSecret(s.psks)
	if err != nil {
		return nil, err
	}
	defer clear(pskSecret)

	fc := &message.FramedContent{
		GroupID:           base.gc.GroupID,
		Epoch:             base.gc.Epoch,
		Sender:            cc.committer,
		AuthenticatedData: opts.AuthenticatedData,
		ContentType:       message.ContentCommit,
		Commit:            commit,
	}
	wf, err := g.handshakeFormat(opts.WireFormat)
	if err != nil {
		return nil, err
	}
	if ext != nil {
		wf = message.WireFormatPublicMessage // §12.1.8: external senders cannot encrypt
	}
	ac, err := g.sign(wf, fc)
	if err != nil {
		return nil, err
	}
	initSecret := base.secrets.Init
	if ext != nil {
		initSecret = ext.initSecret
	}
	gcBytes, err := confirm(cf.cs, base.interim, &gc, ac)
	if err != nil {
		return nil, err
	}
	next, ks, err := g.deriveEpoch(&gc, gcBytes, ac, s.tree, priv, initSecret, commitSecret, pskSecret, false)
	if err != nil {
		return nil, err
	}
	defer ks.Wipe()
	next.reinit = s.reinit

	pc := &PendingCommit{
		Adds: s.adds, Updates: s.updates, Removes: s.removes, Proposals: s.proposals,
		Epoch: gc.Epoch, g: g, base: base, next: next, changed: s.changed,
		giOpts: opts.GroupInfo,
	}
	pc.giOpts.Extensions = cloneExtensions(opts.GroupInfo.Extensions)
	if len(s.adds) > 0 {
		// The Welcome's GroupInfo is signed by the committer at its (new)
		// leaf; it is the one to publish too if the options agree.
		wopts := pc.giOpts
		wopts.RatchetTree = !opts.OutOfBandTree
		wgi, err := g.makeGroupInfo(next, &wopts)
		if err != nil {
			return nil, err
		}
		if wopts.RatchetTree == pc.giOpts.RatchetTree {
			if pc.gi, err = encodeMLS(wgi); err != nil {
				return nil, err
			}
		}
		if pc.Welcome, err = g.welcome(wgi, ks, s, pp); err != nil {
			return nil, err
		}
	}
	// Last, as it may consume a key of the current epoch.
	if pc.Commit, err = g.protect(ac); err != nil {
		return nil, err
	}
	return pc, nil
}

// checkOwnLeaf checks that the member's new LeafNode suits the group's
// extensions (§7.3, §11.1, §13.4), which receivers verify: otherwise its
// commit would be rejected.
func checkOwnLeaf(ln *LeafNode, exts Extensions) error {
	caps := &ln.Capabilities
	rc, err := treekem.RequiredCapabilitiesOf(exts)
	if err != nil {
		return wrapErr(ErrInvalidArgument, "required_capabilities", err)
	}
	missing := func(what string, v uint16) error {
		return errorf(ErrUnsupported, "the member's capabilities lack %s 0x%04x that the group requires (Config.Capabilities, SupportedExtensions, SupportedProposals)", what, v)
	}
	for _, e := range exts {
		if !e.Type.IsDefault() && !slices.Contains(caps.Extensions, e.Type) {
			return missing("extension", uint16(e.Type))
		}
	}
	if rc != nil {
		for _, e := range rc.Extensions {
			if !e.IsDefault() && !slices.Contains(caps.Extensions, e) {
				return missing("extension", uint16(e))
			}
		}
		for _, p := range rc.Proposals {
			if !ProposalType(p).IsDefault() && !slices.Contains(caps.Proposals, p) {
				return missing("proposal", p)
			}
		}
		for _, c := range rc.Credentials {
			if !slices.Contains(caps.Credentials, c) {
				return missing("credential", uint16(c))
			}
		}
	}
	return nil
}

// deriveEpoch completes a commit whose content ac is signed (§12.4.1,
// §12.4.2): gc is the new epoch's GroupContext, its confirmed transcript
// hash set (confirm), and gcBytes its encoding. It runs the key schedule,
// and computes the confirmation tag and interim transcript hash. A sender
// gets the tag set in ac; a receiver checks it against ac.
func (g *Group) deriveEpoch(gc *GroupContext, gcBytes []byte, ac *message.AuthenticatedContent, tree *treekem.Tree,
	priv *treekem.PrivateState, initSecret, commitSecret, pskSecret []byte, receiving bool) (*epochState, *keyschedule.Epoch, error) {
	cs := g.cf.cs
	confirmed := gc.ConfirmedTranscriptHash
	ks, err := keyschedule.Derive(cs, initSecret, commitSecret, pskSecret, gcBytes)
	if err != nil {
		return nil, nil, internalErr("key schedule: %v", err)
	}
	tag := message.ConfirmationTag(cs, ks.Confirmation, confirmed)
	if !receiving {
		ac.Auth.ConfirmationTag = tag
	} else if err := message.VerifyConfirmationTag(cs, ks.Confirmation, confirmed, ac.Auth.ConfirmationTag); err != nil {
		ks.Wipe()
		return nil, nil, wrapErr(ErrAuthentication, "confirmation tag (§12.4.2)", err)
	}
	interim, err := message.InterimTranscriptHash(cs, confirmed, tag)
	if err != nil {
		ks.Wipe()
		return nil, nil, internalErr("interim transcript hash: %v", err)
	}
	secrets := ks.Secrets
	ks.Secrets = keyschedule.Secrets{} // moved into the epoch
	next, err := newEpoch(g.cf, gc, tree, priv, &secrets, interim, tag)
	if err != nil {
		secrets.Wipe()
		ks.Wipe()
		return nil, nil, err
	}
	return next, ks, nil
}

// welcome builds the Welcome for the members added by a commit
// (§12.4.3.1), with gi the signed GroupInfo of the new epoch.
func (g *Group) welcome(gi *message.GroupInfo, ks *keyschedule.Epoch, s *staged, pp *treekem.PendingPath) ([]byte, error) {
	cs := g.cf.cs
	encGI, err := message.EncryptGroupInfo(cs, ks.WelcomeSecret, gi)
	if err != nil {
		return nil, internalErr("encrypting the GroupInfo: %v", err)
	}
	w := &message.Welcome{CipherSuite: cs.ID(), EncryptedGroupInfo: encGI, Secrets: make([]message.EncryptedGroupSecrets, len(s.adds))}
	rands, err := parallel.SplitRand(g.cf.rand(), len(s.adds))
	if err != nil {
		return nil, wrapErr(ErrInvalidArgument, "welcome", err)
	}
	// One HPKE encryption per new member: many for a large batch of Adds.
	err = parallel.Each(len(s.adds), func(i int) error {
		a := s.adds[i]
		gs := &message.GroupSecrets{JoinerSecret: ks.JoinerSecret, PSKs: s.psks}
		if gs.PSKs == nil {
			gs.PSKs = []PreSharedKeyID{}
		}
		if pp != nil {
			if ps, ok := pp.PathSecretFor(a.Leaf); ok {
				gs.PathSecret = ps
				defer clear(ps)
			}
		}
		ct, err := message.EncryptGroupSecrets(cs, rands[i], a.KeyPackage.InitKey, encGI, gs)
		if err != nil {
			return wrapErr(ErrInvalidProposal, "encrypting GroupSecrets to a KeyPackage", err)
		}
		ref, err := a.KeyPackage.Ref(cs)
		if err != nil {
			return internalErr("KeyPackageRef: %v", err)
		}
		w.Secrets[i] = message.EncryptedGroupSecrets{NewMember: ref, EncryptedGroupSecrets: ct}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return encodeMLS(w)
}

// Apply applies a commit: a PendingCommit the member created, once the
// delivery service accepted it, or a StagedCommit it received and
// inspected. The group moves to the commit's epoch; the old epoch's message
// keys are kept for late messages (Config.PastEpochs). A commit made
// for another epoch, or discarded (PendingCommit.Discard,
// StagedCommit.Discard), fails with ErrStale, and one of another group with
// ErrInvalidArgument; the group is then unchanged. After a StagedCommit that removes the member, the group
// is inactive (Group.Removed).
func (g *Group) Apply(c Change) error {
	switch c := c.(type) {
	case *PendingCommit:
		if c == nil {
			return errorf(ErrInvalidArgument, "nil commit")
		}
		if err := g.applicable(c.g, &c.base.publicEpoch, c.state, c.Epoch); err != nil {
			return err
		}
		c.state = commitApplied
		g.advance(c.next, c.changed)
		return nil
	case *StagedCommit:
		if c == nil {
			return errorf(ErrInvalidArgument, "nil commit")
		}
		if err := g.applicable(c.g, c.base, c.state, c.Epoch); err != nil {
			return err
		}
		c.state = commitApplied
		consume(c.opened)
		if c.SelfRemoved {
			g.removed = true
			return nil
		}
		g.advance(c.next, c.changed)
		if c.signer != nil {
			cf := *g.cf
			cf.Signer = c.signer
			g.cf = &cf
		}
		return nil
	}
	return errorf(ErrInvalidArgument, "unknown change")
}

// applicable checks that a commit of group cg, staged on epoch base and
// starting epoch `epoch`, may be applied to g now.
func (g *Group) applicable(cg *Group, base *publicEpoch, state commitState, epoch uint64) error {
	switch {
	case cg != g:
		return errorf(ErrInvalidArgument, "commit of another group")
	case state == commitDiscarded:
		return errorf(ErrStale, "commit for epoch %d was discarded", epoch-1)
	case base != &g.ep.publicEpoch:
		return errorf(ErrStale, "commit for epoch %d, group is at epoch %d", epoch-1, g.ep.gc.Epoch)
	}
	return nil
}
