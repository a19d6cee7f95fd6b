package mls

import (
	"fmt"
	"testing"

	"github.com/mlsengine/engine/internal/benchutil"
	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/mls/wire"
	"github.com/mlsengine/engine/treekem"
)

// cpuLoop runs body in b.Loop and returns the CPU time per call, which it
// reports as cpu-ns/op.
func cpuLoop(b *testing.B, body func()) float64 {
	b.ReportAllocs()
	c0, k := benchutil.CPUTime(), 0
	for b.Loop() {
		body()
		k++
	}
	per := float64(benchutil.CPUTime()-c0) / float64(k)
	b.ReportMetric(per, "cpu-ns/op")
	return per
}

// processFloor is the crypto that processing a commit with a full path
// cannot avoid, timed on inputs of the commit's sizes. For a member
// (member): verifying the signatures of the commit and of its path's
// LeafNode, one HPKE open of the path secret, and d key derivations
// (each: DeriveSecret "node", DeriveKeyPair, DeriveSecret "path"; §7.4)
// for the d nodes of the path from the lowest one above the member to the
// root. For a PublicGroup (public): the two verifications and the hashes
// it must compute, of about their inputs' sizes: the d+1 tree hashes of
// the changed nodes (§7.8), the d parent hashes of the path (§7.9) and the
// two transcript hashes (§8.2), the confirmed one over the whole commit.
type processFloor struct {
	cs             *suite.Suite
	depth          int
	sigPub         []byte
	content, leaf  []byte // signed contents, of the commit's sizes
	contentSig     []byte
	leafSig        []byte
	hpkePriv       []byte
	kemOut, ct, gc []byte
	hashIn         []byte
	secret         []byte
}

// newProcessFloor prepares the floor of processing commit (an MLSMessage
// from the member of signer) by a member whose HPKE key pair at the node
// it decrypts to is hpkePriv, hpkePub.
func newProcessFloor(b testing.TB, cs *suite.Suite, signer Signer, commit, hpkePriv, hpkePub []byte) *processFloor {
	m, err := decodeMessage(commit)
	if err != nil {
		b.Fatal(err)
	}
	fc := &m.PublicMessage.Content
	content, err := wire.Marshal(fc)
	if err != nil {
		b.Fatal(err)
	}
	content = append(content, make([]byte, 160)...) // version, wire format, GroupContext
	path := fc.Commit.Path
	leaf, err := path.LeafNode.TBS([]byte("big"), 0)
	if err != nil {
		b.Fatal(err)
	}
	f := &processFloor{
		cs: cs, depth: len(path.Nodes), sigPub: signer.Public(), content: content, leaf: leaf,
		hpkePriv: hpkePriv, gc: make([]byte, 160), hashIn: make([]byte, 150), secret: make([]byte, cs.HashSize()),
	}
	if f.contentSig, err = cs.SignWithLabel(signer, "FramedContentTBS", content); err != nil {
		b.Fatal(err)
	}
	if f.leafSig, err = cs.SignWithLabel(signer, "LeafNodeTBS", leaf); err != nil {
		b.Fatal(err)
	}
	if f.kemOut, f.ct, err = cs.EncryptWithLabel(nil, hpkePub, "UpdatePathNode", f.gc, f.secret); err != nil {
		b.Fatal(err)
	}
	return f
}

func (f *processFloor) verify(b testing.TB) {
	if err := f.cs.VerifyWithLabel(f.sigPub, "FramedContentTBS", f.content, f.contentSig); err != nil {
		b.Fatal(err)
	}
	if err := f.cs.VerifyWithLabel(f.sigPub, "LeafNodeTBS", f.leaf, f.leafSig); err != nil {
		b.Fatal(err)
	}
}

// member runs a member's floor.
func (f *processFloor) member(b testing.TB) {
	f.verify(b)
	s, err := f.cs.DecryptWithLabel(f.hpkePriv, "UpdatePathNode", f.gc, f.kemOut, f.ct)
	if err != nil {
		b.Fatal(err)
	}
	for range f.depth {
		ns, err := f.cs.DeriveSecret(s, "node")
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := f.cs.DeriveKeyPair(ns); err != nil {
			b.Fatal(err)
		}
		if s, err = f.cs.DeriveSecret(s, "path"); err != nil {
			b.Fatal(err)
		}
	}
}

// public runs a PublicGroup's floor.
func (f *processFloor) public(b testing.TB) {
	f.verify(b)
	for range f.depth + 1 {
		f.cs.Hash(f.hashIn[:150]) // TreeHashInput
	}
	for range f.depth {
		f.cs.Hash(f.hashIn[:100]) // ParentHashInput
	}
	f.cs.Hash(f.content)     // the confirmed transcript hash
	f.cs.Hash(f.hashIn[:70]) // the interim one
}

// BenchmarkProcessCommit measures processing a commit with a full path
// (Process, then Discard of the staged commit, so that the group stays in
// its epoch and the same commit is processed again) in a group of n
// members whose parent nodes are all set: by a member that decrypts at the
// lowest level and so derives the whole path (member), and by a
// PublicGroup (public), each next to its crypto floor (processFloor)
// timed in the same run. The floor benchmarks report the ratio of the
// processing's CPU time per operation, measured just before, to theirs:
// member/floor and public/floor. Each operation's CPU time includes the
// garbage collection it causes (the group's tree is the live heap). The
// sizes are 10^3 to 10^6; MLS_BENCH_MAX lowers the largest.
func BenchmarkProcessCommit(b *testing.B) {
	cs, _ := suite.Lookup(testSuite)
	for _, n := range benchutil.Sizes("MLS_BENCH_MAX") {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) { benchProcess(b, cs, n) })
	}
}

func benchProcess(b *testing.B, cs *suite.Suite, n int) {
	view, member := largeGroup(b, cs, n)
	pub := member.PublicGroup()
	pc, err := view.Commit(nil)
	if err != nil {
		b.Fatal(err)
	}
	leafPub := member.ep.tree.EncryptionKey(treekem.LeafIndex(1).Node())
	floor := newProcessFloor(b, cs, view.cf.Signer, pc.Commit, member.ep.priv.LeafPrivateKey(), leafPub)
	var memberCPU, publicCPU float64
	b.Run("member", func(b *testing.B) {
		memberCPU = cpuLoop(b, func() {
			r, err := member.Process(pc.Commit)
			if err != nil {
				b.Fatal(err)
			}
			r.Commit.Discard()
		})
	})
	b.Run("member-floor", func(b *testing.B) {
		b.ReportMetric(float64(floor.depth), "depth")
		f := cpuLoop(b, func() { floor.member(b) })
		b.ReportMetric(memberCPU/f, "member/floor")
	})
	b.Run("public", func(b *testing.B) {
		publicCPU = cpuLoop(b, func() {
			r, err := pub.Process(pc.Commit)
			if err != nil {
				b.Fatal(err)
			}
			if r.ContentType != message.ContentCommit {
				b.Fatal("not a commit")
			}
		})
	})
	b.Run("public-floor", func(b *testing.B) {
		f := cpuLoop(b, func() { floor.public(b) })
		b.ReportMetric(publicCPU/f, "public/floor")
	})
}
