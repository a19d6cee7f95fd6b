package treekem

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"slices"

	"github.com/mlsengine/engine/internal/parallel"
	"github.com/mlsengine/engine/mls/suite"
)

// labelUpdatePathNode is the EncryptWithLabel label of path secrets (§7.6).
const labelUpdatePathNode = "UpdatePathNode"

// PathParams describes the UpdatePath a committer creates.
type PathParams struct {
	// Sender is the committer's leaf. For an external commit it is the
	// blank leaf from FreeLeaf, and Leaf must be set.
	Sender LeafIndex
	// GroupID is signed in the new LeafNode (§7.2).
	GroupID []byte
	// Signer signs the new LeafNode; its public key must be the leaf's
	// signature key.
	Signer suite.Signer
	// Leaf supplies the new LeafNode's signature key, credential,
	// capabilities and extensions; nil keeps those of the sender's current
	// leaf. Its other fields are ignored: the encryption key is fresh, the
	// source is commit, the parent hash is computed and the leaf is signed.
	Leaf *LeafNode
	// Rand is the source of the leaf key and path secrets; nil means
	// crypto/rand.
	Rand io.Reader
}

// PendingPath is an UpdatePath whose nodes are set in the tree but whose
// path secrets are not encrypted yet. Creating a path is split in three
// because the encryption context, the provisional GroupContext, contains
// the tree hash of the tree with the path applied (§12.4.1):
//
//  1. tree.PrepareUpdatePath derives the path secrets and keys, sets the
//     nodes, computes the parent hashes and signs the new leaf;
//  2. the caller reads tree.TreeHash() and builds the GroupContext;
//  3. Encrypt encrypts each path secret to the copath resolutions.
//
// The tree must not change between steps 1 and 3.
type PendingPath struct {
	t            *Tree
	sender       LeafIndex
	path, copath []NodeIndex
	secrets      [][]byte
	commitSecret []byte
	leaf         LeafNode
	priv         *PrivateState
}

// PrepareUpdatePath updates the sender's direct path in t with fresh keys
// (§7.4, §7.5): it blanks the direct path, derives a path secret and key
// pair for each node of the filtered direct path, sets those nodes with
// their parent hashes (§7.9), and replaces the sender's leaf with a new,
// signed commit-source LeafNode. Apply the commit's proposals to t first.
// On error t is unchanged.
func (t *Tree) PrepareUpdatePath(p PathParams) (*PendingPath, error) {
	i := p.Sender
	if p.Signer == nil {
		return nil, fmt.Errorf("%w: nil signer", ErrInvalidArgument)
	}
	if i >= LeafIndex(t.n) || (p.Leaf == nil && !t.IsMember(i)) {
		return nil, fmt.Errorf("%w: leaf %d", ErrNoLeaf, i)
	}
	tmpl := p.Leaf
	if tmpl == nil {
		tmpl, _ = t.Leaf(i)
	}
	if !bytes.Equal(p.Signer.Public(), tmpl.SignatureKey) {
		return nil, fmt.Errorf("%w: signer's public key is not the leaf's signature key", ErrInvalidArgument)
	}
	if j, ok := t.FindSignatureKey(tmpl.SignatureKey); ok && j != i {
		return nil, leafErr(i, fmt.Sprintf("signature key already used by leaf %d", j), ErrDuplicateKey)
	}
	rnd := p.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	path, copath := t.filteredPath(i)
	pp := &PendingPath{t: t, sender: i, path: path, copath: copath}

	leafPriv, leafPub, err := t.cs.GenerateKeyPair(rnd)
	if err != nil {
		return nil, err
	}
	priv := &PrivateState{cs: t.cs, leaf: i}
	priv.set(i.Node(), leafPriv, leafPub)
	s := make([]byte, t.nh)
	if _, err := io.ReadFull(rnd, s); err != nil {
		return nil, fmt.Errorf("treekem: reading randomness: %w", err)
	}
	pp.secrets = make([][]byte, len(path))
	for k := range path {
		pp.secrets[k] = s
		if s, err = t.cs.DeriveSecret(s, labelPath); err != nil {
			return nil, err
		}
	}
	pp.commitSecret = s
	// The key pairs, one scalar multiplication each, are independent once
	// the chain of path secrets is known.
	keys := make([][]byte, len(path))
	privs := make([][]byte, len(path))
	if err := parallel.Each(len(path), func(k int) (err error) {
		privs[k], keys[k], err = deriveNodeKey(t.cs, pp.secrets[k])
		return err
	}); err != nil {
		return nil, err
	}
	for k, x := range path {
		priv.set(x, privs[k], keys[k])
	}
	if err := t.checkPathKeys(i, leafPub, keys); err != nil {
		return nil, err
	}
	ph, leafPH := t.pathParentHashes(copath, keys)

	pp.leaf = LeafNode{
		EncryptionKey: leafPub,
		SignatureKey:  bytes.Clone(tmpl.SignatureKey),
		Credential:    tmpl.Credential,
		Capabilities:  tmpl.Capabilities,
		Source:        SourceCommit,
		ParentHash:    leafPH,
		Extensions:    tmpl.Extensions,
	}
	if pp.leaf.ParentHash == nil {
		pp.leaf.ParentHash = []byte{}
	}
	tbs, err := pp.leaf.TBS(p.GroupID, i)
	if err != nil {
		return nil, err
	}
	if pp.leaf.Signature, err = t.cs.SignWithLabel(p.Signer, labelLeafNodeTBS, tbs); err != nil {
		return nil, err
	}
	data, err := t.encodeLeaf(&pp.leaf)
	if err != nil {
		return nil, err
	}
	t.setPath(i, data, path, keys, ph)
	pp.priv = priv
	return pp, nil
}

// checkPathKeys checks that the new leaf key and path keys are well formed,
// distinct, and appear nowhere in the tree (§12.4.2). The sender's current
// leaf key counts: the new one must differ from it.
func (t *Tree) checkPathKeys(i LeafIndex, leafKey []byte, keys [][]byte) error {
	all := append([][]byte{leafKey}, keys...)
	for k, key := range all {
		if len(key) != t.npk {
			return fmt.Errorf("%w: public key of %d bytes, want %d", ErrInvalidPath, len(key), t.npk)
		}
		if err := t.cs.CheckHPKEPublicKey(key); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidPath, err)
		}
		if x, ok := t.FindEncryptionKey(key); ok {
			return fmt.Errorf("%w: %w: path key already used by node %d", ErrInvalidPath, ErrDuplicateKey, x)
		}
		for _, prev := range all[:k] {
			if bytes.Equal(prev, key) {
				return fmt.Errorf("%w: %w: key repeated within the path", ErrInvalidPath, ErrDuplicateKey)
			}
		}
	}
	return nil
}

// setPath merges a path into the tree (§7.5): blank the direct path of
// leaf i, set the filtered direct path's nodes with the given keys, parent
// hashes and no unmerged leaves, and store the new leaf.
func (t *Tree) setPath(i LeafIndex, leafData []byte, path []NodeIndex, keys, ph [][]byte) {
	size := 0
	for k := range path {
		size += parentSize(keys[k], ph[k], nil)
	}
	enc := make([]byte, 0, size) // one array for the path's encodings
	// The direct path's nodes take the path's encodings, in order, and
	// the others (the filtered-out ones) are blanked.
	k, r := 0, Root(t.n)
	for x := i.Node(); x != r; {
		x = x.Parent()
		switch {
		case k < len(path) && path[k] == x:
			n := len(enc)
			enc = appendParent(enc, keys[k], ph[k], nil)
			t.setData(x, enc[n:len(enc):len(enc)])
			k++
		case t.st.get(x).data != nil:
			t.setData(x, nil)
		}
	}
	t.setData(i.Node(), leafData)
	t.fixPath(i.Node())
}

// Encrypt encrypts each path secret to the resolution of the corresponding
// copath node, leaving out the leaves in exclude (those added by this
// commit, §12.4.2), with the serialized provisional GroupContext as
// context (§7.6). rand nil means crypto/rand.
//
// The encryptions are independent and run on up to GOMAXPROCS goroutines.
// A non-nil rand is read in a fixed order whatever their number, so that
// a deterministic rand gives the same UpdatePath.
func (pp *PendingPath) Encrypt(rand io.Reader, groupContext []byte, exclude []LeafIndex) (*UpdatePath, error) {
	t := pp.t
	ex := slices.Sorted(slices.Values(exclude))
	up := &UpdatePath{LeafNode: pp.leaf, Nodes: make([]UpdatePathNode, len(pp.path))}
	type seal struct {
		k, j int       // the jth ciphertext of node k of the path
		to   NodeIndex // the recipient
	}
	var seals []seal
	var res []NodeIndex
	for k, x := range pp.path {
		res = t.appendResolution(res[:0], pp.copath[k], ex, -1)
		n := &up.Nodes[k]
		n.EncryptionKey = bytes.Clone(t.EncryptionKey(x))
		n.EncryptedPathSecret = make([]HPKECiphertext, len(res))
		for j, r := range res {
			seals = append(seals, seal{k: k, j: j, to: r})
		}
	}
	rands, err := parallel.SplitRand(rand, len(seals))
	if err != nil {
		return nil, fmt.Errorf("treekem: %w", err)
	}
	err = parallel.Each(len(seals), func(i int) error {
		s := seals[i]
		kem, ct, err := t.cs.EncryptWithLabel(rands[i], t.EncryptionKey(s.to), labelUpdatePathNode, groupContext, pp.secrets[s.k])
		if err != nil {
			return nodeErr(s.to, err, "encrypting the path secret of node %d", pp.path[s.k])
		}
		up.Nodes[s.k].EncryptedPathSecret[s.j] = HPKECiphertext{KEMOutput: kem, Ciphertext: ct}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return up, nil
}

// Wipe zeroes the path secrets, the commit secret and the private keys the
// pending path holds (§9.2: secrets are deleted once used). Copies already
// returned by CommitSecret, PathSecret, PathSecretFor and PrivateState are
// unaffected.
func (pp *PendingPath) Wipe() {
	if pp == nil {
		return
	}
	for _, s := range pp.secrets {
		clear(s)
	}
	clear(pp.commitSecret)
	pp.priv.Wipe()
}

// CommitSecret returns the commit secret (§12.4.1): the path secret
// derived after the last node's.
func (pp *PendingPath) CommitSecret() []byte { return bytes.Clone(pp.commitSecret) }

// LeafNode returns the sender's new, signed LeafNode.
func (pp *PendingPath) LeafNode() *LeafNode { l := pp.leaf; return &l }

// FilteredDirectPath returns the nodes the path sets.
func (pp *PendingPath) FilteredDirectPath() []NodeIndex { return slices.Clone(pp.path) }

// PathSecret returns the path secret of node x of the path.
func (pp *PendingPath) PathSecret(x NodeIndex) ([]byte, bool) {
	for k, y := range pp.path {
		if y == x {
			return bytes.Clone(pp.secrets[k]), true
		}
	}
	return nil, false
}

// PathSecretFor returns the path secret a new member at leaf joiner gets in
// its Welcome (§12.4.3.1): that of the lowest node of the path above both
// the joiner and the sender. It returns false if the path has no such node.
func (pp *PendingPath) PathSecretFor(joiner LeafIndex) ([]byte, bool) {
	if joiner == pp.sender {
		return nil, false
	}
	return pp.PathSecret(CommonAncestor(pp.sender.Node(), joiner.Node()))
}

// PrivateState returns the sender's private state once the commit is
// applied: the new leaf key and the keys of the path's nodes.
func (pp *PendingPath) PrivateState() *PrivateState { return pp.priv.Clone() }
