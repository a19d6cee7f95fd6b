package treekem

import (
	"bytes"
	"fmt"
)

// parentHash returns the parent hash of a node with encryption key key and
// parent_hash ph whose copath child has original tree hash sibling: the
// hash of ParentHashInput (§7.9).
func (t *Tree) parentHash(key, ph, sibling []byte, buf *[]byte) []byte {
	return t.appendParentHash(nil, key, ph, sibling, buf)
}

// appendParentHash appends the parent hash of parentHash to dst.
func (t *Tree) appendParentHash(dst, key, ph, sibling []byte, buf *[]byte) []byte {
	*buf = appendVec(appendVec(appendVec((*buf)[:0], key), ph), sibling)
	return t.cs.AppendHash(dst, *buf)
}

// pathParentHashes computes the parent_hash fields for a path being set on
// the filtered direct path fdp with copath children copath and new keys
// keys (§7.9): ph[i] is the parent_hash of node fdp[i], and leafPH the one
// of the leaf. The copath subtrees are not touched by the path, so their
// current tree hashes are the original sibling tree hashes.
func (t *Tree) pathParentHashes(copath []NodeIndex, keys [][]byte) (ph [][]byte, leafPH []byte) {
	m := len(copath)
	ph = make([][]byte, m)
	if m == 0 {
		return ph, nil
	}
	buf := make([]byte, 0, 256)
	hashes := make([]byte, 0, m*t.nh) // one array for all
	ph[m-1] = []byte{}
	for i := m - 1; i >= 0; i-- {
		t.refresh(copath[i])
		n := len(hashes)
		hashes = t.appendParentHash(hashes, keys[i], ph[i], t.st.hash(copath[i]), &buf)
		h := hashes[n:len(hashes):len(hashes)]
		if i == 0 {
			leafPH = h
		} else {
			ph[i-1] = h
		}
	}
	return ph, leafPH
}

// VerifyParentHashes checks that every non-blank parent node is
// parent-hash valid (§7.9.2), top down: exactly one descendant's
// parent_hash is valid with respect to it. Joining members must run it (as
// part of Validate).
func (t *Tree) VerifyParentHashes() error {
	if t.n == 0 {
		return nil
	}
	t.refresh(Root(t.n))
	buf := make([]byte, 0, 256)
	for x := NodeIndex(1); uint32(x) < NodeWidth(t.n); x += 2 {
		if err := t.checkParentHash(x, &buf); err != nil {
			return err
		}
	}
	return nil
}

// checkParentHash checks parent x (§7.9.2); the tree hashes must be fresh.
// It only reads the tree.
func (t *Tree) checkParentHash(x NodeIndex, buf *[]byte) error {
	d := t.st.get(x).data
	if d == nil {
		return nil
	}
	v, ok := parseParent(d)
	if !ok {
		return internalErr("parent %d does not parse", x)
	}
	unmerged := make([]LeafIndex, len(v.unmerged)/4)
	for i := range unmerged {
		unmerged[i] = unmergedAt(v.unmerged, i)
	}
	matches := 0
	for _, c := range [2]NodeIndex{x.Left(), x.Right()} {
		s := c.Sibling()
		// §7.9.2: D is in the resolution of C, and the resolution of C
		// without D is P's unmerged leaves under C. So D is the one
		// resolution entry that is not an unmerged leaf of P.
		lo, hi := subtreeLeaves(c)
		under := countInRange(unmerged, lo, hi)
		res := t.appendResolution(nil, c, nil, under+1)
		if len(res) != under+1 {
			continue
		}
		var dNode NodeIndex
		others := 0
		for _, r := range res {
			if r.IsLeaf() && contains(unmerged, r.Leaf()) {
				continue
			}
			dNode = r
			others++
		}
		if others != 1 {
			continue
		}
		dph, ok := t.parentHashField(dNode)
		if !ok {
			continue
		}
		orig, err := t.originalHash(s, unmerged, buf)
		if err != nil {
			return err
		}
		if bytes.Equal(dph, t.parentHash(v.key, v.parentHash, orig, buf)) {
			matches++
		}
	}
	if matches != 1 {
		return nodeErr(x, ErrParentHash, "%d descendants are parent-hash valid with respect to it, want 1 (§7.9.2)", matches)
	}
	return nil
}

// parentHashField returns the parent_hash of node x: a parent's field, or
// a commit-source leaf's; other leaves have none.
func (t *Tree) parentHashField(x NodeIndex) ([]byte, bool) {
	d := t.st.get(x).data
	if x.IsLeaf() {
		v, ok := parseLeaf(d)
		if !ok || v.source != SourceCommit {
			return nil, false
		}
		return v.parentHash, true
	}
	v, ok := parseParent(d)
	return v.parentHash, ok
}

// countInRange returns the number of elements of sorted in [lo, hi).
func countInRange(sorted []LeafIndex, lo, hi LeafIndex) int {
	n := 0
	for _, l := range sorted {
		if l >= lo && l < hi {
			n++
		}
	}
	return n
}

// parentHashError reports a leaf whose parent_hash differs from the one
// computed for the path being merged.
func parentHashError(i LeafIndex, got, want []byte) error {
	return leafErr(i, fmt.Sprintf("parent_hash %x, want %x (§7.9.2)", got, want), ErrParentHash)
}
