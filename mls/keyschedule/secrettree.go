package keyschedule

import (
	"fmt"

	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/treekem"
)

// MaxLeaves is the largest number of leaves a secret tree may have: the
// node indices of a tree of 2^31 leaves still fit in a uint32.
const MaxLeaves = 1 << 31

// A SecretTree hands out the AEAD keys and nonces of one epoch (§9). It is
// seeded with the epoch's encryption_secret and derived lazily: the node
// secrets on the path to a sender's leaf are derived when that sender is
// first used, so creating a tree costs nothing whatever the group size.
//
// The tree follows the deletion schedule of §9.2. A parent's secret is
// deleted as soon as both its children are derived; a leaf's secret as soon
// as its two ratchets are initialized; a ratchet secret once the next one
// is derived; and a key and nonce once they have protected or opened a
// message. The tree stores O(s·log n) secrets for s active senders among n
// leaves, plus the retained keys of skipped generations.
//
// One SecretTree serves both directions for the whole epoch: [SecretTree.SendKey]
// for the member's own messages, [SecretTree.ReceiveKey] and
// [SecretTree.UseReceiveKey] for everyone's. [SecretTree.State] and
// [RestoreSecretTree] save and load it; [SecretTree.Clone] copies it.
type SecretTree struct {
	suite  *suite.Suite
	cfg    Config
	leaves uint32
	root   treekem.NodeIndex
	// nodes holds the node secrets not yet consumed (§9.2).
	nodes map[treekem.NodeIndex][]byte
	// ratchets holds the handshake and application ratchets of each leaf
	// whose secret has been consumed.
	ratchets map[treekem.LeafIndex]*[2]ratchet
}

// NewSecretTree returns the secret tree of an epoch whose ratchet tree has
// the given number of leaves, with encryptionSecret at the root (§9). The
// tree keeps its own copy of encryptionSecret; the caller should delete
// its own.
func NewSecretTree(s *suite.Suite, encryptionSecret []byte, leaves uint32, cfg Config) (*SecretTree, error) {
	if leaves == 0 || leaves > MaxLeaves {
		return nil, fmt.Errorf("%w: secret tree of %d leaves", ErrInvalidArgument, leaves)
	}
	if err := checkSecret("encryption_secret", encryptionSecret, s.HashSize()); err != nil {
		return nil, err
	}
	t := newTree(s, leaves, cfg)
	t.nodes[t.root] = append([]byte(nil), encryptionSecret...)
	return t, nil
}

func newTree(s *suite.Suite, leaves uint32, cfg Config) *SecretTree {
	return &SecretTree{
		suite:    s,
		cfg:      cfg,
		leaves:   leaves,
		root:     treekem.Root(leaves),
		nodes:    make(map[treekem.NodeIndex][]byte),
		ratchets: make(map[treekem.LeafIndex]*[2]ratchet),
	}
}

// Leaves returns the number of leaves of the tree.
func (t *SecretTree) Leaves() uint32 { return t.leaves }

// SendKey consumes the next generation of the given ratchet of leaf, for a
// message the member at that leaf sends, and returns the generation with
// its key and nonce (§9.1). The caller owns the key and nonce and must
// delete them once the message is encrypted (§9.2).
func (t *SecretTree) SendKey(leaf treekem.LeafIndex, kind Kind) (generation uint32, key, nonce []byte, err error) {
	r, err := t.ratchet(leaf, kind)
	if err != nil {
		return 0, nil, nil, err
	}
	gen, key, nonce, err := r.send(t.suite)
	if err != nil {
		return 0, nil, nil, t.genError(leaf, kind, gen, err)
	}
	return gen, key, nonce, nil
}

// ReceiveKey returns the key and nonce of the given generation of a
// sender's ratchet and consumes them at once (§9.2): the ratchet moves
// forward past generation, keeping the keys of skipped generations within
// the limits of [Config]. A generation already consumed fails with
// ErrReplay, one dropped from the window with ErrExpired, one too far ahead
// with ErrTooFarAhead, all as a *GenerationError.
//
// A message whose decryption then fails has burned its generation; use
// [SecretTree.UseReceiveKey] to consume a key only once it has opened a
// message.
func (t *SecretTree) ReceiveKey(leaf treekem.LeafIndex, kind Kind, generation uint32) (key, nonce []byte, err error) {
	err = t.UseReceiveKey(leaf, kind, generation, func(k, n []byte) error {
		key = append([]byte(nil), k...)
		nonce = append([]byte(nil), n...)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return key, nonce, nil
}

// UseReceiveKey calls use with the key and nonce of the given generation
// of a sender's ratchet, typically to open a PrivateMessage. If use returns
// nil, the generation is consumed as by [SecretTree.ReceiveKey]; if it
// returns an error, the ratchet is left as it was, so that a forged message
// cannot burn the generation of a genuine one, and that error is returned
// as is. The key and nonce are zeroed when use returns: use must not keep
// them.
func (t *SecretTree) UseReceiveKey(leaf treekem.LeafIndex, kind Kind, generation uint32, use func(key, nonce []byte) error) error {
	r, err := t.ratchet(leaf, kind)
	if err != nil {
		return err
	}
	var useErr error
	err = r.receive(t.suite, t.cfg, generation, func(k, n []byte) error {
		useErr = use(k, n)
		return useErr
	})
	switch {
	case err == nil:
		return nil
	case useErr != nil:
		return useErr
	}
	return t.genError(leaf, kind, generation, err)
}

func (t *SecretTree) genError(leaf treekem.LeafIndex, kind Kind, gen uint32, err error) error {
	switch err {
	case ErrReplay, ErrExpired, ErrTooFarAhead, ErrExhausted:
		return &GenerationError{Leaf: leaf, Kind: kind, Generation: gen, Err: err}
	}
	return err
}

// ratchet returns the ratchet of the given kind of leaf, deriving the
// leaf's ratchets on first use.
func (t *SecretTree) ratchet(leaf treekem.LeafIndex, kind Kind) (*ratchet, error) {
	if !kind.valid() {
		return nil, fmt.Errorf("%w: ratchet kind %d", ErrInvalidArgument, uint8(kind))
	}
	if uint32(leaf) >= t.leaves {
		return nil, fmt.Errorf("%w: leaf %d of %d", ErrLeafOutOfRange, leaf, t.leaves)
	}
	rs, ok := t.ratchets[leaf]
	if !ok {
		var err error
		if rs, err = t.deriveLeaf(leaf); err != nil {
			return nil, err
		}
	}
	return &rs[kind], nil
}

// deriveLeaf derives the ratchets of leaf from the lowest stored node on
// its path to the root (§9), storing the secrets of the nodes that hang
// off the path and deleting the consumed ones (§9.2).
func (t *SecretTree) deriveLeaf(leaf treekem.LeafIndex) (*[2]ratchet, error) {
	target := leaf.Node()
	// Walk up to the lowest ancestor-or-self whose secret is stored.
	top := target
	for {
		if _, ok := t.nodes[top]; ok {
			break
		}
		if top == t.root {
			// Only a wiped tree (or a bug) loses a leaf's secrets.
			return nil, &StateError{Reason: fmt.Sprintf("no secret covers leaf %d", leaf)}
		}
		top = top.Parent()
	}

	// Derive down to the leaf into temporaries; t changes only at the end.
	type stored struct {
		node   treekem.NodeIndex
		secret []byte
	}
	var offPath []stored
	fail := func(err error) (*[2]ratchet, error) {
		for _, o := range offPath {
			clear(o.secret)
		}
		return nil, err
	}
	nh := t.suite.HashSize()
	cur, owned := t.nodes[top], false
	dropCur := func() {
		if owned {
			clear(cur)
		}
	}
	for x := top; x != target; {
		// §9: the children of N get ExpandWithLabel(secret_N, "tree", "left"/"right", KDF.Nh).
		left, err := t.suite.ExpandWithLabel(cur, "tree", []byte("left"), nh)
		if err != nil {
			dropCur()
			return fail(internal("tree secret", err))
		}
		right, err := t.suite.ExpandWithLabel(cur, "tree", []byte("right"), nh)
		if err != nil {
			clear(left)
			dropCur()
			return fail(internal("tree secret", err))
		}
		dropCur()
		var other []byte
		var otherNode treekem.NodeIndex
		if target < x {
			x, otherNode, cur, other = x.Left(), x.Right(), left, right
		} else {
			x, otherNode, cur, other = x.Right(), x.Left(), right, left
		}
		owned = true
		if t.hasLeaves(otherNode) {
			offPath = append(offPath, stored{otherNode, other})
		} else {
			clear(other) // a subtree beyond the last leaf: nobody sends there
		}
	}
	// §9: handshake_ratchet_secret_[N]_[0] = ExpandWithLabel(secret_N, "handshake", "", KDF.Nh),
	// and likewise "application".
	hs, err := t.suite.ExpandWithLabel(cur, "handshake", nil, nh)
	if err != nil {
		dropCur()
		return fail(internal("handshake ratchet", err))
	}
	app, err := t.suite.ExpandWithLabel(cur, "application", nil, nh)
	dropCur()
	if err != nil {
		clear(hs)
		return fail(internal("application ratchet", err))
	}

	// Commit. §9.2: the secrets on the path from top to the leaf are
	// consumed; the children hanging off the path are kept.
	clear(t.nodes[top])
	delete(t.nodes, top)
	for _, o := range offPath {
		t.nodes[o.node] = o.secret
	}
	rs := &[2]ratchet{Handshake: {secret: hs}, Application: {secret: app}}
	t.ratchets[leaf] = rs
	return rs, nil
}

// hasLeaves reports whether the subtree rooted at x contains a leaf of the
// tree: when the leaf count is not a power of two, the right edge of the
// tree has subtrees with no leaves, whose secrets are never needed.
func (t *SecretTree) hasLeaves(x treekem.NodeIndex) bool {
	return uint32(firstLeaf(x)) < t.leaves
}

// firstLeaf is the leftmost leaf of the subtree rooted at x.
func firstLeaf(x treekem.NodeIndex) treekem.LeafIndex {
	k := x.Level()
	return treekem.LeafIndex((uint32(x) - (1<<k - 1)) >> 1)
}

// Wipe zeroes every secret, key and nonce the tree holds. The tree is
// unusable afterwards; call it when the epoch ends.
func (t *SecretTree) Wipe() {
	for x, v := range t.nodes {
		clear(v)
		delete(t.nodes, x)
	}
	for l, rs := range t.ratchets {
		rs[Handshake].wipe()
		rs[Application].wipe()
		delete(t.ratchets, l)
	}
}

// Clone returns an independent deep copy of the tree, for work that may be
// abandoned: the copy can consume keys (trial processing of a message that
// the application may still reject, or protecting and then unprotecting the
// same message in a test) while t keeps them. Whichever copy is discarded
// should be wiped.
func (t *SecretTree) Clone() *SecretTree {
	c := newTree(t.suite, t.leaves, t.cfg)
	for x, v := range t.nodes {
		c.nodes[x] = clone(v)
	}
	for l, rs := range t.ratchets {
		crs := new([2]ratchet)
		for k := range rs {
			r := &rs[k]
			cr := &crs[k]
			cr.next, cr.floor, cr.secret = r.next, r.floor, clone(r.secret)
			for _, rk := range r.retained {
				cr.retained = append(cr.retained, retainedKey{gen: rk.gen, key: clone(rk.key), nonce: clone(rk.nonce)})
			}
		}
		c.ratchets[l] = crs
	}
	return c
}
