package treekem

import (
	"fmt"

	"github.com/mlsengine/engine/mls/wire"
)

// The operations of §7.7 and §12.1.1-§12.1.3. Each one checks everything
// before changing anything, so on error the tree is unchanged. None of them
// validates the LeafNode beyond its keys (see ValidateLeaf).

// encodeLeaf returns the encoding of ln after checking that it decodes
// again (so that what is stored is what a peer would accept) and that its
// encryption key has the suite's size.
func (t *Tree) encodeLeaf(ln *LeafNode) ([]byte, error) {
	if ln == nil {
		return nil, fmt.Errorf("%w: nil leaf node", ErrInvalidArgument)
	}
	data, err := marshalLeaf(ln)
	if err != nil {
		return nil, err
	}
	return data, t.checkLeafEncoding(ln, data)
}

// checkLeafEncoding checks that data, the encoding of ln, decodes back
// and that ln's encryption key has the suite's size.
func (t *Tree) checkLeafEncoding(ln *LeafNode, data []byte) error {
	var check LeafNode
	if err := wire.Unmarshal(data, &check); err != nil {
		return fmt.Errorf("%w: leaf node does not encode canonically: %w", ErrInvalidArgument, err)
	}
	if len(ln.EncryptionKey) != t.npk {
		return fmt.Errorf("%w: encryption key of %d bytes, want %d", ErrInvalidLeafNode, len(ln.EncryptionKey), t.npk)
	}
	return nil
}

// checkLeafKeys checks that a leaf with the given keys may be stored at leaf
// i (§7.3): its encryption key appears nowhere in the tree (so it also
// differs from the key of the leaf it replaces), and its signature key at no
// other leaf.
func (t *Tree) checkLeafKeys(i LeafIndex, enc, sig []byte) error {
	if x, ok := t.FindEncryptionKey(enc); ok {
		if x == i.Node() {
			return leafErr(i, "encryption key equals the replaced leaf's", ErrDuplicateKey)
		}
		return leafErr(i, fmt.Sprintf("encryption key already used by node %d", x), ErrDuplicateKey)
	}
	if j, ok := t.FindSignatureKey(sig); ok && j != i {
		return leafErr(i, fmt.Sprintf("signature key already used by leaf %d", j), ErrDuplicateKey)
	}
	return nil
}

// FreeLeaf returns the leftmost blank leaf, extending the tree first if
// every leaf is taken (§12.1.1). The group layer uses it to place the sender
// of an external commit (§12.4.3.2); AddLeaf calls it.
func (t *Tree) FreeLeaf() (LeafIndex, error) {
	if t.n == 0 || t.st.get(Root(t.n)).leaves == t.n {
		if err := t.extend(); err != nil {
			return 0, err
		}
	}
	x := Root(t.n)
	for !x.IsLeaf() {
		l := x.Left()
		if t.st.get(l).leaves < 1<<l.Level() {
			x = l
		} else {
			x = x.Right()
		}
	}
	return x.Leaf(), nil
}

// AddLeaf puts ln (the leaf_node of an Add's KeyPackage) at the leftmost
// blank leaf, extending the tree if needed, and adds it to the unmerged
// leaves of its non-blank ancestors (§12.1.1). It returns the new leaf's
// index.
func (t *Tree) AddLeaf(ln *LeafNode) (LeafIndex, error) {
	data, err := t.encodeLeaf(ln)
	if err != nil {
		return 0, err
	}
	// The new leaf's index is not known before FreeLeaf; no existing leaf
	// is replaced, so check against an index no member has.
	if err := t.checkLeafKeys(LeafIndex(1<<32-1), ln.EncryptionKey, ln.SignatureKey); err != nil {
		return 0, err
	}
	i, err := t.FreeLeaf()
	if err != nil {
		return 0, err
	}
	x := i.Node()
	t.setData(x, data)
	for y := x; y != Root(t.n); {
		y = y.Parent()
		d := t.st.get(y).data
		if d == nil {
			continue
		}
		v, _ := parseParent(d)
		t.st.mut(y).data = encodeParent(v.key, v.parentHash, insertSorted(v.unmerged, i))
	}
	t.fixPath(x)
	return i, nil
}

// insertSorted returns the entries of an unmerged_leaves body with l added
// in order.
func insertSorted(u []byte, l LeafIndex) []LeafIndex {
	out := make([]LeafIndex, 0, len(u)/4+1)
	done := false
	for i := 0; i < len(u)/4; i++ {
		e := unmergedAt(u, i)
		if !done && l < e {
			out = append(out, l)
			done = true
		}
		if e != l {
			out = append(out, e)
		}
	}
	if !done {
		out = append(out, l)
	}
	return out
}

// UpdateLeaf replaces member i's LeafNode with ln (an Update proposal's)
// and blanks the nodes on i's direct path (§12.1.2).
func (t *Tree) UpdateLeaf(i LeafIndex, ln *LeafNode) error {
	if !t.IsMember(i) {
		return fmt.Errorf("%w: leaf %d", ErrNoLeaf, i)
	}
	data, err := t.encodeLeaf(ln)
	if err != nil {
		return err
	}
	if err := t.checkLeafKeys(i, ln.EncryptionKey, ln.SignatureKey); err != nil {
		return err
	}
	t.blankDirectPath(i)
	t.setData(i.Node(), data)
	t.fixPath(i.Node())
	return nil
}

// RemoveLeaf blanks member i's leaf and direct path, then truncates the
// tree while its right half has no member (§12.1.3).
func (t *Tree) RemoveLeaf(i LeafIndex) error {
	if !t.IsMember(i) {
		return fmt.Errorf("%w: leaf %d", ErrNoLeaf, i)
	}
	t.blankDirectPath(i)
	t.setData(i.Node(), nil)
	t.fixPath(i.Node())
	t.truncate()
	return nil
}

// blankDirectPath blanks the parents on leaf i's direct path; the caller
// calls fixPath.
func (t *Tree) blankDirectPath(i LeafIndex) {
	r := Root(t.n)
	for x := i.Node(); x != r; {
		x = x.Parent()
		if t.st.get(x).data != nil {
			t.setData(x, nil)
		}
	}
}
