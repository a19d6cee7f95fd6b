package mls

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/mls/wire"
	"github.com/mlsengine/engine/treekem"
)

// publicState is what a PublicGroup exposes of its epoch, to check that a
// rejected message left it unchanged.
func publicState(t testing.TB, pg *PublicGroup) []byte {
	t.Helper()
	gc := pg.GroupContext()
	b, err := gc.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	rt, err := pg.RatchetTree()
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, rt...)
	for _, p := range pg.PendingProposals() {
		b = append(b, p.Ref...)
	}
	return b
}

// expectPublicRejects checks that a PublicGroup of g's epoch rejects msg
// with an error matching want, unchanged, and returns the error.
func expectPublicRejects(t testing.TB, g *Group, msg []byte, want error) error {
	t.Helper()
	pg := g.PublicGroup()
	before := publicState(t, pg)
	_, err := pg.Process(msg)
	if err == nil || !errors.Is(err, want) {
		t.Fatalf("public group: got %v, want an error matching %v", err, want)
	}
	if !bytes.Equal(before, publicState(t, pg)) {
		t.Fatalf("public group changed by a rejected message (%v)", err)
	}
	return err
}

// fleet is a group whose every member has full state, followed by a
// PublicGroup, for the agreement test.
type fleet struct {
	t       *testing.T
	rng     *rand.Rand
	id      suite.ID
	clients []*client
	groups  []*Group // nil for a slot no longer in the group
	pub     *PublicGroup
	ext     *client // the external sender, once listed
	joined  int     // clients created so far
	ops     map[string]int
}

const (
	fleetPSK       = "fleet-psk"
	fleetExtension = treekem.ExtensionType(0xff00)
)

func (f *fleet) newClient() *client {
	f.joined++
	c := newClientSuite(f.t, fmt.Sprintf("c%d", f.joined), f.id)
	c.cfg.Policy.Admit = AdmitAll
	c.cfg.SupportedExtensions = []treekem.ExtensionType{fleetExtension}
	c.cfg.ExternalPSK = func(id []byte) ([]byte, error) {
		if string(id) == fleetPSK {
			return bytes.Repeat([]byte{9}, 32), nil
		}
		return nil, errors.New("unknown PSK")
	}
	return c
}

func newFleet(t *testing.T, id suite.ID, seed uint64) *fleet {
	f := &fleet{t: t, rng: rand.New(rand.NewPCG(seed, seed)), id: id, ops: map[string]int{}}
	c := f.newClient()
	g, err := NewGroup(c.cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.clients, f.groups = []*client{c}, []*Group{g}
	f.startPublic(g)
	return f
}

// startPublic starts the PublicGroup from g's GroupInfo, with a Config
// that has no signer: a server's.
func (f *fleet) startPublic(g *Group) {
	gi, err := g.GroupInfo(&GroupInfoOptions{RatchetTree: true})
	if err != nil {
		f.t.Fatal(err)
	}
	cfg := f.clients[0].cfg
	cfg.Signer, cfg.Credential, cfg.Suite = nil, treekem.Credential{}, 0
	if f.pub, err = NewPublicGroup(cfg, gi, nil); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fleet) members() []int {
	var out []int
	for i, g := range f.groups {
		if g != nil {
			out = append(out, i)
		}
	}
	return out
}

func (f *fleet) pick() int { m := f.members(); return m[f.rng.IntN(len(m))] }

// pickOther returns a member other than i, or -1.
func (f *fleet) pickOther(i int) int {
	m := slices.DeleteFunc(f.members(), func(j int) bool { return j == i })
	if len(m) == 0 {
		return -1
	}
	return m[f.rng.IntN(len(m))]
}

// broadcast delivers a proposal to every member but `by` and to the
// PublicGroup.
func (f *fleet) broadcast(by int, msg []byte) {
	f.t.Helper()
	for _, i := range f.members() {
		if i == by {
			continue
		}
		if _, err := f.groups[i].Process(msg); err != nil {
			f.t.Fatalf("member %d: %v", i, err)
		}
	}
	if _, err := f.pub.Process(msg); err != nil {
		f.t.Fatalf("public group: %v", err)
	}
}

// deliver processes a commit everywhere: the PublicGroup (which checks the
// GroupInfo and Welcome published with it), every member but `by` (-1 for
// an external commit), then `by` applies pc.
func (f *fleet) deliver(by int, commit []byte, pc *PendingCommit) {
	f.t.Helper()
	r, err := f.pub.Process(commit)
	if err != nil {
		f.t.Fatalf("epoch %d, public group: %v", f.pub.Epoch(), err)
	}
	if pc != nil {
		gi, err := pc.GroupInfo()
		if err != nil {
			f.t.Fatal(err)
		}
		if err := r.Commit.CheckGroupInfo(gi); err != nil {
			f.t.Fatalf("public group: the committer's GroupInfo: %v", err)
		}
		if pc.Welcome != nil {
			if err := r.Commit.CheckWelcome(pc.Welcome); err != nil {
				f.t.Fatalf("public group: the committer's Welcome: %v", err)
			}
		}
	}
	if err := f.pub.Apply(r.Commit); err != nil {
		f.t.Fatal(err)
	}
	for _, i := range f.members() {
		if i == by {
			continue
		}
		r, err := f.groups[i].Process(commit)
		if err != nil {
			f.t.Fatalf("epoch %d, member %d: %v", f.pub.Epoch(), i, err)
		}
		if err := f.groups[i].Apply(r.Commit); err != nil {
			f.t.Fatal(err)
		}
		if f.groups[i].Removed() {
			f.groups[i] = nil
		}
	}
	if by >= 0 {
		if err := f.groups[by].Apply(pc); err != nil {
			f.t.Fatal(err)
		}
	}
}

// commit has member `by` commit opts, delivers it, and joins the added
// clients (kps maps their KeyPackages' private parts to them).
func (f *fleet) commit(by int, opts *CommitOptions, joiners map[*client]*KeyPackagePrivate) {
	f.t.Helper()
	pc, err := f.groups[by].Commit(opts)
	if err != nil {
		f.t.Fatalf("epoch %d, member %d committing: %v", f.pub.Epoch(), by, err)
	}
	f.deliver(by, pc.Commit, pc)
	f.join(pc.Welcome, joiners, nil)
}

func (f *fleet) join(welcome []byte, joiners map[*client]*KeyPackagePrivate, resumption []*Group) {
	f.t.Helper()
	for c, priv := range joiners {
		g, err := Join(c.cfg, welcome, priv, &JoinOptions{Resumption: resumption})
		if err != nil {
			f.t.Fatalf("%s joining: %v", c.name, err)
		}
		f.clients, f.groups = append(f.clients, c), append(f.groups, g)
	}
}

// agree checks that every member and the PublicGroup have the same
// GroupContext, tree and members.
func (f *fleet) agree() {
	f.t.Helper()
	gc := f.pub.GroupContext()
	want, _ := gc.Bytes()
	rt, _ := f.pub.RatchetTree()
	members := slices.Collect(f.pub.Members())
	for _, i := range f.members() {
		g := f.groups[i]
		ggc := g.GroupContext()
		got, _ := ggc.Bytes()
		if !bytes.Equal(got, want) {
			f.t.Fatalf("epoch %d: member %d's GroupContext differs from the public group's", f.pub.Epoch(), i)
		}
		grt, _ := g.RatchetTree()
		if !bytes.Equal(grt, rt) || !slices.Equal(slices.Collect(g.Members()), members) {
			f.t.Fatalf("epoch %d: member %d's tree differs from the public group's", f.pub.Epoch(), i)
		}
	}
	if !bytes.Equal(gc.TreeHash, f.pub.ep.tree.TreeHash()) {
		f.t.Fatal("tree hash")
	}
}

func (f *fleet) keyPackage() (*client, *Proposal, *KeyPackagePrivate) {
	c := f.newClient()
	kp, priv := c.keyPackage(f.t)
	add, err := NewAdd(kp)
	if err != nil {
		f.t.Fatal(err)
	}
	return c, add, priv
}

// step runs one random epoch.
func (f *fleet) step() {
	t := f.t
	by := f.pick()
	g := f.groups[by]
	n := len(f.members())
	op := f.rng.IntN(13)
	switch {
	case f.rng.IntN(100) == 0:
		op = 13
	case n < 3 && op >= 4 && op <= 5:
		op = 1 // grow rather than remove
	case n > 6 && op <= 3:
		op = 4
	}
	switch op {
	case 0: // empty commit: a path
		f.ops["update-path"]++
		f.commit(by, &CommitOptions{NoPending: true}, nil)
	case 1, 2: // Adds by value, with or without a path
		f.ops["add"]++
		joiners := map[*client]*KeyPackagePrivate{}
		var props []*Proposal
		for range 1 + f.rng.IntN(2) {
			c, add, priv := f.keyPackage()
			joiners[c], props = priv, append(props, add)
		}
		f.commit(by, &CommitOptions{Proposals: props, OmitPath: op == 2}, joiners)
	case 3: // an Add by reference
		f.ops["add-ref"]++
		c, add, priv := f.keyPackage()
		msg, err := g.Propose(add, nil)
		if err != nil {
			t.Fatal(err)
		}
		f.broadcast(by, msg)
		f.commit(f.pick(), nil, map[*client]*KeyPackagePrivate{c: priv})
	case 4: // a Remove by value
		f.ops["remove"]++
		if o := f.pickOther(by); o >= 0 {
			f.commit(by, &CommitOptions{Proposals: []*Proposal{NewRemove(f.groups[o].LeafIndex())}}, nil)
		}
	case 5: // Update and Remove by reference
		f.ops["update+remove-ref"]++
		msg, err := g.ProposeUpdate(nil)
		if err != nil {
			t.Fatal(err)
		}
		f.broadcast(by, msg)
		if o := f.pickOther(by); o >= 0 {
			if v := f.pickOther(o); v >= 0 && v != by {
				msg, err := f.groups[o].Propose(NewRemove(f.groups[v].LeafIndex()), nil)
				if err != nil {
					t.Fatal(err)
				}
				f.broadcast(o, msg)
			}
			f.commit(o, nil, nil)
		} else {
			f.commit(by, &CommitOptions{NoPending: true}, nil) // drops its own Update
		}
	case 6: // PSKs: external and resumption
		f.ops["psk"]++
		ext, err := g.NewExternalPSK([]byte(fleetPSK))
		if err != nil {
			t.Fatal(err)
		}
		props := []*Proposal{ext}
		// The current epoch's: members who joined in it have no other.
		res, err := g.NewResumptionPSK(g.Epoch())
		if err != nil {
			t.Fatal(err)
		}
		props = append(props, res)
		f.commit(by, &CommitOptions{Proposals: props, OmitPath: f.rng.IntN(2) == 0}, nil)
	case 7: // GroupContextExtensions: a custom extension, external senders
		f.ops["gce"]++
		data := make([]byte, f.rng.IntN(8))
		exts := treekem.Extensions{{Type: fleetExtension, Data: data}}
		if f.rng.IntN(2) == 0 {
			f.ext = f.newClient()
			es, err := message.ExternalSenders{{SignatureKey: f.ext.cfg.Signer.Public(), Credential: f.ext.cfg.Credential}}.Extension()
			if err != nil {
				t.Fatal(err)
			}
			exts = append(exts, es)
		} else {
			f.ext = nil
		}
		f.commit(by, &CommitOptions{Proposals: []*Proposal{NewGroupContextExtensions(exts)}}, nil)
	case 8: // an external sender's proposal
		f.ops["external-sender"]++
		if f.ext == nil {
			f.commit(by, nil, nil)
			return
		}
		var p *Proposal
		joiners := map[*client]*KeyPackagePrivate{}
		if o := f.pickOther(by); o >= 0 && f.rng.IntN(2) == 0 {
			p = NewRemove(f.groups[o].LeafIndex())
		} else {
			c, add, priv := f.keyPackage()
			p, joiners[c] = add, priv
		}
		msg, err := ExternalProposal(f.ext.cfg, g.GroupID(), g.Epoch(), 0, p, nil)
		if err != nil {
			t.Fatal(err)
		}
		f.broadcast(-1, msg)
		f.commit(by, nil, joiners)
	case 9: // a new_member_proposal
		f.ops["new-member-proposal"]++
		c := f.newClient()
		kp, priv := c.keyPackage(t)
		gi, err := g.GroupInfo(nil)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := NewMemberProposal(c.cfg, gi, kp, nil)
		if err != nil {
			t.Fatal(err)
		}
		f.broadcast(-1, msg)
		f.commit(by, nil, map[*client]*KeyPackagePrivate{c: priv})
	case 10, 11: // external commits: a new member, or a member's resync
		gi, err := g.GroupInfo(&GroupInfoOptions{RatchetTree: true})
		if err != nil {
			t.Fatal(err)
		}
		if op == 10 {
			f.ops["external-join"]++
			c := f.newClient()
			ng, commit, err := JoinExternal(c.cfg, gi, nil)
			if err != nil {
				t.Fatal(err)
			}
			f.deliver(-1, commit, nil)
			f.clients, f.groups = append(f.clients, c), append(f.groups, ng)
			return
		}
		f.ops["resync"]++
		o := f.pickOther(by)
		if o < 0 {
			o = by
		}
		ng, commit, err := JoinExternal(f.clients[o].cfg, gi, &ExternalJoinOptions{Resync: true})
		if err != nil {
			t.Fatal(err)
		}
		f.groups[o] = nil
		f.deliver(-1, commit, nil)
		f.groups[o] = ng
	case 12: // several proposals at once
		f.ops["mixed"]++
		c, add, priv := f.keyPackage()
		props := []*Proposal{add}
		if o := f.pickOther(by); o >= 0 && n > 3 {
			props = append(props, NewRemove(f.groups[o].LeafIndex()))
		}
		ext, _ := g.NewExternalPSK([]byte(fleetPSK))
		props = append(props, ext)
		f.commit(by, &CommitOptions{Proposals: props}, map[*client]*KeyPackagePrivate{c: priv})
	case 13: // ReInit, then the new group
		f.reinit(by)
	}
}

// reinit commits a ReInit by `by` and moves the fleet to the new group,
// which member `by` creates and the PublicGroup follows from its epoch 0.
func (f *fleet) reinit(by int) {
	t := f.t
	f.ops["reinit"]++
	g := f.groups[by]
	ri := g.NewReInit(append(g.GroupID(), 'r'), f.id, g.Extensions())
	f.commit(by, &CommitOptions{Proposals: []*Proposal{ri}}, nil)
	var kps [][]byte
	joiners := map[*client]*KeyPackagePrivate{}
	for _, i := range f.members() {
		if i == by {
			continue
		}
		kp, priv := f.clients[i].keyPackage(t)
		kps, joiners[f.clients[i]] = append(kps, kp), priv
	}
	old := f.groups
	ng, pc, err := g.Reinitialize(f.clients[by].cfg, kps, nil)
	if err != nil {
		t.Fatal(err)
	}
	creator := f.clients[by]
	f.clients, f.groups = []*client{creator}, []*Group{ng}
	f.startPublic(ng)
	f.deliver(0, pc.Commit, pc)
	f.join(pc.Welcome, joiners, old)
}

// TestPublicGroupAgreement runs a group through 1,000 random epochs
// covering every proposal type of RFC 9420 (Add, Update, Remove,
// PreSharedKey of both types, ReInit, ExternalInit in external commits and
// resyncs, GroupContextExtensions), by value and by reference, proposals
// of external senders and new members, commits with and without a path,
// in suites 1, 2 and 4; a PublicGroup processes every handshake message
// and must agree with every member on the GroupContext (tree hash,
// transcript hash, extensions), the tree and the members at every epoch.
func TestPublicGroupAgreement(t *testing.T) {
	epochs := 1000
	if testing.Short() {
		epochs = 100
	}
	for _, id := range []suite.ID{
		suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519,
		suite.MLS_128_DHKEMP256_AES128GCM_SHA256_P256,
		suite.MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448,
	} {
		t.Run(id.String(), func(t *testing.T) {
			t.Parallel()
			f := newFleet(t, id, uint64(id))
			for i := range epochs {
				if i == epochs/2 {
					f.reinit(f.pick()) // at least once
				} else {
					f.step()
				}
				f.agree()
				if i%100 == 0 { // the view survives a save and load
					f.pub = reloadPublic(t, f.pub)
				}
			}
			t.Logf("%d epochs (public group at epoch %d, %d members): %v", epochs, f.pub.Epoch(), f.pub.MemberCount(), f.ops)
			if len(f.ops) < 13 {
				t.Fatalf("only %d kinds of operations ran", len(f.ops))
			}
		})
	}
}

// decodeCommit returns the PublicMessage of a commit.
func decodeCommit(t *testing.T, msg []byte) *message.PublicMessage {
	t.Helper()
	var m message.MLSMessage
	if err := wire.Unmarshal(bytes.Clone(msg), &m); err != nil || m.PublicMessage == nil {
		t.Fatalf("not a PublicMessage: %v", err)
	}
	return m.PublicMessage
}

// TestPublicGroupRejects plays the attacks a PublicGroup must catch
// without secrets: each fails with a typed error and leaves it unchanged
// (§12.2's rules are checked by the rule tests through rejectBoth).
func TestPublicGroupRejects(t *testing.T) {
	w := newWorld(t, 4, nil)
	g := w.groups[0]
	pc, err := g.Commit(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Discard()
	genuine := decodeCommit(t, pc.Commit)

	t.Run("bad signature", func(t *testing.T) {
		pm := *genuine
		pm.Auth.Signature = bytes.Clone(pm.Auth.Signature)
		pm.Auth.Signature[3] ^= 1
		msg, err := encodeMLS(&pm)
		if err != nil {
			t.Fatal(err)
		}
		err = expectPublicRejects(t, g, msg, ErrAuthentication)
		if !errors.Is(err, message.ErrSignature) {
			t.Fatalf("%v: want message.ErrSignature", err)
		}
	})
	t.Run("non-member sender", func(t *testing.T) {
		for _, sender := range []message.Sender{message.MemberSender(9), message.ExternalSenderAt(0)} {
			fc := g.framed(message.ContentProposal, nil)
			fc.Sender = sender
			fc.Proposal = NewRemove(1).wire()
			ac, err := message.SignContent(g.cf.cs, g.cf.Signer, message.WireFormatPublicMessage, fc, g.ep.gcBytes)
			if err != nil {
				t.Fatal(err)
			}
			pm := &message.PublicMessage{Content: ac.Content, Auth: ac.Auth, MembershipTag: make([]byte, 32)}
			if sender.Type != message.SenderMember {
				pm.MembershipTag = nil
			}
			msg, err := encodeMLS(pm)
			if err != nil {
				t.Fatal(err)
			}
			expectPublicRejects(t, g, msg, ErrAuthentication)
		}
	})
	t.Run("bad path leaf", func(t *testing.T) {
		path := *genuine.Content.Commit.Path
		path.LeafNode.Signature = bytes.Clone(path.LeafNode.Signature)
		path.LeafNode.Signature[0] ^= 1
		msg := craftCommit(t, g, nil, &path)
		err := expectPublicRejects(t, g, msg, ErrInvalidCommit)
		if !errors.Is(err, treekem.ErrInvalidLeafNode) {
			t.Fatalf("%v: want treekem.ErrInvalidLeafNode", err)
		}
	})
	t.Run("bad parent hash", func(t *testing.T) {
		path := *genuine.Content.Commit.Path
		path.LeafNode.ParentHash = bytes.Repeat([]byte{7}, 32)
		if err := signLeaf(g.cf.cs, g.cf.Signer, &path.LeafNode, g.GroupID(), g.LeafIndex()); err != nil {
			t.Fatal(err)
		}
		msg := craftCommit(t, g, nil, &path)
		err := expectPublicRejects(t, g, msg, ErrInvalidCommit)
		if !errors.Is(err, treekem.ErrParentHash) {
			t.Fatalf("%v: want treekem.ErrParentHash", err)
		}
	})
	t.Run("wrong epoch", func(t *testing.T) {
		next := w.groups[1].PublicGroup()
		other := w.commit(1, nil)
		pg := w.groups[2].PublicGroup() // the epoch after pc's
		before := publicState(t, pg)
		_, err := pg.Process(pc.Commit)
		var ee *EpochError
		if !errors.As(err, &ee) || !errors.Is(err, ErrWrongEpoch) || !bytes.Equal(before, publicState(t, pg)) {
			t.Fatalf("%v: want an EpochError", err)
		}
		// And a view that applied a commit cannot apply another of the
		// same epoch.
		r1, err := next.Process(other.Commit)
		if err != nil {
			t.Fatal(err)
		}
		r2, err := next.Process(pc.Commit)
		if err != nil {
			t.Fatal(err)
		}
		if err := next.Apply(r1.Commit); err != nil {
			t.Fatal(err)
		}
		if err := next.Apply(r2.Commit); !errors.Is(err, ErrStale) {
			t.Fatalf("second commit of an epoch: %v", err)
		}
	})
	t.Run("wrong group", func(t *testing.T) {
		o := newWorld(t, 2, nil)
		opc, err := o.groups[0].Commit(nil)
		if err != nil {
			t.Fatal(err)
		}
		expectPublicRejects(t, w.groups[2], opc.Commit, ErrWrongGroup)
	})
	t.Run("private message", func(t *testing.T) {
		h := w.groups[3]
		cf := *h.cf
		cf.EncryptHandshake = true
		h.cf = &cf
		epc, err := h.Commit(nil)
		cf.EncryptHandshake = false
		if err != nil {
			t.Fatal(err)
		}
		defer epc.Discard()
		expectPublicRejects(t, w.groups[2], epc.Commit, ErrUnsupported)
	})
}

// TestPublicGroupChecksBundle checks what a server checks of the GroupInfo
// and Welcome that come with a commit, and of a GroupInfo it starts from.
func TestPublicGroupChecksBundle(t *testing.T) {
	w := newWorld(t, 3, nil)
	pg := w.groups[1].PublicGroup()
	add := otherKeyPackage(t, newClient(t, "d"))
	pc, err := w.groups[0].Commit(&CommitOptions{Proposals: []*Proposal{add}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := pg.Process(pc.Commit)
	if err != nil {
		t.Fatal(err)
	}
	sc := r.Commit
	gi, err := pc.GroupInfo()
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.CheckGroupInfo(gi); err != nil {
		t.Fatal(err)
	}
	if err := sc.CheckWelcome(pc.Welcome); err != nil {
		t.Fatal(err)
	}
	// The GroupInfo of the current epoch is not the new one's.
	old, err := w.groups[0].GroupInfo(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.CheckGroupInfo(old); !errors.Is(err, ErrInvalidWelcome) {
		t.Fatalf("old GroupInfo: %v", err)
	}
	if err := pg.CheckGroupInfo(old); err != nil {
		t.Fatalf("current GroupInfo: %v", err)
	}
	// A forged signature.
	m, err := parseGroupInfo(gi)
	if err != nil {
		t.Fatal(err)
	}
	m.Signature[0] ^= 1
	forged, _ := encodeMLS(m)
	if err := sc.CheckGroupInfo(forged); !errors.Is(err, ErrAuthentication) {
		t.Fatalf("forged GroupInfo: %v", err)
	}
	// A Welcome of another commit.
	add2 := otherKeyPackage(t, newClient(t, "e"))
	pc2, err := w.groups[0].Commit(&CommitOptions{Proposals: []*Proposal{add2}})
	if err != nil {
		t.Fatal(err)
	}
	defer pc2.Discard()
	if err := sc.CheckWelcome(pc2.Welcome); !errors.Is(err, ErrInvalidWelcome) {
		t.Fatalf("another commit's Welcome: %v", err)
	}
	if err := pg.Apply(sc); err != nil {
		t.Fatal(err)
	}
	w.applyCommit(0, pc)
	if err := pg.CheckGroupInfo(gi); err != nil {
		t.Fatal(err)
	}

	// NewPublicGroup verifies the GroupInfo and tree as a joiner does.
	full, err := w.groups[0].GroupInfo(&GroupInfoOptions{RatchetTree: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewPublicGroup(Config{}, full, nil); err != nil {
		t.Fatal(err)
	}
	m, _ = parseGroupInfo(full)
	m.Signature[0] ^= 1
	forged, _ = encodeMLS(m)
	if _, err := NewPublicGroup(Config{}, forged, nil); !errors.Is(err, ErrAuthentication) {
		t.Fatalf("forged GroupInfo: %v", err)
	}
	rt, _ := w.groups[1].RatchetTree()
	bare, _ := w.groups[0].GroupInfo(nil)
	if _, err := NewPublicGroup(Config{}, bare, &PublicGroupOptions{RatchetTree: rt}); err != nil {
		t.Fatal(err)
	}
	otherTree, _ := newWorld(t, 3, nil).groups[0].RatchetTree()
	if _, err := NewPublicGroup(Config{}, bare, &PublicGroupOptions{RatchetTree: otherTree}); err == nil {
		t.Fatal("a tree of another group accepted")
	}
}

// reloadPublic saves and loads a PublicGroup.
func reloadPublic(t testing.TB, pg *PublicGroup) *PublicGroup {
	t.Helper()
	data, err := pg.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	back, err := UnmarshalPublicGroup(pg.cf.Config, data)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(publicState(t, back), publicState(t, pg)) {
		t.Fatal("the reloaded public group differs")
	}
	return back
}

func TestPublicGroupSnapshot(t *testing.T) {
	w := newWorld(t, 3, nil)
	w.propose(1, NewRemove(2))
	pg := reloadPublic(t, w.groups[0].PublicGroup())
	if len(pg.PendingProposals()) != 1 {
		t.Fatal("pending proposal lost")
	}
	pc := w.commit(0, nil)
	r, err := pg.Process(pc.Commit) // covers the proposal by reference
	if err != nil {
		t.Fatal(err)
	}
	if err := pg.Apply(r.Commit); err != nil {
		t.Fatal(err)
	}
	data, _ := pg.MarshalBinary()
	if _, err := UnmarshalGroup(w.clients[0].cfg, data); !errors.Is(err, ErrInvalidState) {
		t.Fatalf("a public snapshot loaded as a group: %v", err)
	}
	if _, err := UnmarshalPublicGroup(Config{}, mustSnapshot(t, w.groups[0])); !errors.Is(err, ErrInvalidState) {
		t.Fatalf("a member's snapshot loaded as a public group: %v", err)
	}
	if _, err := UnmarshalPublicGroup(Config{}, data[:len(data)-1]); err == nil {
		t.Fatal("a truncated snapshot loaded")
	}
}
