package testvectors

import (
	"bytes"
	"crypto/rand"
	"fmt"

	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/mls/wire"
	"github.com/mlsengine/engine/treekem"
)

// TreeKEM is a case of treekem.json: members' private states, and
// UpdatePaths that each of them must process (§7.4-§7.6, §12.4.2).
type TreeKEM struct {
	Suite                   uint16              `json:"cipher_suite"`
	GroupID                 HexBytes            `json:"group_id"`
	Epoch                   uint64              `json:"epoch"`
	ConfirmedTranscriptHash HexBytes            `json:"confirmed_transcript_hash"`
	RatchetTree             HexBytes            `json:"ratchet_tree"`
	LeavesPrivate           []TreeKEMLeaf       `json:"leaves_private"`
	UpdatePaths             []TreeKEMUpdatePath `json:"update_paths"`
}

// TreeKEMLeaf is the private state of one member in a TreeKEM case.
type TreeKEMLeaf struct {
	Index          uint32              `json:"index"`
	EncryptionPriv HexBytes            `json:"encryption_priv"`
	SignaturePriv  HexBytes            `json:"signature_priv"`
	PathSecrets    []TreeKEMPathSecret `json:"path_secrets"`
}

// TreeKEMPathSecret is the path secret of a node a member knows.
type TreeKEMPathSecret struct {
	Node       uint32   `json:"node"`
	PathSecret HexBytes `json:"path_secret"`
}

// TreeKEMUpdatePath is an UpdatePath of a TreeKEM case and what it gives
// each member: PathSecrets has one entry per leaf, null for the sender and
// blank leaves.
type TreeKEMUpdatePath struct {
	Sender        uint32     `json:"sender"`
	UpdatePath    HexBytes   `json:"update_path"`
	PathSecrets   []HexBytes `json:"path_secrets"`
	CommitSecret  HexBytes   `json:"commit_secret"`
	TreeHashAfter HexBytes   `json:"tree_hash_after"`
}

// CipherSuite returns the case's cipher suite.
func (c *TreeKEM) CipherSuite() uint16 { return c.Suite }

// groupContext returns the serialized GroupContext of the case for a tree
// hash: the given suite, group, epoch and transcript hash, no extensions.
func (c *TreeKEM) groupContext(treeHash []byte) ([]byte, error) {
	gc := message.GroupContext{
		Version:                 message.MLS10,
		CipherSuite:             suite.ID(c.Suite),
		GroupID:                 c.GroupID,
		Epoch:                   c.Epoch,
		TreeHash:                treeHash,
		ConfirmedTranscriptHash: c.ConfirmedTranscriptHash,
	}
	return gc.Bytes()
}

// Verify follows FORMAT.md: it loads each member's private state and checks
// it, and the public key of its signature_priv, against the tree; then, for each UpdatePath, it merges the path
// (verifying its parent hash), has every other member decrypt it, checks
// the path secrets, commit secret and new tree hash, and finally creates a
// fresh UpdatePath from the same sender that every other member must
// decrypt to the same commit secret.
func (c *TreeKEM) Verify() error {
	cs, err := suite.Lookup(suite.ID(c.Suite))
	if err != nil {
		return err
	}
	tree, err := treekem.UnmarshalTree(cs, c.RatchetTree)
	if err != nil {
		return fmt.Errorf("ratchet_tree: %w", err)
	}
	privs := map[treekem.LeafIndex]*treekem.PrivateState{}
	signers := map[treekem.LeafIndex]suite.Signer{}
	for _, lp := range c.LeavesPrivate {
		i := treekem.LeafIndex(lp.Index)
		p, err := treekem.NewPrivateState(cs, i, lp.EncryptionPriv)
		if err != nil {
			return fmt.Errorf("leaf %d: %w", i, err)
		}
		for _, ps := range lp.PathSecrets {
			if err := p.SetPathSecret(treekem.NodeIndex(ps.Node), ps.PathSecret); err != nil {
				return fmt.Errorf("leaf %d: node %d: %w", i, ps.Node, err)
			}
		}
		if err := p.Check(tree); err != nil {
			return fmt.Errorf("%w: leaf %d: private state: %w", ErrMismatch, i, err)
		}
		privs[i] = p
		if signers[i], err = cs.NewSigner(lp.SignaturePriv); err != nil {
			return fmt.Errorf("leaf %d: %w", i, err)
		}
		if err := expectEqual(fmt.Sprintf("leaf %d: public key of signature_priv", i), signers[i].Public(), tree.SignatureKey(i)); err != nil {
			return err
		}
	}
	for n, upc := range c.UpdatePaths {
		if err := c.verifyPath(cs, tree, privs, signers, n); err != nil {
			return fmt.Errorf("update_paths[%d] (sender %d): %w", n, upc.Sender, err)
		}
	}
	return nil
}

func (c *TreeKEM) verifyPath(cs *suite.Suite, tree *treekem.Tree, privs map[treekem.LeafIndex]*treekem.PrivateState,
	signers map[treekem.LeafIndex]suite.Signer, n int) error {
	upc := c.UpdatePaths[n]
	sender := treekem.LeafIndex(upc.Sender)
	var path treekem.UpdatePath
	if err := wire.Unmarshal(upc.UpdatePath, &path); err != nil {
		return fmt.Errorf("update_path: %w", err)
	}
	merged := tree.Clone()
	if err := merged.MergeUpdatePath(sender, &path, c.GroupID, nil); err != nil {
		return fmt.Errorf("%w: merging: %w", ErrMismatch, err)
	}
	if err := expectEqual("tree_hash_after", merged.TreeHash(), upc.TreeHashAfter); err != nil {
		return err
	}
	gc, err := c.groupContext(merged.TreeHash())
	if err != nil {
		return err
	}
	if uint32(len(upc.PathSecrets)) != tree.LeafCount() {
		return fmt.Errorf("%w: %d path secrets for %d leaves", ErrMismatch, len(upc.PathSecrets), tree.LeafCount())
	}
	for j := range tree.Members() {
		if j == sender {
			continue
		}
		p, ok := privs[j]
		if !ok {
			return fmt.Errorf("%w: no private state for leaf %d", ErrMismatch, j)
		}
		dp, err := p.DecryptPath(merged, sender, &path, gc, nil)
		if err != nil {
			return fmt.Errorf("%w: leaf %d: %w", ErrMismatch, j, err)
		}
		if err := expectEqual(fmt.Sprintf("path secret of leaf %d", j), dp.PathSecret, upc.PathSecrets[j]); err != nil {
			return err
		}
		if err := expectEqual(fmt.Sprintf("commit secret of leaf %d", j), dp.CommitSecret, upc.CommitSecret); err != nil {
			return err
		}
	}

	// A fresh path from the same sender over the original tree.
	fresh := tree.Clone()
	pp, err := fresh.PrepareUpdatePath(treekem.PathParams{Sender: sender, GroupID: c.GroupID, Signer: signers[sender]})
	if err != nil {
		return fmt.Errorf("creating a path: %w", err)
	}
	gc, err = c.groupContext(fresh.TreeHash())
	if err != nil {
		return err
	}
	newPath, err := pp.Encrypt(rand.Reader, gc, nil)
	if err != nil {
		return fmt.Errorf("encrypting a path: %w", err)
	}
	// Receivers merge the new path into their own copy of the tree.
	recv := tree.Clone()
	if err := recv.MergeUpdatePath(sender, newPath, c.GroupID, nil); err != nil {
		return fmt.Errorf("merging the created path: %w", err)
	}
	if !bytes.Equal(recv.TreeHash(), fresh.TreeHash()) {
		return fmt.Errorf("%w: sender and receivers disagree on the tree hash", ErrMismatch)
	}
	for j := range tree.Members() {
		if j == sender {
			continue
		}
		dp, err := privs[j].DecryptPath(recv, sender, newPath, gc, nil)
		if err != nil {
			return fmt.Errorf("leaf %d on the created path: %w", j, err)
		}
		if err := expectEqual(fmt.Sprintf("commit secret of leaf %d on the created path", j), dp.CommitSecret, pp.CommitSecret()); err != nil {
			return err
		}
	}
	return nil
}
