package treekem

import (
	"bytes"
	"fmt"

	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/mls/wire"
)

// Synthetic steady-state trees, for simulations and benchmarks of large
// groups: the tree a group reaches once every member has committed, built in
// O(n) key derivations and signatures instead of n commits.

// SteadyStateParams are the parameters of Tree.SteadyState. The callbacks
// are called concurrently and must be safe for concurrent use.
type SteadyStateParams struct {
	// GroupID is signed in the commit-source leaves (§7.2).
	GroupID []byte
	// NodeKey returns the HPKE public key to put at parent node x, for
	// instance one derived from a seed so that the caller can recover its
	// private key. Keys must be distinct and appear nowhere else in the
	// tree.
	NodeKey func(x NodeIndex) ([]byte, error)
	// Signer returns the signer of the member at leaf i, whose public key
	// is the leaf's signature key.
	Signer func(i LeafIndex) (suite.Signer, error)
}

// SteadyState returns the tree t would be if its members had each
// committed once with a full UpdatePath, in increasing leaf order, keeping
// their leaf encryption keys: every parent with members on both sides holds
// the key p.NodeKey gives it, and no node has unmerged leaves. t is
// unchanged; its parent nodes are ignored.
//
// The result is parent-hash valid (§7.9.2): a parent is set by the last
// member below it to commit, the rightmost one, so its parent_hash link
// comes from its right child's resolution; every leaf is re-signed as a
// commit-source LeafNode for p.GroupID with its parent_hash. A parent_hash
// that links to a key replaced by a later commit (a left child's) holds the
// hash of a fixed label and the node's index, like the hash it replaced.
//
// The work, one NodeKey call per parent, one signature per leaf and O(n)
// hashes, is spread over GOMAXPROCS goroutines.
func (t *Tree) SteadyState(p SteadyStateParams) (*Tree, error) {
	if p.NodeKey == nil || p.Signer == nil {
		return nil, fmt.Errorf("%w: SteadyStateParams needs NodeKey and Signer", ErrInvalidArgument)
	}
	if t.MemberCount() == 0 {
		return nil, fmt.Errorf("%w: tree without members", ErrInvalidArgument)
	}
	b := &steadyBuilder{src: t, p: &p, nodes: make([][]byte, NodeWidth(t.n))}
	if _, err := b.fill(Root(t.n), nil, false); err != nil {
		return nil, err
	}
	nodes := b.nodes
	for len(nodes) > 0 && nodes[len(nodes)-1] == nil {
		nodes = nodes[:len(nodes)-1]
	}
	return buildTree(t.cs, nodes)
}

// steadyParallelLevel is the lowest level at which SteadyState builds the
// two subtrees of a node concurrently.
const steadyParallelLevel = 10

type steadyBuilder struct {
	src   *Tree
	p     *SteadyStateParams
	nodes [][]byte // written at distinct indexes by concurrent goroutines
}

// link is a parent_hash computed by one goroutine and awaited by another.
type link struct {
	done chan struct{}
	v    []byte
	err  error
}

func newLink() *link { return &link{done: make(chan struct{})} }

func (l *link) set(v []byte, err error) { l.v, l.err = v, err; close(l.done) }

func (l *link) get() ([]byte, error) { <-l.done; return l.v, l.err }

// fill builds the subtree under x and returns its tree hash. in, if not
// nil, is the parent_hash that the subtree's resolution node (its single
// topmost non-blank node) must hold: the link to the parent above that
// the same commit set. Otherwise that node's parent_hash links to a
// replaced key if it has a non-blank ancestor (above), and is empty if not.
func (b *steadyBuilder) fill(x NodeIndex, in *link, above bool) ([]byte, error) {
	cs := b.src.cs
	if x.IsLeaf() {
		return b.fillLeaf(x.Leaf(), in, above)
	}
	l, r := x.Left(), x.Right()
	lHas := b.src.st.get(l).leaves > 0
	rHas := b.src.st.get(r).leaves > 0
	if !lHas || !rHas {
		// Blank: its resolution is that of the side with members.
		lIn, rIn := in, (*link)(nil)
		if !lHas {
			lIn, rIn = nil, in
		}
		lh, rh, err := b.both(x, func() ([]byte, error) { return b.fill(l, lIn, above) },
			func() ([]byte, error) { return b.fill(r, rIn, above) })
		if err != nil {
			return nil, err
		}
		return cs.Hash(appendParentHashInput(nil, nil, lh, rh)), nil
	}
	key, err := b.p.NodeKey(x)
	if err != nil {
		return nil, err
	}
	if len(key) != b.src.npk {
		return nil, nodeErr(x, ErrInvalidArgument, "NodeKey gave %d bytes, want %d", len(key), b.src.npk)
	}
	// The last member below x committed through x's right child, so the
	// right subtree's resolution node links to x; the left's links to a
	// key that a later commit replaced.
	toRight := newLink()
	var ph []byte
	left := func() ([]byte, error) {
		lh, err := b.fill(l, nil, true)
		if err == nil {
			ph, err = b.parentHashOf(x, in, above)
		}
		if err != nil {
			toRight.set(nil, err)
			return nil, err
		}
		var buf []byte
		toRight.set(b.src.parentHash(key, ph, lh, &buf), nil)
		return lh, nil
	}
	lh, rh, err := b.both(x, left, func() ([]byte, error) { return b.fill(r, toRight, true) })
	if err != nil {
		return nil, err
	}
	d := encodeParent(key, ph, nil)
	b.nodes[x] = d
	return cs.Hash(appendParentHashInput(nil, d, lh, rh)), nil
}

// parentHashOf returns the parent_hash of the resolution node of a subtree
// (see fill).
func (b *steadyBuilder) parentHashOf(x NodeIndex, in *link, above bool) ([]byte, error) {
	switch {
	case in != nil:
		return in.get()
	case !above:
		return []byte{}, nil
	}
	return b.src.cs.Hash(appendUint32([]byte("treekem steady state: replaced parent hash"), uint32(x))), nil
}

// both runs left and right, concurrently for a node high enough, and
// returns their results: left's error first.
func (b *steadyBuilder) both(x NodeIndex, left, right func() ([]byte, error)) (lh, rh []byte, err error) {
	if x.Level() < steadyParallelLevel {
		lh, lerr := left()
		rh, rerr := right()
		if lerr != nil {
			return nil, nil, lerr
		}
		return lh, rh, rerr
	}
	type result struct {
		h   []byte
		err error
	}
	ch := make(chan result, 1)
	go func() {
		h, err := right()
		ch <- result{h, err}
	}()
	lh, lerr := left()
	res := <-ch
	if lerr != nil {
		return nil, nil, lerr
	}
	return lh, res.h, res.err
}

// fillLeaf re-signs leaf i as a commit-source LeafNode and returns its tree
// hash.
func (b *steadyBuilder) fillLeaf(i LeafIndex, in *link, above bool) ([]byte, error) {
	cs := b.src.cs
	x := i.Node()
	src := b.src.st.get(x).data
	if src == nil {
		return cs.Hash(appendLeafHashInput(nil, i, nil)), nil
	}
	var ln LeafNode
	if err := wire.Unmarshal(src, &ln); err != nil {
		return nil, internalErr("stored leaf %d does not decode: %v", i, err)
	}
	ph, err := b.parentHashOf(x, in, above)
	if err != nil {
		return nil, err
	}
	signer, err := b.p.Signer(i)
	if err != nil {
		return nil, err
	}
	if signer == nil || !bytes.Equal(signer.Public(), ln.SignatureKey) {
		return nil, leafErr(i, "Signer's public key is not the leaf's signature key", ErrInvalidArgument)
	}
	ln.Source, ln.Lifetime, ln.ParentHash = SourceCommit, Lifetime{}, ph
	tbs, err := ln.TBS(b.p.GroupID, i)
	if err != nil {
		return nil, err
	}
	if ln.Signature, err = cs.SignWithLabel(signer, labelLeafNodeTBS, tbs); err != nil {
		return nil, err
	}
	d, err := marshalLeaf(&ln)
	if err != nil {
		return nil, err
	}
	b.nodes[x] = d
	return cs.Hash(appendLeafHashInput(nil, i, d)), nil
}
