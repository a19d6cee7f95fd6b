package treekem

import (
	"bytes"
	"hash/maphash"
	"sync"
)

// keyIndex maps public keys to the node holding them, so that the
// uniqueness checks of §7.3 and §12.4.2 cost O(1) instead of O(n). It is an
// open-addressing table with linear probing whose slots hold a node index
// and a hash of the key; the keys themselves are read from the tree's
// nodes.
//
// A tree and its clones share one index, which only grows: a tree adds
// the keys it sets and never removes any, and a lookup takes an entry only
// if the node it names holds the key in the tree that asks. Entries of
// keys a tree no longer holds (a node rewritten or blanked, here or in a
// clone that was discarded) are skipped, so Clone costs nothing for the
// index, and a commit costs one probe per key it sets, with no copying.
// The stale entries are dropped when a tree rebuilds a private index from
// its own keys (compact), once they outnumber its live ones.
//
// The mutex serializes clones that use the index from different
// goroutines; a single tree's lookups only read.
type keyIndex struct {
	mu    sync.RWMutex
	slots []keySlot // len a power of two
	count int       // entries, stale ones included
	seed  maphash.Seed
}

// keySlot is one entry: node+1 (0 is empty) and the low 32 bits of the
// key's hash, which place it in a table of any size.
type keySlot struct{ node, hash uint32 }

// keySource reads the indexed key of a node from a tree's store: the
// encryption key of a leaf or parent, or the signature key of a leaf.
type keySource struct {
	st  *store
	sig bool
}

func (ks keySource) key(x NodeIndex) []byte {
	if !ks.st.has(x) {
		return nil // an entry of a clone with a larger tree
	}
	d := ks.st.get(x).data
	switch {
	case d == nil:
		return nil
	case x.IsLeaf():
		enc, sig := leafKeys(d)
		if ks.sig {
			return sig
		}
		return enc
	}
	return parentKey(d)
}

// holds reports whether node x holds key in the tree of ks.
func (ks keySource) holds(x NodeIndex, key []byte) bool {
	k := ks.key(x)
	return k != nil && bytes.Equal(k, key)
}

func newKeyIndex(seed maphash.Seed, entries int) *keyIndex {
	return &keyIndex{slots: make([]keySlot, tableSize(entries)), seed: seed}
}

// tableSize is the smallest power of two, at least 16, that holds entries
// at a load factor of at most 1/2.
func tableSize(entries int) int {
	size := 16
	for size < 2*entries {
		size <<= 1
	}
	return size
}

func (ix *keyIndex) hash(key []byte) uint32 { return uint32(maphash.Bytes(ix.seed, key)) }

// find returns the node of ks's tree holding key.
func (ix *keyIndex) find(ks keySource, key []byte) (NodeIndex, bool) {
	h := ix.hash(key)
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	mask := uint32(len(ix.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := ix.slots[i]
		if s.node == 0 {
			return 0, false
		}
		if s.hash == h && ks.holds(NodeIndex(s.node-1), key) {
			return NodeIndex(s.node - 1), true
		}
	}
}

// insert records that x holds key in ks's tree, and returns the number
// of entries. If another node of the tree holds key already, it returns
// that node and false and changes nothing.
func (ix *keyIndex) insert(ks keySource, x NodeIndex, key []byte) (NodeIndex, int, bool) {
	h := ix.hash(key)
	ix.mu.Lock()
	defer ix.mu.Unlock()
	mask := uint32(len(ix.slots) - 1)
	i := h & mask
	for ; ix.slots[i].node != 0; i = (i + 1) & mask {
		s := ix.slots[i]
		if s.hash != h {
			continue
		}
		y := NodeIndex(s.node - 1)
		if y == x {
			return x, ix.count, true // recorded before, by this tree or a clone
		}
		if ks.holds(y, key) {
			return y, ix.count, false
		}
	}
	ix.slots[i] = keySlot{node: uint32(x) + 1, hash: h}
	ix.count++
	if 2*ix.count > len(ix.slots) {
		ix.grow()
	}
	return x, ix.count, true
}

// grow doubles the table, placing the entries by their stored hashes.
func (ix *keyIndex) grow() {
	old := ix.slots
	ix.slots = make([]keySlot, 2*len(old))
	mask := uint32(len(ix.slots) - 1)
	for _, s := range old {
		if s.node == 0 {
			continue
		}
		i := s.hash & mask
		for ix.slots[i].node != 0 {
			i = (i + 1) & mask
		}
		ix.slots[i] = s
	}
}

// stale reports whether the index holds more than factor times as many
// entries as live, the number of keys of the tree asking, and should be
// rebuilt.
func (ix *keyIndex) stale(live, factor int) bool {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return tooMany(ix.count, live, factor)
}

func tooMany(entries, live, factor int) bool { return entries > factor*live+64 }
