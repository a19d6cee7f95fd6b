package mls

import (
	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/mls/wire"
	"github.com/mlsengine/engine/treekem"
)

// GroupInfoOptions are the options of Group.GroupInfo.
type GroupInfoOptions struct {
	// RatchetTree includes the tree in a ratchet_tree extension
	// (§12.4.3.3), so that an external joiner needs nothing else. It makes
	// the GroupInfo O(n) in size.
	RatchetTree bool
	// NoExternalPub leaves out the external_pub extension (§12.4.3.2),
	// which external joiners need.
	NoExternalPub bool
	// Extensions are added to the GroupInfo's extensions.
	Extensions Extensions
}

// GroupInfo returns a signed GroupInfo of the current epoch, encoded as an
// MLSMessage, for external joiners (§12.4.3): by default with the
// external_pub extension and without the tree.
func (g *Group) GroupInfo(opts *GroupInfoOptions) ([]byte, error) {
	if err := g.checkActive(); err != nil {
		return nil, err
	}
	if opts == nil {
		opts = &GroupInfoOptions{}
	}
	gi, err := g.makeGroupInfo(g.ep, opts)
	if err != nil {
		return nil, err
	}
	return encodeMLS(gi)
}

// makeGroupInfo builds and signs the GroupInfo of epoch ep, whose tree
// holds the member's leaf.
func (g *Group) makeGroupInfo(ep *epochState, opts *GroupInfoOptions) (*message.GroupInfo, error) {
	exts := cloneExtensions(opts.Extensions)
	if !opts.NoExternalPub {
		_, pub, err := ep.secrets.ExternalKeyPair(g.cf.cs)
		if err != nil {
			return nil, internalErr("external key pair: %v", err)
		}
		ext, err := (&message.ExternalPub{ExternalPub: pub}).Extension()
		if err != nil {
			return nil, internalErr("external_pub: %v", err)
		}
		exts = append(exts, ext)
	}
	if opts.RatchetTree {
		rt, err := ep.tree.RatchetTree()
		if err != nil {
			return nil, internalErr("ratchet tree: %v", err)
		}
		exts = append(exts, Extension{Type: treekem.ExtensionRatchetTree, Data: rt})
	}
	if g.cf.GREASE {
		var err error
		if exts, err = g.cf.greaseExtensions(exts); err != nil {
			return nil, err
		}
	}
	gi := &message.GroupInfo{
		GroupContext:    ep.gc,
		Extensions:      exts,
		ConfirmationTag: ep.confirmationTag,
	}
	if err := gi.Sign(g.cf.cs, g.cf.Signer, ep.leaf()); err != nil {
		return nil, wrapErr(ErrInvalidArgument, "signing the GroupInfo", err)
	}
	return gi, nil
}

// encodeMLS encodes a Welcome, GroupInfo or KeyPackage as an MLSMessage.
func encodeMLS(body wire.Marshaler) ([]byte, error) {
	out, err := wire.Marshal(message.NewMLSMessage(body))
	if err != nil {
		return nil, internalErr("encoding an MLSMessage: %v", err)
	}
	return out, nil
}
