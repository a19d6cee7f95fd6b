package treekem

import (
	"bytes"
	"hash/maphash"
)

// keyIndex maps public keys to the node holding them, so that the
// uniqueness checks of §7.3 and §12.4.2 cost O(1) instead of O(n). It is an
// open-addressing table with linear probing whose slots hold node index+1
// (0 is empty); the keys themselves are read from the tree's nodes, so an
// entry costs 4 bytes at a load factor of at most 1/2. The slots are kept
// in chunks shared copy-on-write between clones, like the node store.
type keyIndex struct {
	chunks cowTable[slotChunk]
	mask   uint32 // table size - 1; the size is a power of two
	shift  uint32 // log2 of the slots per chunk
	count  int
	owner  *owner
	seed   maphash.Seed
}

type slotChunk struct {
	owner *owner
	s     []uint32
}

const maxSlotChunkBits = 8

// keySource reads the indexed key of a node from the store: the encryption
// key of a leaf or parent, or the signature key of a leaf.
type keySource struct {
	st  *store
	sig bool
}

func (ks keySource) key(x NodeIndex) []byte {
	d := ks.st.get(x).data
	if x.IsLeaf() {
		enc, sig := leafKeys(d)
		if ks.sig {
			return sig
		}
		return enc
	}
	return parentKey(d)
}

func newKeyIndex(seed maphash.Seed, entries int) keyIndex {
	size := uint32(16)
	for int(size) < 2*entries {
		size <<= 1
	}
	ix := keyIndex{owner: new(owner), seed: seed}
	ix.alloc(size)
	return ix
}

func (ix *keyIndex) alloc(size uint32) {
	bits := uint32(0)
	for 1<<bits < size && bits < maxSlotChunkBits {
		bits++
	}
	per := uint32(1) << bits
	ix.chunks = newCowTable[slotChunk]()
	for range size / per {
		ix.chunks.append(&slotChunk{owner: ix.owner, s: make([]uint32, per)})
	}
	ix.mask, ix.shift, ix.count = size-1, bits, 0
}

func (ix *keyIndex) get(i uint32) uint32 {
	return ix.chunks.get(int(i >> ix.shift)).s[i&(1<<ix.shift-1)]
}

func (ix *keyIndex) set(i, v uint32) {
	c := ix.chunks.get(int(i >> ix.shift))
	if c.owner != ix.owner {
		c = &slotChunk{owner: ix.owner, s: append([]uint32(nil), c.s...)}
		ix.chunks.set(int(i>>ix.shift), c)
	}
	c.s[i&(1<<ix.shift-1)] = v
}

func (ix *keyIndex) home(key []byte) uint32 {
	return uint32(maphash.Bytes(ix.seed, key)) & ix.mask
}

// find returns the node holding key.
func (ix *keyIndex) find(ks keySource, key []byte) (NodeIndex, bool) {
	for i := ix.home(key); ; i = (i + 1) & ix.mask {
		v := ix.get(i)
		if v == 0 {
			return 0, false
		}
		if bytes.Equal(ks.key(NodeIndex(v-1)), key) {
			return NodeIndex(v - 1), true
		}
	}
}

// insert records that x holds key. If another node holds key already, it
// returns that node and false and changes nothing.
func (ix *keyIndex) insert(ks keySource, x NodeIndex, key []byte) (NodeIndex, bool) {
	if 2*(ix.count+1) > int(ix.mask)+1 {
		ix.resize(ks, 2*(ix.mask+1))
	}
	i := ix.home(key)
	for ; ; i = (i + 1) & ix.mask {
		v := ix.get(i)
		if v == 0 {
			break
		}
		if bytes.Equal(ks.key(NodeIndex(v-1)), key) {
			return NodeIndex(v - 1), false
		}
	}
	ix.set(i, uint32(x)+1)
	ix.count++
	return x, true
}

// remove deletes the entry of x, which holds key, by backward shifting.
func (ix *keyIndex) remove(ks keySource, x NodeIndex, key []byte) {
	i := ix.home(key)
	for ; ; i = (i + 1) & ix.mask {
		v := ix.get(i)
		if v == 0 {
			return // not indexed
		}
		if v == uint32(x)+1 {
			break
		}
	}
	ix.count--
	for {
		ix.set(i, 0)
		j := i
		for {
			j = (j + 1) & ix.mask
			v := ix.get(j)
			if v == 0 {
				return
			}
			k := ix.home(ks.key(NodeIndex(v - 1)))
			// The entry at j may move to i unless its home lies
			// cyclically in (i, j].
			if (i <= j && (k <= i || k > j)) || (i > j && k <= i && k > j) {
				ix.set(i, v)
				i = j
				break
			}
		}
	}
}

func (ix *keyIndex) resize(ks keySource, size uint32) {
	old := ix.chunks
	ix.owner = new(owner)
	ix.alloc(size)
	for k := range old.len() {
		for _, v := range old.get(k).s {
			if v == 0 {
				continue
			}
			i := ix.home(ks.key(NodeIndex(v - 1)))
			for ix.get(i) != 0 {
				i = (i + 1) & ix.mask
			}
			ix.set(i, v)
			ix.count++
		}
	}
}

func (ix *keyIndex) clone() keyIndex {
	ix.owner = new(owner)
	c := *ix
	c.chunks = ix.chunks.clone()
	c.owner = new(owner)
	return c
}
