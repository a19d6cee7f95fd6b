package mls

import (
	"bytes"

	"github.com/mlsengine/engine/mls/internal/simulation"
	"github.com/mlsengine/engine/mls/keyschedule"
	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/treekem"
)

// Simulation support, for mls/sim and tests only: the exported functions
// take a simulation.Access, which only packages below mls can name (see
// mls/internal/simulation), so they are not part of the API; one of them
// returns a secret. A simulator of a large group keeps one public view of
// the group (a *Group) and makes any simulated member commit, deriving that
// member's keys from a seed, through the library's own code path:
//
//	view := ...                                // the group's current state
//	m, _ := mls.ViewAs(simulation.Access{}, view, cfgOf(i), i, leafKeyOf(i), nil)
//	pc, _ := m.Commit(&mls.CommitOptions{...}) // member i commits
//	_ = m.Apply(pc)
//	view = m                                   // m's state is the new view
//
// Observed members keep full states of their own and Process every commit.
// ViewAs and GroupFromTree share the tree with their source copy-on-write
// (treekem.Tree.Clone): no per-member copy of the tree is made.

// ViewAs returns group g as seen by another member in the current epoch,
// for simulations and tests: the member at leaf, whose
// Config is cfg (cfg.Signer must hold that leaf's signature key), with its
// leaf's HPKE private key leafPriv and, optionally, the path secrets of
// nodes on its direct path (keyed by node), from which the private keys of
// those nodes are derived (§7.4). g is unchanged.
//
// The view shares g's public state and copies its epoch secrets, secret
// tree and pending proposals (without the private keys of g's own Update
// proposals); it keeps no past epochs. Its member can commit at once;
// processing others' commits needs the private keys of its direct path
// that the UpdatePaths encrypt to, which leafPriv and pathSecrets provide.
func ViewAs(_ simulation.Access, g *Group, cfg Config, leaf LeafIndex, leafPriv []byte, pathSecrets map[treekem.NodeIndex][]byte) (*Group, error) {
	return g.viewAs(cfg, leaf, leafPriv, pathSecrets)
}

func (g *Group) viewAs(cfg Config, leaf LeafIndex, leafPriv []byte, pathSecrets map[treekem.NodeIndex][]byte) (*Group, error) {
	if cfg.Suite == 0 {
		cfg.Suite = g.cf.cs.ID()
	}
	cf, err := cfg.resolveMember()
	if err != nil {
		return nil, err
	}
	if cf.cs.ID() != g.cf.cs.ID() {
		return nil, errorf(ErrInvalidArgument, "Config of suite %v for a group of suite %v", cf.cs.ID(), g.cf.cs.ID())
	}
	src := g.ep
	if !src.tree.IsMember(leaf) {
		return nil, errorf(ErrInvalidArgument, "leaf %d is blank", leaf)
	}
	if !bytes.Equal(src.tree.SignatureKey(leaf), cf.Signer.Public()) {
		return nil, errorf(ErrInvalidArgument, "Config.Signer does not hold leaf %d's signature key", leaf)
	}
	priv, err := privateStateFor(cf, src.tree, leaf, leafPriv, pathSecrets)
	if err != nil {
		return nil, err
	}
	pub := src.publicEpoch
	pub.tree, pub.proposals = src.tree.Clone(), nil
	ep := &epochState{publicEpoch: pub, priv: priv, secrets: cloneSecrets(&src.secrets), stree: src.stree.Clone()}
	for _, c := range src.proposals {
		ep.proposals = append(ep.proposals, &cachedProposal{ref: c.ref, sender: c.sender, proposal: c.proposal})
	}
	v := &Group{cf: cf, ep: ep, removed: g.removed}
	for _, r := range g.resumption {
		v.resumption = append(v.resumption, resumptionPSK{epoch: r.epoch, psk: bytes.Clone(r.psk)})
	}
	return v, nil
}

// GroupFromTree starts a group at epoch 0 on a tree built by the caller,
// with a fresh random epoch secret, for simulations and tests: a group of
// any size without a commit per member. The member of cfg is at leaf, with
// the leaf's HPKE private key leafPriv; other members' views come from
// ViewAs. The tree is used as is (not validated, not copied): the caller
// must not modify it afterwards.
func GroupFromTree(_ simulation.Access, cfg Config, groupID []byte, exts Extensions, tree *treekem.Tree, leaf LeafIndex, leafPriv []byte) (*Group, error) {
	return groupFromTree(cfg, groupID, exts, tree, leaf, leafPriv)
}

func groupFromTree(cfg Config, groupID []byte, exts Extensions, tree *treekem.Tree, leaf LeafIndex, leafPriv []byte) (*Group, error) {
	if tree == nil {
		return nil, errorf(ErrInvalidArgument, "nil tree")
	}
	if cfg.Suite == 0 {
		cfg.Suite = tree.Suite().ID()
	}
	cf, err := cfg.resolveMember()
	if err != nil {
		return nil, err
	}
	if tree.Suite().ID() != cf.cs.ID() {
		return nil, errorf(ErrInvalidArgument, "tree of suite %v, Config of suite %v", tree.Suite().ID(), cf.cs.ID())
	}
	if !bytes.Equal(tree.SignatureKey(leaf), cf.Signer.Public()) {
		return nil, errorf(ErrInvalidArgument, "Config.Signer does not hold leaf %d's signature key", leaf)
	}
	if err := checkGroupExtensions(-1, exts); err != nil {
		return nil, err
	}
	priv, err := privateStateFor(cf, tree, leaf, leafPriv, nil)
	if err != nil {
		return nil, err
	}
	gc := &GroupContext{
		Version:                 message.MLS10,
		CipherSuite:             cf.cs.ID(),
		GroupID:                 bytes.Clone(groupID),
		TreeHash:                tree.TreeHash(),
		ConfirmedTranscriptHash: []byte{},
		Extensions:              cloneExtensions(exts),
	}
	return startGroup(cf, gc, tree, priv)
}

// privateStateFor builds and checks a member's private state.
func privateStateFor(cf *config, tree *treekem.Tree, leaf LeafIndex, leafPriv []byte, pathSecrets map[treekem.NodeIndex][]byte) (*treekem.PrivateState, error) {
	priv, err := treekem.NewPrivateState(cf.cs, leaf, leafPriv)
	if err != nil {
		return nil, wrapErr(ErrInvalidArgument, "leaf private key", err)
	}
	for x, s := range pathSecrets {
		if err := priv.SetPathSecret(x, s); err != nil {
			return nil, wrapErr(ErrInvalidArgument, "path secret", err)
		}
	}
	if err := priv.Check(tree); err != nil {
		return nil, wrapErr(ErrInvalidArgument, "private keys do not match the tree", err)
	}
	return priv, nil
}

func cloneSecrets(s *keyschedule.Secrets) keyschedule.Secrets {
	return keyschedule.Secrets{
		SenderData:         bytes.Clone(s.SenderData),
		Encryption:         bytes.Clone(s.Encryption),
		Exporter:           bytes.Clone(s.Exporter),
		External:           bytes.Clone(s.External),
		Confirmation:       bytes.Clone(s.Confirmation),
		Membership:         bytes.Clone(s.Membership),
		Resumption:         bytes.Clone(s.Resumption),
		EpochAuthenticator: bytes.Clone(s.EpochAuthenticator),
		Init:               bytes.Clone(s.Init),
	}
}

// LeafPrivateKey returns the HPKE private key of g's leaf, for simulations
// and tests: with ViewAs it recreates the member's view in a later epoch
// (its leaf key changes when it commits or its Update is committed). It is
// a secret.
func LeafPrivateKey(_ simulation.Access, g *Group) []byte { return g.leafPrivateKey() }

func (g *Group) leafPrivateKey() []byte { return g.ep.priv.LeafPrivateKey() }

// ShareTree makes g's tree a copy-on-write clone of with's, for a
// simulator whose observed members each decoded and validated a copy of
// the tree that every member holds: afterwards they share its unchanged
// nodes, so that they cost one tree of memory instead of one each, and
// each still changes only its own copy. The groups must be in the same
// epoch of the same group with the same tree hash (which commits both
// trees' contents); g is otherwise unchanged.
func ShareTree(_ simulation.Access, g, with *Group) error {
	a, b := &g.ep.gc, &with.ep.gc
	if !bytes.Equal(a.GroupID, b.GroupID) || a.Epoch != b.Epoch || !bytes.Equal(a.TreeHash, b.TreeHash) {
		return errorf(ErrInvalidArgument, "sharing the tree of epoch %d with a group at epoch %d or with another tree", a.Epoch, b.Epoch)
	}
	g.ep.tree = with.ep.tree.Clone()
	return nil
}
