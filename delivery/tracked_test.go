package delivery

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/mlsengine/engine/delivery/store/memstore"
	"github.com/mlsengine/engine/mls"
)

// TestTrackedGroup follows a group's life through a tracked group: the
// joiner gets its tree from the service, each member reads what it may,
// and the view follows every commit.
func TestTrackedGroup(t *testing.T) {
	st := memstore.New()
	srv, url := testServer(t, st, Config{SnapshotEpochs: 2})
	alice, bob, carol := newMember(t, url, "alice"), newMember(t, url, "bob"), newMember(t, url, "carol")
	bob.publish(t, 2)
	carol.publish(t, 1)

	ga := alice.create(t)
	gid := ga.GroupID()
	kp, err := alice.ClaimKeyPackage(bg, "bob", uint16(testSuite))
	if err != nil {
		t.Fatal(err)
	}
	pc0, err := ga.Commit(&mls.CommitOptions{Proposals: addProposals(t, [][]byte{kp.KeyPackage}), OutOfBandTree: true})
	if err != nil {
		t.Fatal(err)
	}
	addBundle := bundleOf(t, pc0)
	if p, err := alice.PostCommit(bg, gid, addBundle); err != nil || p.Seq != 1 {
		t.Fatalf("add: %+v, %v", p, err)
	}
	if err := ga.Apply(pc0); err != nil {
		t.Fatal(err)
	}
	gb, bobFrom := bob.join(t)
	if !bytes.Equal(gb.EpochAuthenticator(), ga.EpochAuthenticator()) {
		t.Fatal("bob joined another epoch than alice's")
	}
	// Carol, not a member, reads nothing.
	for name, err := range map[string]error{
		"fetch":     second(carol.Fetch(bg, gid, 0, 0, 0)),
		"tree":      third(carol.Tree(bg, gid)),
		"groupinfo": second(carol.GroupInfo(bg, gid)),
		"group":     second(carol.Group(bg, gid)),
	} {
		if !errors.Is(err, ErrForbidden) {
			t.Errorf("carol's %s: %v, want ErrForbidden", name, err)
		}
	}
	bob.send(t, gb, "hi from bob")
	if texts, _ := alice.follow(t, ga, 1); !slices.Equal(texts, []string{"hi from bob"}) {
		t.Fatalf("alice read %q", texts)
	}
	// Bob updates, alice adds carol, then removes bob.
	pc, err := gb.Update()
	if err != nil {
		t.Fatal(err)
	}
	bob.post(t, gb, pc)
	alice.follow(t, ga, 2)
	alice.add(t, ga, carol)
	gc, _ := carol.join(t)
	pc, err = ga.Remove(gb.LeafIndex())
	if err != nil {
		t.Fatal(err)
	}
	removal := alice.post(t, ga, pc)
	carol.follow(t, gc, removal.Seq-1)
	// Bob reads up to his removal, and nothing after it.
	texts, cursor := bob.follow(t, gb, bobFrom)
	if len(texts) != 0 || cursor != removal.Seq || !gb.Removed() {
		t.Fatalf("bob read %q up to %d (removed %v), want his removal at %d", texts, cursor, gb.Removed(), removal.Seq)
	}
	alice.send(t, ga, "after bob")
	if _, err := bob.Fetch(bg, gid, removal.Seq, 0, 0); !errors.Is(err, ErrForbidden) {
		t.Fatalf("bob fetching after his removal: %v, want ErrForbidden", err)
	}
	if texts, _ := carol.follow(t, gc, removal.Seq); !slices.Equal(texts, []string{"after bob"}) {
		t.Fatalf("carol read %q", texts)
	}
	// A retry of the first commit, with its Welcome, is answered with its
	// place; nothing is queued again.
	if p, err := alice.PostCommit(bg, gid, addBundle); err != nil || p != (Posted{Seq: 1, Duplicate: true}) {
		t.Fatalf("retried add: %+v, %v", p, err)
	}
	if w, err := bob.NextWelcome(bg); err != nil || w != nil {
		t.Fatalf("bob's Welcomes after the retry: %+v, %v", w, err)
	}
	// The tree served is the group's, in every epoch a member had.
	for epoch := uint64(1); epoch <= ga.Epoch(); epoch++ {
		if _, err := alice.TreeAt(bg, gid, epoch); err != nil {
			t.Fatalf("tree of epoch %d: %v", epoch, err)
		}
	}
	tree, epoch, err := carol.Tree(bg, gid)
	want, _ := ga.RatchetTree()
	if err != nil || epoch != ga.Epoch() || !bytes.Equal(tree, want) {
		t.Fatalf("tree: epoch %d, same %v, %v", epoch, bytes.Equal(tree, want), err)
	}

	// A restarted service rebuilds the view from its snapshots and the log.
	if n := metric(t, url, "mls_ds_view_snapshots_total"); n == "0" {
		t.Fatal("no snapshot written")
	}
	srv.Close()
	_, url2 := testServer(t, st, Config{SnapshotEpochs: 2})
	alice.BaseURL, carol.BaseURL = url2, url2
	carol.send(t, gc, "after the restart")
	if texts, _ := alice.follow(t, ga, removal.Seq+1); !slices.Equal(texts, []string{"after the restart"}) {
		t.Fatalf("alice read %q", texts)
	}
	pc, err = gc.Update()
	if err != nil {
		t.Fatal(err)
	}
	carol.post(t, gc, pc)
	if alice.follow(t, ga, removal.Seq+2); !bytes.Equal(ga.EpochAuthenticator(), gc.EpochAuthenticator()) {
		t.Fatal("alice and carol disagree after the restart")
	}
	bob.BaseURL = url2
	if es, err := bob.Fetch(bg, gid, bobFrom, 0, 0); err != nil || len(es) == 0 || es[len(es)-1].Seq != removal.Seq {
		t.Fatalf("bob after the restart: %d entries, %v", len(es), err)
	}
	if _, err := bob.TreeAt(bg, gid, ga.Epoch()); !errors.Is(err, ErrForbidden) {
		t.Fatalf("bob's tree of an epoch after his removal: %v", err)
	}
	// The snapshots a pending Welcome needs are kept: dave, added before
	// many epochs and a restart, joins with the tree of his Welcome's
	// epoch, rebuilt from them.
	dave := newMember(t, url2, "dave")
	dave.publish(t, 1)
	alice.add(t, ga, dave)
	for range 5 {
		pc, err := ga.Update()
		if err != nil {
			t.Fatal(err)
		}
		alice.post(t, ga, pc)
	}
	_, url3 := testServer(t, st, Config{SnapshotEpochs: 2})
	dave.BaseURL = url3
	gd, _ := dave.join(t)
	if gd.Epoch() >= ga.Epoch() {
		t.Fatalf("dave joined epoch %d, the group is at %d", gd.Epoch(), ga.Epoch())
	}
}

func third[A, B any](_ A, _ B, err error) error { return err }
