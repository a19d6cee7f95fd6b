package mls

import (
	"bytes"
	"sync"
	"testing"
)

// fuzzWorld is a group of three members, built once, whose member 1
// receives the fuzzed messages from a fresh copy of its state.
var fuzzWorld = sync.OnceValues(func() (*world, [][]byte) {
	t := &testing.T{}
	w := newWorld(t, 3, nil)
	var seeds [][]byte
	m, _ := w.groups[0].Encrypt([]byte("hello"), nil)
	seeds = append(seeds, m)
	p, _ := w.groups[2].Propose(NewRemove(w.groups[0].LeafIndex()), nil)
	seeds = append(seeds, p)
	u, _ := w.groups[2].ProposeUpdate(nil)
	seeds = append(seeds, u)
	pc, _ := w.groups[0].Commit(&CommitOptions{Proposals: []*Proposal{otherKeyPackageFor(w.clients[0])}})
	gi, _ := pc.GroupInfo()
	seeds = append(seeds, pc.Commit, pc.Welcome, gi)
	return w, seeds
})

func otherKeyPackageFor(*client) *Proposal {
	kp, _, _ := NewKeyPackage(newClient(&testing.T{}, "fuzz").cfg, nil)
	p, _ := NewAdd(kp)
	return p
}

// FuzzProcess checks that no message makes Process panic, and that a
// message it rejects leaves the group unchanged.
func FuzzProcess(f *testing.F) {
	w, seeds := fuzzWorld()
	for _, s := range seeds {
		f.Add(s)
	}
	state, err := w.groups[1].MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := UnmarshalGroup(w.clients[1].cfg, state)
		if err != nil {
			t.Fatal(err)
		}
		before := mustSnapshot(t, g)
		if _, err := g.Process(data); err != nil {
			if after := mustSnapshot(t, g); !bytes.Equal(before, after) && !bytes.Equal(data[:min(len(data), 4)], []byte{0, 1, 0, 2}) {
				// A rejected PrivateMessage may derive a ratchet lazily,
				// which shows in the snapshot but not in behavior.
				t.Fatalf("group changed by a rejected message: %v", err)
			}
		}
	})
}

// FuzzJoin checks that no Welcome makes Join panic.
func FuzzJoin(f *testing.F) {
	w, seeds := fuzzWorld()
	for _, s := range seeds {
		f.Add(s)
	}
	c := w.clients[0]
	_, priv := c.keyPackage(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = Join(c.cfg, data, priv, nil)
		_, _, _ = JoinExternal(c.cfg, data, nil)
		_, _ = UnmarshalGroup(c.cfg, data)
	})
}

// FuzzPublicGroup checks that no message makes a PublicGroup panic, that a
// message it rejects leaves it unchanged, and that no snapshot makes
// UnmarshalPublicGroup or UnmarshalSigningKey panic.
func FuzzPublicGroup(f *testing.F) {
	w, seeds := fuzzWorld()
	for _, s := range seeds {
		f.Add(s)
	}
	snap, err := w.groups[1].PublicGroup().MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(snap)
	f.Fuzz(func(t *testing.T, data []byte) {
		pg, err := UnmarshalPublicGroup(Config{}, snap)
		if err != nil {
			t.Fatal(err)
		}
		before := publicState(t, pg)
		if _, err := pg.Process(data); err != nil && !bytes.Equal(before, publicState(t, pg)) {
			t.Fatalf("public group changed by a rejected message: %v", err)
		}
		_, _ = UnmarshalPublicGroup(Config{}, data)
		_, _ = NewPublicGroup(Config{}, data, nil)
		_, _ = UnmarshalSigningKey(data)
		_, _ = ParseWelcome(data)
	})
}
