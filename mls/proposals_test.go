package mls

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/mlsengine/engine/mls/keyschedule"
	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/treekem"
)

// propose makes member `by` send p on its own and delivers it.
func (w *world) propose(by int, p *Proposal) {
	w.t.Helper()
	msg, err := w.groups[by].Propose(p, nil)
	if err != nil {
		w.t.Fatalf("member %d proposing %v: %v", by, p.Type(), err)
	}
	for _, r := range w.deliver(by, msg) {
		if r.Proposal == nil || r.Proposal.Type() != p.Type() || r.Proposal.Ref == nil {
			w.t.Fatalf("received %+v", r)
		}
	}
}

func TestAddByReference(t *testing.T) {
	w := newWorld(t, 3, nil)
	d := newClient(t, "d")
	kp, priv := d.keyPackage(t)
	add, err := NewAdd(kp)
	if err != nil {
		t.Fatal(err)
	}
	w.propose(1, add)
	if n := len(w.groups[2].PendingProposals()); n != 1 {
		t.Fatalf("%d pending proposals", n)
	}
	// Application data must wait for a commit (§12.4).
	if _, err := w.groups[2].Encrypt([]byte("x"), nil); !errors.Is(err, ErrPendingProposals) {
		t.Fatalf("Encrypt with pending proposals: %v", err)
	}
	pc := w.commit(2, nil)
	if len(pc.Adds) != 1 || pc.Welcome == nil || pc.Proposals[0].Ref == nil {
		t.Fatalf("commit: %d adds", len(pc.Adds))
	}
	g, err := Join(d.cfg, pc.Welcome, priv, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.clients, w.groups = append(w.clients, d), append(w.groups, g)
	w.agree()
	if len(w.groups[0].PendingProposals()) != 0 {
		t.Fatal("proposals survive the epoch")
	}
}

func TestUpdateByReference(t *testing.T) {
	w := newWorld(t, 4, nil)
	old, _ := w.groups[1].Member(w.groups[1].LeafIndex())
	msg, err := w.groups[1].ProposeUpdate(nil)
	if err != nil {
		t.Fatal(err)
	}
	w.deliver(1, msg)
	pc := w.commit(3, nil)
	if len(pc.Updates) != 1 || pc.Updates[0].Leaf != w.groups[1].LeafIndex() {
		t.Fatalf("updates: %+v", pc.Updates)
	}
	w.agree()
	now, _ := w.groups[1].Member(w.groups[1].LeafIndex())
	if bytes.Equal(old.EncryptionKey, now.EncryptionKey) || now.Source != treekem.SourceUpdate {
		t.Fatal("leaf not updated")
	}
	// The updated member can still decrypt paths: everyone commits.
	for i := range w.groups {
		w.commit(i, nil)
	}
	w.agree()
}

func TestUpdatePreferences(t *testing.T) {
	// Two updates from a member: the latest is committed; an update and a
	// remove of the same member: the remove (§12.2 SHOULDs).
	w := newWorld(t, 4, nil)
	for range 2 {
		msg, err := w.groups[1].ProposeUpdate(nil)
		if err != nil {
			t.Fatal(err)
		}
		w.deliver(1, msg)
	}
	msg, err := w.groups[2].ProposeUpdate(nil)
	if err != nil {
		t.Fatal(err)
	}
	w.deliver(2, msg)
	w.propose(0, NewRemove(w.groups[2].LeafIndex()))
	pending := w.groups[3].PendingProposals()
	pc := w.commit(3, nil)
	if len(pc.Updates) != 1 || !bytes.Equal(pc.Proposals[0].Ref, pending[1].Ref) {
		t.Fatalf("updates %+v", pc.Updates)
	}
	if len(pc.Removes) != 1 {
		t.Fatalf("removes %+v", pc.Removes)
	}
	w.agree()
}

func TestRemoveByReference(t *testing.T) {
	w := newWorld(t, 5, nil)
	w.propose(1, NewRemove(w.groups[4].LeafIndex()))
	// A member may propose its own removal; another commits it.
	w.propose(2, NewRemove(w.groups[2].LeafIndex()))
	pc := w.commit(0, nil)
	if len(pc.Removes) != 2 {
		t.Fatalf("removes %+v", pc.Removes)
	}
	w.agree()
	if len(w.members()) != 3 {
		t.Fatalf("members %v", w.members())
	}
}

func pskConfig(psks map[string][]byte) func(*Config) {
	return func(c *Config) {
		c.ExternalPSK = func(id []byte) ([]byte, error) {
			if p, ok := psks[string(id)]; ok {
				return p, nil
			}
			return nil, fmt.Errorf("unknown PSK %q", id)
		}
	}
}

func TestPreSharedKeys(t *testing.T) {
	psks := map[string][]byte{"psk1": bytes.Repeat([]byte{1}, 32), "psk2": bytes.Repeat([]byte{2}, 32)}
	w := newWorld(t, 4, pskConfig(psks))
	w.commit(0, nil)

	// External PSK by value.
	p1, err := w.groups[1].NewExternalPSK([]byte("psk1"))
	if err != nil {
		t.Fatal(err)
	}
	pc := w.commit(1, &CommitOptions{Proposals: []*Proposal{p1}})
	if pc.Adds != nil || len(pc.Proposals) != 1 {
		t.Fatal("proposals")
	}
	w.agree()

	// External PSK by reference, and a resumption PSK by reference.
	p2, _ := w.groups[2].NewExternalPSK([]byte("psk2"))
	w.propose(2, p2)
	r, err := w.groups[3].NewResumptionPSK(w.groups[3].Epoch() - 1)
	if err != nil {
		t.Fatal(err)
	}
	w.propose(3, r)
	pc = w.commit(0, nil)
	if len(pc.Proposals) != 2 {
		t.Fatalf("%d proposals", len(pc.Proposals))
	}
	w.agree()

	// Resumption PSK by value, with an Add: the joiner gets the PSK in its
	// Welcome and must have it too; it has none of this group, so the
	// Welcome cannot be used.
	r2, _ := w.groups[0].NewResumptionPSK(w.groups[0].Epoch())
	d := newClient(t, "d")
	kp, priv := d.keyPackage(t)
	add, _ := NewAdd(kp)
	pc = w.commit(0, &CommitOptions{Proposals: []*Proposal{add, r2}})
	w.agree()
	if _, err := Join(d.cfg, pc.Welcome, priv, nil); !errors.Is(err, ErrPSKNotFound) {
		t.Fatalf("join without the resumption PSK: %v", err)
	}
	// With the external PSK, a joiner can.
	p3, _ := w.groups[0].NewExternalPSK([]byte("psk1"))
	e := newClient(t, "e")
	pskConfig(psks)(&e.cfg)
	kp, priv = e.keyPackage(t)
	add, _ = NewAdd(kp)
	pc = w.commit(0, &CommitOptions{Proposals: []*Proposal{add, p3}})
	g, err := Join(e.cfg, pc.Welcome, priv, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.clients, w.groups = append(w.clients, e), append(w.groups, g)
	w.agree()

	// A PSK nobody has cannot be committed.
	p4, _ := w.groups[0].NewExternalPSK([]byte("unknown"))
	expectUnchanged(t, w.groups[0], ErrPSKNotFound, func() error {
		_, err := w.groups[0].Commit(&CommitOptions{Proposals: []*Proposal{p4}})
		return err
	})
	// A resumption PSK of an epoch no longer kept cannot be proposed.
	if _, err := w.groups[0].NewResumptionPSK(1000); !errors.Is(err, ErrPSKNotFound) {
		t.Fatal(err)
	}
}

func TestGroupContextExtensions(t *testing.T) {
	const custom treekem.ExtensionType = 0xff01
	w := newWorld(t, 3, func(c *Config) { c.SupportedExtensions = []treekem.ExtensionType{custom} })
	exts := treekem.Extensions{{Type: custom, Data: []byte("v1")}}
	pc := w.commit(1, &CommitOptions{Proposals: []*Proposal{NewGroupContextExtensions(exts)}})
	if pc.Epoch != w.groups[0].Epoch() {
		t.Fatal("epoch")
	}
	w.agree()
	for _, g := range w.groups {
		if d, ok := g.Extensions().Find(custom); !ok || string(d) != "v1" {
			t.Fatal("extension not set")
		}
	}
	// By reference.
	w.propose(2, NewGroupContextExtensions(treekem.Extensions{{Type: custom, Data: []byte("v2")}}))
	w.commit(0, nil)
	w.agree()
	if d, _ := w.groups[1].Extensions().Find(custom); string(d) != "v2" {
		t.Fatal("extension not replaced")
	}
	// A new member must support the group's extensions (§13.4).
	d := newClient(t, "d")
	kp, _ := d.keyPackage(t)
	add, _ := NewAdd(kp)
	err := expectUnchanged(t, w.groups[0], ErrInvalidProposal, func() error {
		_, err := w.groups[0].Commit(&CommitOptions{Proposals: []*Proposal{add}})
		return err
	})
	_ = err
	// An extension a member does not support cannot be set.
	bad := NewGroupContextExtensions(treekem.Extensions{{Type: 0xff02, Data: nil}})
	expectUnchanged(t, w.groups[0], ErrInvalidProposal, func() error {
		_, err := w.groups[0].Commit(&CommitOptions{Proposals: []*Proposal{bad}})
		return err
	})
}

func TestRequiredCapabilities(t *testing.T) {
	const custom treekem.ExtensionType = 0xff01
	rc, err := (&treekem.RequiredCapabilities{Extensions: []treekem.ExtensionType{custom}}).Extension()
	if err != nil {
		t.Fatal(err)
	}
	a := newClient(t, "a")
	a.cfg.SupportedExtensions = []treekem.ExtensionType{custom}
	g, err := NewGroup(a.cfg, &GroupOptions{Extensions: treekem.Extensions{rc}})
	if err != nil {
		t.Fatal(err)
	}
	// A client without the capability cannot be added.
	b := newClient(t, "b")
	kp, _ := b.keyPackage(t)
	add, _ := NewAdd(kp)
	expectUnchanged(t, g, ErrInvalidProposal, func() error {
		_, err := g.Commit(&CommitOptions{Proposals: []*Proposal{add}})
		return err
	})
	// One with it can.
	c := newClient(t, "c")
	c.cfg.SupportedExtensions = []treekem.ExtensionType{custom}
	kp, priv := c.keyPackage(t)
	add, _ = NewAdd(kp)
	pc, err := g.Commit(&CommitOptions{Proposals: []*Proposal{add}})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Apply(pc); err != nil {
		t.Fatal(err)
	}
	if _, err := Join(c.cfg, pc.Welcome, priv, nil); err != nil {
		t.Fatal(err)
	}
	// A creator that lacks a required capability cannot create the group.
	if _, err := NewGroup(b.cfg, &GroupOptions{Extensions: treekem.Extensions{rc}}); err == nil {
		t.Fatal("group created by a client lacking a required capability")
	}
}

func TestCustomProposal(t *testing.T) {
	const custom message.ProposalType = 0xf001
	for _, encrypt := range []bool{false, true} {
		t.Run(fmt.Sprint("encrypted=", encrypt), func(t *testing.T) {
			var seen []*Proposal
			w := newWorld(t, 3, func(c *Config) {
				c.EncryptHandshake = encrypt
				c.SupportedProposals = []message.ProposalType{custom}
				c.Policy.Proposal = func(p *Proposal) error {
					if p.Type() == custom {
						seen = append(seen, p)
						if string(p.Body.(*CustomProposal).Data) == "forbidden" {
							return errors.New("not allowed")
						}
					}
					return nil
				}
			})
			// By value: the committer and every receiver consult the policy.
			pc := w.commit(0, &CommitOptions{Proposals: []*Proposal{NewCustom(custom, []byte("hi"))}})
			if len(seen) != 3 || pc.Proposals[0].Type() != custom {
				t.Fatalf("policy consulted %d times", len(seen))
			}
			w.agree()
			// On its own, then by reference.
			w.propose(1, NewCustom(custom, []byte("later")))
			pc = w.commit(2, nil)
			if len(pc.Proposals) != 1 || string(pc.Proposals[0].Body.(*CustomProposal).Data) != "later" {
				t.Fatal("custom proposal not committed by reference")
			}
			w.agree()
			// Refused by the policy, on both sides.
			err := expectUnchanged(t, w.groups[0], ErrRejected, func() error {
				_, err := w.groups[0].Commit(&CommitOptions{Proposals: []*Proposal{NewCustom(custom, []byte("forbidden"))}})
				return err
			})
			var pe *ProposalError
			if !errors.As(err, &pe) || pe.Rule != RulePolicy {
				t.Fatalf("error %v", err)
			}
			if !encrypt {
				msg := craftCommit(t, w.groups[0], byValue(NewCustom(custom, []byte("forbidden"))), nil)
				expectUnchanged(t, w.groups[1], ErrRejected, func() error { _, err := w.groups[1].Process(msg); return err })
			}
			// A type some member does not support is refused (§12.2).
			expectUnchanged(t, w.groups[0], ErrInvalidProposal, func() error {
				_, err := w.groups[0].Commit(&CommitOptions{Proposals: []*Proposal{NewCustom(0xf002, nil)}})
				return err
			})
			if !encrypt {
				msg := craftCommit(t, w.groups[0], byValue(NewCustom(0xf002, nil)), nil)
				expectUnchanged(t, w.groups[1], ErrInvalidProposal, func() error { _, err := w.groups[1].Process(msg); return err })
			}
			// Snapshots keep pending custom proposals.
			w.propose(1, NewCustom(custom, []byte("pending")))
			g, err := UnmarshalGroup(w.clients[2].cfg, mustSnapshot(t, w.groups[2]))
			if err != nil {
				t.Fatal(err)
			}
			if p := g.PendingProposals(); len(p) != 1 || p[0].Type() != custom {
				t.Fatal("pending custom proposal lost")
			}
		})
	}
}

func TestReInit(t *testing.T) {
	w := newWorld(t, 3, nil)
	newID := []byte("reinitialized group")
	newSuite := testSuite + 2 // MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519
	w.propose(1, w.groups[1].NewReInit(newID, newSuite, nil))
	// A ReInit is committed alone, after other proposals (§12.2).
	w.propose(2, NewRemove(w.groups[2].LeafIndex()))
	pc := w.commit(0, nil)
	if len(pc.Removes) != 1 || len(pc.Proposals) != 1 {
		t.Fatal("ReInit committed with another proposal")
	}
	w.propose(1, w.groups[1].NewReInit(newID, newSuite, nil))
	w.commit(0, nil)
	w.agree()
	for _, i := range w.members() {
		g := w.groups[i]
		if g.Active() {
			t.Fatal("group still active after a ReInit")
		}
		if _, ok := g.ReInit(); !ok {
			t.Fatal("no ReInit")
		}
		if _, err := g.Encrypt([]byte("x"), nil); !errors.Is(err, ErrInactive) {
			t.Fatal(err)
		}
		if _, err := g.Commit(nil); !errors.Is(err, ErrInactive) {
			t.Fatal(err)
		}
	}
	// Member 1 (not the committer) creates the new group with new
	// KeyPackages of the other members, in the new suite.
	old := w.groups
	c1 := newClientSuite(t, "member-1", newSuite)
	c0 := newClientSuite(t, "member-0", newSuite)
	kp0, priv0 := c0.keyPackage(t)
	ng, pc, err := old[1].Reinitialize(c1.cfg, [][]byte{kp0}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ng.Apply(pc); err != nil {
		t.Fatal(err)
	}
	if ng.Epoch() != 1 || !bytes.Equal(ng.GroupID(), newID) || ng.CipherSuite() != newSuite {
		t.Fatal("new group parameters")
	}
	spare := &KeyPackagePrivate{KeyPackage: priv0.KeyPackage, InitKey: bytes.Clone(priv0.InitKey), EncryptionKey: bytes.Clone(priv0.EncryptionKey)}
	g0, err := Join(c0.cfg, pc.Welcome, priv0, &JoinOptions{Resumption: []*Group{old[0]}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(g0.EpochAuthenticator(), ng.EpochAuthenticator()) {
		t.Fatal("epoch authenticators differ")
	}
	// Without the old group, the Welcome cannot be used.
	if _, err := Join(c0.cfg, pc.Welcome, spare, nil); !errors.Is(err, ErrPSKNotFound) {
		t.Fatal(err)
	}
	// Not every old member is in the new group: refused.
	if _, _, err := old[1].Reinitialize(c1.cfg, nil, nil); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("reinit without all members: %v", err)
	}
	// A reinit PSK outside a reinitialization is invalid (§12.1.4).
	id := keyschedule.PreSharedKeyID{Type: keyschedule.PSKTypeResumption, Usage: keyschedule.UsageReinit,
		GroupID: ng.GroupID(), Epoch: 0, Nonce: make([]byte, 32)}
	expectUnchanged(t, ng, ErrInvalidProposal, func() error {
		_, err := ng.Commit(&CommitOptions{Proposals: []*Proposal{{Body: &message.PreSharedKey{PSK: id}}}})
		return err
	})
}

func TestBranch(t *testing.T) {
	w := newWorld(t, 4, nil)
	// Member 2 branches with members 0 and 3 (fresh KeyPackages, same
	// identities).
	kp0, priv0 := w.clients[0].keyPackage(t)
	kp3, priv3 := w.clients[3].keyPackage(t)
	sub, pc, err := w.groups[2].Branch(w.clients[2].cfg, [][]byte{kp0, kp3}, &BranchOptions{GroupID: []byte("sub")})
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.Apply(pc); err != nil {
		t.Fatal(err)
	}
	for i, priv := range map[int]*KeyPackagePrivate{0: priv0, 3: priv3} {
		g, err := Join(w.clients[i].cfg, pc.Welcome, priv, &JoinOptions{Resumption: []*Group{w.groups[i]}})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(g.EpochAuthenticator(), sub.EpochAuthenticator()) || g.Epoch() != 1 {
			t.Fatal("branch epoch")
		}
	}
	// The parent group goes on.
	w.commit(1, nil)
	w.agree()
	// A stranger cannot be put in a branch.
	s := newClient(t, "stranger")
	kpS, _ := s.keyPackage(t)
	if _, _, err := w.groups[2].Branch(w.clients[2].cfg, [][]byte{kpS}, nil); !errors.Is(err, ErrInvalidArgument) {
		t.Fatal(err)
	}
}

func TestExternalSenders(t *testing.T) {
	ext := newClient(t, "service")
	es, err := (message.ExternalSenders{{SignatureKey: ext.cfg.Signer.Public(), Credential: ext.cfg.Credential}}).Extension()
	if err != nil {
		t.Fatal(err)
	}
	a := newClient(t, "a")
	g, err := NewGroup(a.cfg, &GroupOptions{Extensions: treekem.Extensions{es}})
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, clients: []*client{a}, groups: []*Group{g}}
	w.addMembers(0, newClient(t, "b"), newClient(t, "c"))

	// The external sender proposes to add d and to remove c.
	d := newClient(t, "d")
	kp, priv := d.keyPackage(t)
	add, _ := NewAdd(kp)
	msg, err := ExternalProposal(ext.cfg, g.GroupID(), g.Epoch(), 0, add, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range w.deliver(-1, msg) {
		if r.Sender.Type != message.SenderExternal || r.Proposal.Type() != message.ProposalAdd {
			t.Fatalf("%+v", r)
		}
	}
	msg, err = ExternalProposal(ext.cfg, g.GroupID(), g.Epoch(), 0, NewRemove(w.groups[2].LeafIndex()), nil)
	if err != nil {
		t.Fatal(err)
	}
	w.deliver(-1, msg)
	pc := w.commit(1, nil)
	if len(pc.Adds) != 1 || len(pc.Removes) != 1 {
		t.Fatal("external proposals not committed")
	}
	gd, err := Join(d.cfg, pc.Welcome, priv, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.clients, w.groups = append(w.clients, d), append(w.groups, gd)
	w.agree()

	// An external sender the group does not know is refused, and so is an
	// external Update (§12.1.8).
	other := newClient(t, "other")
	msg, _ = ExternalProposal(other.cfg, g.GroupID(), g.Epoch(), 0, NewRemove(1), nil)
	expectUnchanged(t, w.groups[0], ErrAuthentication, func() error { _, err := w.groups[0].Process(msg); return err })
	msg, _ = ExternalProposal(ext.cfg, g.GroupID(), g.Epoch(), 7, NewRemove(1), nil)
	expectUnchanged(t, w.groups[0], ErrAuthentication, func() error { _, err := w.groups[0].Process(msg); return err })
}

func TestNewMemberProposal(t *testing.T) {
	w := newWorld(t, 3, func(c *Config) {
		c.Policy.Admit = func(a *Admission) error {
			if a.Sender.Type != message.SenderNewMemberProposal || string(a.Identity) == "intruder" {
				return errors.New("not invited")
			}
			return nil
		}
	})
	gi, err := w.groups[0].GroupInfo(nil)
	if err != nil {
		t.Fatal(err)
	}
	d := newClient(t, "d")
	kp, priv := d.keyPackage(t)
	msg, err := NewMemberProposal(d.cfg, gi, kp, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range w.deliver(-1, msg) {
		if r.Sender.Type != message.SenderNewMemberProposal {
			t.Fatal("sender")
		}
	}
	pc := w.commit(2, nil)
	g, err := Join(d.cfg, pc.Welcome, priv, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.clients, w.groups = append(w.clients, d), append(w.groups, g)
	w.agree()

	// The application's policy refuses an uninvited one.
	x := newClient(t, "intruder")
	gi, _ = w.groups[0].GroupInfo(nil)
	kp, _ = x.keyPackage(t)
	msg, _ = NewMemberProposal(x.cfg, gi, kp, nil)
	expectUnchanged(t, w.groups[1], ErrRejected, func() error { _, err := w.groups[1].Process(msg); return err })
	// A new-member proposal signed by another key is refused.
	kpD, _ := d.keyPackage(t)
	msg, _ = NewMemberProposal(x.cfg, gi, kpD, nil)
	expectUnchanged(t, w.groups[1], ErrAuthentication, func() error { _, err := w.groups[1].Process(msg); return err })
}

func TestExternalCommit(t *testing.T) {
	psks := map[string][]byte{"k": bytes.Repeat([]byte{7}, 32)}
	w := newWorld(t, 3, tweaks(pskConfig(psks), admitAll))
	gi, err := w.groups[1].GroupInfo(&GroupInfoOptions{RatchetTree: true})
	if err != nil {
		t.Fatal(err)
	}
	d := newClient(t, "d")
	tweaks(pskConfig(psks), admitAll)(&d.cfg)
	g, commit, err := JoinExternal(d.cfg, gi, &ExternalJoinOptions{PSKs: []keyschedule.PreSharedKeyID{{Type: keyschedule.PSKTypeExternal, ID: []byte("k")}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range w.groups {
		r, err := x.Process(commit)
		if err != nil {
			t.Fatal(err)
		}
		if !r.Commit.External || r.Commit.CommitterLeaf != g.LeafIndex() || len(r.Commit.PSKs) != 1 {
			t.Fatalf("%+v", r.Commit)
		}
		if err := x.Apply(r.Commit); err != nil {
			t.Fatal(err)
		}
	}
	w.clients, w.groups = append(w.clients, d), append(w.groups, g)
	w.agree()
	w.commit(3, nil) // the joiner can commit

	// Resync: member 1 rejoins and removes its old leaf, with the tree
	// given out of band.
	gi, _ = w.groups[0].GroupInfo(nil)
	rt, _ := w.groups[0].RatchetTree()
	old := w.groups[1].LeafIndex()
	g1, commit, err := JoinExternal(w.clients[1].cfg, gi, &ExternalJoinOptions{JoinOptions: JoinOptions{RatchetTree: rt}, Remove: &old})
	if err != nil {
		t.Fatal(err)
	}
	w.groups[1] = nil
	w.deliverCommit(-1, commit)
	w.groups[1] = g1
	w.agree()
	if w.groups[0].MemberCount() != 4 {
		t.Fatal("member count after resync")
	}
	// Resync may not remove someone else.
	gi, _ = w.groups[0].GroupInfo(&GroupInfoOptions{RatchetTree: true})
	other := w.groups[2].LeafIndex()
	var pe *ProposalError
	if _, _, err := JoinExternal(w.clients[1].cfg, gi, &ExternalJoinOptions{Remove: &other}); !errors.As(err, &pe) || pe.Rule != RuleResyncSuccessor {
		t.Fatal(err)
	}
	// Without external_pub, no external join.
	gi, _ = w.groups[0].GroupInfo(&GroupInfoOptions{RatchetTree: true, NoExternalPub: true})
	if _, _, err := JoinExternal(newClient(t, "e").cfg, gi, nil); !errors.Is(err, ErrInvalidWelcome) {
		t.Fatal(err)
	}
}

func TestReInitByValue(t *testing.T) {
	w := newWorld(t, 3, nil)
	pc := w.commit(2, &CommitOptions{Proposals: []*Proposal{w.groups[2].NewReInit([]byte("next"), testSuite, nil)}})
	if len(pc.Proposals) != 1 || pc.Proposals[0].Type() != message.ProposalReInit {
		t.Fatal("proposals")
	}
	for _, g := range w.groups {
		if ri, ok := g.ReInit(); !ok || string(ri.GroupID) != "next" || g.Active() {
			t.Fatal("group not closed by the ReInit")
		}
	}
	w.agree()
	// Snapshots keep the closed state.
	g, err := UnmarshalGroup(w.clients[1].cfg, mustSnapshot(t, w.groups[1]))
	if err != nil {
		t.Fatal(err)
	}
	if g.Active() {
		t.Fatal("reloaded group active")
	}
}

func TestWelcomeTreeOutOfBand(t *testing.T) {
	w := newWorld(t, 3, nil)
	d := newClient(t, "d")
	kp, priv := d.keyPackage(t)
	add, _ := NewAdd(kp)
	pc := w.commit(1, &CommitOptions{Proposals: []*Proposal{add}, OutOfBandTree: true})
	if _, err := Join(d.cfg, pc.Welcome, priv, nil); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("join without the tree: %v", err)
	}
	rt, err := w.groups[1].RatchetTree()
	if err != nil {
		t.Fatal(err)
	}
	// A wrong tree is refused.
	other, _ := w.groups[1].RatchetTree()
	if _, err := Join(d.cfg, pc.Welcome, priv, &JoinOptions{RatchetTree: other[:len(other)-1]}); err == nil {
		t.Fatal("truncated tree accepted")
	}
	old := newWorld(t, 2, nil)
	ort, _ := old.groups[0].RatchetTree()
	if _, err := Join(d.cfg, pc.Welcome, priv, &JoinOptions{RatchetTree: ort}); !errors.Is(err, ErrInvalidWelcome) && !errors.Is(err, ErrAuthentication) {
		t.Fatalf("another group's tree: %v", err)
	}
	g, err := Join(d.cfg, pc.Welcome, priv, &JoinOptions{RatchetTree: rt})
	if err != nil {
		t.Fatal(err)
	}
	w.clients, w.groups = append(w.clients, d), append(w.groups, g)
	w.agree()
	// The Welcome is for d's KeyPackage only.
	_, priv2 := d.keyPackage(t)
	if _, err := Join(d.cfg, pc.Welcome, priv2, &JoinOptions{RatchetTree: rt}); !errors.Is(err, ErrNoKeyPackage) {
		t.Fatal(err)
	}
}

// TestResumptionPSKOfAnotherGroup injects the resumption PSK of an epoch
// of group A into group B (§8.6, usage application): members find it with
// Config.ResumptionPSK; a member without it cannot process the commit.
func TestResumptionPSKOfAnotherGroup(t *testing.T) {
	a := newWorld(t, 2, nil)
	a.commit(1, nil)
	fromA := func(c *Config) {
		name := string(c.Credential.Identity)
		c.ResumptionPSK = func(gid []byte, epoch uint64) ([]byte, error) {
			for i, cl := range a.clients {
				if cl.name == name && bytes.Equal(gid, a.groups[i].GroupID()) {
					if psk, ok := a.groups[i].ResumptionPSK(epoch); ok {
						return psk, nil
					}
				}
			}
			return nil, errors.New("no such group or epoch")
		}
	}
	b := newWorld(t, 2, fromA)
	p, err := b.groups[0].NewResumptionPSKOf(a.groups[0].GroupID(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.groups[0].NewResumptionPSKOf(a.groups[0].GroupID(), 7); !errors.Is(err, ErrPSKNotFound) {
		t.Fatalf("PSK of an epoch A never had: %v, want ErrPSKNotFound", err)
	}
	pc := b.commit(0, &CommitOptions{Proposals: []*Proposal{p}})
	if len(pc.Proposals) != 1 {
		t.Fatalf("commit covers %d proposals", len(pc.Proposals))
	}
	b.agree()

	// A third member of B, who has no copy of A, cannot derive the epoch.
	b.addMembers(0, newClient(t, "member-2"))
	p, err = b.groups[0].NewResumptionPSKOf(a.groups[0].GroupID(), 2)
	if err != nil {
		t.Fatal(err)
	}
	pc, err = b.groups[0].Commit(&CommitOptions{Proposals: []*Proposal{p}})
	if err != nil {
		t.Fatal(err)
	}
	expectUnchanged(t, b.groups[2], ErrPSKNotFound, func() error { _, err := b.groups[2].Process(pc.Commit); return err })
	if _, err := b.groups[1].Process(pc.Commit); err != nil {
		t.Fatalf("member with a copy of A: %v", err)
	}
}
