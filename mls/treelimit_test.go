package mls

import (
	"errors"
	"testing"

	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/mls/wire"
	"github.com/mlsengine/engine/treekem"
)

// checkTreeTooLarge checks that err rejects a tree over a bound of max
// leaves, as documented on Config.MaxTreeLeaves.
func checkTreeTooLarge(t *testing.T, err error, max uint32) {
	t.Helper()
	var se *treekem.TreeSizeError
	if !errors.Is(err, ErrInvalidWelcome) || !errors.Is(err, treekem.ErrTreeTooLarge) || !errors.As(err, &se) || se.Max != max {
		t.Fatalf("got %v, want ErrInvalidWelcome with a TreeSizeError of max %d", err, max)
	}
}

// TestJoinMaxTreeLeaves joins a group of 5 (leaves 0..5 in the tree's
// encoding once the joiner is added) through a Welcome carrying the tree,
// and through one without it with the tree out of band.
func TestJoinMaxTreeLeaves(t *testing.T) {
	for _, oob := range []bool{false, true} {
		w := newWorld(t, 5, nil)
		for _, tc := range []struct {
			max  int
			want uint32 // 0: the join succeeds
		}{
			{max: 5, want: 5},
			{max: 1, want: 1},
			{max: 6},
			{max: 0},  // DefaultMaxTreeLeaves
			{max: -1}, // treekem's bound only
		} {
			c := newClient(t, "joiner")
			c.cfg.MaxTreeLeaves = tc.max
			kp, priv := c.keyPackage(t)
			add, err := NewAdd(kp)
			if err != nil {
				t.Fatal(err)
			}
			pc, err := w.groups[0].Commit(&CommitOptions{Proposals: []*message.Proposal{add}, OutOfBandTree: oob})
			if err != nil {
				t.Fatal(err)
			}
			// The commit is never sent: only the Welcome is used.
			var opts *JoinOptions
			if oob {
				// The tree of the new epoch, as Group.RatchetTree would
				// give it once the commit is applied.
				rt, err := pc.next.tree.RatchetTree()
				if err != nil {
					t.Fatal(err)
				}
				opts = &JoinOptions{RatchetTree: rt}
			}
			g, err := Join(c.cfg, pc.Welcome, priv, opts)
			pc.Discard()
			if tc.want != 0 {
				checkTreeTooLarge(t, err, tc.want)
				continue
			}
			if err != nil {
				t.Fatalf("out of band %v, MaxTreeLeaves %d: %v", oob, tc.max, err)
			}
			if g.MemberCount() != 6 {
				t.Fatalf("joined a group of %d", g.MemberCount())
			}
		}
	}
}

func TestJoinExternalMaxTreeLeaves(t *testing.T) {
	w := newWorld(t, 3, nil)
	gi, err := w.groups[0].GroupInfo(&GroupInfoOptions{RatchetTree: true})
	if err != nil {
		t.Fatal(err)
	}
	d := newClient(t, "d")
	d.cfg.MaxTreeLeaves = 2
	_, _, err = JoinExternal(d.cfg, gi, nil)
	checkTreeTooLarge(t, err, 2)

	d.cfg.MaxTreeLeaves = 3
	g, commit, err := JoinExternal(d.cfg, gi, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.deliverCommit(-1, commit)
	w.clients, w.groups = append(w.clients, d), append(w.groups, g)
	w.agree()
}

// TestJoinHugeDeclaredTree passes a forged tree of blank nodes, a byte
// each, declaring more leaves than the bound as JoinOptions.RatchetTree.
// (A forgery over DefaultMaxTreeLeaves takes 8 MB and seconds to scan,
// too slow for this test; the bound is the same code.)
func TestJoinHugeDeclaredTree(t *testing.T) {
	w := newWorld(t, 2, nil)
	c := newClient(t, "joiner")
	const max = 1 << 16
	c.cfg.MaxTreeLeaves = max
	kp, priv := c.keyPackage(t)
	add, err := NewAdd(kp)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := w.groups[0].Commit(&CommitOptions{Proposals: []*message.Proposal{add}})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Discard()
	b := wire.NewBuilder(nil)
	b.AddVectorFunc(func(b *wire.Builder) {
		for range 2*max + 1 {
			b.AddUint8(0)
		}
	})
	forged, err := b.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	_, err = Join(c.cfg, pc.Welcome, priv, &JoinOptions{RatchetTree: forged})
	checkTreeTooLarge(t, err, max)
}

func TestMaxTreeLeavesDefault(t *testing.T) {
	// The simulator joins observers to groups of a million members
	// through JoinOptions.RatchetTree with the default bound: such a
	// tree's encoding has at most 2^20 leaves.
	if DefaultMaxTreeLeaves < 1<<20 {
		t.Fatalf("DefaultMaxTreeLeaves %d is below a group of a million members", DefaultMaxTreeLeaves)
	}
	for in, want := range map[int]uint32{0: DefaultMaxTreeLeaves, -1: 0, 7: 7, 1 << 20: 1 << 20} {
		cf := &config{Config: Config{MaxTreeLeaves: in}}
		if got := cf.maxTreeLeaves(); got != want {
			t.Errorf("MaxTreeLeaves %d: bound %d, want %d", in, got, want)
		}
	}
}
