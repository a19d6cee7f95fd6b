package treekem

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/mlsengine/engine/mls/wire"
)

// TestSyntheticTreeValid checks the benchmark's tree builder: a signed tree
// passes join validation, and its cached hashes equal a serial recomputation.
func TestSyntheticTreeValid(t *testing.T) {
	cs := testSuite(t)
	n := 300
	if !testing.Short() {
		n = 5000 // hashed in parallel (parallelLevel)
	}
	gid := []byte("g")
	tree, bt := benchTree(t, cs, treeSpec{members: n, signed: true, gid: gid})
	if err := tree.Validate(gid, nil); err != nil {
		t.Fatal(err)
	}
	nl := tree.Nodes()
	if got, want := tree.TreeHash(), naiveTreeHash(t, cs, nl, tree.LeafCount()); !bytes.Equal(got, want) {
		t.Fatalf("tree hash %x, recomputed %x", got, want)
	}
	if tree.MemberCount() != uint32(n) {
		t.Fatalf("%d members", tree.MemberCount())
	}
	// A changed signature is caught (leaf 0 is never in a sibling subtree, so
	// no parent hash depends on it).
	bad := append([]byte(nil), bt.nodes[0]...)
	bad[len(bad)-1] ^= 1
	nodes := append([][]byte(nil), bt.nodes[:2*n-1]...)
	nodes[0] = bad
	t2, err := buildTree(cs, nodes)
	if err != nil {
		t.Fatal(err)
	}
	var le *LeafNodeError
	if err := t2.Validate(gid, nil); !errors.As(err, &le) || le.Leaf != 0 || !errors.Is(err, ErrInvalidLeafNode) {
		t.Fatalf("altered signature: %v", err)
	}
}

// smallTree returns a tree of n members built by adds, with their clients.
func smallTree(t *testing.T, n int) (*Tree, []*member, *seededReader) {
	t.Helper()
	cs := testSuite(t)
	rnd := newSeeded(uint64(n))
	tr, err := NewTree(cs)
	if err != nil {
		t.Fatal(err)
	}
	var ms []*member
	for range n {
		ln, m := newLeaf(t, cs, rnd, SourceKeyPackage, nil, nil, 0)
		if _, err := tr.AddLeaf(ln); err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	return tr, ms, rnd
}

func TestMalformedTrees(t *testing.T) {
	cs := testSuite(t)
	tr, _, _ := smallTree(t, 3)
	good := tr.Nodes()
	enc := func(nl NodeList) []byte {
		b, err := wire.Marshal(nl)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	leaf := func(i int) *LeafNode { l := *good[2*i].Leaf; return &l }
	parent := &ParentNode{EncryptionKey: bytes.Repeat([]byte{9}, 32), ParentHash: []byte{}}
	cases := map[string]NodeList{
		"empty":          {},
		"trailing blank": {good[0], nil, good[2], nil},
		"parent at leaf": {{Parent: parent}},
		"leaf at parent": {good[0], {Leaf: leaf(1)}, good[2]},
		"short key": {good[0], nil, {Leaf: func() *LeafNode {
			l := leaf(1)
			l.EncryptionKey = l.EncryptionKey[:31]
			return l
		}()}},
		"duplicate encryption key": {good[0], nil, {Leaf: func() *LeafNode {
			l := leaf(1)
			l.EncryptionKey = leaf(0).EncryptionKey
			return l
		}()}},
		"duplicate signature key": {good[0], nil, {Leaf: func() *LeafNode {
			l := leaf(1)
			l.SignatureKey = leaf(0).SignatureKey
			return l
		}()}},
		"parent key equals a leaf's": {good[0], {Parent: &ParentNode{EncryptionKey: leaf(0).EncryptionKey}}, good[2]},
		"unmerged not sorted":        {good[0], {Parent: &ParentNode{EncryptionKey: parent.EncryptionKey, UnmergedLeaves: []LeafIndex{1, 0}}}, good[2]},
		"unmerged outside":           {good[0], {Parent: &ParentNode{EncryptionKey: parent.EncryptionKey, UnmergedLeaves: []LeafIndex{2}}}, good[2], nil, good[4]},
		"unmerged blank":             {good[0], {Parent: &ParentNode{EncryptionKey: parent.EncryptionKey, UnmergedLeaves: []LeafIndex{1}}}, nil, nil, good[4]},
		"unmerged not listed below": {good[0], {Parent: &ParentNode{EncryptionKey: parent.EncryptionKey}}, good[2],
			{Parent: &ParentNode{EncryptionKey: bytes.Repeat([]byte{8}, 32), UnmergedLeaves: []LeafIndex{1}}}, good[4]},
	}
	for name, nl := range cases {
		_, err := UnmarshalTree(cs, enc(nl))
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if !errors.Is(err, ErrMalformedTree) && !errors.Is(err, ErrDuplicateKey) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := UnmarshalTree(cs, append(enc(good), 0)); !errors.Is(err, ErrMalformedTree) {
		t.Errorf("trailing byte: %v", err)
	}
}

func TestCloneIsolation(t *testing.T) {
	tr, _, rnd := smallTree(t, 600) // several chunks
	h0 := tr.TreeHash()
	b0, _ := tr.RatchetTree()
	c := tr.Clone()
	for i := LeafIndex(0); i < 600; i += 7 {
		if err := c.RemoveLeaf(i); err != nil {
			t.Fatal(err)
		}
	}
	ln, _ := newLeaf(t, tr.cs, rnd, SourceKeyPackage, nil, nil, 0)
	if _, err := c.AddLeaf(ln); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(c.TreeHash(), h0) {
		t.Fatal("clone unchanged")
	}
	if b1, _ := tr.RatchetTree(); !bytes.Equal(tr.TreeHash(), h0) || !bytes.Equal(b1, b0) {
		t.Fatal("changing a clone changed the original")
	}
	// The original still has the removed members' keys, the clone not.
	enc0 := tr.EncryptionKey(0)
	if _, ok := tr.FindEncryptionKey(enc0); !ok {
		t.Fatal("original lost a key")
	}
	if x, ok := c.FindEncryptionKey(enc0); ok {
		t.Fatalf("clone still finds a removed key at %d", x)
	}
	// The original can change independently too.
	if err := tr.RemoveLeaf(1); err != nil {
		t.Fatal(err)
	}
	if !c.IsMember(1) || tr.IsMember(1) {
		t.Fatal("removal crossed clones")
	}
}

func TestKeyIndexAgainstMap(t *testing.T) {
	// Drive the index through a tree: random adds and removes, with every
	// key looked up after each step.
	tr, _, rnd := smallTree(t, 40)
	rng := newSeeded(5)
	for step := range 400 {
		var b [1]byte
		rng.Read(b[:])
		if b[0]%3 == 0 && tr.MemberCount() > 2 {
			var idx [4]byte
			rng.Read(idx[:])
			i := LeafIndex(uint32(idx[0]) % tr.LeafCount())
			if tr.IsMember(i) {
				if err := tr.RemoveLeaf(i); err != nil {
					t.Fatal(err)
				}
			}
		} else {
			ln, _ := newLeaf(t, tr.cs, rnd, SourceKeyPackage, nil, nil, 0)
			if _, err := tr.AddLeaf(ln); err != nil {
				t.Fatal(err)
			}
		}
		count := 0
		for x := NodeIndex(0); uint32(x) < tr.Width(); x++ {
			if tr.IsBlank(x) {
				continue
			}
			count++
			if y, ok := tr.FindEncryptionKey(tr.EncryptionKey(x)); !ok || y != x {
				t.Fatalf("step %d: key of node %d found at %d, %v", step, x, y, ok)
			}
			if x.IsLeaf() {
				if j, ok := tr.FindSignatureKey(tr.SignatureKey(x.Leaf())); !ok || j != x.Leaf() {
					t.Fatalf("step %d: signature key of leaf %d found at %d", step, x.Leaf(), j)
				}
			}
		}
		// Stale entries are kept, but not without bound.
		if tr.enc.count > 4*count+64 {
			t.Fatalf("step %d: %d non-blank nodes, %d index entries", step, count, tr.enc.count)
		}
		if _, ok := tr.FindEncryptionKey(bytes.Repeat([]byte{0xaa}, 32)); ok {
			t.Fatal("found an absent key")
		}
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	tr, ms, _ := smallTree(t, 37)
	if err := tr.RemoveLeaf(5); err != nil {
		t.Fatal(err)
	}
	data, err := tr.RatchetTree()
	if err != nil {
		t.Fatal(err)
	}
	back, err := UnmarshalTree(tr.cs, data)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.TreeHash(), tr.TreeHash()) {
		t.Fatal("tree hash changed by a round trip")
	}
	fromNodes, err := NewTreeFromNodes(tr.cs, tr.Nodes())
	if err != nil || !bytes.Equal(fromNodes.TreeHash(), tr.TreeHash()) {
		t.Fatalf("NewTreeFromNodes: %v", err)
	}
	p, err := NewPrivateState(tr.cs, 3, ms[3].encPriv)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.SetPathSecret(7, bytes.Repeat([]byte{1}, 32)); err != nil {
		t.Fatal(err)
	}
	enc, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	q, err := UnmarshalPrivateState(tr.cs, enc)
	if err != nil {
		t.Fatal(err)
	}
	if q.Leaf() != 3 || !slices.Equal(q.Nodes(), p.Nodes()) || !bytes.Equal(q.LeafPrivateKey(), ms[3].encPriv) {
		t.Fatal("private state changed by a round trip")
	}
	for n := range len(enc) {
		if _, err := UnmarshalPrivateState(tr.cs, enc[:n]); err == nil {
			t.Fatalf("prefix %d decodes", n)
		}
	}
}

func TestQueries(t *testing.T) {
	tr, _, rnd := smallTree(t, 6)
	if err := tr.RemoveLeaf(2); err != nil {
		t.Fatal(err)
	}
	if got := slices.Collect(tr.Members()); !slices.Equal(got, []LeafIndex{0, 1, 3, 4, 5}) {
		t.Fatalf("members %v", got)
	}
	if i, err := tr.FreeLeaf(); err != nil || i != 2 {
		t.Fatalf("free leaf %d, %v", i, err)
	}
	ln, _ := tr.Leaf(4)
	if i, ok := tr.FindLeaf(ln); !ok || i != 4 {
		t.Fatalf("FindLeaf: %d %v", i, ok)
	}
	ln.Signature[0] ^= 1
	if _, ok := tr.FindLeaf(ln); ok {
		t.Fatal("FindLeaf matched a different leaf node")
	}
	if !tr.SupportsAll(&RequiredCapabilities{Credentials: []CredentialType{CredentialBasic}, Extensions: []ExtensionType{ExtensionRatchetTree}}) {
		t.Fatal("basic credentials are supported by all")
	}
	if tr.SupportsAll(&RequiredCapabilities{Proposals: []uint16{0x0a0a}}) {
		t.Fatal("an unknown proposal type is not supported")
	}
	// A member that supports an extra extension does not make it
	// universal.
	l2, _ := newLeaf(t, tr.cs, rnd, SourceKeyPackage, nil, nil, 0)
	l2.Capabilities.Extensions = []ExtensionType{0x0b0b}
	if _, err := tr.AddLeaf(l2); err != nil {
		t.Fatal(err)
	}
	if tr.SupportsAll(&RequiredCapabilities{Extensions: []ExtensionType{0x0b0b}}) {
		t.Fatal("0x0b0b is not supported by all")
	}
	// Resolution of the root: the leaves, since no parent is set.
	if res := tr.Resolution(tr.Root()); len(res) != int(tr.MemberCount()) {
		t.Fatalf("resolution %v", res)
	}
}

// TestLargeTreeHashes checks the tree hash of a tree large enough to be
// hashed on several goroutines and to span three bands of blocks, then of
// a clone and of the original after each changed leaves on its own,
// against naiveTreeHash.
func TestLargeTreeHashes(t *testing.T) {
	cs := testSuite(t)
	n := 1<<13 + 5
	tr, _ := benchTree(t, cs, treeSpec{members: n})
	check := func(name string, tr *Tree) {
		t.Helper()
		if got, want := tr.TreeHash(), naiveTreeHash(t, cs, tr.Nodes(), tr.LeafCount()); !bytes.Equal(got, want) {
			t.Fatalf("%s: tree hash %x, want %x", name, got, want)
		}
	}
	check("built", tr)
	c := tr.Clone()
	rnd := newSeeded(3)
	change := func(tr *Tree, i LeafIndex) {
		ln, _ := tr.Leaf(i)
		ln.EncryptionKey = make([]byte, 32)
		rnd.Read(ln.EncryptionKey)
		if err := tr.UpdateLeaf(i, ln); err != nil {
			t.Fatal(err)
		}
	}
	for i := LeafIndex(0); int(i) < n; i += 997 {
		change(c, i)
	}
	change(tr, LeafIndex(n-1))
	check("clone", c)
	check("original", tr)
	// Removing the last members shrinks the tree across a band; adding
	// them back grows it again.
	for i := n - 1; i >= 1<<12; i-- {
		if err := c.RemoveLeaf(LeafIndex(i)); err != nil {
			t.Fatal(err)
		}
	}
	if c.LeafCount() != 1<<12 {
		t.Fatalf("%d leaves after the removals, want %d", c.LeafCount(), 1<<12)
	}
	check("shrunk", c)
	for range 70 {
		ln, _ := newLeaf(t, cs, newSeeded(uint64(rnd.r.Uint64())), SourceKeyPackage, nil, nil, 0)
		if _, err := c.AddLeaf(ln); err != nil {
			t.Fatal(err)
		}
	}
	check("regrown", c)
	check("original again", tr)
}
