package treekem

import "math/bits"

// Array-based tree math (RFC 9420 Appendix C). Leaves sit at even node
// indices (leaf i at node 2i), parents at odd indices. Every function takes
// the number of leaves n of the tree; ratchet trees always have a power of
// two leaves (§7.7), but the math is defined for any n >= 1.

// NodeIndex is an index into the array representation of a tree.
type NodeIndex uint32

// LeafIndex is the index of a leaf among the leaves (leaf i is node 2i).
type LeafIndex uint32

// Node returns the node index of leaf i.
func (i LeafIndex) Node() NodeIndex { return NodeIndex(2 * uint32(i)) }

// IsLeaf reports whether x is a leaf node.
func (x NodeIndex) IsLeaf() bool { return x&1 == 0 }

// Leaf returns the leaf index of the leaf node x; x must be a leaf.
func (x NodeIndex) Leaf() LeafIndex { return LeafIndex(x >> 1) }

// Level is the height of x above the leaves: 0 for leaves, the number of
// trailing one bits for parents.
func (x NodeIndex) Level() uint { return uint(bits.TrailingZeros32(^uint32(x))) }

// NodeWidth is the number of nodes in a tree with n leaves.
func NodeWidth(n uint32) uint32 {
	if n == 0 {
		return 0
	}
	return 2*(n-1) + 1
}

// Root is the root node of a tree with n leaves (n >= 1).
func Root(n uint32) NodeIndex {
	w := NodeWidth(n)
	return NodeIndex(uint32(1)<<(bits.Len32(w)-1) - 1)
}

// Left is the left child of the parent node x.
func (x NodeIndex) Left() NodeIndex {
	k := x.Level()
	return x ^ NodeIndex(1)<<(k-1)
}

// Right is the right child of the parent node x.
func (x NodeIndex) Right() NodeIndex {
	k := x.Level()
	return x ^ NodeIndex(3)<<(k-1)
}

// Parent is the parent of x in a tree with n leaves. It must not be called
// on the root.
func (x NodeIndex) Parent() NodeIndex {
	k := x.Level()
	b := (x >> (k + 1)) & 1
	return (x | 1<<k) ^ (b << (k + 1))
}

// Sibling is the other child of x's parent.
func (x NodeIndex) Sibling() NodeIndex {
	p := x.Parent()
	if x < p {
		return p.Right()
	}
	return p.Left()
}

// DirectPath returns the direct path of x in a tree with n leaves, ordered
// from x's parent to the root (empty for the root).
func DirectPath(x NodeIndex, n uint32) []NodeIndex {
	r := Root(n)
	var d []NodeIndex
	for x != r {
		x = x.Parent()
		d = append(d, x)
	}
	return d
}

// Copath returns the copath of x in a tree with n leaves, ordered from the
// leaf side to the root side: the sibling of x, then of each node of the
// direct path except the root.
func Copath(x NodeIndex, n uint32) []NodeIndex {
	r := Root(n)
	var c []NodeIndex
	for x != r {
		c = append(c, x.Sibling())
		x = x.Parent()
	}
	return c
}

// CommonAncestor returns the lowest node that is in the direct paths (or is
// one) of both x and y.
func CommonAncestor(x, y NodeIndex) NodeIndex {
	lx, ly := x.Level()+1, y.Level()+1
	if lx <= ly && x>>ly == y>>ly {
		return y
	}
	if ly <= lx && x>>lx == y>>lx {
		return x
	}
	k := uint(0)
	for x != y {
		x, y = x>>1, y>>1
		k++
	}
	return x<<k + 1<<(k-1) - 1
}

// InTree reports whether x is a node of a tree with n leaves.
func (x NodeIndex) InTree(n uint32) bool { return uint32(x) < NodeWidth(n) }
