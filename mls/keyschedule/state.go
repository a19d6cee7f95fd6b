package keyschedule

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/treekem"
)

// SecretTreeState is a snapshot of a [SecretTree]: the secrets it still
// holds and where each ratchet stands. It has only plain fields so that the
// group package can persist it in any encoding. It contains secrets: store
// it as such, and replace the stored copy when the tree changes, so that
// consumed keys are deleted from storage too (§9.2).
type SecretTreeState struct {
	Leaves   uint32
	Nodes    []NodeSecret   // by node index
	Ratchets []RatchetState // by leaf, then kind
}

// NodeSecret is the secret of a node of the secret tree not yet consumed.
type NodeSecret struct {
	Node   treekem.NodeIndex
	Secret []byte
}

// RatchetState is one sender ratchet.
type RatchetState struct {
	Leaf treekem.LeafIndex
	Kind Kind
	// Next is the generation of Secret.
	Next uint32
	// Secret is ratchet_secret_[Leaf]_[Next], or nil once generation
	// 2^32-1 has been consumed (Next is then 2^32-1).
	Secret []byte
	// Floor: a generation below Floor that is not retained was dropped from
	// the out-of-order window rather than consumed.
	Floor uint32
	// Retained are the keys kept for skipped generations, by generation.
	Retained []RetainedKey
}

// RetainedKey is the key and nonce of a skipped generation.
type RetainedKey struct {
	Generation uint32
	Key, Nonce []byte
}

// State returns a deep copy of the tree's state, in a canonical order.
func (t *SecretTree) State() *SecretTreeState {
	st := &SecretTreeState{Leaves: t.leaves}
	for x, v := range t.nodes {
		st.Nodes = append(st.Nodes, NodeSecret{Node: x, Secret: clone(v)})
	}
	slices.SortFunc(st.Nodes, func(a, b NodeSecret) int { return cmp.Compare(a.Node, b.Node) })
	for l, rs := range t.ratchets {
		for k := range rs {
			r := &rs[k]
			rst := RatchetState{Leaf: l, Kind: Kind(k), Next: r.next, Secret: clone(r.secret), Floor: r.floor}
			for _, rk := range r.retained {
				rst.Retained = append(rst.Retained, RetainedKey{Generation: rk.gen, Key: clone(rk.key), Nonce: clone(rk.nonce)})
			}
			st.Ratchets = append(st.Ratchets, rst)
		}
	}
	slices.SortFunc(st.Ratchets, func(a, b RatchetState) int {
		return cmp.Or(cmp.Compare(a.Leaf, b.Leaf), cmp.Compare(a.Kind, b.Kind))
	})
	return st
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}

// Wipe zeroes every secret of the snapshot.
func (st *SecretTreeState) Wipe() {
	for i := range st.Nodes {
		clear(st.Nodes[i].Secret)
	}
	for i := range st.Ratchets {
		clear(st.Ratchets[i].Secret)
		for j := range st.Ratchets[i].Retained {
			clear(st.Ratchets[i].Retained[j].Key)
			clear(st.Ratchets[i].Retained[j].Nonce)
		}
	}
}

// RestoreSecretTree rebuilds a secret tree from a snapshot taken by
// [SecretTree.State] under the same cipher suite. The snapshot is checked
// for consistency (lengths, ranges, order, and that the stored secrets
// cover every leaf exactly once); an inconsistent one fails with
// ErrInvalidState. If cfg retains fewer keys than the snapshot holds, the
// oldest are dropped. The tree copies what it keeps from st.
func RestoreSecretTree(s *suite.Suite, st *SecretTreeState, cfg Config) (*SecretTree, error) {
	bad := func(format string, args ...any) (*SecretTree, error) {
		return nil, &StateError{Reason: fmt.Sprintf(format, args...)}
	}
	if st.Leaves == 0 || st.Leaves > MaxLeaves {
		return bad("%d leaves", st.Leaves)
	}
	nh, nk, nn := s.HashSize(), s.AEADKeySize(), s.AEADNonceSize()
	t := newTree(s, st.Leaves, cfg)
	fail := func(format string, args ...any) (*SecretTree, error) {
		t.Wipe()
		return bad(format, args...)
	}
	// The tree spans the full binary tree whose root is Root(Leaves).
	width := 2*uint64(t.root) + 1

	// covered counts the leaves below stored secrets: with no secret stored
	// below another, every leaf must be counted exactly once.
	var covered uint64
	for i, n := range st.Nodes {
		if i > 0 && n.Node <= st.Nodes[i-1].Node {
			return fail("node secrets not in increasing order")
		}
		if uint64(n.Node) >= width || !t.hasLeaves(n.Node) {
			return fail("node %d outside the tree", n.Node)
		}
		if len(n.Secret) != nh {
			return fail("node %d secret of %d bytes", n.Node, len(n.Secret))
		}
		t.nodes[n.Node] = clone(n.Secret)
		covered += t.leafCount(n.Node)
	}
	for i, rst := range st.Ratchets {
		if i > 0 {
			prev := st.Ratchets[i-1]
			if rst.Leaf < prev.Leaf || rst.Leaf == prev.Leaf && rst.Kind <= prev.Kind {
				return fail("ratchets not in increasing order")
			}
		}
		if uint32(rst.Leaf) >= t.leaves || !rst.Kind.valid() {
			return fail("ratchet of leaf %d kind %d", rst.Leaf, rst.Kind)
		}
		r, err := restoreRatchet(&rst, nh, nk, nn, cfg.maxRetained())
		if err != nil {
			return fail("leaf %d %s ratchet: %s", rst.Leaf, rst.Kind, err)
		}
		rs, ok := t.ratchets[rst.Leaf]
		if !ok {
			rs = new([2]ratchet)
			t.ratchets[rst.Leaf] = rs
			covered++
		}
		rs[rst.Kind] = *r
	}
	// Both ratchets of a leaf are created together (§9).
	for l, rs := range t.ratchets {
		if rs[Handshake].secret == nil && rs[Handshake].next == 0 ||
			rs[Application].secret == nil && rs[Application].next == 0 {
			return fail("leaf %d lacks a ratchet", l)
		}
	}
	// A secret stored below another (or a ratchet below a stored node) is
	// one that §9.2 says should have been deleted.
	for x := range t.nodes {
		if t.storedAbove(x) {
			return fail("node %d is below another stored node", x)
		}
	}
	for l := range t.ratchets {
		if _, ok := t.nodes[l.Node()]; ok || t.storedAbove(l.Node()) {
			return fail("leaf %d has ratchets and a stored ancestor", l)
		}
	}
	if covered != uint64(t.leaves) {
		return fail("secrets cover %d of %d leaves", covered, t.leaves)
	}
	return t, nil
}

// restoreRatchet checks and copies a RatchetState.
func restoreRatchet(rst *RatchetState, nh, nk, nn, maxRetained int) (*ratchet, error) {
	r := &ratchet{next: rst.Next, floor: rst.Floor}
	switch {
	case rst.Secret == nil && rst.Next != math.MaxUint32:
		return nil, fmt.Errorf("no secret at generation %d", rst.Next)
	case rst.Secret != nil && len(rst.Secret) != nh:
		return nil, fmt.Errorf("secret of %d bytes", len(rst.Secret))
	case rst.Floor > rst.Next:
		return nil, fmt.Errorf("floor %d above next %d", rst.Floor, rst.Next)
	}
	r.secret = clone(rst.Secret)
	for i, rk := range rst.Retained {
		switch {
		case i > 0 && rk.Generation <= rst.Retained[i-1].Generation:
			r.wipe()
			return nil, fmt.Errorf("retained keys not in increasing order")
		case rk.Generation >= rst.Next:
			r.wipe()
			return nil, fmt.Errorf("retained generation %d not below next %d", rk.Generation, rst.Next)
		case len(rk.Key) != nk || len(rk.Nonce) != nn:
			r.wipe()
			return nil, fmt.Errorf("retained generation %d has a key or nonce of the wrong size", rk.Generation)
		}
		r.retained = append(r.retained, retainedKey{gen: rk.Generation, key: clone(rk.Key), nonce: clone(rk.Nonce)})
	}
	r.evict(maxRetained)
	return r, nil
}

// storedAbove reports whether a strict ancestor of x has a stored secret.
func (t *SecretTree) storedAbove(x treekem.NodeIndex) bool {
	for x != t.root {
		x = x.Parent()
		if _, ok := t.nodes[x]; ok {
			return true
		}
	}
	return false
}

// leafCount is the number of leaves of the tree below x.
func (t *SecretTree) leafCount(x treekem.NodeIndex) uint64 {
	first := uint64(firstLeaf(x))
	end := min(first+uint64(1)<<x.Level(), uint64(t.leaves))
	return end - first
}
