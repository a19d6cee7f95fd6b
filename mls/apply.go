package mls

import (
	"fmt"

	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/treekem"
)

// MemberChange describes a member added, updated or removed by a commit.
type MemberChange struct {
	// Leaf is the member's leaf index: where it is added, or the leaf it
	// held before its update or removal.
	Leaf LeafIndex
	// LeafNode is the new LeafNode of an added or updated member, or the
	// LeafNode of a removed one.
	LeafNode *LeafNode
	// KeyPackage is the KeyPackage of an added member.
	KeyPackage *KeyPackage
	// Sender is who proposed the change.
	Sender Sender
}

// staged is the outcome of applying a proposal list to a copy of the
// current epoch's tree and GroupContext extensions (§12.3).
type staged struct {
	tree        *treekem.Tree
	exts        Extensions
	gce         bool
	adds        []MemberChange
	updates     []MemberChange
	removes     []MemberChange
	psks        []PreSharedKeyID
	reinit      *ReInit
	extInit     *ExternalInit
	changed     changedLeaves
	selfRemoved bool
	ownLeafPriv []byte // the new leaf key, if the member's own Update is applied
	ownSigner   Signer // and its new signer, if it has one
	proposals   []*Proposal
}

// addedLeaves returns the leaves of the added members, which an UpdatePath
// does not encrypt to (§12.4.2).
func (s *staged) addedLeaves() []LeafIndex {
	out := make([]LeafIndex, len(s.adds))
	for i, a := range s.adds {
		out[i] = a.Leaf
	}
	return out
}

// applyList validates list (§12.2) and applies it to a copy-on-write clone
// of the current tree in the order of §12.3: GroupContextExtensions,
// Updates, Removes, Adds, then PreSharedKey, ExternalInit and ReInit are
// noted. The group is not modified.
func (v *view) applyList(list []entry, cc *commitContext) (*staged, error) {
	if err := v.checkList(list, cc); err != nil {
		return nil, err
	}
	base, cf := v.ep, v.cf
	s := &staged{tree: base.tree.Clone(), exts: base.gc.Extensions, changed: changedLeaves{}}

	// §12.3: "If there is a GroupContextExtensions proposal, replace the
	// extensions ... The new extensions MUST be used when evaluating other
	// proposals in this list."
	gceIndex := -1
	for _, e := range list {
		if gce, ok := e.p.Body.(*GroupContextExtensions); ok {
			if err := checkGroupExtensions(e.index, gce.Extensions); err != nil {
				return nil, err
			}
			if err := cf.checkExternalSenders(gce.Extensions); err != nil {
				return nil, proposalErr(e.index, e.p.Type(), RuleExternalSender, err)
			}
			s.exts, s.gce, gceIndex = gce.Extensions, true, e.index
		}
	}
	// §7.3: lifetimes MUST be checked in what the member sends, and are
	// only RECOMMENDED in what it receives, which may have expired in
	// transit; received ones are not checked.
	pol, err := cf.policy(s.exts, cc.sending)
	if err != nil {
		return nil, proposalErr(gceIndex, message.ProposalGroupContextExtensions, RuleInvalidProposal, err)
	}
	groupID := base.gc.GroupID

	// Updates (§12.1.2).
	for _, e := range list {
		u, ok := e.p.Body.(*Update)
		if !ok {
			continue
		}
		leaf := e.sender.Leaf
		if !s.tree.IsMember(leaf) {
			return nil, proposalErr(e.index, e.p.Type(), RuleUpdateSender, nil)
		}
		lc := treekem.LeafContext{Role: treekem.RoleUpdate, Index: leaf, GroupID: groupID}
		if err := s.tree.ValidateLeaf(&u.LeafNode, lc, pol); err != nil {
			return nil, proposalErr(e.index, e.p.Type(), "update leaf node (§7.3)", err)
		}
		if err := cf.checkLeafSuccessor(s.tree, leaf, &u.LeafNode); err != nil {
			return nil, proposalErr(e.index, e.p.Type(), RuleCredentialSuccessor, err)
		}
		s.changed.note(base.tree, leaf)
		if err := s.tree.UpdateLeaf(leaf, &u.LeafNode); err != nil {
			return nil, proposalErr(e.index, e.p.Type(), RuleInvalidProposal, err)
		}
		if leaf == v.self {
			if e.leafPriv == nil {
				return nil, proposalErr(e.index, e.p.Type(), "update of this member that it did not send", nil)
			}
			s.ownLeafPriv, s.ownSigner = e.leafPriv, e.signer
		}
		ln := u.LeafNode
		s.updates = append(s.updates, MemberChange{Leaf: leaf, LeafNode: &ln, Sender: e.sender})
	}

	// Removes (§12.1.3).
	for _, e := range list {
		r, ok := e.p.Body.(*Remove)
		if !ok {
			continue
		}
		old, ok := s.tree.Leaf(r.Removed)
		if !ok {
			return nil, proposalErr(e.index, e.p.Type(), fmt.Sprintf("leaf %d is blank (§12.1.3)", r.Removed), nil)
		}
		s.changed.note(base.tree, r.Removed)
		if err := s.tree.RemoveLeaf(r.Removed); err != nil {
			return nil, proposalErr(e.index, e.p.Type(), RuleInvalidProposal, err)
		}
		if r.Removed == v.self {
			s.selfRemoved = true
		}
		s.removes = append(s.removes, MemberChange{Leaf: r.Removed, LeafNode: old, Sender: e.sender})
	}

	// §12.2: a non-default proposal type must be supported by the members
	// that process the commit; those added by it need not.
	for _, e := range list {
		if t := e.p.Type(); !t.IsDefault() {
			if !s.tree.SupportsAll(&RequiredCapabilities{Proposals: []uint16{uint16(t)}}) {
				return nil, proposalErr(e.index, t, RuleUnsupportedType, nil)
			}
		}
	}

	// Adds (§12.1.1), in list order, their signatures verified in
	// parallel first.
	var adds []entry
	var kps []*KeyPackage
	for _, e := range list {
		if a, ok := e.p.Body.(*Add); ok {
			adds, kps = append(adds, e), append(kps, &a.KeyPackage)
		}
	}
	verified := verifySignatures(s.tree, kps)
	for k, e := range adds {
		a := e.p.Body.(*Add)
		if err := validateKeyPackage(cf, &a.KeyPackage, base.gc.Version, s.tree, s.exts, pol, verified[k]); err != nil {
			if _, dup := s.tree.FindSignatureKey(a.KeyPackage.LeafNode.SignatureKey); dup {
				return nil, proposalErr(e.index, e.p.Type(), RuleAddExistingMember, err)
			}
			return nil, proposalErr(e.index, e.p.Type(), "invalid KeyPackage (§12.1.1)", err)
		}
		leaf, err := s.tree.AddLeaf(&a.KeyPackage.LeafNode)
		if err != nil {
			return nil, proposalErr(e.index, e.p.Type(), "invalid KeyPackage (§12.1.1)", err)
		}
		s.changed.note(base.tree, leaf)
		kp := a.KeyPackage
		ln := kp.LeafNode
		s.adds = append(s.adds, MemberChange{Leaf: leaf, LeafNode: &ln, KeyPackage: &kp, Sender: e.sender})
	}

	// PreSharedKey (§12.1.4), ExternalInit (§12.1.6), ReInit (§12.1.5).
	for _, e := range list {
		switch body := e.p.Body.(type) {
		case *PreSharedKey:
			if err := v.checkPSKID(e.index, &body.PSK, cc.resumptionUsage, cc.firstCommit); err != nil {
				return nil, err
			}
			s.psks = append(s.psks, body.PSK)
		case *ExternalInit:
			if len(body.KEMOutput) != cf.cs.HPKEEncapsulatedKeySize() {
				return nil, proposalErr(e.index, e.p.Type(), "kem_output of the wrong size (§12.1.6)", nil)
			}
			s.extInit = body
		case *ReInit:
			// §12.1.5: "invalid if the version field is less than the
			// version for the current group".
			if body.Version < base.gc.Version {
				return nil, proposalErr(e.index, e.p.Type(), "ReInit to an older protocol version (§12.1.5)", nil)
			}
			ri := *body
			s.reinit = &ri
		}
	}

	// §12.1.7: the new extensions must be supported by every member,
	// counting those added and not those removed.
	if s.gce {
		if err := checkGroupSupport(gceIndex, s.tree, s.exts); err != nil {
			return nil, err
		}
	}

	// The application's policy (§12.2: "An application may extend the
	// above procedure by additional rules").
	for _, e := range list {
		p := &Proposal{Body: e.p.Body, Sender: e.sender, Ref: e.ref}
		s.proposals = append(s.proposals, p)
		if err := cf.accept(p); err != nil {
			return nil, proposalErr(e.index, e.p.Type(), RulePolicy, err)
		}
	}
	return s, nil
}

// checkGroupExtensions checks that the contents of the GroupContext
// extensions this package interprets decode (§11.1, §12.1.8.1).
func checkGroupExtensions(index int, exts Extensions) error {
	t := message.ProposalGroupContextExtensions
	if _, err := treekem.RequiredCapabilitiesOf(exts); err != nil {
		return proposalErr(index, t, "malformed required_capabilities (§11.1)", err)
	}
	if _, _, err := message.ParseExternalSenders(exts); err != nil {
		return proposalErr(index, t, "malformed external_senders (§12.1.8.1)", err)
	}
	for _, e := range exts {
		if e.Type == treekem.ExtensionRatchetTree || e.Type == treekem.ExtensionExternalPub {
			return proposalErr(index, t, fmt.Sprintf("extension 0x%04x is not a GroupContext extension (§17.3)", uint16(e.Type)), nil)
		}
	}
	return nil
}

// checkGroupSupport checks that every member of tree supports the
// GroupContext extensions exts: their non-default types (§13.4) and the
// required capabilities (§11.1, §12.1.7).
func checkGroupSupport(index int, tree *treekem.Tree, exts Extensions) error {
	t := message.ProposalGroupContextExtensions
	rc, err := treekem.RequiredCapabilitiesOf(exts)
	if err != nil {
		return proposalErr(index, t, "malformed required_capabilities (§11.1)", err)
	}
	if !tree.SupportsAll(rc) {
		return proposalErr(index, t, "required capabilities not supported by all members (§12.1.7)", nil)
	}
	var types []ExtensionType
	for _, e := range exts {
		if !e.Type.IsDefault() {
			types = append(types, e.Type)
		}
	}
	if !tree.SupportsAll(&RequiredCapabilities{Extensions: types}) {
		return proposalErr(index, t, "GroupContext extension not supported by all members (§13.4)", nil)
	}
	return nil
}
