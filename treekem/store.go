package treekem

// The node store keeps the public tree in fixed-size chunks of nodes that
// are shared copy-on-write between a Tree and its clones: Clone copies only
// the table of chunk pointers, and the first write to a shared chunk copies
// that chunk. A commit touches O(log n) nodes, so staging it on a clone
// costs O(n/chunkSize) pointer copies plus O(log n) chunk copies.

const (
	chunkBits = 6
	chunkSize = 1 << chunkBits
)

// owner identifies the Tree allowed to write a chunk in place. It has a
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
	// the chunk's hash slot holds the node's tree hash. Invariant: a node
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

type chunk struct {
	owner  *owner
	nodes  [chunkSize]node
	hashes []byte // chunkSize tree hashes of nh bytes each
}

// store is the chunked node array. Nodes past the tree's width are kept
// blank (with their cached blank-subtree hashes) when the tree shrinks, so
// that growing back does not rehash them.
type store struct {
	chunks cowTable[chunk]
	owner  *owner // owner of the chunks this store may write in place
	nh     int
}

func newStore(nh int) store { return store{chunks: newCowTable[chunk](), owner: new(owner), nh: nh} }

// grow makes room for nodes [0, width).
func (s *store) grow(width uint32) {
	need := int((uint64(width) + chunkSize - 1) >> chunkBits)
	for s.chunks.len() < need {
		s.chunks.append(&chunk{owner: s.owner, hashes: make([]byte, chunkSize*s.nh)})
	}
}

// get returns the node x for reading; it must not be written through.
func (s *store) get(x NodeIndex) *node {
	return &s.chunks.get(int(x >> chunkBits)).nodes[x&(chunkSize-1)]
}

// mut returns the node x for writing, copying its chunk first if shared.
func (s *store) mut(x NodeIndex) *node {
	c := s.own(int(x >> chunkBits))
	return &c.nodes[x&(chunkSize-1)]
}

func (s *store) own(i int) *chunk {
	c := s.chunks.get(i)
	if c.owner != s.owner {
		cp := &chunk{owner: s.owner, nodes: c.nodes, hashes: append([]byte(nil), c.hashes...)}
		s.chunks.set(i, cp)
		c = cp
	}
	return c
}

// hash returns the cached tree hash slot of x (read-only).
func (s *store) hash(x NodeIndex) []byte {
	o := int(x&(chunkSize-1)) * s.nh
	return s.chunks.get(int(x >> chunkBits)).hashes[o : o+s.nh : o+s.nh]
}

// setHash stores h as x's tree hash and marks it valid.
func (s *store) setHash(x NodeIndex, h []byte) {
	c := s.own(int(x >> chunkBits))
	o := int(x&(chunkSize-1)) * s.nh
	copy(c.hashes[o:o+s.nh], h)
	c.nodes[x&(chunkSize-1)].bits |= hashValid
}

// clone returns a store sharing every chunk with s; both must copy a chunk
// before their next write to it.
func (s *store) clone() store {
	s.owner = new(owner)
	return store{chunks: s.chunks.clone(), owner: new(owner), nh: s.nh}
}
