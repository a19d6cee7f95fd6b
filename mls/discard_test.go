package mls

import (
	"bytes"
	"errors"
	"testing"

	"github.com/mlsengine/engine/mls/keyschedule"
	"github.com/mlsengine/engine/treekem"
)

// stagedSecrets are references to the secrets a staged epoch owns, taken
// before Discard to check afterwards that they were zeroed in place.
type stagedSecrets struct {
	named map[string][]byte
	stree *keyschedule.SecretTree
	priv  *treekem.PrivateState
	leaf  treekem.LeafIndex
}

func captureSecrets(t *testing.T, ep *epochState) *stagedSecrets {
	t.Helper()
	if ep == nil {
		t.Fatal("no staged epoch")
	}
	s := ep.secrets
	c := &stagedSecrets{
		named: map[string][]byte{
			"sender_data_secret":  s.SenderData,
			"exporter_secret":     s.Exporter,
			"external_secret":     s.External,
			"confirmation_key":    s.Confirmation,
			"membership_key":      s.Membership,
			"resumption_psk":      s.Resumption,
			"epoch_authenticator": s.EpochAuthenticator,
			"init_secret":         s.Init,
		},
		stree: ep.stree,
		priv:  ep.priv,
		leaf:  ep.leaf(),
	}
	for name, v := range c.named {
		if len(v) == 0 || isZero(v) {
			t.Fatalf("%s of the staged epoch is empty before Discard", name)
		}
	}
	if len(c.priv.Nodes()) == 0 {
		t.Fatal("staged private state holds no key before Discard")
	}
	return c
}

// checkWiped checks that every captured secret is zero and that the
// secret tree and private state can no longer produce keys.
func (c *stagedSecrets) checkWiped(t *testing.T) {
	t.Helper()
	for name, v := range c.named {
		if !isZero(v) {
			t.Errorf("%s not zeroed by Discard", name)
		}
	}
	if _, _, _, err := c.stree.SendKey(c.leaf, keyschedule.Application); err == nil {
		t.Error("secret tree still hands out keys after Discard")
	}
	if n := c.priv.Nodes(); len(n) != 0 {
		t.Errorf("private state still holds keys of nodes %v after Discard", n)
	}
	if k := c.priv.LeafPrivateKey(); k != nil {
		t.Error("private state still holds the leaf key after Discard")
	}
}

func isZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// checkGroupWorks checks that the world's members still share a working
// epoch: an application message of member `from` decrypts everywhere, and
// a commit with a path by member `by` is processed by everyone (which
// needs every member's private keys).
func checkGroupWorks(t *testing.T, w *world, from, by int) {
	t.Helper()
	w.agree()
	msg, err := w.groups[from].Encrypt([]byte("still here"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range w.deliver(from, msg) {
		if string(r.ApplicationData) != "still here" {
			t.Fatalf("decrypted %q", r.ApplicationData)
		}
	}
	w.commit(by, nil)
	w.agree()
}

func TestPendingCommitDiscard(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts func(t *testing.T, w *world) *CommitOptions
	}{
		{"path", func(*testing.T, *world) *CommitOptions { return nil }},
		{"no path", func(t *testing.T, w *world) *CommitOptions {
			// Without a path the new epoch's private state is a copy of
			// the current one: discarding it must not zero the original.
			kp, _ := newClient(t, "late").keyPackage(t)
			add, err := NewAdd(kp)
			if err != nil {
				t.Fatal(err)
			}
			return &CommitOptions{Proposals: []*Proposal{add}, OmitPath: true}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, 3, nil)
			g := w.groups[0]
			pc, err := g.Commit(tc.opts(t, w))
			if err != nil {
				t.Fatal(err)
			}
			before := mustSnapshot(t, g)
			leafKey := g.leafPrivateKey()
			secrets := captureSecrets(t, pc.next)

			pc.Discard()
			secrets.checkWiped(t)
			if !bytes.Equal(before, mustSnapshot(t, g)) {
				t.Fatal("Discard changed the group")
			}
			if !bytes.Equal(leafKey, g.leafPrivateKey()) || isZero(g.leafPrivateKey()) {
				t.Fatal("Discard damaged the group's leaf private key")
			}

			err = g.Apply(pc)
			if !errors.Is(err, ErrStale) {
				t.Fatalf("Apply after Discard: %v, want ErrStale", err)
			}
			if _, err := pc.GroupInfo(); !errors.Is(err, ErrStale) {
				t.Fatalf("GroupInfo after Discard: %v, want ErrStale", err)
			}
			pc.Discard() // twice: no-op
			if !bytes.Equal(before, mustSnapshot(t, g)) {
				t.Fatal("failed Apply changed the group")
			}

			// The group goes on: another member commits (encrypting to
			// member 0's keys), then member 0 itself.
			checkGroupWorks(t, w, 0, 1)
			checkGroupWorks(t, w, 2, 0)
		})
	}
}

// TestPendingCommitDiscardThenOther discards a commit and applies another
// one made for the same epoch, as after the delivery service refused the
// first.
func TestPendingCommitDiscardThenOther(t *testing.T) {
	w := newWorld(t, 3, nil)
	g := w.groups[0]
	first, err := g.Commit(nil)
	if err != nil {
		t.Fatal(err)
	}
	second, err := g.Commit(nil)
	if err != nil {
		t.Fatal(err)
	}
	first.Discard()
	if _, err := second.GroupInfo(); err != nil {
		t.Fatalf("GroupInfo of the other commit: %v", err)
	}
	w.deliverCommit(0, second.Commit)
	if err := g.Apply(second); err != nil {
		t.Fatalf("applying the other commit: %v", err)
	}
	if err := g.Apply(first); !errors.Is(err, ErrStale) {
		t.Fatalf("Apply of the discarded commit: %v, want ErrStale", err)
	}
	checkGroupWorks(t, w, 1, 2)
}

// TestPendingCommitDiscardAfterApply: Discard of an applied commit must not
// touch the epoch it started, which is the group's.
func TestPendingCommitDiscardAfterApply(t *testing.T) {
	w := newWorld(t, 3, nil)
	pc := w.commit(0, nil)
	before := mustSnapshot(t, w.groups[0])
	pc.Discard()
	if !bytes.Equal(before, mustSnapshot(t, w.groups[0])) {
		t.Fatal("Discard of an applied commit changed the group")
	}
	if _, err := pc.GroupInfo(); err != nil {
		t.Fatalf("GroupInfo of the applied commit after Discard: %v", err)
	}
	checkGroupWorks(t, w, 0, 1)
	// Once the group moved on, the commit's epoch is a past one whose
	// secret tree the group keeps for late messages: still untouched.
	late, err := w.groups[1].Encrypt([]byte("late"), nil)
	if err != nil {
		t.Fatal(err)
	}
	w.commit(2, nil)
	pc.Discard()
	r, err := w.groups[0].Process(late)
	if err != nil || string(r.ApplicationData) != "late" {
		t.Fatalf("late message after Discard: %v", err)
	}
}

func TestStagedCommitDiscard(t *testing.T) {
	w := newWorld(t, 3, nil)
	a, err := w.groups[0].Commit(nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := w.groups[2].Commit(nil)
	if err != nil {
		t.Fatal(err)
	}
	g := w.groups[1]
	before := mustSnapshot(t, g)
	r, err := g.Process(a.Commit)
	if err != nil {
		t.Fatal(err)
	}
	sc := r.Commit
	secrets := captureSecrets(t, sc.next)
	sc.Discard()
	secrets.checkWiped(t)
	if sc.EpochAuthenticator() != nil {
		t.Fatal("EpochAuthenticator after Discard")
	}
	if !bytes.Equal(before, mustSnapshot(t, g)) {
		t.Fatal("Discard changed the group")
	}
	if err := g.Apply(sc); !errors.Is(err, ErrStale) {
		t.Fatalf("Apply after Discard: %v, want ErrStale", err)
	}
	sc.Discard()
	var nilSC *StagedCommit
	nilSC.Discard()
	var nilPC *PendingCommit
	nilPC.Discard()

	// The delivery service ordered b: everyone applies it, member 0
	// discarding its own a.
	a.Discard()
	w.applyCommit(2, b)
	checkGroupWorks(t, w, 1, 0)
}

// TestStagedCommitDiscardKeepsOwnUpdate: the staged epoch's private state
// holds the key of the member's own Update; the cached proposal keeps its
// own copy, which a later commit of the same proposal needs.
func TestStagedCommitDiscardKeepsOwnUpdate(t *testing.T) {
	w := newWorld(t, 3, nil)
	upd, err := w.groups[1].ProposeUpdate(nil)
	if err != nil {
		t.Fatal(err)
	}
	w.deliver(1, upd)
	for _, omit := range []bool{true, false} {
		a, err := w.groups[0].Commit(&CommitOptions{OmitPath: omit})
		if err != nil {
			t.Fatal(err)
		}
		r, err := w.groups[1].Process(a.Commit)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Commit.Updates) != 1 {
			t.Fatalf("commit covers %d updates", len(r.Commit.Updates))
		}
		r.Commit.Discard()
		a.Discard()
	}
	// Member 2 commits the same Update: member 1 needs its key.
	w.commit(2, nil)
	checkGroupWorks(t, w, 1, 0)
}

// TestStagedCommitDiscardEncrypted: the key that decrypted a commit sent
// as a PrivateMessage is deleted by Discard (§9.2).
func TestStagedCommitDiscardEncrypted(t *testing.T) {
	w := newWorld(t, 3, func(c *Config) { c.EncryptHandshake = true })
	a, err := w.groups[0].Commit(nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := w.groups[2].Commit(nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := w.groups[1].Process(a.Commit)
	if err != nil {
		t.Fatal(err)
	}
	r.Commit.Discard()
	if _, err := w.groups[1].Process(a.Commit); !errors.Is(err, ErrReplay) {
		t.Fatalf("discarded commit processed again: %v, want ErrReplay", err)
	}
	a.Discard()
	w.applyCommit(2, b)
	checkGroupWorks(t, w, 0, 1)
}

// TestStagedCommitDiscardSelfRemoved: a commit removing the member has no
// new epoch for it; Discard leaves the member in the group.
func TestStagedCommitDiscardSelfRemoved(t *testing.T) {
	w := newWorld(t, 3, nil)
	a, err := w.groups[0].Commit(&CommitOptions{Proposals: []*Proposal{NewRemove(w.groups[2].LeafIndex())}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := w.groups[2].Process(a.Commit)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Commit.SelfRemoved {
		t.Fatal("not SelfRemoved")
	}
	r.Commit.Discard()
	if err := w.groups[2].Apply(r.Commit); !errors.Is(err, ErrStale) {
		t.Fatalf("Apply after Discard: %v, want ErrStale", err)
	}
	if w.groups[2].Removed() {
		t.Fatal("member removed by a discarded commit")
	}
	a.Discard()
	checkGroupWorks(t, w, 2, 1)
}
