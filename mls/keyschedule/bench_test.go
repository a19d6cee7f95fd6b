package keyschedule

import (
	"testing"

	"github.com/mlsengine/engine/treekem"
)

// BenchmarkSecretTreeFirstMessage measures a fresh epoch of a group of a
// million members: creating the secret tree and deriving the first key of
// one sender (20 levels of tree derivation plus the ratchet roots).
func BenchmarkSecretTreeFirstMessage(b *testing.B) {
	s := testSuite(b)
	secret := filled(s.HashSize(), 1)
	const n = 1_000_000
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		tree, err := NewSecretTree(s, secret, n, Config{})
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := tree.ReceiveKey(treekem.LeafIndex(i%n), Application, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSecretTreeNextGeneration measures the steady state of a sender:
// one ratchet step per message.
func BenchmarkSecretTreeNextGeneration(b *testing.B) {
	b.Run("send", func(b *testing.B) {
		tree := newTestTree(b, 1_000_000, Config{})
		b.ReportAllocs()
		for b.Loop() {
			if _, _, _, err := tree.SendKey(12345, Application); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("receive", func(b *testing.B) {
		tree := newTestTree(b, 1_000_000, Config{})
		b.ReportAllocs()
		for gen := uint32(0); b.Loop(); gen++ {
			if _, _, err := tree.ReceiveKey(12345, Application, gen); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSecretTreeManySenders measures the first message of successive
// senders in one epoch of a million-member group, where the upper levels of
// the tree are already derived.
func BenchmarkSecretTreeManySenders(b *testing.B) {
	tree := newTestTree(b, 1_000_000, Config{})
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		leaf := treekem.LeafIndex(uint32(i) * 7919 % 1_000_000)
		if _, _, err := tree.ReceiveKey(leaf, Handshake, uint32(i/1_000_000)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDeriveEpoch measures one step of the key schedule (§8).
func BenchmarkDeriveEpoch(b *testing.B) {
	s := testSuite(b)
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
}
