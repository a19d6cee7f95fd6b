package treekem

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

// simGroup drives a group through random commits. The committer stages
// each commit on a clone of its tree; the receivers keep an independent
// view, staged and merged separately; every member keeps its own
// PrivateState and must decrypt every path to the committer's commit
// secret.
type simGroup struct {
	t       *testing.T
	rng     *rand.Rand
	rnd     *seededReader
	gid     []byte
	epoch   uint64
	tree    *Tree // the committers' view
	recv    *Tree // the receivers' view
	members map[LeafIndex]*member
	privs   map[LeafIndex]*PrivateState
}

type proposals struct {
	updates map[LeafIndex]*LeafNode
	updKeys map[LeafIndex][]byte
	removes []LeafIndex
	adds    []*LeafNode
	addMems []*member
}

// apply applies the proposals in the order of §12.3 and returns the new
// leaves.
func (p *proposals) apply(t *testing.T, tr *Tree) []LeafIndex {
	t.Helper()
	for _, i := range slices.Sorted(mapKeys(p.updates)) {
		if err := tr.UpdateLeaf(i, p.updates[i]); err != nil {
			t.Fatalf("update %d: %v", i, err)
		}
	}
	for _, i := range p.removes {
		if err := tr.RemoveLeaf(i); err != nil {
			t.Fatalf("remove %d: %v", i, err)
		}
	}
	var added []LeafIndex
	for _, ln := range p.adds {
		i, err := tr.AddLeaf(ln)
		if err != nil {
			t.Fatalf("add: %v", err)
		}
		added = append(added, i)
	}
	return added
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func newSimGroup(t *testing.T, seed uint64) *simGroup {
	cs := testSuite(t)
	g := &simGroup{
		t:       t,
		rng:     rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		rnd:     newSeeded(seed),
		gid:     []byte("property-test-group"),
		members: map[LeafIndex]*member{},
		privs:   map[LeafIndex]*PrivateState{},
	}
	tr, err := NewTree(cs)
	if err != nil {
		t.Fatal(err)
	}
	ln, m := newLeaf(t, cs, g.rnd, SourceKeyPackage, nil, nil, 0)
	i, err := tr.AddLeaf(ln)
	if err != nil || i != 0 {
		t.Fatalf("first leaf: %d, %v", i, err)
	}
	g.tree, g.recv = tr, tr.Clone()
	g.members[0] = m
	p, err := NewPrivateState(cs, 0, m.encPriv)
	if err != nil {
		t.Fatal(err)
	}
	g.privs[0] = p
	return g
}

func (g *simGroup) groupContext(treeHash []byte) []byte {
	return fmt.Appendf(nil, "%x|%d|%x", g.gid, g.epoch+1, treeHash)
}

func (g *simGroup) randomMember(except map[LeafIndex]bool) (LeafIndex, bool) {
	ids := slices.Sorted(mapKeys(g.members))
	g.rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	for _, i := range ids {
		if !except[i] {
			return i, true
		}
	}
	return 0, false
}

// commit runs one commit by committer (or by an external joiner when
// external is set) and checks every view and member.
func (g *simGroup) commit(committer LeafIndex, p *proposals, withPath, external bool) {
	t := g.t
	cs := g.tree.cs
	staged := g.tree.Clone()
	added := p.apply(t, staged)

	var pp *PendingPath
	var up *UpdatePath
	var gc []byte
	var joiner *member
	sender := committer
	if external {
		idx, err := staged.FreeLeaf()
		if err != nil {
			t.Fatal(err)
		}
		var tmpl *LeafNode
		tmpl, joiner = newLeaf(t, cs, g.rnd, SourceKeyPackage, nil, nil, 0)
		sender = idx
		pp, err = staged.PrepareUpdatePath(PathParams{Sender: idx, GroupID: g.gid, Signer: joiner.signer, Leaf: tmpl, Rand: g.rnd})
		if err != nil {
			t.Fatalf("external path: %v", err)
		}
	} else if withPath {
		var err error
		pp, err = staged.PrepareUpdatePath(PathParams{Sender: committer, GroupID: g.gid, Signer: g.members[committer].signer, Rand: g.rnd})
		if err != nil {
			t.Fatalf("path from %d: %v", committer, err)
		}
	}
	if pp != nil {
		gc = g.groupContext(staged.TreeHash())
		var err error
		if up, err = pp.Encrypt(g.rnd, gc, added); err != nil {
			t.Fatal(err)
		}
	}

	// The receivers' view.
	rs := g.recv.Clone()
	if got := p.apply(t, rs); !slices.Equal(got, added) {
		t.Fatalf("receivers placed the adds at %v, committer at %v", got, added)
	}
	if external {
		if idx, _ := rs.FreeLeaf(); idx != sender {
			t.Fatalf("receivers place the joiner at %d, committer at %d", idx, sender)
		}
	}
	if up != nil {
		if err := rs.MergeUpdatePath(sender, up, g.gid, nil); err != nil {
			t.Fatalf("merge from %d: %v", sender, err)
		}
	}
	if !bytes.Equal(rs.TreeHash(), staged.TreeHash()) {
		t.Fatal("committer and receivers disagree on the tree hash")
	}
	a, _ := rs.RatchetTree()
	b, _ := staged.RatchetTree()
	if !bytes.Equal(a, b) {
		t.Fatal("committer and receivers disagree on the tree")
	}

	// Members.
	for _, i := range p.removes {
		delete(g.members, i)
		delete(g.privs, i)
	}
	for i, key := range p.updKeys {
		if err := g.privs[i].SetLeafKey(key); err != nil {
			t.Fatal(err)
		}
	}
	g.decryptAll(sender, rs, up, gc, added, pp)
	if pp != nil {
		g.privs[sender] = pp.PrivateState()
	}
	if external {
		g.members[sender] = &member{signer: joiner.signer}
	}
	for k, i := range added {
		m := p.addMems[k]
		g.members[i] = m
		priv, err := NewPrivateState(cs, i, m.encPriv)
		if err != nil {
			t.Fatal(err)
		}
		if pp != nil {
			secret, ok := pp.PathSecretFor(i)
			if !ok {
				t.Fatalf("no path secret for joiner %d", i)
			}
			if err := priv.ImplantPathSecret(staged, CommonAncestor(sender.Node(), i.Node()), secret); err != nil {
				t.Fatalf("joiner %d: %v", i, err)
			}
		}
		g.privs[i] = priv
	}
	g.tree, g.recv = staged, rs
	g.epoch++
	g.check()
}

// decryptAll has every existing member other than the sender decrypt the
// path, on all cores, and checks the commit secrets.
func (g *simGroup) decryptAll(sender LeafIndex, rs *Tree, up *UpdatePath, gc []byte, added []LeafIndex, pp *PendingPath) {
	var ids []LeafIndex
	var in []*PrivateState
	for _, i := range slices.Sorted(mapKeys(g.privs)) {
		if i != sender {
			ids = append(ids, i)
			in = append(in, g.privs[i])
		}
	}
	out := make([]*PrivateState, len(in))
	errs := make([]error, len(in))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := int(next.Add(1) - 1)
				if k >= len(in) {
					return
				}
				if up == nil {
					out[k] = in[k].Clone()
					out[k].Prune(rs)
					continue
				}
				dp, err := in[k].DecryptPath(rs, sender, up, gc, added)
				if err == nil && !bytes.Equal(dp.CommitSecret, pp.CommitSecret()) {
					err = errors.New("commit secret differs from the committer's")
				}
				if err != nil {
					errs[k] = fmt.Errorf("member %d: %w", ids[k], err)
					continue
				}
				out[k] = dp.Private
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		g.t.Fatal(err)
	}
	for k, i := range ids {
		g.privs[i] = out[k]
	}
}

// check compares the cached tree hash with a from-scratch computation and
// every member's private state with the tree.
func (g *simGroup) check() {
	t := g.t
	cs := g.tree.cs
	if got, want := g.tree.TreeHash(), naiveTreeHash(t, cs, g.tree.Nodes(), g.tree.LeafCount()); !bytes.Equal(got, want) {
		t.Fatalf("epoch %d: cached tree hash %x, recomputed %x", g.epoch, got, want)
	}
	if got := uint32(len(g.members)); got != g.tree.MemberCount() {
		t.Fatalf("tree has %d members, group %d", g.tree.MemberCount(), got)
	}
	for i, p := range g.privs {
		if err := p.Check(g.tree); err != nil {
			t.Fatalf("epoch %d: member %d: %v", g.epoch, i, err)
		}
	}
}

// randomCommit commits a random mix of proposals.
func (g *simGroup) randomCommit(maxAdds, maxRemoves int) {
	cs := g.tree.cs
	if len(g.members) > 1 && g.rng.IntN(10) == 0 {
		g.commit(0, &proposals{}, true, true)
		return
	}
	committer, _ := g.randomMember(nil)
	busy := map[LeafIndex]bool{committer: true}
	p := &proposals{updates: map[LeafIndex]*LeafNode{}, updKeys: map[LeafIndex][]byte{}}
	for range g.rng.IntN(maxRemoves + 1) {
		if i, ok := g.randomMember(busy); ok && len(g.members)-len(p.removes) > 2 {
			busy[i] = true
			p.removes = append(p.removes, i)
		}
	}
	for range g.rng.IntN(3) {
		if i, ok := g.randomMember(busy); ok {
			busy[i] = true
			ln, m := newLeaf(g.t, cs, g.rnd, SourceUpdate, g.members[i], g.gid, i)
			p.updates[i] = ln
			p.updKeys[i] = m.encPriv
		}
	}
	for range g.rng.IntN(maxAdds + 1) {
		ln, m := newLeaf(g.t, cs, g.rnd, SourceKeyPackage, nil, nil, 0)
		p.adds = append(p.adds, ln)
		p.addMems = append(p.addMems, m)
	}
	// §12.4: a path is required with updates, removes, or no proposals.
	needPath := len(p.removes) > 0 || len(p.updates) > 0 || len(p.adds) == 0
	g.commit(committer, p, needPath || g.rng.IntN(2) == 0, false)
}

func TestPropertyRandomCommits(t *testing.T) {
	target, steps := 2100, 30
	if testing.Short() {
		target, steps = 150, 25
	}
	g := newSimGroup(t, 1)
	cs := g.tree.cs
	// Grow the group with commits of many adds, some without a path.
	for len(g.members) < target {
		committer, _ := g.randomMember(nil)
		p := &proposals{}
		k := min(target-len(g.members), 1+g.rng.IntN(max(1, len(g.members))))
		for range k {
			ln, m := newLeaf(t, cs, g.rnd, SourceKeyPackage, nil, nil, 0)
			p.adds = append(p.adds, ln)
			p.addMems = append(p.addMems, m)
		}
		g.commit(committer, p, g.rng.IntN(3) != 0, false)
	}
	if err := g.tree.Validate(g.gid, nil); err != nil {
		t.Fatalf("grown tree: %v", err)
	}
	for step := range steps {
		g.randomCommit(6, 8)
		if step%10 == 9 {
			if err := g.tree.Validate(g.gid, nil); err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
		}
	}
	t.Logf("%d members in %d leaves after %d epochs", len(g.members), g.tree.LeafCount(), g.epoch)
}

// TestPropertyShrinkAndRegrow removes most members, so the tree truncates,
// then regrows it, checking the cached hashes of the retained blank nodes.
func TestPropertyShrinkAndRegrow(t *testing.T) {
	g := newSimGroup(t, 2)
	cs := g.tree.cs
	grow := func(n int) {
		for len(g.members) < n {
			p := &proposals{}
			for range min(n-len(g.members), 20) {
				ln, m := newLeaf(t, cs, g.rnd, SourceKeyPackage, nil, nil, 0)
				p.adds = append(p.adds, ln)
				p.addMems = append(p.addMems, m)
			}
			committer, _ := g.randomMember(nil)
			g.commit(committer, p, g.rng.IntN(2) == 0, false)
		}
	}
	grow(70)
	for len(g.members) > 3 {
		p := &proposals{}
		busy := map[LeafIndex]bool{0: true}
		for range min(len(g.members)-3, 9) {
			i, _ := g.randomMember(busy)
			busy[i] = true
			p.removes = append(p.removes, i)
		}
		committer, _ := g.randomMember(busy)
		if _, ok := g.members[0]; ok {
			committer = 0
		}
		g.commit(committer, p, true, false)
	}
	grow(40)
	if err := g.tree.Validate(g.gid, nil); err != nil {
		t.Fatal(err)
	}
}
