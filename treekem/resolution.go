package treekem

// Resolution returns the resolution of node x (§4.1.1): the non-blank
// nodes covering every non-blank node under x, in left-to-right order, each
// non-blank node followed by its unmerged leaves. Blank subtrees are
// skipped without being visited, so the cost is O(len(result) · log n).
func (t *Tree) Resolution(x NodeIndex) []NodeIndex {
	if !t.has(x) {
		return nil
	}
	return t.appendResolution(nil, x, nil, -1)
}

// appendResolution appends the resolution of x, omitting the leaves in
// excluded (sorted). With limit >= 0 it stops once the result has more
// than limit entries.
func (t *Tree) appendResolution(res []NodeIndex, x NodeIndex, excluded []LeafIndex, limit int) []NodeIndex {
	if limit >= 0 && len(res) > limit {
		return res
	}
	nd := t.st.get(x)
	if nd.filled() == 0 {
		return res
	}
	if nd.data != nil {
		if x.IsLeaf() {
			if !contains(excluded, x.Leaf()) {
				res = append(res, x)
			}
			return res
		}
		res = append(res, x)
		v, _ := parseParent(nd.data)
		for i := 0; i < len(v.unmerged)/4; i++ {
			if l := unmergedAt(v.unmerged, i); !contains(excluded, l) {
				res = append(res, l.Node())
			}
		}
		return res
	}
	if x.IsLeaf() {
		return res
	}
	res = t.appendResolution(res, x.Left(), excluded, limit)
	return t.appendResolution(res, x.Right(), excluded, limit)
}

// hasResolution reports whether the resolution of x is non-empty.
func (t *Tree) hasResolution(x NodeIndex) bool { return t.st.get(x).filled() > 0 }

// FilteredDirectPath returns the filtered direct path of leaf i (§4.1.2):
// its direct path without the nodes whose copath child has an empty
// resolution, ordered from the leaf towards the root. Unmerged leaves,
// including leaves added by the current commit, count towards a
// resolution. The result is nil for a leaf outside the tree.
func (t *Tree) FilteredDirectPath(i LeafIndex) []NodeIndex {
	path, _ := t.filteredPath(i)
	return path
}

// filteredPath returns the filtered direct path of leaf i and, for each of
// its nodes, the child on i's copath.
func (t *Tree) filteredPath(i LeafIndex) (path, copath []NodeIndex) {
	if i >= LeafIndex(t.n) {
		return nil, nil
	}
	r := Root(t.n)
	path, copath = make([]NodeIndex, 0, t.level()), make([]NodeIndex, 0, t.level())
	for x := i.Node(); x != r; {
		p := x.Parent()
		s := x.Sibling()
		if t.hasResolution(s) {
			path = append(path, p)
			copath = append(copath, s)
		}
		x = p
	}
	return path, copath
}
