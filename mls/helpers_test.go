package mls

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/treekem"
)

// testSuite is the suite of most tests: the fastest one.
const testSuite = suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519

// client is a test client: a Config with its own signature key.
type client struct {
	name string
	cfg  Config
}

func newClient(t testing.TB, name string) *client {
	t.Helper()
	return newClientSuite(t, name, testSuite)
}

func newClientSuite(t testing.TB, name string, id suite.ID) *client {
	t.Helper()
	cs, err := suite.Lookup(id)
	if err != nil {
		t.Fatal(err)
	}
	return newClientOf(t, name, cs)
}

// newClientOf is newClientSuite for a suite of any registry.
func newClientOf(t testing.TB, name string, cs *suite.Suite) *client {
	t.Helper()
	priv, _, err := cs.GenerateSignatureKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := cs.NewSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	return &client{name: name, cfg: Config{
		Suite:      cs.ID(),
		Signer:     signer,
		Credential: treekem.BasicCredential([]byte(name)),
	}}
}

// admitAll is a Config tweak for groups that anyone may join by external
// commit or new_member_proposal (Policy.Admit).
func admitAll(c *Config) { c.Policy.Admit = AdmitAll }

// tweaks combines Config tweaks.
func tweaks(fs ...func(*Config)) func(*Config) {
	return func(c *Config) {
		for _, f := range fs {
			f(c)
		}
	}
}

func (c *client) keyPackage(t testing.TB) ([]byte, *KeyPackagePrivate) {
	t.Helper()
	kp, priv, err := NewKeyPackage(c.cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return kp, priv
}

// world is a group and its members' states, indexed like the clients.
type world struct {
	t       testing.TB
	clients []*client
	groups  []*Group // nil for a client not (or no longer) in the group
}

// newWorld creates a group of n members: the first creates it and adds the
// others in one commit. Each client's Config is passed through tweak.
func newWorld(t testing.TB, n int, tweak func(*Config)) *world {
	t.Helper()
	w := &world{t: t}
	for i := range n {
		c := newClient(t, fmt.Sprintf("member-%d", i))
		if tweak != nil {
			tweak(&c.cfg)
		}
		w.clients = append(w.clients, c)
	}
	g, err := NewGroup(w.clients[0].cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.groups = make([]*Group, n)
	w.groups[0] = g
	if n > 1 {
		w.addMembers(0, w.clients[1:]...)
	}
	return w
}

// index returns the client index of c.
func (w *world) index(c *client) int {
	for i, x := range w.clients {
		if x == c {
			return i
		}
	}
	return -1
}

// addMembers makes member `by` add the clients in one commit, delivers it
// and has them join.
func (w *world) addMembers(by int, cs ...*client) {
	w.t.Helper()
	var props []*Proposal
	privs := map[int]*KeyPackagePrivate{}
	for _, c := range cs {
		kp, priv := c.keyPackage(w.t)
		p, err := NewAdd(kp)
		if err != nil {
			w.t.Fatal(err)
		}
		props = append(props, p)
		i := w.index(c)
		if i < 0 {
			w.clients = append(w.clients, c)
			w.groups = append(w.groups, nil)
			i = len(w.clients) - 1
		}
		privs[i] = priv
	}
	pc := w.commit(by, &CommitOptions{Proposals: props})
	for i, priv := range privs {
		g, err := Join(w.clients[i].cfg, pc.Welcome, priv, nil)
		if err != nil {
			w.t.Fatalf("%s joining: %v", w.clients[i].name, err)
		}
		w.groups[i] = g
	}
	w.agree()
}

// commit makes member `by` commit, delivers the commit to every other
// member, and applies it everywhere.
func (w *world) commit(by int, opts *CommitOptions) *PendingCommit {
	w.t.Helper()
	pc, err := w.groups[by].Commit(opts)
	if err != nil {
		w.t.Fatalf("member %d committing: %v", by, err)
	}
	w.applyCommit(by, pc)
	return pc
}

// applyCommit delivers a commit member `by` made but has not applied yet
// to every other member, then applies it at `by`: the commit won its epoch.
func (w *world) applyCommit(by int, pc *PendingCommit) {
	w.t.Helper()
	w.deliverCommit(by, pc.Commit)
	if err := w.groups[by].Apply(pc); err != nil {
		w.t.Fatal(err)
	}
}

// deliverCommit processes and applies a commit at every member but `by`
// (-1 for none); removed members are dropped from the world.
func (w *world) deliverCommit(by int, msg []byte) {
	w.t.Helper()
	for i, g := range w.groups {
		if g == nil || i == by {
			continue
		}
		r, err := g.Process(msg)
		if err != nil {
			w.t.Fatalf("member %d processing a commit: %v", i, err)
		}
		if r.Commit == nil {
			w.t.Fatalf("member %d: not a commit", i)
		}
		if err := g.Apply(r.Commit); err != nil {
			w.t.Fatal(err)
		}
		if g.Removed() {
			w.groups[i] = nil
		}
	}
}

// deliver processes a non-commit message at every member but `by`.
func (w *world) deliver(by int, msg []byte) []*Received {
	w.t.Helper()
	var out []*Received
	for i, g := range w.groups {
		if g == nil || i == by {
			continue
		}
		r, err := g.Process(msg)
		if err != nil {
			w.t.Fatalf("member %d processing: %v", i, err)
		}
		out = append(out, r)
	}
	return out
}

// agree checks that all members are in the same epoch with the same epoch
// authenticator, exporter and tree hash.
func (w *world) agree() {
	w.t.Helper()
	var ref *Group
	for i, g := range w.groups {
		if g == nil {
			continue
		}
		if ref == nil {
			ref = g
			continue
		}
		if g.Epoch() != ref.Epoch() {
			w.t.Fatalf("member %d at epoch %d, others at %d", i, g.Epoch(), ref.Epoch())
		}
		if !bytes.Equal(g.EpochAuthenticator(), ref.EpochAuthenticator()) {
			w.t.Fatalf("member %d: epoch authenticator differs at epoch %d", i, g.Epoch())
		}
		if !bytes.Equal(g.GroupContext().TreeHash, ref.GroupContext().TreeHash) {
			w.t.Fatalf("member %d: tree hash differs", i)
		}
		if g.MemberCount() != ref.MemberCount() {
			w.t.Fatalf("member %d: %d members, others %d", i, g.MemberCount(), ref.MemberCount())
		}
	}
}

// members returns the indices of the current members.
func (w *world) members() []int {
	var out []int
	for i, g := range w.groups {
		if g != nil {
			out = append(out, i)
		}
	}
	return out
}

// mustSnapshot returns g's snapshot, failing the test on error.
func mustSnapshot(t testing.TB, g *Group) []byte {
	t.Helper()
	b, err := g.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// expectUnchanged runs f, which must fail with an error matching want, and
// checks that g's snapshot is the same before and after.
func expectUnchanged(t testing.TB, g *Group, want error, f func() error) error {
	t.Helper()
	before := mustSnapshot(t, g)
	err := f()
	if err == nil {
		t.Fatalf("expected an error matching %v, got none", want)
	}
	if want != nil && !errors.Is(err, want) {
		t.Fatalf("expected an error matching %v, got %v", want, err)
	}
	if after := mustSnapshot(t, g); !bytes.Equal(before, after) {
		t.Fatalf("group changed by a failed operation (%v)", err)
	}
	return err
}
