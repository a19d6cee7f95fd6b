package mls

import (
	"bytes"
	"slices"

	"github.com/mlsengine/engine/mls/keyschedule"
	"github.com/mlsengine/engine/mls/message"
)

// Reinitialization (§11.2) and subgroup branching (§11.3): a new group
// linked to an existing one by a resumption PSK, which its first commit
// injects and its Welcome carries.

// NewReInit returns a proposal to reinitialize the group as a new group
// with the given ID, cipher suite and GroupContext extensions, at protocol
// version mls10 (§12.1.5). A commit covering it closes the group; then
// Group.Reinitialize creates the new one.
func (g *Group) NewReInit(groupID []byte, cs CipherSuite, exts Extensions) *Proposal {
	return &Proposal{Body: &ReInit{
		GroupID: bytes.Clone(groupID), Version: message.MLS10, CipherSuite: cs, Extensions: cloneExtensions(exts),
	}}
}

// Reinitialize creates the group that replaces g after a commit covering a
// ReInit (§11.2): a group with the ReInit's ID, suite and extensions, whose
// first commit adds the members of g with the KeyPackages kps (one per
// member other than the caller, in the new suite) and injects the
// resumption PSK of g's last epoch with usage reinit. cfg is the member's
// configuration for the new group (its Suite may be zero). It returns the
// new group at epoch 0 and its first commit: apply it with Group.Apply on
// the new group once the delivery service accepted it, and send the
// Welcome. Any member of g may do this, not only the committer of the
// ReInit.
func (g *Group) Reinitialize(cfg Config, kps [][]byte, opts *CommitOptions) (*Group, *PendingCommit, error) {
	ri := g.ep.reinit
	if ri == nil {
		return nil, nil, errorf(ErrInvalidArgument, "the group has no committed ReInit (§11.2)")
	}
	if g.removed {
		return nil, nil, errorf(ErrInactive, "the member was removed")
	}
	if cfg.Suite == 0 {
		cfg.Suite = ri.CipherSuite
	}
	if cfg.Suite != ri.CipherSuite {
		return nil, nil, errorf(ErrInvalidArgument, "Config of suite %v for a ReInit to suite %v", cfg.Suite, ri.CipherSuite)
	}
	if ri.Version != message.MLS10 {
		return nil, nil, errorf(ErrUnsupported, "protocol version %d", ri.Version)
	}
	ng, err := NewGroup(cfg, &GroupOptions{GroupID: ri.GroupID, Extensions: ri.Extensions})
	if err != nil {
		return nil, nil, err
	}
	pc, err := ng.linkedCommit(g, keyschedule.UsageReinit, kps, opts)
	if err != nil {
		return nil, nil, err
	}
	// §11.2: "with the same members as the original group".
	if err := ng.cf.coveredBy(g.ep.tree, pc.next.tree); err != nil {
		return nil, nil, wrapErr(ErrInvalidArgument, "KeyPackages", err)
	}
	return ng, pc, nil
}

// BranchOptions are the options of Group.Branch.
type BranchOptions struct {
	CommitOptions
	// GroupID is the subgroup's ID; nil selects a random one.
	GroupID []byte
	// Extensions are the subgroup's GroupContext extensions; nil keeps
	// those of the parent group ("using the same parameters", §11.3).
	Extensions Extensions
}

// Branch creates a subgroup of g with some of its members (§11.3): a new
// group of the same version and suite whose first commit adds the members
// with the KeyPackages kps and injects the resumption PSK of g's current
// epoch with usage branch. cfg is the member's configuration for the new
// group (its Suite may be zero). It returns the new group at epoch 0 and
// its first commit, to apply on the new group.
func (g *Group) Branch(cfg Config, kps [][]byte, opts *BranchOptions) (*Group, *PendingCommit, error) {
	if err := g.checkActive(); err != nil {
		return nil, nil, err
	}
	if opts == nil {
		opts = &BranchOptions{}
	}
	if cfg.Suite == 0 {
		cfg.Suite = g.cf.cs.ID()
	}
	if cfg.Suite != g.cf.cs.ID() {
		return nil, nil, errorf(ErrInvalidArgument, "a branch keeps the suite %v (§11.3)", g.cf.cs.ID())
	}
	exts := opts.Extensions
	if exts == nil {
		exts = g.ep.gc.Extensions
	}
	ng, err := NewGroup(cfg, &GroupOptions{GroupID: opts.GroupID, Extensions: cloneExtensions(exts)})
	if err != nil {
		return nil, nil, err
	}
	pc, err := ng.linkedCommit(g, keyschedule.UsageBranch, kps, &opts.CommitOptions)
	if err != nil {
		return nil, nil, err
	}
	// §11.3: the members of the subgroup are members of the group.
	if err := ng.cf.coveredBy(pc.next.tree, g.ep.tree); err != nil {
		return nil, nil, wrapErr(ErrInvalidArgument, "KeyPackages", err)
	}
	return ng, pc, nil
}

// linkedCommit creates the first commit of a group linked to old: Adds for
// kps, then the resumption PSK of old's current epoch with the given
// usage, then opts.Proposals.
func (g *Group) linkedCommit(old *Group, usage keyschedule.ResumptionPSKUsage, kps [][]byte, opts *CommitOptions) (*PendingCommit, error) {
	if opts == nil {
		opts = &CommitOptions{}
	}
	var props []*Proposal
	for _, kp := range kps {
		p, err := NewAdd(kp)
		if err != nil {
			return nil, err
		}
		props = append(props, p)
	}
	nonce, err := g.cf.pskNonce()
	if err != nil {
		return nil, err
	}
	props = append(props, &Proposal{Body: &PreSharedKey{PSK: PreSharedKeyID{
		Type: keyschedule.PSKTypeResumption, Usage: usage,
		GroupID: bytes.Clone(old.ep.gc.GroupID), Epoch: old.ep.gc.Epoch, Nonce: nonce,
	}}})
	o := *opts
	o.Proposals = append(props, slices.Clone(opts.Proposals)...)
	o.NoPending = true
	cc := &commitContext{
		committer:       message.MemberSender(g.ep.leaf()),
		sending:         true,
		resumptionUsage: usage,
		resumption:      []*Group{old},
	}
	return g.commit(&o, cc)
}
