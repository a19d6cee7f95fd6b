package mls

import (
	"crypto/rand"
	"errors"
	"runtime"
	"testing"

	"github.com/mlsengine/engine/mls/keyschedule"
	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/mls/suite"
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
			pc, err := w.groups[0].Commit(&CommitOptions{Proposals: []*Proposal{add}, OutOfBandTree: oob})
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
	w := newWorld(t, 3, admitAll)
	gi, err := w.groups[0].GroupInfo(&GroupInfoOptions{RatchetTree: true})
	if err != nil {
		t.Fatal(err)
	}
	d := newClient(t, "d")
	admitAll(&d.cfg)
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
// each, declaring more leaves than the bound as JoinOptions.RatchetTree
// (TestBlankTreeWelcome forges one within DefaultMaxTreeLeaves).
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
	pc, err := w.groups[0].Commit(&CommitOptions{Proposals: []*Proposal{add}})
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

// blankTreeWelcome returns a Welcome for the joiner's KeyPackage kp, as
// anyone who downloaded kp can make it, whose GroupInfo carries a ratchet
// tree of `leaves` leaves (a byte per blank node) with only the forger's
// leaf at 0 and another of its leaves at the end, and is signed by the
// forger: the tree is decoded before anything could show it is forged.
func blankTreeWelcome(t testing.TB, forger *client, kp []byte, leaves int) []byte {
	t.Helper()
	cs := forger.cfg.resolveOrFatal(t)
	leafOf := func() *treekem.LeafNode {
		m, _ := forger.keyPackage(t)
		k, err := ParseKeyPackage(m)
		if err != nil {
			t.Fatal(err)
		}
		return &k.LeafNode
	}
	first, last := leafOf(), leafOf()
	last.SignatureKey = append([]byte{}, last.SignatureKey...)
	last.SignatureKey[0] ^= 1 // keys must be unique; the leaf is never verified
	b := wire.NewBuilder(nil)
	b.AddVectorFunc(func(b *wire.Builder) {
		width := 2*leaves - 1
		for x := range width {
			switch x {
			case 0, width - 1:
				ln := first
				if x != 0 {
					ln = last
				}
				b.AddOptional(true, func(b *wire.Builder) { (&treekem.Node{Leaf: ln}).MarshalMLS(b) })
			default:
				b.AddUint8(0)
			}
		}
	})
	tree, err := b.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	random := func() []byte {
		v := make([]byte, cs.HashSize())
		rand.Read(v)
		return v
	}
	gi := &message.GroupInfo{
		GroupContext: message.GroupContext{Version: message.MLS10, CipherSuite: cs.ID(), GroupID: random(), Epoch: 1,
			TreeHash: random(), ConfirmedTranscriptHash: random()},
		Extensions:      treekem.Extensions{{Type: treekem.ExtensionRatchetTree, Data: tree}},
		ConfirmationTag: random(),
	}
	if err := gi.Sign(cs, forger.cfg.Signer, 0); err != nil {
		t.Fatal(err)
	}
	joiner := random()
	ws, err := keyschedule.WelcomeSecret(cs, joiner, nil)
	if err != nil {
		t.Fatal(err)
	}
	encGI, err := message.EncryptGroupInfo(cs, ws, gi)
	if err != nil {
		t.Fatal(err)
	}
	pkg, err := ParseKeyPackage(kp)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := message.EncryptGroupSecrets(cs, nil, pkg.InitKey, encGI,
		&message.GroupSecrets{JoinerSecret: joiner, PSKs: []keyschedule.PreSharedKeyID{}})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := pkg.Ref(cs)
	if err != nil {
		t.Fatal(err)
	}
	w, err := encodeMLS(&message.Welcome{CipherSuite: cs.ID(), EncryptedGroupInfo: encGI,
		Secrets: []message.EncryptedGroupSecrets{{NewMember: ref, EncryptedGroupSecrets: ct}}})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func (c *Config) resolveOrFatal(t testing.TB) *suite.Suite {
	t.Helper()
	cf, err := c.resolve()
	if err != nil {
		t.Fatal(err)
	}
	return cf.cs
}

// TestBlankTreeWelcome plays the attacker of a joiner: a forged Welcome
// whose tree is the largest blank tree within DefaultMaxTreeLeaves (2^22
// leaves, 8 MiB). Join refuses it with a typed error after the scan of the
// tree's encoding, having allocated little more than the copies of the
// message it decrypts (BenchmarkJoinBlankTree times it); the KeyPackage
// stays usable.
func TestBlankTreeWelcome(t *testing.T) {
	forger, victim := newClient(t, "forger"), newClient(t, "victim")
	kp, priv := victim.keyPackage(t)
	w := blankTreeWelcome(t, forger, kp, DefaultMaxTreeLeaves)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := Join(victim.cfg, w, priv, nil)
	runtime.ReadMemStats(&after)
	var se *treekem.TreeSizeError
	if !errors.Is(err, ErrInvalidWelcome) || !errors.As(err, &se) || !se.Sparse || se.Leaves != DefaultMaxTreeLeaves {
		t.Fatalf("got %v, want ErrInvalidWelcome with a sparse TreeSizeError", err)
	}
	if allocated := after.TotalAlloc - before.TotalAlloc; allocated > 50<<20 {
		t.Fatalf("allocated %d MB to refuse the Welcome, want at most 50", allocated>>20)
	}
	// The victim joins a real group with the same KeyPackage.
	wd := newWorld(t, 2, nil)
	add, err := NewAdd(kp)
	if err != nil {
		t.Fatal(err)
	}
	pc := wd.commit(0, &CommitOptions{Proposals: []*Proposal{add}})
	if _, err := Join(victim.cfg, pc.Welcome, priv, nil); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkJoinBlankTree times Join refusing the forged Welcome of
// TestBlankTreeWelcome (B/op is what it allocates, mostly the three copies
// of the 8 MiB message: decoded, decrypted, and the GroupInfo's).
func BenchmarkJoinBlankTree(b *testing.B) {
	forger, victim := newClient(b, "forger"), newClient(b, "victim")
	kp, priv := victim.keyPackage(b)
	w := blankTreeWelcome(b, forger, kp, DefaultMaxTreeLeaves)
	b.SetBytes(int64(len(w)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Join(victim.cfg, w, priv, nil); !errors.Is(err, treekem.ErrTreeTooLarge) {
			b.Fatal(err)
		}
	}
}
