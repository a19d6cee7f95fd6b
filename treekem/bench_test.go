package treekem

import (
	"bytes"
	"fmt"
	"math/bits"
	"runtime"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/mlsengine/engine/internal/benchutil"
	"github.com/mlsengine/engine/internal/parallel"
	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/mls/wire"
)

// Benchmarks at n = 10^3 ... 10^6 members (TREEKEM_BENCH_MAX lowers the
// largest size), cipher suite 0x0001, on fully populated trees: members at
// leaves 0..n-1 and every parent with members on both sides non-blank.

// loop runs body b.N times (via b.Loop) and reports the CPU time per
// operation as cpu-ns/op.
func loop(b *testing.B, body func()) {
	c0 := benchutil.CPUTime()
	n := 0
	for b.Loop() {
		body()
		n++
	}
	b.ReportMetric(float64(benchutil.CPUTime()-c0)/float64(n), "cpu-ns/op")
}

// future is a value computed by another goroutine.
type future struct {
	done chan struct{}
	v    []byte
}

func newFuture() *future       { return &future{done: make(chan struct{})} }
func (f *future) set(v []byte) { f.v = v; close(f.done) }
func (f *future) get() []byte  { <-f.done; return f.v }

// lazy is a value computed on first use.
type lazy struct {
	once sync.Once
	f    func() []byte
	v    []byte
}

func (l *lazy) get() []byte { l.once.Do(func() { l.v = l.f() }); return l.v }

// treeSpec describes a synthetic tree.
type treeSpec struct {
	members int
	signed  bool // real signature keys and signatures, valid parent hashes
	gid     []byte
	// realLeaves and realNodes get real HPKE key pairs (returned by
	// build); realSigners get real signature keys.
	realNodes   []NodeIndex
	realSigners []LeafIndex
}

type builtTree struct {
	nodes   [][]byte
	privs   map[NodeIndex][]byte
	signers map[LeafIndex]suite.Signer
}

// buildNodes makes the node encodings of a synthetic tree. Without signing
// it costs about a microsecond per node; signed trees are built on all
// cores, each independent right subtree in its own goroutine.
func buildNodes(tb testing.TB, cs *suite.Suite, spec treeSpec) *builtTree {
	leaves := uint32(1) << bits.Len32(uint32(spec.members-1))
	if spec.members == 1 {
		leaves = 1
	}
	out := &builtTree{
		nodes:   make([][]byte, NodeWidth(leaves)),
		privs:   map[NodeIndex][]byte{},
		signers: map[LeafIndex]suite.Signer{},
	}
	real := map[NodeIndex]bool{}
	for _, x := range spec.realNodes {
		real[x] = true
	}
	realSig := map[LeafIndex]bool{}
	for _, i := range spec.realSigners {
		realSig[i] = true
	}
	var mu sync.Mutex
	caps := testCaps(cs)
	hasMembers := func(x NodeIndex) bool {
		lo, _ := subtreeLeaves(x)
		return int(lo) < spec.members
	}
	encKey := func(x NodeIndex, rnd *seededReader) []byte {
		if real[x] {
			priv, pub, err := cs.GenerateKeyPair(rnd)
			if err != nil {
				tb.Fatal(err)
			}
			mu.Lock()
			out.privs[x] = priv
			mu.Unlock()
			return pub
		}
		k := make([]byte, 32)
		rnd.Read(k)
		return k
	}
	hashOf := func(x NodeIndex, l, r []byte) []byte {
		var in []byte
		if x.IsLeaf() {
			in = appendLeafHashInput(nil, x.Leaf(), out.nodes[x])
		} else {
			in = appendParentHashInput(nil, out.nodes[x], l, r)
		}
		return cs.Hash(in)
	}
	var fill func(x NodeIndex, ph *lazy, rnd *seededReader) []byte
	fill = func(x NodeIndex, ph *lazy, rnd *seededReader) []byte {
		if x.IsLeaf() {
			i := x.Leaf()
			if int(i) >= spec.members {
				return hashOf(x, nil, nil)
			}
			ln := &LeafNode{
				EncryptionKey: encKey(x, rnd),
				Credential:    BasicCredential([]byte(fmt.Sprintf("member-%d", i))),
				Capabilities:  caps,
				Source:        SourceKeyPackage,
				Lifetime:      Lifetime{NotAfter: 1 << 62},
			}
			var signer suite.Signer
			if spec.signed || realSig[i] {
				priv, _, err := cs.GenerateSignatureKey(rnd)
				if err != nil {
					tb.Fatal(err)
				}
				signer, _ = cs.NewSigner(priv)
				ln.SignatureKey = signer.Public()
				if realSig[i] {
					mu.Lock()
					out.signers[i] = signer
					mu.Unlock()
				}
			} else {
				ln.SignatureKey = make([]byte, 32)
				rnd.Read(ln.SignatureKey)
			}
			if ph != nil {
				ln.Source, ln.ParentHash = SourceCommit, ph.get()
			}
			if spec.signed {
				tbs, _ := ln.TBS(spec.gid, i)
				ln.Signature, _ = cs.SignWithLabel(signer, labelLeafNodeTBS, tbs)
			} else {
				ln.Signature = make([]byte, 64)
			}
			enc, err := wire.Marshal(ln)
			if err != nil {
				tb.Fatal(err)
			}
			out.nodes[x] = enc
			return hashOf(x, nil, nil)
		}
		l, r := x.Left(), x.Right()
		if !hasMembers(r) { // blank: no member on its right
			lh := fill(l, nil, rnd)
			rh := fill(r, nil, rnd)
			return hashOf(x, lh, rh)
		}
		key := encKey(x, rnd)
		rf := newFuture()
		if x.Level() >= 10 {
			sub := newSeeded(uint64(x))
			go func() { rf.set(fill(r, nil, sub)) }()
		} else {
			rf.set(fill(r, nil, rnd))
		}
		// The parent_hash of this node: set by its parent's lazy value
		// when it is the parent's left child, else empty (signed trees)
		// or random.
		myPH := func() []byte {
			switch {
			case !spec.signed:
				v := make([]byte, 32)
				rnd.Read(v)
				return v
			case ph != nil:
				return ph.get()
			}
			return []byte{}
		}
		var lf *lazy
		var ownPH []byte
		if spec.signed {
			lf = &lazy{f: func() []byte {
				ownPH = myPH()
				return cs.Hash(appendVec(appendVec(appendVec(nil, key), ownPH), rf.get()))
			}}
		}
		lh := fill(l, lf, rnd)
		rh := rf.get()
		if lf != nil {
			lf.get()
		} else {
			ownPH = myPH()
		}
		myPH2 := ownPH
		out.nodes[x] = encodeParent(key, myPH2, nil)
		return hashOf(x, lh, rh)
	}
	fill(Root(leaves), nil, newSeeded(1))
	return out
}

// benchTree builds a Tree from a spec.
func benchTree(tb testing.TB, cs *suite.Suite, spec treeSpec) (*Tree, *builtTree) {
	bt := buildNodes(tb, cs, spec)
	nodes := bt.nodes
	for len(nodes) > 0 && nodes[len(nodes)-1] == nil {
		nodes = nodes[:len(nodes)-1]
	}
	t, err := buildTree(cs, nodes)
	if err != nil {
		tb.Fatal(err)
	}
	return t, bt
}

// pathFixture is a tree with a sender (leaf 0), a near receiver (leaf 1,
// decrypting at the lowest level and deriving the whole path) and a far
// receiver (leaf n-1, decrypting at the root's child).
type pathFixture struct {
	cs          *suite.Suite
	tree        *Tree
	gid         []byte
	signer      suite.Signer
	near, far   *PrivateState
	depth       int
	memPerMembr float64
}

func newPathFixture(b *testing.B, cs *suite.Suite, n int) *pathFixture {
	return newPathFixtureT(b, cs, n)
}

func newPathFixtureT(b testing.TB, cs *suite.Suite, n int) *pathFixture {
	farLeaf := LeafIndex(n - 1)
	real := []NodeIndex{LeafIndex(1).Node()}
	real = append(real, farLeaf.Node())
	leaves := uint32(1) << bits.Len32(uint32(n-1))
	real = append(real, DirectPath(farLeaf.Node(), leaves)...)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	tree, bt := benchTree(b, cs, treeSpec{members: n, realNodes: real, realSigners: []LeafIndex{0}})
	bt.nodes = nil
	tree.TreeHash()
	runtime.GC()
	runtime.ReadMemStats(&after)
	f := &pathFixture{cs: cs, tree: tree, gid: []byte("bench"), signer: bt.signers[0]}
	f.memPerMembr = float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
	mk := func(leaf LeafIndex) *PrivateState {
		p, err := NewPrivateState(cs, leaf, bt.privs[leaf.Node()])
		if err != nil {
			b.Fatal(err)
		}
		for x, priv := range bt.privs {
			if !x.IsLeaf() && isUnder(leaf, x) {
				pub, _ := cs.HPKEPublicKey(priv)
				p.set(x, priv, pub)
			}
		}
		if err := p.Check(tree); err != nil {
			b.Fatal(err)
		}
		return p
	}
	f.near, f.far = mk(1), mk(farLeaf)
	f.depth = len(tree.FilteredDirectPath(0))
	return f
}

func (f *pathFixture) create(b testing.TB, rnd *seededReader) (*Tree, *PendingPath, *UpdatePath, []byte) {
	t := f.tree.Clone()
	pp, err := t.PrepareUpdatePath(PathParams{Sender: 0, GroupID: f.gid, Signer: f.signer, Rand: rnd})
	if err != nil {
		b.Fatal(err)
	}
	gc := append([]byte("group context|"), t.TreeHash()...)
	up, err := pp.Encrypt(rnd, gc, nil)
	if err != nil {
		b.Fatal(err)
	}
	return t, pp, up, gc
}

func BenchmarkUpdatePath(b *testing.B) {
	cs := testSuite(b)
	for _, n := range benchutil.Sizes("TREEKEM_BENCH_MAX") {
		f := newPathFixture(b, cs, n)
		rnd := newSeeded(7)
		b.Run(fmt.Sprintf("n=%d/create", n), func(b *testing.B) {
			b.ReportMetric(float64(f.depth), "depth")
			loop(b, func() { f.create(b, rnd) })
		})
		b.Run(fmt.Sprintf("n=%d/floor", n), func(b *testing.B) {
			// depth x (one DeriveKeyPair + one HPKE seal), the crypto a
			// path creation cannot avoid.
			ikm := make([]byte, 32)
			gc := make([]byte, 100)
			loop(b, func() {
				for range f.depth {
					rnd.Read(ikm)
					_, pub, _ := cs.DeriveKeyPair(ikm)
					cs.EncryptWithLabel(rnd, pub, labelUpdatePathNode, gc, ikm)
				}
			})
		})
		_, pp, up, gc := f.create(b, rnd)
		for _, r := range []struct {
			name string
			p    *PrivateState
		}{{"apply-near", f.near}, {"apply-far", f.far}} {
			b.Run(fmt.Sprintf("n=%d/%s", n, r.name), func(b *testing.B) {
				loop(b, func() {
					t := f.tree.Clone()
					if err := t.MergeUpdatePath(0, up, f.gid, nil); err != nil {
						b.Fatal(err)
					}
					t.TreeHash()
					dp, err := r.p.DecryptPath(t, 0, up, gc, nil)
					if err != nil {
						b.Fatal(err)
					}
					if !bytes.Equal(dp.CommitSecret, pp.CommitSecret()) {
						b.Fatal("commit secret mismatch")
					}
				})
			})
		}
		b.Run(fmt.Sprintf("n=%d/treehash", n), func(b *testing.B) {
			// One leaf's content changes (an Update: new leaf, blank path),
			// then the root hash is recomputed.
			t := f.tree.Clone()
			i := LeafIndex(n / 2)
			var alt [2]*LeafNode
			for k := range alt {
				ln, _ := t.Leaf(i)
				ln.EncryptionKey = bytes.Repeat([]byte{byte(k + 1)}, 32)
				ln.Source = SourceUpdate
				alt[k] = ln
			}
			t.TreeHash()
			k := 0
			loop(b, func() {
				if err := t.UpdateLeaf(i, alt[k]); err != nil {
					b.Fatal(err)
				}
				t.TreeHash()
				k ^= 1
			})
		})
		b.Run(fmt.Sprintf("n=%d/memory", n), func(b *testing.B) {
			for b.Loop() {
			}
			b.ReportMetric(f.memPerMembr, "B/member")
			b.ReportMetric(f.memPerMembr*float64(n)/(1<<20), "MiB")
		})
		f = nil
		runtime.GC()
	}
}

// sigCheck is one leaf signature to verify.
type sigCheck struct{ pub, tbs, sig []byte }

// verifyAll verifies the signatures on GOMAXPROCS goroutines.
func verifyAll(b testing.TB, cs *suite.Suite, sigs []sigCheck) {
	err := parallel.Blocks(len(sigs), 512, func(lo, hi int) error {
		for _, s := range sigs[lo:hi] {
			if err := cs.VerifyWithLabel(s.pub, labelLeafNodeTBS, s.tbs, s.sig); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkValidate measures joining: UnmarshalTree and Validate of a
// signed, parent-hash-valid tree. Its floor is the tree's n signature
// verifications on GOMAXPROCS goroutines (for n = 10^6, ten times those of
// 10^5 of its leaves). "ratio" alternates the two to compare them under the
// same load (skipped for 10^6, where each round takes minutes).
func BenchmarkValidate(b *testing.B) {
	cs := testSuite(b)
	for _, n := range benchutil.Sizes("TREEKEM_BENCH_MAX") {
		gid := []byte("bench")
		start := time.Now()
		tree, _ := benchTree(b, cs, treeSpec{members: n, signed: true, gid: gid})
		data, err := tree.RatchetTree()
		if err != nil {
			b.Fatal(err)
		}
		if err := tree.Validate(gid, nil); err != nil {
			b.Fatalf("synthetic tree invalid: %v", err)
		}
		b.Logf("n=%d: tree built in %v (%d bytes encoded)", n, time.Since(start), len(data))
		scale := 1
		if n > 100000 {
			scale = n / 100000
		}
		var sigs []sigCheck
		for i := range tree.Members() {
			if int(i)%scale != 0 {
				continue
			}
			v, _ := parseLeaf(tree.LeafEncoding(i))
			tbs := append([]byte(nil), v.content...)
			if v.source == SourceCommit {
				tbs = appendUint32(appendVec(tbs, gid), uint32(i))
			}
			sigs = append(sigs, sigCheck{v.sig, tbs, v.signature})
		}
		tree = nil
		runtime.GC()
		join := func() {
			t, err := UnmarshalTree(cs, data)
			if err != nil {
				b.Fatal(err)
			}
			if err := t.Validate(gid, nil); err != nil {
				b.Fatal(err)
			}
		}
		floor := func() { verifyAll(b, cs, sigs) }
		b.Run(fmt.Sprintf("n=%d/join", n), func(b *testing.B) { loop(b, join) })
		b.Run(fmt.Sprintf("n=%d/floor", n), func(b *testing.B) {
			var wall time.Duration
			c0, k := benchutil.CPUTime(), 0
			for b.Loop() {
				t0 := time.Now()
				floor()
				wall += time.Since(t0)
				k++
			}
			b.ReportMetric(float64(wall)/float64(k)*float64(scale)/1e9, "floor-s")
			b.ReportMetric(float64(benchutil.CPUTime()-c0)/float64(k)*float64(scale), "floor-cpu-ns")
		})
		if n <= 100000 {
			b.Run(fmt.Sprintf("n=%d/ratio", n), func(b *testing.B) {
				var wr, cr []float64
				for b.Loop() {
					for range 5 {
						t0, c0 := time.Now(), benchutil.CPUTime()
						join()
						jw, jc := time.Since(t0), benchutil.CPUTime()-c0
						t0, c0 = time.Now(), benchutil.CPUTime()
						floor()
						fw, fc := time.Since(t0), benchutil.CPUTime()-c0
						wr = append(wr, float64(jw)/float64(fw))
						cr = append(cr, float64(jc)/float64(fc))
					}
				}
				b.ReportMetric(median(wr), "join/floor-wall")
				b.ReportMetric(median(cr), "join/floor-cpu")
			})
		}
		data, sigs = nil, nil
		runtime.GC()
	}
}

// BenchmarkScaling checks the growth targets on a shared machine: it runs
// the path operations on the smallest and the largest tree in alternating
// batches, so that both sizes see the same load, and reports the median
// CPU time per operation of each and their ratio, and each size's creation
// time over its crypto floor. Run it with -benchtime=1x.
func BenchmarkScaling(b *testing.B) {
	cs := testSuite(b)
	sizes := benchutil.Sizes("TREEKEM_BENCH_MAX")
	small, big := sizes[0], sizes[len(sizes)-1]
	rnd := newSeeded(11)
	var sides [2]scaleSide
	for k, n := range []int{small, big} {
		f := newPathFixture(b, cs, n)
		_, _, up, gc := f.create(b, rnd)
		sides[k] = scaleSide{f, up, gc}
	}
	ops := []struct {
		name  string
		batch int
		run   func(s scaleSide)
	}{
		{"create", 5, func(s scaleSide) { s.f.create(b, rnd) }},
		{"floor", 5, func(s scaleSide) {
			ikm, gc := make([]byte, 32), make([]byte, 100)
			for range s.f.depth {
				rnd.Read(ikm)
				_, pub, _ := cs.DeriveKeyPair(ikm)
				cs.EncryptWithLabel(rnd, pub, labelUpdatePathNode, gc, ikm)
			}
		}},
		{"apply-near", 10, func(s scaleSide) { s.apply(b, s.f.near) }},
		{"apply-far", 10, func(s scaleSide) { s.apply(b, s.f.far) }},
	}
	const rounds = 25
	med := map[string][2]float64{}
	for b.Loop() {
		// Rounds interleave every operation and size, so that all see the
		// same load.
		cpu := map[string]*[2][]float64{}
		for _, op := range ops {
			cpu[op.name] = new([2][]float64)
		}
		for range rounds {
			for _, op := range ops {
				for k := range sides {
					c0 := benchutil.CPUTime()
					for range op.batch {
						op.run(sides[k])
					}
					c := cpu[op.name]
					c[k] = append(c[k], float64(benchutil.CPUTime()-c0)/float64(op.batch))
				}
			}
		}
		for _, op := range ops {
			c := cpu[op.name]
			med[op.name] = [2]float64{median(c[0]), median(c[1])}
		}
	}
	for _, op := range ops {
		m := med[op.name]
		b.ReportMetric(m[0]/1e3, fmt.Sprintf("%s-%d-µs", op.name, small))
		b.ReportMetric(m[1]/1e3, fmt.Sprintf("%s-%d-µs", op.name, big))
		b.ReportMetric(m[1]/m[0], op.name+"-ratio")
	}
	for k, n := range []int{small, big} {
		b.ReportMetric(med["create"][k]/med["floor"][k], fmt.Sprintf("create/floor-%d", n))
	}
}

// scaleSide is one tree size of BenchmarkScaling, with a path to apply.
type scaleSide struct {
	f  *pathFixture
	up *UpdatePath
	gc []byte
}

// apply merges the path into a clone of the tree and has p decrypt it.
func (s scaleSide) apply(b testing.TB, p *PrivateState) {
	t := s.f.tree.Clone()
	if err := t.MergeUpdatePath(0, s.up, s.f.gid, nil); err != nil {
		b.Fatal(err)
	}
	t.TreeHash()
	if _, err := p.DecryptPath(t, 0, s.up, s.gc, nil); err != nil {
		b.Fatal(err)
	}
}

func median(v []float64) float64 {
	w := append([]float64(nil), v...)
	sort.Float64s(w)
	return w[len(w)/2]
}
