package keyschedule

import (
	"testing"

	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/treekem"
)

// benchLeaves is the group size of the secret-tree benchmarks.
const benchLeaves = 1_000_000

// forEachSuite runs bench once per cipher suite, as a sub-benchmark named
// after the suite.
func forEachSuite(b *testing.B, bench func(b *testing.B, s *suite.Suite)) {
	for _, id := range suite.IDs() {
		s := mustSuite(b, id)
		b.Run(id.String(), func(b *testing.B) { bench(b, s) })
	}
}

func benchTree(b *testing.B, s *suite.Suite) *SecretTree {
	tree, err := NewSecretTree(s, filled(s.HashSize(), 0x42), benchLeaves, Config{})
	if err != nil {
		b.Fatal(err)
	}
	return tree
}

// BenchmarkSecretTreeFirstMessage measures a fresh epoch of a group of a
// million members: creating the secret tree and deriving the first key of
// one sender (20 levels of tree derivation plus the ratchet roots).
func BenchmarkSecretTreeFirstMessage(b *testing.B) {
	forEachSuite(b, func(b *testing.B, s *suite.Suite) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			tree := benchTree(b, s)
			if _, _, err := tree.ReceiveKey(treekem.LeafIndex(i%benchLeaves), Application, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSecretTreeNextGeneration measures the steady state of a sender:
// one ratchet step per message.
func BenchmarkSecretTreeNextGeneration(b *testing.B) {
	forEachSuite(b, func(b *testing.B, s *suite.Suite) {
		b.Run("send", func(b *testing.B) {
			tree := benchTree(b, s)
			b.ReportAllocs()
			for b.Loop() {
				if _, _, _, err := tree.SendKey(12345, Application); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("receive", func(b *testing.B) {
			tree := benchTree(b, s)
			b.ReportAllocs()
			for gen := uint32(0); b.Loop(); gen++ {
				if _, _, err := tree.ReceiveKey(12345, Application, gen); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// BenchmarkSecretTreeManySenders measures the first message of successive
// senders in one epoch of a million-member group, where the upper levels of
// the tree are already derived.
func BenchmarkSecretTreeManySenders(b *testing.B) {
	forEachSuite(b, func(b *testing.B, s *suite.Suite) {
		tree := benchTree(b, s)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			leaf := treekem.LeafIndex(uint32(i) * 7919 % benchLeaves)
			if _, _, err := tree.ReceiveKey(leaf, Handshake, uint32(i/benchLeaves)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkDeriveEpoch measures one step of the key schedule (§8).
func BenchmarkDeriveEpoch(b *testing.B) {
	forEachSuite(b, func(b *testing.B, s *suite.Suite) {
		nh := s.HashSize()
		init, commit, gc := filled(nh, 1), filled(nh, 2), filled(120, 3)
		b.ReportAllocs()
		for b.Loop() {
			e, err := Derive(s, init, commit, nil, gc)
			if err != nil {
				b.Fatal(err)
			}
			e.Wipe()
		}
	})
}
