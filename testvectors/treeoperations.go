package testvectors

import (
	"fmt"

	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/mls/wire"
	"github.com/mlsengine/engine/treekem"
)

// TreeOperations is a case of tree-operations.json: one Add, Update or
// Remove proposal applied to a ratchet tree (§12.1.1-§12.1.3).
type TreeOperations struct {
	Suite          uint16   `json:"cipher_suite"`
	TreeBefore     HexBytes `json:"tree_before"`
	Proposal       HexBytes `json:"proposal"`
	ProposalSender uint32   `json:"proposal_sender"`
	TreeHashBefore HexBytes `json:"tree_hash_before"`
	TreeAfter      HexBytes `json:"tree_after"`
	TreeHashAfter  HexBytes `json:"tree_hash_after"`
}

// CipherSuite returns the case's cipher suite.
func (c *TreeOperations) CipherSuite() uint16 { return c.Suite }

// Verify checks the tree hash before, applies the proposal, and checks the
// resulting tree and its hash.
func (c *TreeOperations) Verify() error {
	cs, err := suite.Lookup(suite.ID(c.Suite))
	if err != nil {
		return err
	}
	tree, err := treekem.UnmarshalTree(cs, c.TreeBefore)
	if err != nil {
		return fmt.Errorf("tree_before: %w", err)
	}
	if err := expectEqual("tree_hash_before", tree.TreeHash(), c.TreeHashBefore); err != nil {
		return err
	}
	var p message.Proposal
	if err := wire.Unmarshal(c.Proposal, &p); err != nil {
		return fmt.Errorf("proposal: %w", err)
	}
	switch body := p.Body.(type) {
	case *message.Add:
		// The KeyPackage and its leaf are checked as a committer would
		// (§10.1, §7.3); an Update's leaf cannot be, the case has no
		// group_id.
		if err := body.KeyPackage.Verify(cs); err != nil {
			return fmt.Errorf("%w: key package: %w", ErrMismatch, err)
		}
		if err := tree.ValidateLeaf(&body.KeyPackage.LeafNode, treekem.LeafContext{Role: treekem.RoleKeyPackage}, nil); err != nil {
			return fmt.Errorf("%w: key package leaf: %w", ErrMismatch, err)
		}
		_, err = tree.AddLeaf(&body.KeyPackage.LeafNode)
	case *message.Update:
		err = tree.UpdateLeaf(treekem.LeafIndex(c.ProposalSender), &body.LeafNode)
	case *message.Remove:
		err = tree.RemoveLeaf(body.Removed)
	default:
		return fmt.Errorf("%w: proposal type %d", ErrNotImplemented, p.Type())
	}
	if err != nil {
		return fmt.Errorf("applying the proposal: %w", err)
	}
	after, err := tree.RatchetTree()
	if err != nil {
		return err
	}
	if err := expectEqual("tree_after", after, c.TreeAfter); err != nil {
		return err
	}
	return expectEqual("tree_hash_after", tree.TreeHash(), c.TreeHashAfter)
}
