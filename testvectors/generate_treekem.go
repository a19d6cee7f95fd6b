package testvectors

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/mls/wire"
	"github.com/mlsengine/engine/treekem"
)

// treeShape describes how the tree of a treekem case is grown: members
// are added, some commit (filling their direct paths), some are removed
// (blanking theirs), and more are added (unmerged leaves). Senders make
// the case's UpdatePaths over the result.
type treeShape struct {
	members    int
	committers []treekem.LeafIndex
	removed    []treekem.LeafIndex
	added      int
	senders    []treekem.LeafIndex
}

// treeShapes are the trees of the treekem cases of one suite: full, with
// blank nodes, and with unmerged leaves and a truncated tree.
var treeShapes = []treeShape{
	{members: 8, committers: []treekem.LeafIndex{0, 1, 2, 3, 4, 5, 6, 7}, senders: []treekem.LeafIndex{0, 5}},
	{members: 10, committers: []treekem.LeafIndex{0, 3, 6, 9}, removed: []treekem.LeafIndex{2, 7}, senders: []treekem.LeafIndex{1, 9}},
	{members: 6, committers: []treekem.LeafIndex{0, 5, 2}, removed: []treekem.LeafIndex{5}, added: 3, senders: []treekem.LeafIndex{0, 6}},
}

// treeMember is what the generator knows of one member: its keys, and the
// path secrets it learnt.
type treeMember struct {
	sigPriv []byte
	signer  suite.Signer
	priv    *treekem.PrivateState
	secrets map[treekem.NodeIndex][]byte
}

func generateTreeKEM(s *suite.Suite, r io.Reader) ([]Case, error) {
	var cases []Case
	for _, shape := range treeShapes {
		c, err := generateTreeKEMCase(s, r, shape)
		if err != nil {
			return nil, err
		}
		cases = append(cases, c)
	}
	return cases, nil
}

func generateTreeKEMCase(s *suite.Suite, r io.Reader, shape treeShape) (*TreeKEM, error) {
	ch := &chooser{r: r}
	nh := s.HashSize()
	c := &TreeKEM{Suite: uint16(s.ID()), GroupID: ch.bytes(nh), Epoch: uint64(ch.uint32()), ConfirmedTranscriptHash: ch.bytes(nh)}
	if ch.err != nil {
		return nil, ch.err
	}
	tree, err := treekem.NewTree(s)
	if err != nil {
		return nil, err
	}
	members := map[treekem.LeafIndex]*treeMember{}
	add := func() error {
		i, m, err := addTreeMember(s, r, tree, len(members))
		members[i] = m
		return err
	}
	for range shape.members {
		if err := add(); err != nil {
			return nil, err
		}
	}
	for _, sender := range shape.committers {
		if err := commitPath(c, tree, members, sender, r); err != nil {
			return nil, err
		}
	}
	for _, i := range shape.removed {
		if err := tree.RemoveLeaf(i); err != nil {
			return nil, err
		}
		delete(members, i)
	}
	for range shape.added {
		if err := add(); err != nil {
			return nil, err
		}
	}

	if c.RatchetTree, err = tree.RatchetTree(); err != nil {
		return nil, err
	}
	for _, i := range slices.Sorted(maps.Keys(members)) {
		leaf, err := privateLeaf(s, tree, i, members[i])
		if err != nil {
			return nil, err
		}
		c.LeavesPrivate = append(c.LeavesPrivate, leaf)
	}
	for _, sender := range shape.senders {
		up, err := updatePath(c, tree, members, sender, r)
		if err != nil {
			return nil, err
		}
		c.UpdatePaths = append(c.UpdatePaths, up)
	}
	return c, nil
}

// addTreeMember adds a member with fresh keys and a key_package leaf.
func addTreeMember(s *suite.Suite, r io.Reader, tree *treekem.Tree, n int) (treekem.LeafIndex, *treeMember, error) {
	sigPriv, sigPub, err := s.GenerateSignatureKey(r)
	if err != nil {
		return 0, nil, err
	}
	signer, err := s.NewSigner(sigPriv)
	if err != nil {
		return 0, nil, err
	}
	leafPriv, leafPub, err := s.GenerateKeyPair(r)
	if err != nil {
		return 0, nil, err
	}
	ln := &treekem.LeafNode{
		EncryptionKey: leafPub, SignatureKey: sigPub,
		Credential: treekem.BasicCredential(fmt.Appendf(nil, "member-%d", n)),
		Capabilities: treekem.Capabilities{Versions: []treekem.ProtocolVersion{treekem.MLS10},
			CipherSuites: []uint16{uint16(s.ID())}, Credentials: []treekem.CredentialType{treekem.CredentialBasic}},
		Source:   treekem.SourceKeyPackage,
		Lifetime: treekem.Lifetime{NotBefore: 0, NotAfter: 1<<63 - 1},
	}
	tbs, err := ln.TBS(nil, 0)
	if err != nil {
		return 0, nil, err
	}
	if ln.Signature, err = s.SignWithLabel(signer, "LeafNodeTBS", tbs); err != nil {
		return 0, nil, err
	}
	i, err := tree.AddLeaf(ln)
	if err != nil {
		return 0, nil, err
	}
	priv, err := treekem.NewPrivateState(s, i, leafPriv)
	if err != nil {
		return 0, nil, err
	}
	return i, &treeMember{sigPriv: sigPriv, signer: signer, priv: priv, secrets: map[treekem.NodeIndex][]byte{}}, nil
}

// sendPath has sender create an UpdatePath in tree (changed in place) and
// every other member decrypt it; it returns the path, its PendingPath and
// what each member decrypted.
func sendPath(c *TreeKEM, tree *treekem.Tree, members map[treekem.LeafIndex]*treeMember, sender treekem.LeafIndex,
	r io.Reader) (*treekem.UpdatePath, *treekem.PendingPath, map[treekem.LeafIndex]*treekem.DecryptedPath, error) {
	pp, err := tree.PrepareUpdatePath(treekem.PathParams{Sender: sender, GroupID: c.GroupID, Signer: members[sender].signer, Rand: r})
	if err != nil {
		return nil, nil, nil, err
	}
	gc, err := c.groupContext(tree.TreeHash())
	if err != nil {
		return nil, nil, nil, err
	}
	path, err := pp.Encrypt(r, gc, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	decrypted := map[treekem.LeafIndex]*treekem.DecryptedPath{}
	for j, m := range members {
		if j == sender {
			continue
		}
		if decrypted[j], err = m.priv.DecryptPath(tree, sender, path, gc, nil); err != nil {
			return nil, nil, nil, fmt.Errorf("leaf %d decrypting the path of %d: %w", j, sender, err)
		}
	}
	return path, pp, decrypted, nil
}

// commitPath applies an UpdatePath of sender to the tree and to every
// member's private state, and records the path secrets each one learns:
// the sender all of its filtered direct path, the others from the node
// they decrypted up.
func commitPath(c *TreeKEM, tree *treekem.Tree, members map[treekem.LeafIndex]*treeMember, sender treekem.LeafIndex, r io.Reader) error {
	_, pp, decrypted, err := sendPath(c, tree, members, sender, r)
	if err != nil {
		return err
	}
	fdp := pp.FilteredDirectPath()
	learn := func(m *treeMember, from int) {
		for _, x := range fdp[from:] {
			secret, _ := pp.PathSecret(x)
			m.secrets[x] = secret
		}
	}
	members[sender].priv = pp.PrivateState()
	learn(members[sender], 0)
	for j, dp := range decrypted {
		members[j].priv = dp.Private
		learn(members[j], slices.Index(fdp, dp.Node))
	}
	return nil
}

// privateLeaf returns a member's entry of leaves_private: its keys and the
// path secrets of the nodes of the tree whose public keys they give (a
// secret overwritten or blanked since is left out).
func privateLeaf(s *suite.Suite, tree *treekem.Tree, i treekem.LeafIndex, m *treeMember) (TreeKEMLeaf, error) {
	leaf := TreeKEMLeaf{Index: uint32(i), EncryptionPriv: m.priv.LeafPrivateKey(), SignaturePriv: m.sigPriv,
		PathSecrets: []TreeKEMPathSecret{}}
	for _, x := range slices.Sorted(maps.Keys(m.secrets)) {
		nodeSecret, err := s.DeriveSecret(m.secrets[x], "node")
		if err != nil {
			return leaf, err
		}
		_, pub, err := s.DeriveKeyPair(nodeSecret)
		if err != nil {
			return leaf, err
		}
		if bytes.Equal(pub, tree.EncryptionKey(x)) {
			leaf.PathSecrets = append(leaf.PathSecrets, TreeKEMPathSecret{Node: uint32(x), PathSecret: m.secrets[x]})
		}
	}
	return leaf, nil
}

// updatePath returns an entry of update_paths: an UpdatePath of sender
// over (a copy of) tree, and what each member decrypts from it.
func updatePath(c *TreeKEM, tree *treekem.Tree, members map[treekem.LeafIndex]*treeMember, sender treekem.LeafIndex, r io.Reader) (TreeKEMUpdatePath, error) {
	after := tree.Clone()
	path, pp, decrypted, err := sendPath(c, after, members, sender, r)
	if err != nil {
		return TreeKEMUpdatePath{}, err
	}
	encoded, err := wire.Marshal(path)
	if err != nil {
		return TreeKEMUpdatePath{}, err
	}
	up := TreeKEMUpdatePath{Sender: uint32(sender), UpdatePath: encoded, PathSecrets: make([]HexBytes, tree.LeafCount()),
		CommitSecret: pp.CommitSecret(), TreeHashAfter: after.TreeHash()}
	for j, dp := range decrypted {
		up.PathSecrets[j] = dp.PathSecret
	}
	return up, nil
}
