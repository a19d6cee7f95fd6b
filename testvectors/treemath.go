package testvectors

import (
	"fmt"

	"github.com/mlsengine/engine/treekem"
)

// TreeMath is a case of tree-math.json.
type TreeMath struct {
	NLeaves uint32    `json:"n_leaves"`
	NNodes  uint32    `json:"n_nodes"`
	Root    uint32    `json:"root"`
	Left    []*uint32 `json:"left"`
	Right   []*uint32 `json:"right"`
	Parent  []*uint32 `json:"parent"`
	Sibling []*uint32 `json:"sibling"`
}

// CipherSuite is 0: tree math is suite-independent.
func (c *TreeMath) CipherSuite() uint16 { return 0 }

// Verify checks node count, root, and each node's relatives.
func (c *TreeMath) Verify() error {
	if got := treekem.NodeWidth(c.NLeaves); got != c.NNodes {
		return fmt.Errorf("%w: n_nodes: got %d, want %d", ErrMismatch, got, c.NNodes)
	}
	root := treekem.Root(c.NLeaves)
	if uint32(root) != c.Root {
		return fmt.Errorf("%w: root: got %d, want %d", ErrMismatch, root, c.Root)
	}
	for _, rel := range []struct {
		name string
		want []*uint32
		f    func(treekem.NodeIndex) (treekem.NodeIndex, bool)
	}{
		{"left", c.Left, func(x treekem.NodeIndex) (treekem.NodeIndex, bool) { return x.Left(), !x.IsLeaf() }},
		{"right", c.Right, func(x treekem.NodeIndex) (treekem.NodeIndex, bool) { return x.Right(), !x.IsLeaf() }},
		{"parent", c.Parent, func(x treekem.NodeIndex) (treekem.NodeIndex, bool) { return x.Parent(), x != root }},
		{"sibling", c.Sibling, func(x treekem.NodeIndex) (treekem.NodeIndex, bool) { return x.Sibling(), x != root }},
	} {
		if uint32(len(rel.want)) != c.NNodes {
			return fmt.Errorf("%w: %s has %d entries for %d nodes", ErrMismatch, rel.name, len(rel.want), c.NNodes)
		}
		for i, want := range rel.want {
			got, ok := rel.f(treekem.NodeIndex(i))
			if ok != (want != nil) || (ok && uint32(got) != *want) {
				return fmt.Errorf("%w: %s[%d]: got %d (defined %v), want %v", ErrMismatch, rel.name, i, got, ok, fmtOpt(want))
			}
		}
	}
	return nil
}

func fmtOpt(p *uint32) string {
	if p == nil {
		return "null"
	}
	return fmt.Sprint(*p)
}
