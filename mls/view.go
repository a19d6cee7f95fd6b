package mls

import (
	"fmt"

	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/treekem"
)

// view is what the checks of proposals and commits read (§6.1, §12.1,
// §12.2, §12.4.2): the client's configuration, the public state of an
// epoch, and the leaf of the member whose view it is (noLeaf for a
// PublicGroup or an external joiner). Members, external joiners and
// PublicGroup run the same checks through it; what needs secrets is the
// member's own business.
type view struct {
	cf   *config
	ep   *publicEpoch
	self LeafIndex
}

// view returns the member's view of the current epoch.
func (g *Group) view() *view { return &view{cf: g.cf, ep: &g.ep.publicEpoch, self: g.ep.leaf()} }

// senderKey returns the signature key of a sender of content received in
// the current epoch (§6.1).
func (v *view) senderKey(fc *message.FramedContent) ([]byte, error) {
	switch fc.Sender.Type {
	case message.SenderMember:
		if k := v.ep.tree.SignatureKey(fc.Sender.Leaf); k != nil {
			return k, nil
		}
		return nil, errorf(ErrAuthentication, "sender leaf %d is blank", fc.Sender.Leaf)
	case message.SenderExternal:
		es, ok, err := message.ParseExternalSenders(v.ep.gc.Extensions)
		if err != nil {
			return nil, wrapErr(ErrAuthentication, "external_senders extension", err)
		}
		if !ok || uint64(fc.Sender.ExternalIndex) >= uint64(len(es)) {
			return nil, errorf(ErrAuthentication, "no external sender %d (§12.1.8.1)", fc.Sender.ExternalIndex)
		}
		return es[fc.Sender.ExternalIndex].SignatureKey, nil
	case message.SenderNewMemberCommit, message.SenderNewMemberProposal:
		k, err := message.NewMemberSignatureKey(fc)
		if err != nil {
			return nil, wrapErr(ErrAuthentication, "new member's signature key", err)
		}
		return k, nil
	}
	return nil, errorf(ErrAuthentication, "unknown sender type %v", fc.Sender.Type)
}

// checkProposal checks what RFC 9420 §12.1 requires of a proposal on its
// own, against the current epoch. What depends on the rest of the commit
// covering it is checked when the commit is processed.
func (v *view) checkProposal(c *cachedProposal) error {
	ep, cf := v.ep, v.cf
	p := c.proposal
	t := p.Type()
	// What depends on the group's members and extensions (key
	// uniqueness, capabilities, credential types) may change with the
	// other proposals of the commit (a Remove of the same client, a
	// GroupContextExtensions): LeafNodes are checked here on their own,
	// against an empty tree, and against the group when committed.
	pol := &treekem.Policy{Credentials: treekem.CredentialValidatorFunc(cf.validateCredential), MaxLifetime: cf.MaxLifetime}
	switch body := p.Body.(type) {
	case *Add:
		empty, err := treekem.NewTree(cf.cs)
		if err != nil {
			return internalErr("tree: %v", err)
		}
		if err := validateKeyPackage(cf, &body.KeyPackage, ep.gc.Version, empty, nil, pol, false); err != nil {
			return proposalErr(-1, t, "invalid KeyPackage (§12.1.1)", err)
		}
		// §12.1.8: "External proposals that are not authorized are
		// considered invalid."
		if c.sender.Type == message.SenderNewMemberProposal {
			if err := cf.admitProposer(&ep.gc, c.sender, body); err != nil {
				return proposalErr(-1, t, RuleNotAdmitted, err)
			}
		}
	case *Update:
		if c.sender.Type != message.SenderMember || !ep.tree.IsMember(c.sender.Leaf) {
			return proposalErr(-1, t, RuleUpdateSender, nil)
		}
		empty, err := treekem.NewTree(cf.cs)
		if err != nil {
			return internalErr("tree: %v", err)
		}
		lc := treekem.LeafContext{Role: treekem.RoleUpdate, Index: c.sender.Leaf, GroupID: ep.gc.GroupID}
		if err := empty.ValidateLeaf(&body.LeafNode, lc, pol); err != nil {
			return proposalErr(-1, t, "update leaf node (§7.3)", err)
		}
		if err := cf.checkLeafSuccessor(ep.tree, c.sender.Leaf, &body.LeafNode); err != nil {
			return proposalErr(-1, t, RuleCredentialSuccessor, err)
		}
	case *Remove:
		if !ep.tree.IsMember(body.Removed) {
			return proposalErr(-1, t, fmt.Sprintf("leaf %d is blank (§12.1.3)", body.Removed), nil)
		}
	case *PreSharedKey:
		return v.checkPSKID(-1, &body.PSK, 0, false)
	case *ReInit:
		if body.Version < ep.gc.Version {
			return proposalErr(-1, t, "ReInit to an older protocol version (§12.1.5)", nil)
		}
	case *ExternalInit:
		return proposalErr(-1, t, "ExternalInit outside an external commit (§12.1.6)", nil)
	case *GroupContextExtensions:
		return checkGroupExtensions(-1, body.Extensions)
	default:
		if !cf.supportsProposal(t) {
			return proposalErr(-1, t, RuleUnsupportedType, nil)
		}
	}
	return nil
}
