package treekem

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"

	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/mls/wire"
)

// Path secret derivation labels (§7.4).
const (
	labelPath = "path"
	labelNode = "node"
)

// PrivateState is a member's private view of the tree (§4.2): the private
// key of its leaf and of the nodes of its direct path whose keys it knows.
// It holds O(log n) keys and is kept apart from the public Tree, which
// members (or a simulator) may share. Every stored key remembers its public
// key, and a key is used only while the tree holds that public key, so a
// stale entry is never used.
type PrivateState struct {
	cs   *suite.Suite
	leaf LeafIndex
	keys []nodeKey // sorted by node
}

type nodeKey struct {
	node      NodeIndex
	priv, pub []byte
}

// NewPrivateState returns the private state of the member at leaf with the
// leaf's HPKE private key.
func NewPrivateState(cs *suite.Suite, leaf LeafIndex, leafPriv []byte) (*PrivateState, error) {
	if cs == nil {
		return nil, fmt.Errorf("%w: nil cipher suite", ErrInvalidArgument)
	}
	p := &PrivateState{cs: cs, leaf: leaf}
	if err := p.SetLeafKey(leafPriv); err != nil {
		return nil, err
	}
	return p, nil
}

// Leaf returns the member's leaf index.
func (p *PrivateState) Leaf() LeafIndex { return p.leaf }

// Clone returns a deep copy: the copy owns copies of the private keys, so
// that wiping one state (Wipe) leaves the other intact.
func (p *PrivateState) Clone() *PrivateState {
	c := *p
	c.keys = make([]nodeKey, len(p.keys))
	for i, k := range p.keys {
		c.keys[i] = nodeKey{node: k.node, priv: bytes.Clone(k.priv), pub: k.pub}
	}
	return &c
}

// Wipe zeroes every private key the state holds and forgets them (§9.2:
// consumed or abandoned secrets are deleted), as when a staged epoch is
// discarded. A PrivateState keeps no path secrets: those are consumed by
// the derivation of the node keys (§7.4) and deleted by whoever derived
// them. The state holds no key afterwards, so that decrypting with it
// fails with ErrNoPrivateKey. Wipe on a nil state does nothing.
func (p *PrivateState) Wipe() {
	if p == nil {
		return
	}
	for i := range p.keys {
		clear(p.keys[i].priv)
	}
	clear(p.keys)
	p.keys = nil
}

// SetLeafKey replaces the leaf's private key, as after the member's own
// Update proposal is committed.
func (p *PrivateState) SetLeafKey(priv []byte) error {
	pub, err := p.cs.HPKEPublicKey(priv)
	if err != nil {
		return fmt.Errorf("%w: leaf private key: %w", ErrInvalidArgument, err)
	}
	p.set(p.leaf.Node(), bytes.Clone(priv), pub)
	return nil
}

// LeafPrivateKey returns the leaf's HPKE private key.
func (p *PrivateState) LeafPrivateKey() []byte {
	if k := p.find(p.leaf.Node()); k != nil {
		return bytes.Clone(k.priv)
	}
	return nil
}

// Nodes returns the nodes whose private keys are held, in increasing order.
func (p *PrivateState) Nodes() []NodeIndex {
	out := make([]NodeIndex, len(p.keys))
	for i, k := range p.keys {
		out[i] = k.node
	}
	return out
}

// PublicKey returns the public key of the private key held for x.
func (p *PrivateState) PublicKey(x NodeIndex) ([]byte, bool) {
	if k := p.find(x); k != nil {
		return bytes.Clone(k.pub), true
	}
	return nil, false
}

func cmpNode(k nodeKey, x NodeIndex) int { return cmp.Compare(k.node, x) }

func (p *PrivateState) find(x NodeIndex) *nodeKey {
	i, ok := slices.BinarySearchFunc(p.keys, x, cmpNode)
	if !ok {
		return nil
	}
	return &p.keys[i]
}

// set stores the key of x, which p then owns; a replaced key is zeroed
// (§7.5: replaced key material is deleted).
func (p *PrivateState) set(x NodeIndex, priv, pub []byte) {
	i, ok := slices.BinarySearchFunc(p.keys, x, cmpNode)
	if ok {
		if old := p.keys[i].priv; len(old) > 0 && (len(priv) == 0 || &old[0] != &priv[0]) {
			clear(old)
		}
		p.keys[i] = nodeKey{node: x, priv: priv, pub: pub}
		return
	}
	p.keys = slices.Insert(p.keys, i, nodeKey{node: x, priv: priv, pub: pub})
}

// usable returns the private key for x if the tree still holds its public
// key.
func (p *PrivateState) usable(t *Tree, x NodeIndex) []byte {
	k := p.find(x)
	if k == nil || !bytes.Equal(t.EncryptionKey(x), k.pub) {
		return nil
	}
	return k.priv
}

// deriveNodeKey derives the key pair of a node from its path secret (§7.4).
func deriveNodeKey(cs *suite.Suite, pathSecret []byte) (priv, pub []byte, err error) {
	ns, err := cs.DeriveSecret(pathSecret, labelNode)
	if err != nil {
		return nil, nil, err
	}
	return cs.DeriveKeyPair(ns)
}

// SetPathSecret sets the private key of node x to the one derived from its
// path secret (§7.4), without deriving further.
func (p *PrivateState) SetPathSecret(x NodeIndex, pathSecret []byte) error {
	priv, pub, err := deriveNodeKey(p.cs, pathSecret)
	if err != nil {
		return err
	}
	p.set(x, priv, pub)
	return nil
}

// ImplantPathSecret sets the key of node x, an ancestor of the member's
// leaf, from pathSecret, and derives the keys of the non-blank nodes above
// it (the rest of the committer's filtered direct path), as a joiner does
// with the path_secret of its GroupSecrets (§12.4.3.1). Every derived
// public key must match the tree's; on error p is unchanged.
func (p *PrivateState) ImplantPathSecret(t *Tree, x NodeIndex, pathSecret []byte) error {
	if !t.has(x) || x.IsLeaf() || !isUnder(p.leaf, x) {
		return fmt.Errorf("%w: node %d is not above leaf %d", ErrInvalidArgument, x, p.leaf)
	}
	// The keys are collected first and stored only if all of them match;
	// on error they are zeroed. The derived path secrets are deleted once
	// used (§9.2); pathSecret is the caller's.
	var derived []nodeKey
	ok := false
	s := bytes.Clone(pathSecret)
	defer func() {
		clear(s)
		if !ok {
			for _, k := range derived {
				clear(k.priv)
			}
		}
	}()
	r := Root(t.n)
	for y := x; ; y = y.Parent() {
		if !t.IsBlank(y) {
			priv, pub, err := deriveNodeKey(p.cs, s)
			if err != nil {
				return err
			}
			derived = append(derived, nodeKey{node: y, priv: priv, pub: pub})
			if !bytes.Equal(pub, t.EncryptionKey(y)) {
				return nodeErr(y, ErrNoPrivateKey, "path secret gives a public key that differs from the tree's")
			}
			next, err := p.cs.DeriveSecret(s, labelPath)
			if err != nil {
				return err
			}
			clear(s)
			s = next
		} else if y == x {
			return nodeErr(y, ErrNoPrivateKey, "path secret for a blank node")
		}
		if y == r {
			break
		}
	}
	for _, k := range derived {
		p.set(k.node, k.priv, k.pub)
	}
	ok = true
	return nil
}

// Check verifies that the state is consistent with t: the leaf is a member,
// and each node whose private key is held is non-blank and holds the
// matching public key.
func (p *PrivateState) Check(t *Tree) error {
	if !t.IsMember(p.leaf) {
		return fmt.Errorf("%w: leaf %d", ErrNoLeaf, p.leaf)
	}
	if p.find(p.leaf.Node()) == nil {
		return fmt.Errorf("%w: no leaf private key", ErrNoPrivateKey)
	}
	for _, k := range p.keys {
		if t.IsBlank(k.node) {
			return nodeErr(k.node, ErrNoPrivateKey, "private key held for a blank node")
		}
		if !bytes.Equal(t.EncryptionKey(k.node), k.pub) {
			return nodeErr(k.node, ErrNoPrivateKey, "private key does not match the tree's public key")
		}
	}
	return nil
}

// Prune deletes the keys of nodes that no longer hold the matching public
// key in t (§7.5: replaced key material must be deleted), the leaf's
// excepted.
func (p *PrivateState) Prune(t *Tree) {
	p.keys = slices.DeleteFunc(p.keys, func(k nodeKey) bool {
		if k.node != p.leaf.Node() && !bytes.Equal(t.EncryptionKey(k.node), k.pub) {
			clear(k.priv)
			return true
		}
		return false
	})
}

// privateStateVersion tags the snapshot encoding of a PrivateState.
const privateStateVersion = 1

// MarshalBinary encodes the state for a snapshot: a version byte, the leaf
// index and each node's private key. Public keys are derived on load.
func (p *PrivateState) MarshalBinary() ([]byte, error) {
	b := wire.NewBuilder(nil)
	b.AddUint8(privateStateVersion)
	b.AddUint32(uint32(p.leaf))
	b.AddVectorFunc(func(b *wire.Builder) {
		for _, k := range p.keys {
			b.AddUint32(uint32(k.node))
			b.AddVector(k.priv)
		}
	})
	return b.Bytes()
}

// UnmarshalPrivateState decodes a state encoded by MarshalBinary.
func UnmarshalPrivateState(cs *suite.Suite, data []byte) (*PrivateState, error) {
	if cs == nil {
		return nil, fmt.Errorf("%w: nil cipher suite", ErrInvalidArgument)
	}
	r := wire.NewReader(data)
	var v uint8
	var leaf uint32
	p := &PrivateState{cs: cs}
	var perr error
	ok := r.ReadUint8(&v) && v == privateStateVersion && r.ReadUint32(&leaf) &&
		r.ReadList(func(r *wire.Reader) bool {
			var x uint32
			var priv []byte
			if !r.ReadUint32(&x) || !r.ReadVector(&priv) {
				return false
			}
			pub, err := cs.HPKEPublicKey(priv)
			if err != nil {
				perr = err
				return false
			}
			if n := len(p.keys); n > 0 && p.keys[n-1].node >= NodeIndex(x) {
				return r.Fail("nodes not in increasing order")
			}
			p.keys = append(p.keys, nodeKey{node: NodeIndex(x), priv: bytes.Clone(priv), pub: pub})
			return true
		}) && r.Empty()
	if !ok {
		if perr != nil {
			return nil, fmt.Errorf("%w: private state: %w", ErrInvalidArgument, perr)
		}
		return nil, fmt.Errorf("%w: private state: %w", ErrInvalidArgument,
			&wire.DecodeError{Type: "PrivateState", Reason: r.Reason()})
	}
	p.leaf = LeafIndex(leaf)
	return p, nil
}
