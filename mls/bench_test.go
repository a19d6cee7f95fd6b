package mls

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"math/bits"
	"testing"

	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/treekem"
)

// fullTree builds a tree of n members whose parent nodes are all set, as in
// a group where everyone has committed: the keys of member 1's direct path
// derive from path secrets known to the test (pathSecret); the other
// parents and the leaves other than 0 and 1 have random keys (the test
// suite's X25519 takes any 32 bytes as a public key). Members 0 and 1 are
// real (sim members 0 and 1).
func fullTree(b testing.TB, cs *suite.Suite, n int) (*treekem.Tree, []*simMember) {
	b.Helper()
	m0, l0 := seededMember(b, cs, 0)
	m1, l1 := seededMember(b, cs, 1)
	nodes := make(treekem.NodeList, 2*n-1)
	for i := range n {
		var ln *treekem.LeafNode
		switch i {
		case 0:
			ln = l0
		case 1:
			ln = l1
		default:
			c := *l0
			c.EncryptionKey = randBytes(b, cs.HPKEPublicKeySize())
			c.SignatureKey = randBytes(b, 32)
			ln = &c
		}
		nodes[2*i] = &treekem.Node{Leaf: ln}
	}
	// Only the keys of member 1's direct path need private keys; any 32
	// bytes are an X25519 public key, which is all the others need.
	real := map[int]bool{}
	for _, x := range treekem.DirectPath(treekem.LeafIndex(1).Node(), uint32(n)) {
		real[int(x)] = true
	}
	for x := 1; x < 2*n-1; x += 2 {
		var pub []byte
		if real[x] {
			_, pub = nodeKey(b, cs, treekem.NodeIndex(x))
		} else {
			pub = randBytes(b, cs.HPKEPublicKeySize())
		}
		nodes[x] = &treekem.Node{Parent: &treekem.ParentNode{EncryptionKey: pub, ParentHash: []byte{}}}
	}
	t, err := treekem.NewTreeFromNodes(cs, nodes)
	if err != nil {
		b.Fatal(err)
	}
	return t, []*simMember{m0, m1}
}

func pathSecret(x treekem.NodeIndex) []byte {
	s := make([]byte, 32)
	binary.BigEndian.PutUint32(s, uint32(x))
	return s
}

func nodeKey(b testing.TB, cs *suite.Suite, x treekem.NodeIndex) (priv, pub []byte) {
	ns, err := cs.DeriveSecret(pathSecret(x), "node")
	if err != nil {
		b.Fatal(err)
	}
	priv, pub, err = cs.DeriveKeyPair(ns)
	if err != nil {
		b.Fatal(err)
	}
	return priv, pub
}

func randBytes(b testing.TB, n int) []byte {
	out := make([]byte, n)
	if _, err := rand.Read(out); err != nil {
		b.Fatal(err)
	}
	return out
}

// largeGroup returns the views of members 0 and 1 of a group of n members
// (fullTree); member 1 knows the path secrets of its direct path, so it
// can process member 0's commits.
func largeGroup(b testing.TB, cs *suite.Suite, n int) (view, member *Group) {
	tree, ms := fullTree(b, cs, n)
	view, err := groupFromTree(ms[0].cfg, []byte("big"), nil, tree, 0, ms[0].leafPriv)
	if err != nil {
		b.Fatal(err)
	}
	secrets := map[treekem.NodeIndex][]byte{}
	for _, x := range treekem.DirectPath(treekem.LeafIndex(1).Node(), uint32(n)) {
		secrets[x] = pathSecret(x)
	}
	member, err = view.viewAs(ms[1].cfg, 1, ms[1].leafPriv, secrets)
	if err != nil {
		b.Fatal(err)
	}
	return view, member
}

// BenchmarkCommitLargeGroup measures a commit by one member of a large
// group and its processing by another, whose path keys are known: the cost
// must not grow with the group beyond O(log n) hashing and encryption (and
// the O(n/256) copy-on-write clone of the tree).
func BenchmarkCommitLargeGroup(b *testing.B) {
	cs, _ := suite.Lookup(testSuite)
	for _, n := range []int{1 << 10, 1 << 13, 1 << 16} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			view, obs := largeGroup(b, cs, n)
			b.ResetTimer()
			for b.Loop() {
				pc, err := view.Commit(nil)
				if err != nil {
					b.Fatal(err)
				}
				if err := view.Apply(pc); err != nil {
					b.Fatal(err)
				}
				r, err := obs.Process(pc.Commit)
				if err != nil {
					b.Fatal(err)
				}
				if err := obs.Apply(r.Commit); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCommitCreate measures creating a commit with a full path in a
// large group whose copath resolutions hold one node each, without applying
// it, next to its crypto floor: depth × (one DeriveKeyPair + one HPKE
// seal), as the treekem benchmarks define it. What the commit costs beyond
// the floor is mls.Group.Commit's own work: signatures, the key schedule,
// framing and the tree's bookkeeping.
func BenchmarkCommitCreate(b *testing.B) {
	cs, _ := suite.Lookup(testSuite)
	for _, n := range []int{1 << 10, 1 << 16} {
		tree, ms := fullTree(b, cs, n)
		view, err := groupFromTree(ms[0].cfg, []byte("big"), nil, tree, 0, ms[0].leafPriv)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%d/commit", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := view.Commit(nil); err != nil {
					b.Fatal(err)
				}
			}
		})
		depth := bits.Len(uint(n - 1))
		_, pub := nodeKey(b, cs, 1)
		ikm, gc := make([]byte, 32), make([]byte, 120)
		b.Run(fmt.Sprintf("%d/floor", n), func(b *testing.B) {
			for b.Loop() {
				for range depth {
					if _, _, err := cs.DeriveKeyPair(ikm); err != nil {
						b.Fatal(err)
					}
					if _, _, err := cs.EncryptWithLabel(nil, pub, "UpdatePathNode", gc, ikm); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkPublicGroupCommit measures processing one commit with a full
// path in a group of n members, by a member (which decrypts its path
// secret and runs the key schedule) and by a PublicGroup (which checks
// everything but the secrets), in the same run: public/member is the
// ratio to quote. The commit is processed again and again without being
// applied, so both stay in the same epoch.
func BenchmarkPublicGroupCommit(b *testing.B) {
	cs, _ := suite.Lookup(testSuite)
	for _, n := range []int{1000, 100000} {
		view, member := largeGroup(b, cs, n)
		pub := member.PublicGroup()
		pc, err := view.Commit(nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%d/member", n), func(b *testing.B) {
			for b.Loop() {
				r, err := member.Process(pc.Commit)
				if err != nil {
					b.Fatal(err)
				}
				r.Commit.Discard()
			}
		})
		b.Run(fmt.Sprintf("%d/public", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := pub.Process(pc.Commit); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
