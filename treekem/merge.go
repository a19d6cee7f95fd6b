package treekem

import (
	"bytes"
	"fmt"
	"slices"
)

// MergeUpdatePath validates an UpdatePath received from leaf sender and
// merges it into t (§7.5, §12.4.2): the LeafNode must be valid for a commit
// (§7.3, under pol), the path must have one node per node of the sender's
// filtered direct path, no public key of the path may appear in the tree,
// and the leaf's parent_hash must be the one computed for the merged path
// (§7.9.2). Apply the commit's proposals to t first; for an external
// commit, sender is the blank leaf from FreeLeaf. On error t is unchanged.
//
// Receiving is split like creating (see PendingPath): merge, read
// t.TreeHash() to build the provisional GroupContext, then decrypt with
// PrivateState.DecryptPath.
func (t *Tree) MergeUpdatePath(sender LeafIndex, path *UpdatePath, groupID []byte, pol *Policy) error {
	if path == nil {
		return fmt.Errorf("%w: nil path", ErrInvalidArgument)
	}
	if sender >= LeafIndex(t.n) {
		return fmt.Errorf("%w: leaf %d", ErrNoLeaf, sender)
	}
	data, err := marshalLeaf(&path.LeafNode)
	if err != nil {
		return leafErr(sender, "encoding", err)
	}
	if err := t.validateLeafData(data, LeafContext{Role: RoleCommit, Index: sender, GroupID: groupID}, pol); err != nil {
		return err
	}
	fdp, copath := t.filteredPath(sender)
	if len(path.Nodes) != len(fdp) {
		return fmt.Errorf("%w: %d nodes for a filtered direct path of %d", ErrInvalidPath, len(path.Nodes), len(fdp))
	}
	keys := make([][]byte, len(fdp))
	for k := range path.Nodes {
		keys[k] = path.Nodes[k].EncryptionKey
	}
	if err := t.checkPathKeys(sender, path.LeafNode.EncryptionKey, keys); err != nil {
		return err
	}
	ph, leafPH := t.pathParentHashes(copath, keys)
	if !bytes.Equal(path.LeafNode.ParentHash, leafPH) {
		return parentHashError(sender, path.LeafNode.ParentHash, leafPH)
	}
	if err := t.checkLeafEncoding(&path.LeafNode, data); err != nil {
		return err
	}
	t.setPath(sender, data, fdp, keys, ph) // both are copied into fresh encodings
	return nil
}

// DecryptedPath is what a member learns from an UpdatePath.
type DecryptedPath struct {
	// Private is the member's new private state.
	Private *PrivateState
	// Node is the lowest node of the sender's path above the member, and
	// PathSecret its path secret, the one the member decrypted.
	Node       NodeIndex
	PathSecret []byte
	// CommitSecret is the commit secret (§12.4.2).
	CommitSecret []byte
}

// DecryptPath decrypts the path secret meant for the member from path, an
// UpdatePath from leaf sender already merged into t (MergeUpdatePath), and
// derives the keys of the path above it (§7.5, §12.4.2): it finds the
// lowest path node above the member, decrypts the ciphertext for the node
// of the copath resolution (without the leaves in exclude, those added by
// the commit) whose private key the member holds, derives the following
// path secrets and checks every derived public key against the path.
// groupContext is the serialized provisional GroupContext. p is unchanged;
// the new state is returned.
func (p *PrivateState) DecryptPath(t *Tree, sender LeafIndex, path *UpdatePath, groupContext []byte, exclude []LeafIndex) (*DecryptedPath, error) {
	if path == nil || t == nil {
		return nil, fmt.Errorf("%w: nil path or tree", ErrInvalidArgument)
	}
	if p.leaf == sender {
		return nil, fmt.Errorf("%w: the member is the sender", ErrInvalidArgument)
	}
	fdp, copath := t.filteredPath(sender)
	if len(path.Nodes) != len(fdp) {
		return nil, fmt.Errorf("%w: %d nodes for a filtered direct path of %d", ErrInvalidPath, len(path.Nodes), len(fdp))
	}
	k := slices.IndexFunc(copath, func(c NodeIndex) bool { return isUnder(p.leaf, c) })
	if k < 0 {
		return nil, fmt.Errorf("%w: leaf %d is not under the sender's path", ErrNoPrivateKey, p.leaf)
	}
	ex := slices.Sorted(slices.Values(exclude))
	if contains(ex, p.leaf) {
		return nil, fmt.Errorf("%w: leaf %d was added by this commit", ErrNoPrivateKey, p.leaf)
	}
	res := t.appendResolution(nil, copath[k], ex, -1)
	cts := path.Nodes[k].EncryptedPathSecret
	if len(cts) != len(res) {
		return nil, nodeErr(fdp[k], ErrInvalidPath, "%d ciphertexts for a resolution of %d (§7.6)", len(cts), len(res))
	}
	j, priv := -1, []byte(nil)
	for m, r := range res {
		if priv = p.usable(t, r); priv != nil {
			j = m
			break
		}
	}
	if j < 0 {
		return nil, nodeErr(copath[k], ErrNoPrivateKey, "no private key for any node of its resolution")
	}
	s, err := t.cs.DecryptWithLabel(priv, labelUpdatePathNode, groupContext, cts[j].KEMOutput, cts[j].Ciphertext)
	if err != nil {
		return nil, nodeErr(res[j], ErrDecrypt, "path secret of node %d: %v", fdp[k], err)
	}
	out := &DecryptedPath{Node: fdp[k], PathSecret: s, Private: p.Clone()}
	for m := k; m < len(fdp); m++ {
		nodePriv, nodePub, err := deriveNodeKey(t.cs, s)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(nodePub, path.Nodes[m].EncryptionKey) {
			return nil, nodeErr(fdp[m], ErrInvalidPath, "derived public key differs from the path's (§12.4.2)")
		}
		if !bytes.Equal(nodePub, t.EncryptionKey(fdp[m])) {
			return nil, nodeErr(fdp[m], ErrInvalidArgument, "the path is not merged into the tree")
		}
		out.Private.set(fdp[m], nodePriv, nodePub)
		if s, err = t.cs.DeriveSecret(s, labelPath); err != nil {
			return nil, err
		}
	}
	out.CommitSecret = s
	out.Private.Prune(t)
	return out, nil
}
