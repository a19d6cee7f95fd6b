package mls

import (
	"bytes"
	"slices"

	"github.com/mlsengine/engine/mls/keyschedule"
	"github.com/mlsengine/engine/treekem"
)

// publicEpoch is what anyone may know of an epoch, without any secret:
// what a PublicGroup tracks, and the part of a member's epochState that
// the checks of proposals and commits read (see view).
type publicEpoch struct {
	gc      GroupContext
	gcBytes []byte
	tree    *treekem.Tree
	// interim is the interim transcript hash, the input of the next
	// commit's confirmed transcript hash (§8.2); confirmationTag is the
	// tag of the commit that started the epoch, for GroupInfos (§12.4.3).
	interim         []byte
	confirmationTag []byte
	// proposals are the proposals received or sent in the epoch, in
	// order of arrival (§12.1).
	proposals []*cachedProposal
	// reinit is the ReInit proposal of the commit that started the epoch:
	// the group is then closed (§11.2, §12.4.2).
	reinit *ReInit
}

// epochState is everything a member knows about the current epoch. A
// commit builds a new epochState on a copy-on-write clone of the tree and
// swaps it in only when it is applied, so the current one is never
// modified by a commit that fails or is discarded.
type epochState struct {
	publicEpoch
	priv    *treekem.PrivateState // the member's private keys; its leaf is the member's
	secrets keyschedule.Secrets   // Encryption is nil: it seeded stree (§9.2)
	stree   *keyschedule.SecretTree
}

// nextContext returns the GroupContext of the epoch a commit starts from
// e, with the given extensions, before its tree hash and confirmed
// transcript hash are updated (§12.4.1, §12.4.2): the epoch is one more,
// and the confirmed transcript hash is still e's.
func (e *publicEpoch) nextContext(exts Extensions) GroupContext {
	return GroupContext{
		Version:                 e.gc.Version,
		CipherSuite:             e.gc.CipherSuite,
		GroupID:                 e.gc.GroupID,
		Epoch:                   e.gc.Epoch + 1,
		ConfirmedTranscriptHash: e.gc.ConfirmedTranscriptHash,
		Extensions:              exts,
	}
}

// leaf returns the member's leaf, or noLeaf for an external joiner that
// has none yet.
func (e *epochState) leaf() LeafIndex {
	if e.priv == nil {
		return noLeaf
	}
	return e.priv.Leaf()
}

// noLeaf is a leaf index no tree has.
const noLeaf = LeafIndex(1<<32 - 1)

// newEpoch builds the state of an epoch from its key schedule output,
// taking ownership of the secrets.
func newEpoch(cf *config, gc *GroupContext, tree *treekem.Tree, priv *treekem.PrivateState,
	secrets *keyschedule.Secrets, interim, confirmationTag []byte) (*epochState, error) {
	gcBytes, err := gc.Bytes()
	if err != nil {
		return nil, internalErr("encoding GroupContext: %v", err)
	}
	stree, err := keyschedule.NewSecretTree(cf.cs, secrets.Encryption, tree.LeafCount(), cf.ratchetConfig())
	if err != nil {
		return nil, internalErr("secret tree: %v", err)
	}
	clear(secrets.Encryption)
	ep := &epochState{
		publicEpoch: publicEpoch{gc: *gc, gcBytes: gcBytes, tree: tree, interim: interim, confirmationTag: confirmationTag},
		priv:        priv,
		secrets:     *secrets,
		stree:       stree,
	}
	ep.secrets.Encryption = nil
	return ep, nil
}

// wipe deletes the epoch's secrets once the epoch is over, apart from the
// secret tree and sender-data secret, which the caller may keep in a
// pastEpoch for late messages.
func (e *epochState) wipeKeepingTree() {
	st := e.secrets
	st.SenderData = nil
	st.Wipe()
	for _, c := range e.proposals {
		clear(c.leafPriv)
	}
	// The next epoch's PrivateState is a deep copy (or new): the keys of
	// this one are deleted (§9.2, §7.5 for the replaced ones).
	e.priv.Wipe()
}

// wipeUnused deletes every secret of a staged epoch that will never be
// used, because the commit that would start it is discarded: its key
// schedule secrets, secret tree and private keys (§9.2). The tree and the
// other public state are left to the garbage collector. Only secrets the
// epoch owns are touched: newEpoch and deriveEpoch give it fresh ones, and
// its PrivateState is a deep copy (treekem.PrivateState.Clone), so the
// epoch it was staged from keeps its own. wipeUnused on nil does nothing.
func (e *epochState) wipeUnused() {
	if e == nil {
		return
	}
	e.secrets.Wipe()
	if e.stree != nil {
		e.stree.Wipe()
	}
	e.priv.Wipe()
	for _, c := range e.proposals {
		clear(c.leafPriv)
	}
}

// pastEpoch is what is kept of an epoch after it ended, to decrypt late
// application messages (§15.3, "A client might keep the secret tree for a
// short time to decrypt late messages in the previous epoch"): no tree, only
// the secrets of message protection and the signature keys that changed
// since.
type pastEpoch struct {
	epoch      uint64
	gcBytes    []byte
	senderData []byte
	stree      *keyschedule.SecretTree
	// sigKeys holds the signature key, in this epoch, of each leaf that the
	// commit ending this epoch changed (nil for a leaf that was blank). A
	// leaf absent from the maps of this epoch and all later ones has the
	// key it has in the current tree.
	sigKeys map[LeafIndex][]byte
}

func (p *pastEpoch) wipe() {
	clear(p.senderData)
	if p.stree != nil {
		p.stree.Wipe()
	}
}

// resumptionPSK is the resumption_psk of a past epoch (§8.6).
type resumptionPSK struct {
	epoch uint64
	psk   []byte
}

// changedLeaves records the signature keys, in the old tree, of the leaves
// a commit changes.
type changedLeaves map[LeafIndex][]byte

func (c changedLeaves) note(old *treekem.Tree, i LeafIndex) {
	if _, ok := c[i]; ok {
		return
	}
	c[i] = bytes.Clone(old.SignatureKey(i))
}

// pastSignatureKey returns the signature key of leaf in past epoch k of
// past, using the current tree for leaves unchanged since.
func pastSignatureKey(past []*pastEpoch, k int, current *treekem.Tree, leaf LeafIndex) []byte {
	for _, p := range past[k:] {
		if key, ok := p.sigKeys[leaf]; ok {
			return key
		}
	}
	return current.SignatureKey(leaf)
}

// findPast returns the index of the past epoch with the given number.
func findPast(past []*pastEpoch, epoch uint64) (int, bool) {
	return slices.BinarySearchFunc(past, epoch, func(p *pastEpoch, e uint64) int {
		switch {
		case p.epoch < e:
			return -1
		case p.epoch > e:
			return 1
		}
		return 0
	})
}
