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
// Time and memory are linear in the number of nodes, blank ones included,
// and a blank node takes one byte of the encoding: a tree received from the
// network should be decoded with UnmarshalTreeLimit.
func UnmarshalTree(cs *suite.Suite, data []byte) (*Tree, error) {
	return unmarshalTree(cs, data, maxLeaves, false)
}

// ErrTreeTooLarge reports a ratchet tree with more leaves than the caller
// accepts, or more blank leaves than its members justify. See
// TreeSizeError.
var ErrTreeTooLarge = errors.New("treekem: ratchet tree too large")

// TreeSizeError reports a ratchet tree whose encoding has more leaves,
// blank ones included, than Max. It matches ErrTreeTooLarge.
type TreeSizeError struct {
	// Max is the largest number of leaves accepted: the caller's bound,
	// or for a sparse tree (Sparse) max(SparseTreeLeaves,
	// LeavesPerMember*Members).
	Max uint32
	// Sparse reports a tree refused for its blank leaves: it has Leaves
	// leaves in its encoding for only Members members.
	Sparse          bool
	Leaves, Members uint32
}

func (e *TreeSizeError) Error() string {
	if e.Sparse {
		return fmt.Sprintf("treekem: ratchet tree of %d leaves for %d members, more than the %d accepted (max(%d, %d per member))",
			e.Leaves, e.Members, e.Max, SparseTreeLeaves, LeavesPerMember)
	}
	return fmt.Sprintf("treekem: ratchet tree of more than %d leaves", e.Max)
}

// Unwrap makes errors.Is(err, ErrTreeTooLarge) true.
func (e *TreeSizeError) Unwrap() error { return ErrTreeTooLarge }

// A received tree may have blank leaves (members removed), but each one
// costs its receiver hashing (§7.8 hashes every leaf, blank or not, with
// its index) and memory, while costing its sender a single byte of the
// encoding. UnmarshalTreeLimit therefore accepts at most
// max(SparseTreeLeaves, LeavesPerMember × members) leaves: a tree's blank
// leaves then cost less to hash than verifying its members' signatures
// (§12.4.3.1), which every joiner must do anyway, and decoding and hashing
// a received tree cost O(non-blank nodes + encoded size) time and memory.
const (
	// SparseTreeLeaves is the size up to which a tree may be arbitrarily
	// sparse: hashing 2^17 nodes takes a few tens of milliseconds.
	SparseTreeLeaves = 1 << 16
	// LeavesPerMember is how many leaves, blank ones included, a larger
	// tree may have per member.
	LeavesPerMember = 16
)

// UnmarshalTreeLimit is UnmarshalTree for a tree received from another
// party, bounded by what it costs to decode, validate and hash. It fails
// with a *TreeSizeError if the encoding has more than maxLeaves leaves,
// blank ones included (more than 2*maxLeaves-1 nodes), or more than
// max(SparseTreeLeaves, LeavesPerMember × members) leaves. The bounds are
// checked while the node boundaries are read, before any per-node state is
// allocated (the scan keeps only the non-blank nodes): the ratchet_tree
// encoding (§12.4.3.3) lets one byte per blank node declare a tree whose
// state is far larger. A maxLeaves of 0 or above the largest tree a Tree
// holds (2^30 leaves) means that largest size.
func UnmarshalTreeLimit(cs *suite.Suite, data []byte, maxLeaves uint32) (*Tree, error) {
	return unmarshalTree(cs, data, maxLeaves, true)
}

// rawNode is a non-blank node of a ratchet_tree encoding: its index and
// the bounds of its LeafNode or ParentNode encoding in the input.
type rawNode struct {
	x        NodeIndex
	off, end int
}

func unmarshalTree(cs *suite.Suite, data []byte, limit uint32, bounded bool) (*Tree, error) {
	if cs == nil {
		return nil, fmt.Errorf("%w: nil cipher suite", ErrInvalidArgument)
	}
	if limit == 0 || limit > maxLeaves {
		limit = maxLeaves
	}
	width, raw, err := scanTree(data, 2*int(limit)-1)
	if err != nil {
		if errors.Is(err, ErrTreeTooLarge) {
			return nil, &TreeSizeError{Max: limit}
		}
		return nil, err
	}
	if width == 0 {
		return nil, fmt.Errorf("%w: no nodes", ErrMalformedTree)
	}
	if len(raw) == 0 || raw[len(raw)-1].x != NodeIndex(width-1) {
		return nil, nodeErr(NodeIndex(width-1), ErrMalformedTree, "last node is blank (§12.4.3.3)")
	}
	if bounded {
		leaves, members := uint64(width+1)/2, uint64(0)
		for _, n := range raw {
			if n.x.IsLeaf() {
				members++
			}
		}
		if bound := max(SparseTreeLeaves, LeavesPerMember*members); leaves > bound {
			return nil, &TreeSizeError{Max: uint32(min(bound, uint64(limit))), Sparse: true, Leaves: uint32(leaves), Members: uint32(members)}
		}
	}
	data = bytes.Clone(data) // the nodes alias this private copy
	nodes := make([]sparseNode, len(raw))
	for i, n := range raw {
		nodes[i] = sparseNode{x: n.x, data: data[n.off:n.end:n.end]}
	}
	if err := decodeNodes(nodes); err != nil {
		return nil, err
	}
	return buildSparse(cs, uint64(width), nodes)
}

// scanTree finds the node boundaries of a ratchet_tree encoding: it returns
// the number of nodes and the non-blank ones, failing with ErrTreeTooLarge
// past maxNodes nodes. A blank node is one byte and costs one comparison.
func scanTree(data []byte, maxNodes int) (int, []rawNode, error) {
	malformed := func(reason string) error {
		return fmt.Errorf("%w: %w", ErrMalformedTree, &wire.DecodeError{Type: "ratchet_tree", Reason: reason})
	}
	r := wire.NewReader(data)
	var body []byte
	if !r.ReadVector(&body) {
		return 0, nil, malformed(r.Reason())
	}
	if !r.Empty() {
		return 0, nil, malformed("trailing bytes")
	}
	hdr := len(data) - r.Len() - len(body)
	var raw []rawNode
	width := 0
	for pos := 0; pos < len(body); width++ {
		if width == maxNodes {
			return 0, nil, ErrTreeTooLarge
		}
		switch body[pos] { // optional<Node>'s presence byte (§2.1.1)
		case 0:
			pos++
			continue
		case 1:
		default:
			return 0, nil, malformed("optional presence byte not 0 or 1")
		}
		nr := wire.NewReader(body[pos+1:])
		var nt uint8
		ok := nr.ReadUint8(&nt)
		switch leaf := width%2 == 0; {
		case !ok:
		case NodeType(nt) == NodeTypeLeaf && leaf:
			var v leafView
			ok = readLeafView(nr, &v)
		case NodeType(nt) == NodeTypeParent && !leaf:
			var v parentView
			ok = readParentView(nr, &v)
		default:
			ok = nr.Fail("node type does not match its position")
		}
		if !ok {
			return 0, nil, malformed(nr.Reason())
		}
		next := len(body) - nr.Len()
		raw = append(raw, rawNode{x: NodeIndex(width), off: hdr + pos + 2, end: hdr + next})
		pos = next
	}
	return width, raw, nil
}

// sparseNode is a non-blank node and its encoding.
type sparseNode struct {
	x    NodeIndex
	data []byte
}

// decodeNodes decodes every node strictly, as LeafNode and ParentNode
// would, returning the error of the first node in order that fails.
func decodeNodes(nodes []sparseNode) error {
	return parallel.Blocks(len(nodes), 256, func(lo, hi int) error {
		for _, n := range nodes[lo:hi] {
			var err error
			if n.x.IsLeaf() {
				var ln LeafNode
				err = wire.Unmarshal(n.data, &ln)
			} else {
				var pn ParentNode
				err = wire.Unmarshal(n.data, &pn)
			}
			if err != nil {
				return &NodeError{Node: n.x, Reason: "malformed node", Err: fmt.Errorf("%w: %w", ErrMalformedTree, err)}
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

// buildTree builds a tree from node encodings in array order (nil for
// blank), which it keeps; see buildSparse.
func buildTree(cs *suite.Suite, nodes [][]byte) (*Tree, error) {
	var sparse []sparseNode
	for i, d := range nodes {
		if d != nil {
			sparse = append(sparse, sparseNode{x: NodeIndex(i), data: d})
		}
	}
	if len(nodes) > 0 && nodes[len(nodes)-1] == nil {
		return nil, nodeErr(NodeIndex(len(nodes)-1), ErrMalformedTree, "last node is blank (§12.4.3.3)")
	}
	return buildSparse(cs, uint64(len(nodes)), sparse)
}

// buildSparse builds a tree of width nodes from its non-blank nodes, in
// increasing order, whose encodings it keeps. Leaf encodings must be
// LeafNodes and parent encodings ParentNodes that decode.
func buildSparse(cs *suite.Suite, w uint64, nodes []sparseNode) (*Tree, error) {
	t, err := NewTree(cs)
	if err != nil {
		return nil, err
	}
	if w == 0 {
		return nil, fmt.Errorf("%w: no nodes", ErrMalformedTree)
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
	for _, nd := range nodes {
		x, d := nd.x, nd.data
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
			if y, _, ok := t.enc.insert(ks, x, v.enc); !ok {
				return nodeErr(x, ErrDuplicateKey, "encryption key also at node %d", y)
			}
			if y, _, ok := t.sig.insert(ss, x, v.sig); !ok {
				return nodeErr(x, ErrDuplicateKey, "signature key also at leaf %d", y.Leaf())
			}
			t.caps.add(&v, 1)
			continue
		}
		if y, _, ok := t.enc.insert(ks, x, parentKey(d)); !ok {
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
	b.AddVarint(uint64(t.nodesSize()))
	last, ok := t.lastNonBlank()
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
}

// nodesSize returns the size of the body of the tree's encoding, the
// optional<Node> of each node up to the last non-blank one.
func (t *Tree) nodesSize() int {
	last, ok := t.lastNonBlank()
	if !ok {
		return 0
	}
	n := 0
	for x := NodeIndex(0); x <= last; x++ {
		n++
		if d := t.st.get(x).data; d != nil {
			n += 1 + len(d)
		}
	}
	return n
}

// RatchetTree returns the ratchet_tree encoding of the tree (the value of
// the ratchet_tree extension, and the tree's snapshot form), built in a
// buffer of its exact size.
func (t *Tree) RatchetTree() ([]byte, error) {
	n := t.nodesSize()
	return wire.AppendMarshal(make([]byte, 0, wire.VarintLen(uint64(n))+n), t)
}

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
