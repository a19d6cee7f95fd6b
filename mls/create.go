package mls

import (
	"io"
	"time"

	"github.com/mlsengine/engine/mls/keyschedule"
	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/treekem"
)

// GroupOptions are the options of NewGroup.
type GroupOptions struct {
	// GroupID is the group's identifier; nil selects a random one of
	// KDF.Nh bytes, as §11 recommends.
	GroupID []byte
	// Extensions are the GroupContext extensions (§11, §13.4), such as
	// required_capabilities (§11.1, see RequiredCapabilities) and
	// external_senders (§12.1.8.1, see ExternalSenders).
	Extensions Extensions
}

// NewGroup creates a group whose only member is the client of cfg, at
// epoch 0 (RFC 9420 §11): a one-leaf tree, a fresh random epoch secret,
// the confirmation tag over the empty confirmed transcript hash, and the
// interim transcript hash derived from it. Members are then added with
// Commit.
func NewGroup(cfg Config, opts *GroupOptions) (*Group, error) {
	cf, err := cfg.resolveMember()
	if err != nil {
		return nil, err
	}
	if opts == nil {
		opts = &GroupOptions{}
	}
	groupID := opts.GroupID
	if groupID == nil {
		groupID = make([]byte, cf.cs.HashSize())
		if _, err := io.ReadFull(cf.rand(), groupID); err != nil {
			return nil, wrapErr(ErrInvalidArgument, "reading randomness", err)
		}
	}
	if err := checkGroupExtensions(-1, opts.Extensions); err != nil {
		return nil, err
	}
	if err := cf.checkExternalSenders(opts.Extensions); err != nil {
		return nil, wrapErr(ErrInvalidArgument, "external_senders extension (§5.3.1)", err)
	}
	leafPriv, leafPub, err := cf.cs.GenerateKeyPair(cf.rand())
	if err != nil {
		return nil, wrapErr(ErrInvalidArgument, "generating the leaf key", err)
	}
	defer clear(leafPriv)
	// The creator's leaf is a key_package leaf, as if taken from its own
	// KeyPackage; its first commit replaces it.
	ln := cf.leafTemplate()
	ln.EncryptionKey = leafPub
	ln.Source = treekem.SourceKeyPackage
	now := cf.now()
	ln.Lifetime = treekem.Lifetime{
		NotBefore: uint64(max(now.Add(-time.Hour).Unix(), 0)),
		NotAfter:  uint64(max(now.Add(cf.keyPackageLifetime()).Unix(), 0)),
	}
	if cf.GREASE {
		if err := cf.greaseLeaf(&ln); err != nil {
			return nil, err
		}
	}
	if err := signLeaf(cf.cs, cf.Signer, &ln, nil, 0); err != nil {
		return nil, err
	}
	tree, err := treekem.NewTree(cf.cs)
	if err != nil {
		return nil, internalErr("tree: %v", err)
	}
	pol, err := cf.policy(opts.Extensions, true)
	if err != nil {
		return nil, err
	}
	if err := tree.ValidateLeaf(&ln, treekem.LeafContext{Role: treekem.RoleKeyPackage}, pol); err != nil {
		return nil, wrapErr(ErrInvalidArgument, "the creator's LeafNode does not suit the group (§7.3)", err)
	}
	leaf, err := tree.AddLeaf(&ln)
	if err != nil {
		return nil, internalErr("adding the creator: %v", err)
	}
	if err := checkGroupSupport(-1, tree, opts.Extensions); err != nil {
		return nil, err
	}
	priv, err := treekem.NewPrivateState(cf.cs, leaf, leafPriv)
	if err != nil {
		return nil, internalErr("private state: %v", err)
	}
	gc := &GroupContext{
		Version:                 message.MLS10,
		CipherSuite:             cf.cs.ID(),
		GroupID:                 groupID,
		Epoch:                   0,
		TreeHash:                tree.TreeHash(),
		ConfirmedTranscriptHash: []byte{},
		Extensions:              cloneExtensions(opts.Extensions),
	}
	return startGroup(cf, gc, tree, priv)
}

// startGroup starts a group at gc.Epoch with a fresh random epoch secret
// (§11): the confirmation tag is computed over the GroupContext's confirmed
// transcript hash, and the interim transcript hash from both.
func startGroup(cf *config, gc *GroupContext, tree *treekem.Tree, priv *treekem.PrivateState) (*Group, error) {
	epochSecret := make([]byte, cf.cs.HashSize())
	if _, err := io.ReadFull(cf.rand(), epochSecret); err != nil {
		return nil, wrapErr(ErrInvalidArgument, "reading randomness", err)
	}
	defer clear(epochSecret)
	secrets, err := keyschedule.FromEpochSecret(cf.cs, epochSecret)
	if err != nil {
		return nil, internalErr("key schedule: %v", err)
	}
	tag := message.ConfirmationTag(cf.cs, secrets.Confirmation, gc.ConfirmedTranscriptHash)
	interim, err := message.InterimTranscriptHash(cf.cs, gc.ConfirmedTranscriptHash, tag)
	if err != nil {
		return nil, internalErr("interim transcript hash: %v", err)
	}
	ep, err := newEpoch(cf, gc, tree, priv, secrets, interim, tag)
	if err != nil {
		return nil, err
	}
	return &Group{cf: cf, ep: ep}, nil
}
