package treekem

import (
	"bytes"
	"fmt"
	"hash/maphash"
	"iter"
	"math/bits"

	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/mls/wire"
)

// Tree is the public state of a ratchet tree (§4, §7) for one cipher
// suite: its nodes, their cached tree hashes, and indexes of the public keys
// and capabilities of its members.
//
// A Tree is not safe for concurrent use, except that methods that only read
// may run concurrently with each other once the tree hash is up to date
// (after TreeHash). Clone is cheap; use it to stage changes (see the
// package documentation).
type Tree struct {
	cs   *suite.Suite
	nh   int    // hash size
	npk  int    // HPKE public key size
	n    uint32 // number of leaves: 0 or a power of two
	st   store
	enc  *keyIndex // encryption key -> node, over all non-blank nodes; shared with clones
	sig  *keyIndex // signature key -> leaf node, over all non-blank leaves; shared with clones
	caps capIndex
	seed maphash.Seed
}

// NewTree returns an empty tree for the cipher suite: it has no leaves
// until the first AddLeaf.
func NewTree(cs *suite.Suite) (*Tree, error) {
	if cs == nil {
		return nil, fmt.Errorf("%w: nil cipher suite", ErrInvalidArgument)
	}
	t := &Tree{cs: cs, nh: cs.HashSize(), npk: cs.HPKEPublicKeySize(), seed: maphash.MakeSeed()}
	t.st = newStore(t.nh)
	t.enc = newKeyIndex(t.seed, 0)
	t.sig = newKeyIndex(t.seed, 0)
	t.caps = newCapIndex()
	return t, nil
}

// Clone returns a copy of t that shares storage with t copy-on-write: it
// costs O(n/8192) pointer copies, and each tree copies a 64-node chunk the
// first time it writes to it. Neither tree sees the other's later changes.
// (The key indexes are shared as they are, see keyIndex; when they hold
// mostly keys t no longer has, Clone first rebuilds t's, in O(n).)
func (t *Tree) Clone() *Tree {
	t.compactIndexes(2)
	c := *t
	c.st = t.st.clone()
	c.caps = t.caps.clone()
	return &c
}

// Suite returns the tree's cipher suite.
func (t *Tree) Suite() *suite.Suite { return t.cs }

// LeafCount returns the number of leaves, blank ones included: 0 or a power
// of two.
func (t *Tree) LeafCount() uint32 { return t.n }

// Width returns the number of nodes, 2*LeafCount()-1 (0 when empty).
func (t *Tree) Width() uint32 { return NodeWidth(t.n) }

// Root returns the root node. The tree must not be empty.
func (t *Tree) Root() NodeIndex { return Root(t.n) }

// MemberCount returns the number of non-blank leaves.
func (t *Tree) MemberCount() uint32 { return t.caps.members }

func (t *Tree) has(x NodeIndex) bool { return uint32(x) < NodeWidth(t.n) }

// IsBlank reports whether node x is blank (or outside the tree).
func (t *Tree) IsBlank(x NodeIndex) bool { return !t.has(x) || t.st.get(x).data == nil }

// IsMember reports whether leaf i is in the tree and not blank.
func (t *Tree) IsMember(i LeafIndex) bool { return i < LeafIndex(t.n) && !t.IsBlank(i.Node()) }

// Leaf returns a decoded copy of leaf i, and false if it is blank or out of
// range.
func (t *Tree) Leaf(i LeafIndex) (*LeafNode, bool) {
	d := t.LeafEncoding(i)
	if d == nil {
		return nil, false
	}
	ln := new(LeafNode)
	if wire.Unmarshal(bytes.Clone(d), ln) != nil {
		return nil, false // unreachable: stored encodings were checked
	}
	return ln, true
}

// LeafCredential returns a decoded copy of the credential of leaf i, the
// Credential of Leaf(i) without decoding the rest, and false if the leaf is
// blank or out of range.
func (t *Tree) LeafCredential(i LeafIndex) (*Credential, bool) {
	v, ok := parseLeaf(t.LeafEncoding(i))
	if !ok {
		return nil, false
	}
	c := new(Credential)
	if wire.Unmarshal(bytes.Clone(v.cred), c) != nil {
		return nil, false // unreachable: stored encodings were checked
	}
	return c, true
}

// LeafEncoding returns the encoding of leaf i, nil if it is blank or out of
// range. The bytes belong to the tree and must not be modified.
func (t *Tree) LeafEncoding(i LeafIndex) []byte {
	if i >= LeafIndex(t.n) {
		return nil
	}
	return t.st.get(i.Node()).data
}

// Parent returns a decoded copy of parent node x, and false if it is blank,
// a leaf or out of range.
func (t *Tree) Parent(x NodeIndex) (*ParentNode, bool) {
	if x.IsLeaf() || t.IsBlank(x) {
		return nil, false
	}
	p := new(ParentNode)
	if wire.Unmarshal(bytes.Clone(t.st.get(x).data), p) != nil {
		return nil, false
	}
	return p, true
}

// EncryptionKey returns the HPKE public key of node x, nil if it is blank.
// The bytes belong to the tree and must not be modified.
func (t *Tree) EncryptionKey(x NodeIndex) []byte {
	if t.IsBlank(x) {
		return nil
	}
	return keySource{st: &t.st}.key(x)
}

// SignatureKey returns the signature key of leaf i, nil if it is blank.
func (t *Tree) SignatureKey(i LeafIndex) []byte {
	d := t.LeafEncoding(i)
	if d == nil {
		return nil
	}
	_, sig := leafKeys(d)
	return sig
}

// FindEncryptionKey returns the node whose encryption key is key.
func (t *Tree) FindEncryptionKey(key []byte) (NodeIndex, bool) {
	return t.enc.find(keySource{st: &t.st}, key)
}

// FindSignatureKey returns the leaf whose signature key is key.
func (t *Tree) FindSignatureKey(key []byte) (LeafIndex, bool) {
	x, ok := t.sig.find(keySource{st: &t.st, sig: true}, key)
	return x.Leaf(), ok
}

// FindLeaf returns the leaf whose LeafNode is ln, byte for byte (§12.4.3.1:
// a joiner finds its own leaf).
func (t *Tree) FindLeaf(ln *LeafNode) (LeafIndex, bool) {
	enc, err := wire.Marshal(ln)
	if err != nil {
		return 0, false
	}
	x, ok := t.FindEncryptionKey(ln.EncryptionKey)
	if !ok || !x.IsLeaf() || !bytes.Equal(t.st.get(x).data, enc) {
		return 0, false
	}
	return x.Leaf(), true
}

// Members iterates over the non-blank leaves in increasing order, skipping
// blank subtrees.
func (t *Tree) Members() iter.Seq[LeafIndex] {
	return func(yield func(LeafIndex) bool) {
		if t.n == 0 {
			return
		}
		t.walkMembers(Root(t.n), yield)
	}
}

func (t *Tree) walkMembers(x NodeIndex, yield func(LeafIndex) bool) bool {
	nd := t.st.get(x)
	if nd.leaves == 0 {
		return true
	}
	if x.IsLeaf() {
		return yield(x.Leaf())
	}
	return t.walkMembers(x.Left(), yield) && t.walkMembers(x.Right(), yield)
}

// SupportsAll reports whether every member supports the required
// capabilities rc (as a GroupContextExtensions proposal requires, §12.1.7),
// in O(number of types).
func (t *Tree) SupportsAll(rc *RequiredCapabilities) bool { return t.caps.supportsAll(rc) }

// level returns the level of the root, log2(n).
func (t *Tree) level() uint { return uint(bits.TrailingZeros32(t.n)) }

// subtreeLeaves returns the range [lo, hi) of leaves under x.
func subtreeLeaves(x NodeIndex) (lo, hi LeafIndex) {
	k := x.Level()
	lo = LeafIndex(uint32(x) >> (k + 1) << k)
	return lo, lo + LeafIndex(uint32(1)<<k)
}

// isUnder reports whether leaf l is in the subtree under node x.
func isUnder(l LeafIndex, x NodeIndex) bool {
	lo, hi := subtreeLeaves(x)
	return l >= lo && l < hi
}

// fixPath recomputes the counts of x and of its ancestors and marks their
// hashes stale, after x (or nodes below it on one path) changed.
func (t *Tree) fixPath(x NodeIndex) {
	r := Root(t.n)
	for {
		nd := t.st.mut(x)
		nd.stale()
		if x.IsLeaf() {
			nd.setCounts(0, 0)
			if nd.data != nil {
				nd.setCounts(1, 1)
			}
		} else {
			l, rt := t.st.get(x.Left()), t.st.get(x.Right())
			f := l.filled() + rt.filled()
			if nd.data != nil {
				f++
			}
			nd.setCounts(l.leaves+rt.leaves, f)
		}
		if x == r {
			return
		}
		x = x.Parent()
	}
}

// setData replaces node x's encoding, keeping the key index in step. It
// does not update counts or hashes (see fixPath). The caller has checked
// that the new keys are unique.
func (t *Tree) setData(x NodeIndex, data []byte) {
	old := t.st.get(x).data
	// A leaf replaced by one of the same credential type and capabilities
	// (as a member's own commits do) leaves the counts unchanged.
	caps := !x.IsLeaf() || !sameCapabilities(old, data)
	if old != nil && caps {
		t.unindex(x)
	}
	t.st.mut(x).data = data
	if data != nil {
		t.index(x, caps)
	}
}

// sameCapabilities reports whether the leaf encodings a and b (nil when
// blank) have the same credential type and capabilities.
func sameCapabilities(a, b []byte) bool {
	if a == nil || b == nil {
		return false
	}
	va, oka := parseLeaf(a)
	vb, okb := parseLeaf(b)
	if !oka || !okb || va.credType != vb.credType {
		return false
	}
	for k := range va.caps {
		if !bytes.Equal(va.caps[k], vb.caps[k]) {
			return false
		}
	}
	return true
}

// index records the keys of node x and, with caps, counts its
// capabilities.
func (t *Tree) index(x NodeIndex, caps bool) {
	ks := keySource{st: &t.st}
	d := t.st.get(x).data
	var entries, sigEntries int
	if x.IsLeaf() {
		enc, sig := leafKeys(d)
		_, entries, _ = t.enc.insert(ks, x, enc)
		_, sigEntries, _ = t.sig.insert(keySource{st: &t.st, sig: true}, x, sig)
		if caps {
			if v, ok := parseLeaf(d); ok {
				t.caps.add(&v, 1)
			}
		}
	} else {
		_, entries, _ = t.enc.insert(ks, x, parentKey(d))
	}
	// A tree changed in place, never cloned, drops its stale entries too.
	if tooMany(entries, t.liveNodes(), 4) || tooMany(sigEntries, int(t.caps.members), 4) {
		t.compactIndexes(4)
	}
}

// liveNodes returns the number of non-blank nodes, as the root counts
// them.
func (t *Tree) liveNodes() int {
	if t.n == 0 {
		return 0
	}
	return int(t.st.get(Root(t.n)).filled())
}

// unindex forgets node x's capabilities before its encoding changes; its
// keys' entries go stale by themselves (see keyIndex).
func (t *Tree) unindex(x NodeIndex) {
	if !x.IsLeaf() {
		return
	}
	if v, ok := parseLeaf(t.st.get(x).data); ok {
		t.caps.add(&v, -1)
	}
}

// compactIndexes gives t key indexes of its own keys only, if the ones it
// shares hold more than factor times as many entries as t has keys. It
// reads only the nodes' encodings, so it may run in the middle of a
// change.
func (t *Tree) compactIndexes(factor int) {
	live := t.liveNodes()
	if !t.enc.stale(live, factor) && !t.sig.stale(int(t.caps.members), factor) {
		return
	}
	enc, sig := newKeyIndex(t.seed, live), newKeyIndex(t.seed, int(t.caps.members))
	ks, ss := keySource{st: &t.st}, keySource{st: &t.st, sig: true}
	for x := NodeIndex(0); uint32(x) < NodeWidth(t.n); x++ {
		if k := ks.key(x); k != nil {
			enc.insert(ks, x, k)
		}
		if x.IsLeaf() {
			if k := ss.key(x); k != nil {
				sig.insert(ss, x, k)
			}
		}
	}
	t.enc, t.sig = enc, sig
}

// extend doubles the tree (§7.7), or creates its first leaf.
func (t *Tree) extend() error {
	if t.n >= maxLeaves {
		return fmt.Errorf("%w: tree cannot grow past 2^30 leaves", ErrInvalidArgument)
	}
	if t.n == 0 {
		t.n = 1
		t.st.grow(1)
		t.fixPath(0)
		return nil
	}
	t.n *= 2
	t.st.grow(NodeWidth(t.n))
	// The new right half is blank (nodes past the width are kept blank);
	// the new root is blank too.
	t.fixPath(Root(t.n))
	return nil
}

// truncate removes right halves without members (§7.7, §12.1.3).
func (t *Tree) truncate() {
	for t.n > 1 {
		r := Root(t.n)
		right := r.Right()
		if t.st.get(right).leaves != 0 {
			return
		}
		t.blankSubtree(right)
		if t.st.get(r).data != nil {
			t.setData(r, nil)
		}
		nd := t.st.mut(r)
		nd.stale()
		nd.setCounts(0, 0)
		t.n /= 2
	}
}

// blankSubtree blanks the non-blank nodes under x, visiting only subtrees
// that have some.
func (t *Tree) blankSubtree(x NodeIndex) {
	nd := t.st.get(x)
	if nd.filled() == 0 {
		return
	}
	if nd.data != nil {
		t.setData(x, nil)
	}
	if !x.IsLeaf() {
		t.blankSubtree(x.Left())
		t.blankSubtree(x.Right())
	}
	m := t.st.mut(x)
	m.stale()
	m.setCounts(0, 0)
}

// lastNonBlank returns the last non-blank node in array order, and false
// if every node is blank.
func (t *Tree) lastNonBlank() (NodeIndex, bool) {
	if t.n == 0 {
		return 0, false
	}
	x := Root(t.n)
	for {
		nd := t.st.get(x)
		if nd.filled() == 0 {
			return 0, false
		}
		if x.IsLeaf() {
			return x, true
		}
		if t.st.get(x.Right()).filled() > 0 {
			x = x.Right()
			continue
		}
		if nd.data != nil {
			return x, true
		}
		x = x.Left()
	}
}
