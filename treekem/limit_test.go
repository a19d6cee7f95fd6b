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

// sparseTreeEncoding returns the ratchet_tree encoding of a tree of
// `leaves` leaves in its encoding whose only members are the first
// `members`-1 leaves and the last one: the rest is blank nodes, a byte
// each.
func sparseTreeEncoding(tb testing.TB, leaves, members int) []byte {
	tb.Helper()
	cs := testSuite(tb)
	rnd := newSeeded(7)
	width := 2*leaves - 1
	b := wire.NewBuilder(make([]byte, 0, width+members*200))
	b.AddVectorFunc(func(b *wire.Builder) {
		for x := range width {
			if x%2 != 0 || (x/2 >= members-1 && x != width-1) {
				b.AddUint8(0) // optional<Node> absent
				continue
			}
			ln, _ := newLeaf(tb, cs, rnd, SourceKeyPackage, nil, nil, 0)
			b.AddOptional(true, func(b *wire.Builder) { (&Node{Leaf: ln}).MarshalMLS(b) })
		}
	})
	data, err := b.Bytes()
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// TestUnmarshalSparseTree checks the bound on blank leaves: a tree may
// have SparseTreeLeaves leaves whatever its members, and LeavesPerMember
// per member beyond; one more leaf is refused with a sparse TreeSizeError.
func TestUnmarshalSparseTree(t *testing.T) {
	cs := testSuite(t)
	for _, tc := range []struct {
		leaves, members int
		ok              bool
	}{
		{SparseTreeLeaves, 2, true},
		{SparseTreeLeaves + 1, 2, false},
		{LeavesPerMember * 4200, 4200, true},
		{LeavesPerMember*4200 + 1, 4200, false},
	} {
		data := sparseTreeEncoding(t, tc.leaves, tc.members)
		tr, err := UnmarshalTreeLimit(cs, data, 0)
		if tc.ok {
			if err != nil {
				t.Fatalf("%d leaves, %d members: %v", tc.leaves, tc.members, err)
			}
			if tr.MemberCount() != uint32(tc.members) {
				t.Fatalf("%d members decoded, want %d", tr.MemberCount(), tc.members)
			}
			continue
		}
		var se *TreeSizeError
		want := uint32(max(SparseTreeLeaves, LeavesPerMember*tc.members))
		if !errors.Is(err, ErrTreeTooLarge) || !errors.As(err, &se) || !se.Sparse ||
			se.Max != want || se.Leaves != uint32(tc.leaves) || se.Members != uint32(tc.members) {
			t.Fatalf("%d leaves, %d members: %v, want a sparse TreeSizeError of max %d", tc.leaves, tc.members, err, want)
		}
		// A trusted snapshot is not bounded.
		if _, err := UnmarshalTree(cs, data); err != nil {
			t.Fatal(err)
		}
	}
}

// maxBlankLeaves is the bound of mls.DefaultMaxTreeLeaves: a tree of that
// many leaves, two of them members, is the largest blank tree a joiner
// with the default configuration would otherwise decode (8 MiB).
const maxBlankLeaves = 1 << 22

// TestUnmarshalMaximalBlankTree refuses the maximal blank tree before
// allocating anything for its nodes (BenchmarkUnmarshalBlankTree times it).
func TestUnmarshalMaximalBlankTree(t *testing.T) {
	cs := testSuite(t)
	data := sparseTreeEncoding(t, maxBlankLeaves, 2)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := UnmarshalTreeLimit(cs, data, maxBlankLeaves)
	runtime.ReadMemStats(&after)
	var se *TreeSizeError
	if !errors.As(err, &se) || !se.Sparse || se.Leaves != maxBlankLeaves || se.Members != 2 {
		t.Fatalf("got %v, want a sparse TreeSizeError", err)
	}
	if allocated := after.TotalAlloc - before.TotalAlloc; allocated > 1<<16 {
		t.Fatalf("allocated %d bytes to refuse the tree, want at most 64 KiB", allocated)
	}
}

// BenchmarkUnmarshalBlankTree measures what a received blank tree costs:
// refusing the maximal one (2^22 leaves, 8 MiB), and decoding and hashing
// the largest sparse one accepted (SparseTreeLeaves leaves, 2 members).
func BenchmarkUnmarshalBlankTree(b *testing.B) {
	cs := testSuite(b)
	b.Run("refuse-2^22", func(b *testing.B) {
		data := sparseTreeEncoding(b, maxBlankLeaves, 2)
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := UnmarshalTreeLimit(cs, data, maxBlankLeaves); !errors.Is(err, ErrTreeTooLarge) {
				b.Fatal(err)
			}
		}
	})
	b.Run("accept-2^16", func(b *testing.B) {
		data := sparseTreeEncoding(b, SparseTreeLeaves, 2)
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			tr, err := UnmarshalTreeLimit(cs, data, maxBlankLeaves)
			if err != nil {
				b.Fatal(err)
			}
			tr.TreeHash()
		}
	})
}
