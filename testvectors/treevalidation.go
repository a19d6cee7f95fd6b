package testvectors

import (
	"fmt"

	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/treekem"
)

// TreeValidation is a case of tree-validation.json: resolutions and tree
// hashes of every node of a tree, which must also pass join validation.
type TreeValidation struct {
	Suite       uint16     `json:"cipher_suite"`
	Tree        HexBytes   `json:"tree"`
	GroupID     HexBytes   `json:"group_id"`
	Resolutions [][]uint32 `json:"resolutions"`
	TreeHashes  []HexBytes `json:"tree_hashes"`
}

// CipherSuite returns the case's cipher suite.
func (c *TreeValidation) CipherSuite() uint16 { return c.Suite }

// Verify checks each node's resolution and tree hash, then validates the
// tree as a joiner does: parent hashes (§7.9.2) and every leaf (§7.3),
// signatures included, with group_id as context.
func (c *TreeValidation) Verify() error {
	cs, err := suite.Lookup(suite.ID(c.Suite))
	if err != nil {
		return err
	}
	tree, err := treekem.UnmarshalTree(cs, c.Tree)
	if err != nil {
		return fmt.Errorf("tree: %w", err)
	}
	w := tree.Width()
	if uint32(len(c.Resolutions)) != w || uint32(len(c.TreeHashes)) != w {
		return fmt.Errorf("%w: %d resolutions and %d tree hashes for %d nodes", ErrMismatch, len(c.Resolutions), len(c.TreeHashes), w)
	}
	for i := range w {
		x := treekem.NodeIndex(i)
		got := tree.Resolution(x)
		want := c.Resolutions[i]
		same := len(got) == len(want)
		for j := 0; same && j < len(got); j++ {
			same = uint32(got[j]) == want[j]
		}
		if !same {
			return fmt.Errorf("%w: resolution of node %d: got %v, want %v", ErrMismatch, i, got, want)
		}
		if err := expectEqual(fmt.Sprintf("tree hash of node %d", i), tree.NodeHash(x), c.TreeHashes[i]); err != nil {
			return err
		}
	}
	if err := tree.Validate(c.GroupID, nil); err != nil {
		return fmt.Errorf("%w: tree validation: %w", ErrMismatch, err)
	}
	return nil
}
