package mls

import (
	"bytes"

	"github.com/mlsengine/engine/treekem"
)

// Add commits the addition of the clients of the KeyPackages (MLSMessages
// or bare encodings, as from a KeyPackage directory), with the pending
// proposals: Commit with Adds by value (§12.1.1). Apply the result once the
// delivery service accepted it, and deliver its Welcome.
func (g *Group) Add(keyPackages ...[]byte) (*PendingCommit, error) {
	props := make([]*Proposal, len(keyPackages))
	for i, kp := range keyPackages {
		p, err := NewAdd(kp)
		if err != nil {
			return nil, err
		}
		props[i] = p
	}
	return g.Commit(&CommitOptions{Proposals: props})
}

// Remove commits the removal of the members at the leaves, with the
// pending proposals: Commit with Removes by value (§12.1.3).
func (g *Group) Remove(leaves ...LeafIndex) (*PendingCommit, error) {
	props := make([]*Proposal, len(leaves))
	for i, l := range leaves {
		props[i] = NewRemove(l)
	}
	return g.Commit(&CommitOptions{Proposals: props})
}

// Update commits the pending proposals with a fresh path, which replaces
// the member's leaf and path keys (§12.4: an empty commit if nothing is
// pending): Commit with default options.
func (g *Group) Update() (*PendingCommit, error) { return g.Commit(nil) }

// Member is a member of a group with the identity its credential presents.
type Member struct {
	Leaf LeafIndex
	// Identity is AuthenticationService.Identity of the credential (nil
	// if the service cannot name it).
	Identity []byte
	LeafNode *LeafNode
}

// Identities returns the members in leaf order, each with its identity
// (Config.Authentication). It is O(n).
func (g *Group) Identities() []Member { return identities(g.cf, g.ep.tree) }

// FindIdentity returns the leaves of the members whose credentials present
// identity, in leaf order: one per client of that user. It is O(n).
func (g *Group) FindIdentity(identity []byte) []LeafIndex {
	return findIdentity(g.cf, g.ep.tree, identity)
}

// Identities returns the members in leaf order, each with its identity
// (Config.Authentication). It is O(n).
func (pg *PublicGroup) Identities() []Member { return identities(pg.cf, pg.ep.tree) }

// FindIdentity returns the leaves of the members whose credentials present
// identity, in leaf order. It is O(n).
func (pg *PublicGroup) FindIdentity(identity []byte) []LeafIndex {
	return findIdentity(pg.cf, pg.ep.tree, identity)
}

func identities(cf *config, tree *treekem.Tree) []Member {
	out := make([]Member, 0, tree.MemberCount())
	for leaf := range tree.Members() {
		ln, _ := tree.Leaf(leaf)
		id, _ := cf.as.Identity(&ln.Credential)
		out = append(out, Member{Leaf: leaf, Identity: id, LeafNode: ln})
	}
	return out
}

func findIdentity(cf *config, tree *treekem.Tree, identity []byte) []LeafIndex {
	var out []LeafIndex
	for _, m := range identities(cf, tree) {
		if m.Identity != nil && bytes.Equal(m.Identity, identity) {
			out = append(out, m.Leaf)
		}
	}
	return out
}
