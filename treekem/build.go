package treekem

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/mlsengine/engine/internal/parallel"
	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/mls/wire"
)

// UnmarshalTree builds a tree from a ratchet_tree encoding
// (`optional<Node> ratchet_tree<V>`, §12.4.3.3), copying data.
//
// It checks the tree's structure: strict decoding of every node, node types
// at leaf and parent positions, a non-blank last node, key sizes, the
// unmerged_leaves rules of §7.1 and §12.4.3.1, and the uniqueness of every
// encryption and signature key. It does not verify signatures, parent
// hashes or credentials: a tree received from another party must also pass
// Validate; a tree loaded from trusted storage need not.
//
// Memory use is linear in the number of nodes, blank ones included, and a
// blank node takes one byte of the encoding: a tree received from the
// network should be decoded with UnmarshalTreeLimit.
func UnmarshalTree(cs *suite.Suite, data []byte) (*Tree, error) {
	return unmarshalTree(cs, data, maxLeaves)
}

// ErrTreeTooLarge reports a ratchet tree with more leaves than the caller
// accepts. See TreeSizeError.
var ErrTreeTooLarge = errors.New("treekem: ratchet tree too large")

// TreeSizeError reports a ratchet tree whose encoding has more leaves,
// blank ones included, than Max. It matches ErrTreeTooLarge.
type TreeSizeError struct {
	Max uint32 // the largest number of leaves accepted
}

func (e *TreeSizeError) Error() string {
	return fmt.Sprintf("treekem: ratchet tree of more than %d leaves", e.Max)
}

// Unwrap makes errors.Is(err, ErrTreeTooLarge) true.
func (e *TreeSizeError) Unwrap() error { return ErrTreeTooLarge }

// UnmarshalTreeLimit is UnmarshalTree for a tree received from another
// party: it fails with a *TreeSizeError if the encoding has more than
// maxLeaves leaves, blank ones included (more than 2*maxLeaves-1 nodes).
// The limit is checked while the node boundaries are read, before any
// per-node state is allocated: the ratchet_tree encoding (§12.4.3.3) lets
// a few bytes per blank node declare a tree whose state is far larger, so
// the limit bounds the memory a decoded tree can take. A maxLeaves of 0 or
// above the largest tree a Tree holds (2^30 leaves) means that largest
// size.
func UnmarshalTreeLimit(cs *suite.Suite, data []byte, maxLeaves uint32) (*Tree, error) {
	return unmarshalTree(cs, data, maxLeaves)
}

func unmarshalTree(cs *suite.Suite, data []byte, limit uint32) (*Tree, error) {
	if cs == nil {
		return nil, fmt.Errorf("%w: nil cipher suite", ErrInvalidArgument)
	}
	if limit == 0 || limit > maxLeaves {
		limit = maxLeaves
	}
	maxNodes := 2*int(limit) - 1
	data = bytes.Clone(data) // the nodes alias this private copy
	// First find each node's bytes, then decode the nodes strictly, on all
	// cores for a large tree.
	r := wire.NewReader(data)
	var nodes [][]byte
	tooLarge := false
	ok := r.ReadList(func(r *wire.Reader) bool {
		if len(nodes) == maxNodes {
			tooLarge = true
			return r.Fail("too many nodes")
		}
		var present bool
		var raw []byte
		leaf := len(nodes)%2 == 0
		if !r.ReadOptional(&present, func(r *wire.Reader) bool {
			var nt uint8
			if !r.ReadUint8(&nt) {
				return false
			}
			switch {
			case NodeType(nt) == NodeTypeLeaf && leaf:
				var v leafView
				return r.ReadRaw(&raw, func(r *wire.Reader) bool { return readLeafView(r, &v) })
			case NodeType(nt) == NodeTypeParent && !leaf:
				var v parentView
				return r.ReadRaw(&raw, func(r *wire.Reader) bool { return readParentView(r, &v) })
			default:
				return r.Fail("node type does not match its position")
			}
		}) {
			return false
		}
		nodes = append(nodes, raw)
		return true
	})
	if tooLarge {
		return nil, &TreeSizeError{Max: limit}
	}
	if !ok || !r.Empty() {
		reason := r.Reason()
		if reason == "" {
			reason = "trailing bytes"
		}
		return nil, fmt.Errorf("%w: %w", ErrMalformedTree, &wire.DecodeError{Type: "ratchet_tree", Reason: reason})
	}
	if err := decodeNodes(nodes); err != nil {
		return nil, err
	}
	return buildTree(cs, nodes)
}

// decodeNodes decodes every node strictly, as LeafNode and ParentNode
// would, returning the error of the first node in order that fails.
func decodeNodes(nodes [][]byte) error {
	return parallel.Blocks(len(nodes), 512, func(lo, hi int) error {
		for i := lo; i < hi; i++ {
			var err error
			switch {
			case nodes[i] == nil:
				continue
			case i%2 == 0:
				var ln LeafNode
				err = wire.Unmarshal(nodes[i], &ln)
			default:
				var pn ParentNode
				err = wire.Unmarshal(nodes[i], &pn)
			}
			if err != nil {
				return &NodeError{Node: NodeIndex(i), Reason: "malformed node", Err: fmt.Errorf("%w: %w", ErrMalformedTree, err)}
			}
		}
		return nil
	})
}

// NewTreeFromNodes builds a tree from a decoded ratchet tree, with the
// checks of UnmarshalTree.
func NewTreeFromNodes(cs *suite.Suite, nodes NodeList) (*Tree, error) {
	data, err := wire.Marshal(nodes)
	if err != nil {
		return nil, err
	}
	return UnmarshalTree(cs, data)
}

// buildTree builds a tree from node encodings (nil for blank), which it
// keeps. Leaf encodings must be LeafNodes and parent encodings ParentNodes
// that decode.
func buildTree(cs *suite.Suite, nodes [][]byte) (*Tree, error) {
	t, err := NewTree(cs)
	if err != nil {
		return nil, err
	}
	w := uint64(len(nodes))
	if w == 0 {
		return nil, fmt.Errorf("%w: no nodes", ErrMalformedTree)
	}
	if nodes[w-1] == nil {
		return nil, nodeErr(NodeIndex(w-1), ErrMalformedTree, "last node is blank (§12.4.3.3)")
	}
	n := uint64(1)
	for 2*n-1 < w {
		n *= 2
	}
	if n > maxLeaves {
		return nil, fmt.Errorf("%w: too many nodes", ErrMalformedTree)
	}
	t.n = uint32(n)
	t.st.grow(NodeWidth(t.n))
	members := 0
	for i, d := range nodes {
		if d == nil {
			continue
		}
		x := NodeIndex(i)
		var key []byte
		if x.IsLeaf() {
			key, _ = leafKeys(d)
			members++
		} else {
			key = parentKey(d)
		}
		if len(key) != t.npk {
			return nil, nodeErr(x, ErrMalformedTree, "encryption key of %d bytes, want %d", len(key), t.npk)
		}
		t.st.mut(x).data = d
	}
	t.computeCounts()
	if err := t.checkUnmerged(); err != nil {
		return nil, err
	}
	t.enc = newKeyIndex(t.seed, len(nodes))
	t.sig = newKeyIndex(t.seed, members)
	if err := t.indexAll(); err != nil {
		return nil, err
	}
	return t, nil
}

// computeCounts sets the leaves and filled counts of every node, level by
// level.
func (t *Tree) computeCounts() {
	w := NodeWidth(t.n)
	for x := NodeIndex(0); uint32(x) < w; x += 2 {
		nd := t.st.mut(x)
		nd.setCounts(0, 0)
		if nd.data != nil {
			nd.setCounts(1, 1)
		}
	}
	for k := uint(1); k <= t.level(); k++ {
		for x := NodeIndex(1<<k - 1); uint32(x) < w; x += 1 << (k + 1) {
			l, r := t.st.get(x.Left()), t.st.get(x.Right())
			nd := t.st.mut(x)
			f := l.filled() + r.filled()
			if nd.data != nil {
				f++
			}
			nd.setCounts(l.leaves+r.leaves, f)
		}
	}
}

// indexAll indexes every key and capability of the tree, failing on a
// duplicate key.
func (t *Tree) indexAll() error {
	ks := keySource{st: &t.st}
	ss := keySource{st: &t.st, sig: true}
	for x := NodeIndex(0); uint32(x) < NodeWidth(t.n); x++ {
		d := t.st.get(x).data
		if d == nil {
			continue
		}
		if x.IsLeaf() {
			v, ok := parseLeaf(d)
			if !ok {
				return internalErr("leaf %d does not parse", x.Leaf())
			}
			if y, ok := t.enc.insert(ks, x, v.enc); !ok {
				return nodeErr(x, ErrDuplicateKey, "encryption key also at node %d", y)
			}
			if y, ok := t.sig.insert(ss, x, v.sig); !ok {
				return nodeErr(x, ErrDuplicateKey, "signature key also at leaf %d", y.Leaf())
			}
			t.caps.add(&v, 1)
			continue
		}
		if y, ok := t.enc.insert(ks, x, parentKey(d)); !ok {
			return nodeErr(x, ErrDuplicateKey, "encryption key also at node %d", y)
		}
	}
	return nil
}

// checkUnmerged checks every parent's unmerged_leaves (§7.1, §12.4.3.1):
// sorted, each a non-blank leaf under the parent, and listed by every
// non-blank node between the leaf and the parent.
func (t *Tree) checkUnmerged() error {
	for x := NodeIndex(1); uint32(x) < NodeWidth(t.n); x += 2 {
		d := t.st.get(x).data
		if d == nil {
			continue
		}
		v, ok := parseParent(d)
		if !ok {
			return internalErr("parent %d does not parse", x)
		}
		for i := 0; i < len(v.unmerged)/4; i++ {
			l := unmergedAt(v.unmerged, i)
			if i > 0 && l <= unmergedAt(v.unmerged, i-1) {
				return nodeErr(x, ErrMalformedTree, "unmerged_leaves not in increasing order (§7.1)")
			}
			if !isUnder(l, x) || t.IsBlank(l.Node()) {
				return nodeErr(x, ErrMalformedTree, "unmerged leaf %d is not a member under the node (§12.4.3.1)", l)
			}
			for y := l.Node().Parent(); y != x; y = y.Parent() {
				yd := t.st.get(y).data
				if yd == nil {
					continue
				}
				yv, _ := parseParent(yd)
				if !unmergedHas(yv.unmerged, l) {
					return nodeErr(y, ErrMalformedTree, "does not list leaf %d, unmerged at ancestor %d (§12.4.3.1)", l, x)
				}
			}
		}
	}
	return nil
}

// unmergedHas reports whether a sorted unmerged_leaves body lists l.
func unmergedHas(u []byte, l LeafIndex) bool {
	i, j := 0, len(u)/4
	for i < j {
		m := int(uint(i+j) >> 1)
		if unmergedAt(u, m) < l {
			i = m + 1
		} else {
			j = m
		}
	}
	return i < len(u)/4 && unmergedAt(u, i) == l
}

// MarshalMLS encodes the tree as `optional<Node> ratchet_tree<V>`
// (§12.4.3.3), without trailing blank nodes. It copies the stored node
// encodings, decoding nothing.
func (t *Tree) MarshalMLS(b *wire.Builder) {
	last, ok := t.lastNonBlank()
	b.AddVectorFunc(func(b *wire.Builder) {
		if !ok {
			return
		}
		for x := NodeIndex(0); x <= last; x++ {
			d := t.st.get(x).data
			if d == nil {
				b.AddUint8(0)
				continue
			}
			b.AddUint8(1)
			if x.IsLeaf() {
				b.AddUint8(uint8(NodeTypeLeaf))
			} else {
				b.AddUint8(uint8(NodeTypeParent))
			}
			b.AddFixed(d)
		}
	})
}

// RatchetTree returns the ratchet_tree encoding of the tree (the value of
// the ratchet_tree extension, and the tree's snapshot form).
func (t *Tree) RatchetTree() ([]byte, error) { return wire.Marshal(t) }

// Nodes returns the tree as a decoded NodeList, without trailing blanks.
func (t *Tree) Nodes() NodeList {
	last, ok := t.lastNonBlank()
	if !ok {
		return nil
	}
	nl := make(NodeList, last+1)
	for x := range nl {
		ni := NodeIndex(x)
		if ni.IsLeaf() {
			if ln, ok := t.Leaf(ni.Leaf()); ok {
				nl[x] = &Node{Leaf: ln}
			}
		} else if p, ok := t.Parent(ni); ok {
			nl[x] = &Node{Parent: p}
		}
	}
	return nl
}
