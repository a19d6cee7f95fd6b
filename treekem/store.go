package treekem

// The node store keeps the public tree in blocks of nodes that are shared
// copy-on-write between a Tree and its clones: Clone copies only the tables
// of block pointers, and the first write to a shared block copies that
// block.
//
// A block holds a complete subtree of blockLevels levels (15 nodes, 1 KiB
// with their hashes), so the levels of the tree fall into bands of
// blockLevels levels, each band a row of blocks. A commit changes one
// leaf-to-root path, which crosses one block per band: staging it on a
// clone copies ⌈(log n + 1)/4⌉ blocks (6 for a million members, with a
// middle block of pointers each), where blocks of consecutive node indexes
// would copy one per level above the block's.

const (
	blockLevels = 4
	blockSize   = 1<<blockLevels - 1
	// maxBands covers the levels 0 to 30 of a tree of maxLeaves leaves.
	maxBands = (30 + blockLevels) / blockLevels
)

// owner identifies the Tree allowed to write a block in place. It has a
// non-zero size so that each allocation has a distinct address.
type owner struct{ _ byte }

// node is the public state of one node, 32 bytes on 64-bit platforms.
type node struct {
	// data is the node's encoding, nil when the node is blank: a LeafNode
	// for a leaf, a ParentNode for a parent (the exact bytes that the tree
	// hash covers, §7.8). It is never modified in place once stored, so it
	// may be shared by clones.
	data []byte
	// leaves counts the non-blank leaves under the node; bits holds
	// hashValid and the number of non-blank nodes under it (itself
	// included). The counts make the filtered direct path O(log n) and let
	// resolution and searches skip blank subtrees. hashValid is set when
	// the block's hash slot holds the node's tree hash. Invariant: a node
	// whose hash is stale has only stale ancestors.
	leaves uint32
	bits   uint32
}

// hashValid is the flag bit of node.bits; trees have at most 2^30 leaves,
// so fewer than 2^31 nodes, and the node count never reaches it.
const hashValid = 1 << 31

// maxLeaves is the largest number of leaves a Tree holds.
const maxLeaves = 1 << 30

func (n *node) hashOK() bool   { return n.bits&hashValid != 0 }
func (n *node) filled() uint32 { return n.bits &^ hashValid }
func (n *node) stale()         { n.bits &^= hashValid }
func (n *node) setCounts(leaves, filled uint32) {
	n.leaves = leaves
	n.bits = n.bits&hashValid | filled
}

type block struct {
	owner  *owner
	nodes  [blockSize]node
	hashes []byte // blockSize tree hashes of nh bytes each
}

// store is the blocked node array. Nodes past the tree's width are kept
// blank (with their cached blank-subtree hashes) when the tree shrinks, so
// that growing back does not rehash them.
type store struct {
	bands [maxBands]cowTable[block]
	owner *owner // owner of the blocks this store may write in place
	nh    int
}

func newStore(nh int) store { return store{owner: new(owner), nh: nh} }

// locate returns the band, block and offset in the block of node x: the
// block of band b holding x is the one under x's ancestor at the band's
// top level, and x's offset is its index in that subtree.
func locate(x NodeIndex) (band, blk int, off uint32) {
	k := x.Level()
	b := k / blockLevels
	j := k - b*blockLevels     // level in the block
	p := uint32(x) >> (k + 1)  // position in level k
	top := blockLevels - 1 - j // levels from x to the block's root
	q := p & (1<<top - 1)      // position among the block's nodes of level j
	return int(b), int(p >> top), q<<(j+1) | (1<<j - 1)
}

// grow makes room for nodes [0, width), width being 2n-1 for n leaves.
func (s *store) grow(width uint32) {
	n := (uint64(width) + 1) / 2
	for b := range s.bands {
		low := uint(b * blockLevels)
		if n < 1<<low {
			break // no node of this band
		}
		// A block spans 32 positions of the band's lowest level.
		need := int((n>>low + 1<<(blockLevels-1) - 1) >> (blockLevels - 1))
		t := &s.bands[b]
		for t.len() < need {
			t.append(&block{owner: s.owner, hashes: make([]byte, blockSize*s.nh)}, s.owner)
		}
	}
}

// has reports whether the store has room for node x.
func (s *store) has(x NodeIndex) bool {
	b, blk, _ := locate(x)
	return blk < s.bands[b].len()
}

// get returns the node x for reading; it must not be written through.
func (s *store) get(x NodeIndex) *node {
	b, blk, off := locate(x)
	return &s.bands[b].get(blk).nodes[off]
}

// mut returns the node x for writing, copying its block first if shared.
func (s *store) mut(x NodeIndex) *node {
	b, blk, off := locate(x)
	return &s.own(b, blk).nodes[off]
}

func (s *store) own(b, i int) *block {
	t := &s.bands[b]
	c := t.get(i)
	if c.owner != s.owner {
		cp := &block{owner: s.owner, nodes: c.nodes, hashes: append([]byte(nil), c.hashes...)}
		t.set(i, cp, s.owner)
		c = cp
	}
	return c
}

// hash returns the cached tree hash slot of x (read-only).
func (s *store) hash(x NodeIndex) []byte {
	b, blk, off := locate(x)
	o := int(off) * s.nh
	return s.bands[b].get(blk).hashes[o : o+s.nh : o+s.nh]
}

// hashSlot returns x's tree hash slot for writing, empty with room for
// the hash, and marks the hash valid.
func (s *store) hashSlot(x NodeIndex) []byte {
	b, blk, off := locate(x)
	c := s.own(b, blk)
	o := int(off) * s.nh
	c.nodes[off].bits |= hashValid
	return c.hashes[o : o : o+s.nh]
}

// ownMids copies every shared middle block of the tables, so that blocks
// may then be replaced concurrently (distinct blocks from distinct
// goroutines).
func (s *store) ownMids() {
	for b := range s.bands {
		s.bands[b].ownMids(s.owner)
	}
}

// clone returns a store sharing every block with s; both must copy a
// block before their next write to it.
func (s *store) clone() store {
	s.owner = new(owner)
	c := store{owner: new(owner), nh: s.nh}
	for b := range s.bands {
		c.bands[b] = s.bands[b].clone()
	}
	return c
}
