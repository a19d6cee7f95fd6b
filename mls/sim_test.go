package mls

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/mlsengine/engine/mls/internal/simulation"
	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/treekem"
)

// simMember is a simulated member whose keys derive from a seed.
type simMember struct {
	cfg      Config
	leafPriv []byte
}

func seededMember(t testing.TB, cs *suite.Suite, i int) (*simMember, *treekem.LeafNode) {
	t.Helper()
	seed := bytes.Repeat([]byte{byte(i), byte(i >> 8), 0x5e}, 11)[:32]
	sigPriv, _, err := cs.GenerateSignatureKey(bytes.NewReader(seed))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := cs.NewSigner(sigPriv)
	if err != nil {
		t.Fatal(err)
	}
	leafPriv, leafPub, err := cs.DeriveKeyPair(append(seed, 'l'))
	if err != nil {
		t.Fatal(err)
	}
	m := &simMember{cfg: Config{Suite: cs.ID(), Signer: signer, Credential: treekem.BasicCredential([]byte(fmt.Sprint("sim-", i)))}, leafPriv: leafPriv}
	cf, _ := m.cfg.resolve()
	ln := cf.leafTemplate()
	ln.EncryptionKey = leafPub
	ln.Source = treekem.SourceKeyPackage
	ln.Lifetime = treekem.Lifetime{NotBefore: 0, NotAfter: 1 << 62}
	if err := signLeaf(cs, signer, &ln, nil, 0); err != nil {
		t.Fatal(err)
	}
	return m, &ln
}

func TestSimulationViews(t *testing.T) {
	const n = 64
	cs, _ := suite.Lookup(testSuite)
	tree, err := treekem.NewTree(cs)
	if err != nil {
		t.Fatal(err)
	}
	members := make([]*simMember, n)
	for i := range n {
		m, ln := seededMember(t, cs, i)
		if _, err := tree.AddLeaf(ln); err != nil {
			t.Fatal(err)
		}
		members[i] = m
	}
	view, err := groupFromTree(members[0].cfg, []byte("sim"), nil, tree, 0, members[0].leafPriv)
	if err != nil {
		t.Fatal(err)
	}
	// Two observed members with full states.
	const obs1, obs2 = 7, 40
	observers := map[int]*Group{}
	for _, o := range []int{obs1, obs2} {
		g, err := view.viewAs(members[o].cfg, treekem.LeafIndex(o), members[o].leafPriv, nil)
		if err != nil {
			t.Fatal(err)
		}
		observers[o] = g
	}
	rnd := rand.New(rand.NewPCG(3, 4))
	removed := map[int]bool{}
	for epoch := range 12 {
		var c int
		for {
			c = rnd.IntN(n)
			if !removed[c] && c != obs1 && c != obs2 {
				break
			}
		}
		m, err := view.viewAs(members[c].cfg, treekem.LeafIndex(c), members[c].leafPriv, nil)
		if err != nil {
			t.Fatalf("epoch %d: view of %d: %v", epoch, c, err)
		}
		var props []*Proposal
		if epoch%3 == 2 {
			victim := rnd.IntN(n)
			if victim != c && victim != obs1 && victim != obs2 && !removed[victim] {
				props = append(props, NewRemove(treekem.LeafIndex(victim)))
				removed[victim] = true
			}
		}
		pc, err := m.Commit(&CommitOptions{Proposals: props})
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Apply(pc); err != nil {
			t.Fatal(err)
		}
		members[c].leafPriv = m.leafPrivateKey()
		for o, g := range observers {
			r, err := g.Process(pc.Commit)
			if err != nil {
				t.Fatalf("epoch %d: observer %d: %v", epoch, o, err)
			}
			if err := g.Apply(r.Commit); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(g.EpochAuthenticator(), m.EpochAuthenticator()) {
				t.Fatalf("epoch %d: observer %d disagrees", epoch, o)
			}
			// Halfway, the observers take the committer's tree, which
			// they go on changing each on its own; a group of another
			// epoch has another tree.
			if epoch == 5 {
				if err := ShareTree(simulation.Access{}, g, view); !errors.Is(err, ErrInvalidArgument) {
					t.Fatalf("sharing the tree of the epoch before: %v", err)
				}
				if err := ShareTree(simulation.Access{}, g, m); err != nil {
					t.Fatal(err)
				}
			}
		}
		view = m
	}
	if view.MemberCount() != uint32(n-len(removed)) {
		t.Fatal("member count")
	}
}
