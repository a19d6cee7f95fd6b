package treekem

import (
	"errors"
	"runtime"
	"testing"

	"github.com/mlsengine/engine/mls/wire"
)

// TestUnmarshalTreeLimit checks the bound at its edge: a tree whose
// encoding has exactly maxLeaves leaves decodes, one more fails with a
// *TreeSizeError.
func TestUnmarshalTreeLimit(t *testing.T) {
	cs := testSuite(t)
	tr, _, _ := smallTree(t, 5) // 5 members: leaves 0..4 in the encoding
	data, err := tr.RatchetTree()
	if err != nil {
		t.Fatal(err)
	}
	for _, limit := range []uint32{0, 5, 6, 1 << 22} {
		got, err := UnmarshalTreeLimit(cs, data, limit)
		if err != nil {
			t.Fatalf("limit %d: %v", limit, err)
		}
		if got.MemberCount() != 5 || string(got.TreeHash()) != string(tr.TreeHash()) {
			t.Fatalf("limit %d: tree differs", limit)
		}
	}
	for _, limit := range []uint32{1, 4} {
		_, err := UnmarshalTreeLimit(cs, data, limit)
		var se *TreeSizeError
		if !errors.Is(err, ErrTreeTooLarge) || !errors.As(err, &se) || se.Max != limit {
			t.Fatalf("limit %d: %v, want a TreeSizeError of max %d", limit, err, limit)
		}
		if errors.Is(err, ErrMalformedTree) {
			t.Fatalf("limit %d: a large tree is not malformed: %v", limit, err)
		}
	}
	// UnmarshalTree keeps treekem's own bound only.
	if _, err := UnmarshalTree(cs, data); err != nil {
		t.Fatal(err)
	}
}

// TestUnmarshalTreeLimitBeforeAllocation decodes a few megabytes of blank
// nodes, which declare a tree of millions of leaves, with a small bound: it
// must fail having allocated little more than its copy of the input, not
// per-node state for the declared tree.
func TestUnmarshalTreeLimitBeforeAllocation(t *testing.T) {
	cs := testSuite(t)
	const nodes = 1 << 22 // 2^21 leaves, one byte each
	b := wire.NewBuilder(nil)
	b.AddVectorFunc(func(b *wire.Builder) {
		for range nodes {
			b.AddUint8(0) // a blank node: optional<Node> absent
		}
	})
	data, err := b.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	const limit = 1 << 10
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err = UnmarshalTreeLimit(cs, data, limit)
	runtime.ReadMemStats(&after)
	var se *TreeSizeError
	if !errors.As(err, &se) || se.Max != limit {
		t.Fatalf("got %v, want a TreeSizeError of max %d", err, limit)
	}
	// The input copy, plus the node boundaries of at most 2*limit-1 nodes
	// (slices of 24 bytes, grown by doubling): far below the 100 MB that
	// the node list and store of 2^22 nodes take.
	allocated := after.TotalAlloc - before.TotalAlloc
	if max := uint64(len(data)) + 1<<20; allocated > max {
		t.Fatalf("allocated %d bytes before rejecting the tree, want at most %d", allocated, max)
	}
}
