package treekem

import (
	"bytes"
	"fmt"
	"sync"
)

// Tree hashes (§7.8) are cached per node. Every change marks the changed
// node and its ancestors stale (fixPath), so recomputing the root hash
// after a commit rehashes O(log n) nodes; a tree built from scratch is
// hashed on all cores.

// parallelLevel is the lowest level at which the two subtrees of a stale
// node are hashed concurrently, at levels that are multiples of
// blockLevels: each child is then the root of a block (see store), so
// workers never write to the same block.
const parallelLevel = 12

// splits reports whether the two subtrees of x are hashed concurrently
// when both are stale.
func splits(x NodeIndex) bool {
	k := x.Level()
	return k >= parallelLevel && k%blockLevels == 0
}

// appendVec appends opaque v<V> with a minimal varint length (§2.1.2).
func appendVec(b, v []byte) []byte {
	return append(appendVarint(b, len(v)), v...)
}

// appendVarint appends n, less than 2^30, as a minimal varint (§2.1.2).
func appendVarint(b []byte, n int) []byte {
	switch {
	case n < 1<<6:
		return append(b, byte(n))
	case n < 1<<14:
		return append(b, 0x40|byte(n>>8), byte(n))
	}
	return append(b, 0x80|byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

func appendUint32(b []byte, v uint32) []byte {
	return append(b, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

// appendLeafHashInput appends the TreeHashInput of leaf i with encoding d
// (nil when blank).
func appendLeafHashInput(b []byte, i LeafIndex, d []byte) []byte {
	b = append(b, byte(NodeTypeLeaf))
	b = appendUint32(b, uint32(i))
	if d == nil {
		return append(b, 0)
	}
	return append(append(b, 1), d...)
}

// appendParentHashInput appends the TreeHashInput of a parent with
// encoding d (nil when blank) and children hashes l and r.
func appendParentHashInput(b, d, l, r []byte) []byte {
	b = append(b, byte(NodeTypeParent))
	if d == nil {
		b = append(b, 0)
	} else {
		b = append(append(b, 1), d...)
	}
	return appendVec(appendVec(b, l), r)
}

// TreeHash returns the tree hash of the root (§7.8), nil for an empty tree.
// It rehashes only the nodes changed since the last call.
func (t *Tree) TreeHash() []byte {
	if t.n == 0 {
		return nil
	}
	return t.NodeHash(Root(t.n))
}

// NodeHash returns the tree hash of the subtree under x, nil if x is
// outside the tree.
func (t *Tree) NodeHash(x NodeIndex) []byte {
	if !t.has(x) {
		return nil
	}
	t.refresh(x)
	return bytes.Clone(t.st.hash(x))
}

// refresh brings the cached hash of x up to date.
func (t *Tree) refresh(x NodeIndex) {
	if t.st.get(x).hashOK() {
		return
	}
	if t.willSplit(x) {
		// Workers replace distinct blocks, never a shared middle block.
		t.st.ownMids()
	}
	buf := make([]byte, 0, 512)
	t.hashNode(x, &buf)
}

// willSplit reports whether rehashing x will hash two subtrees
// concurrently: whether, following stale nodes down from x, some node
// that splits has two stale children.
func (t *Tree) willSplit(x NodeIndex) bool {
	for !x.IsLeaf() && x.Level() >= parallelLevel {
		l, r := !t.st.get(x.Left()).hashOK(), !t.st.get(x.Right()).hashOK()
		switch {
		case l && r:
			if splits(x) {
				return true
			}
			return t.willSplit(x.Left()) || t.willSplit(x.Right())
		case l:
			x = x.Left()
		case r:
			x = x.Right()
		default:
			return false
		}
	}
	return false
}

// hashNode recomputes the stale hashes under x, x included.
func (t *Tree) hashNode(x NodeIndex, buf *[]byte) {
	nd := t.st.get(x)
	if nd.hashOK() {
		return
	}
	if x.IsLeaf() {
		*buf = appendLeafHashInput((*buf)[:0], x.Leaf(), nd.data)
		t.cs.AppendHash(t.st.hashSlot(x), *buf)
		return
	}
	l, r := x.Left(), x.Right()
	if splits(x) && !t.st.get(l).hashOK() && !t.st.get(r).hashOK() {
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := make([]byte, 0, 512)
			t.hashNode(r, &b)
		}()
		t.hashNode(l, buf)
		wg.Wait()
	} else {
		t.hashNode(l, buf)
		t.hashNode(r, buf)
	}
	*buf = appendParentHashInput((*buf)[:0], t.st.get(x).data, t.st.hash(l), t.st.hash(r))
	t.cs.AppendHash(t.st.hashSlot(x), *buf)
}

// originalHash returns the tree hash of x in the tree where the leaves in
// excluded (sorted) are blank and removed from every unmerged_leaves list:
// the original_sibling_tree_hash of §7.9. Subtrees holding no excluded
// leaf use the cached hash, so the cost is O(len(excluded) · log n).
func (t *Tree) originalHash(x NodeIndex, excluded []LeafIndex, buf *[]byte) ([]byte, error) {
	lo, hi := subtreeLeaves(x)
	if !anyInRange(excluded, lo, hi) {
		return t.st.hash(x), nil
	}
	if x.IsLeaf() {
		*buf = appendLeafHashInput((*buf)[:0], x.Leaf(), nil)
		return t.cs.Hash(*buf), nil
	}
	lh, err := t.originalHash(x.Left(), excluded, buf)
	if err != nil {
		return nil, err
	}
	rh, err := t.originalHash(x.Right(), excluded, buf)
	if err != nil {
		return nil, err
	}
	d := t.st.get(x).data
	if d != nil {
		v, ok := parseParent(d)
		if !ok {
			return nil, internalErr("stored parent %d does not parse", x)
		}
		var keep []LeafIndex
		for i := 0; i < len(v.unmerged)/4; i++ {
			if l := unmergedAt(v.unmerged, i); !contains(excluded, l) {
				keep = append(keep, l)
			}
		}
		d = encodeParent(v.key, v.parentHash, keep)
	}
	*buf = appendParentHashInput((*buf)[:0], d, lh, rh)
	return t.cs.Hash(*buf), nil
}

// anyInRange reports whether the sorted list has an element in [lo, hi).
func anyInRange(sorted []LeafIndex, lo, hi LeafIndex) bool {
	i, j := 0, len(sorted)
	for i < j {
		m := int(uint(i+j) >> 1)
		if sorted[m] < lo {
			i = m + 1
		} else {
			j = m
		}
	}
	return i < len(sorted) && sorted[i] < hi
}

func contains(sorted []LeafIndex, l LeafIndex) bool {
	return anyInRange(sorted, l, l+1)
}

// CheckTreeHash compares the root tree hash with want, as a joiner does
// with the GroupInfo's tree_hash (§12.4.3.1).
func (t *Tree) CheckTreeHash(want []byte) error {
	if got := t.TreeHash(); !bytes.Equal(got, want) {
		return fmt.Errorf("%w: got %x, want %x", ErrTreeHash, got, want)
	}
	return nil
}
