package agent

import (
	"errors"
	"net/http"
	"slices"
	"testing"

	"github.com/mlsengine/engine/delivery"
)

// sameView fails unless every agent sees the group at the same epoch with
// the same members and epoch authenticator, and returns that view.
func sameView(t *testing.T, group string, agents ...*Agent) *Summary {
	t.Helper()
	var first *Summary
	for _, a := range agents {
		s, err := a.Info(bg, group)
		if err != nil {
			t.Fatalf("%s info: %v", a.Name(), err)
		}
		if first == nil {
			first = s
			continue
		}
		if s.Epoch != first.Epoch || s.EpochAuthenticator != first.EpochAuthenticator || !slices.Equal(s.Members, first.Members) {
			t.Fatalf("%s sees %+v, %s sees %+v", agents[0].Name(), first, a.Name(), s)
		}
	}
	return first
}

func TestGroupLife(t *testing.T) {
	ds := newDS(t)
	alice, bob, carol := testAgent(t, ds, "alice"), testAgent(t, ds, "bob"), testAgent(t, ds, "carol")

	if err := alice.Create(bg, "team", nil); err != nil {
		t.Fatal(err)
	}
	ev, err := alice.Add(bg, "team", "bob", "carol")
	wantLines(t, "add", mustEvents(t, "add", ev, err), "team: alice added bob", "team: alice added carol")
	join(t, bob, "team")
	join(t, carol, "team")
	if v := sameView(t, "team", alice, bob, carol); v.Epoch != 1 || !slices.Equal(v.Members, []string{"alice", "bob", "carol"}) {
		t.Fatalf("view %+v", v)
	}

	send(t, alice, "team", "hi from alice")
	send(t, bob, "team", "hi from bob")
	send(t, carol, "team", "hi from carol")
	wantLines(t, "alice", recv(t, alice, ""), "team bob: hi from bob", "team carol: hi from carol")
	wantLines(t, "bob", recv(t, bob, "team"), "team alice: hi from alice", "team carol: hi from carol")
	wantLines(t, "carol", recv(t, carol, ""), "team alice: hi from alice", "team bob: hi from bob")
	wantLines(t, "nothing new", recv(t, alice, ""))

	ev, err = bob.Update(bg, "team")
	wantLines(t, "update", mustEvents(t, "update", ev, err), "team: bob updated")
	wantLines(t, "alice", recv(t, alice, "team"), "team: bob updated")
	wantLines(t, "carol", recv(t, carol, "team"), "team: bob updated")
	before := sameView(t, "team", alice, bob, carol)

	// Alice removes Carol and says something Carol must not read.
	ev, err = alice.Remove(bg, "team", "carol")
	wantLines(t, "remove", mustEvents(t, "remove", ev, err), "team: alice removed carol")
	send(t, alice, "team", "carol cannot read this")
	wantLines(t, "bob", recv(t, bob, ""), "team: alice removed carol", "team alice: carol cannot read this")

	// Carol, removed, is served the log up to her removal, not the new
	// message (which her state could not decrypt anyway).
	stale, err := carol.openActive(bg, "team")
	if err != nil {
		t.Fatal(err)
	}
	entries, err := carol.ds.Fetch(bg, stale.rec.GroupID, stale.rec.Cursor, 0, 0)
	if err != nil || len(entries) != 1 {
		t.Fatalf("fetch: %d entries, %v", len(entries), err)
	}
	if _, err := carol.ds.Fetch(bg, stale.rec.GroupID, entries[0].Seq, 0, 0); !errors.Is(err, delivery.ErrForbidden) {
		t.Fatalf("fetching after her removal: %v", err)
	}

	wantLines(t, "carol", recv(t, carol, ""), "team: alice removed you")
	wantLines(t, "carol again", recv(t, carol, ""))
	if _, err := carol.Receive(bg, "team"); !errors.Is(err, ErrInactive) {
		t.Fatalf("carol recv team after removal: %v", err)
	}
	if _, err := carol.Send(bg, "team", "hello?"); !errors.Is(err, ErrInactive) {
		t.Fatalf("carol send after removal: %v", err)
	}
	if _, err := carol.Info(bg, "team"); !errors.Is(err, ErrInactive) {
		t.Fatalf("carol info after removal: %v", err)
	}
	after := sameView(t, "team", alice, bob)
	if after.Epoch != before.Epoch+1 || slices.Contains(after.Members, "carol") {
		t.Fatalf("after removal: %+v", after)
	}

	// Bob leaves: his proposal is committed by Alice's next recv.
	ev, err = bob.Leave(bg, "team")
	wantLines(t, "leave", mustEvents(t, "leave", ev, err), "team: you left")
	wantLines(t, "alice", recv(t, alice, ""), "team: bob left")
	if v := sameView(t, "team", alice); !slices.Equal(v.Members, []string{"alice"}) || v.Epoch != after.Epoch+1 {
		t.Fatalf("after leave: %+v", v)
	}
	if _, err := bob.Send(bg, "team", "hello?"); !errors.Is(err, ErrInactive) {
		t.Fatalf("bob send after leaving: %v", err)
	}

	// Carol is added again and finds the group under its name.
	ev, err = alice.Add(bg, "team", "carol")
	wantLines(t, "add again", mustEvents(t, "add", ev, err), "team: alice added carol")
	join(t, carol, "team")
	send(t, carol, "team", "back")
	wantLines(t, "alice", recv(t, alice, "team"), "team carol: back")
	sameView(t, "team", alice, carol)
}

// TestCommitRace makes Bob's commit win the epoch Alice's commit was made
// for: Alice's is refused (409), discarded, and made again after she
// processed Bob's.
func TestCommitRace(t *testing.T) {
	ds := newDS(t)
	hook := &hookTransport{method: http.MethodPost, path: "/messages"}
	alice := testAgent(t, ds, "alice", func(o *Options) { o.HTTPClient = &http.Client{Transport: hook} })
	bob := testAgent(t, ds, "bob")
	if err := alice.Create(bg, "team", nil); err != nil {
		t.Fatal(err)
	}
	hook.before = func() {} // Alice's first commit (the add) goes through
	if _, err := alice.Add(bg, "team", "bob"); err != nil {
		t.Fatal(err)
	}
	join(t, bob, "team")

	hook.before = func() {
		if _, err := bob.Update(bg, "team"); err != nil {
			t.Errorf("bob update: %v", err)
		}
	}
	ev, err := alice.Update(bg, "team")
	wantLines(t, "alice update", mustEvents(t, "update", ev, err), "team: alice updated")
	wantLines(t, "alice", recv(t, alice, ""), "team: bob updated")
	wantLines(t, "bob", recv(t, bob, ""), "team: alice updated")
	if v := sameView(t, "team", alice, bob); v.Epoch != 3 {
		t.Fatalf("epoch %d, want 3", v.Epoch)
	}

	// The same for an application message: Alice's first post is for the
	// epoch Bob's update ends; she catches up and sends it again.
	hook.before = func() {
		if _, err := bob.Update(bg, "team"); err != nil {
			t.Errorf("bob update: %v", err)
		}
	}
	send(t, alice, "team", "once")
	wantLines(t, "bob", recv(t, bob, ""), "team alice: once")
	wantLines(t, "alice", recv(t, alice, ""), "team: bob updated")
}

// TestLeaveRace has two members commit the same pending proposal: the
// loser finds nothing left to commit once it processed the winner.
func TestLeaveRace(t *testing.T) {
	ds := newDS(t)
	hook := &hookTransport{method: http.MethodPost, path: "/messages"}
	alice := testAgent(t, ds, "alice")
	bob := testAgent(t, ds, "bob", func(o *Options) { o.HTTPClient = &http.Client{Transport: hook} })
	carol := testAgent(t, ds, "carol")
	makeTeam(t, alice, bob, carol)
	if _, err := carol.Leave(bg, "team"); err != nil {
		t.Fatal(err)
	}
	hook.before = func() { // Alice commits Carol's leaving first
		if _, err := alice.Receive(bg, ""); err != nil {
			t.Errorf("alice recv: %v", err)
		}
	}
	wantLines(t, "bob", recv(t, bob, ""), "team: carol left")
	if v := sameView(t, "team", alice, bob); !slices.Equal(v.Members, []string{"alice", "bob"}) || v.Epoch != 2 {
		t.Fatalf("view %+v", v)
	}
	wantLines(t, "carol", recv(t, carol, ""))
}

// TestJoinNames lists two groups that their creators both named "team"
// under distinct names at a member of both.
func TestJoinNames(t *testing.T) {
	ds := newDS(t)
	alice, bob, carol := testAgent(t, ds, "alice"), testAgent(t, ds, "bob"), testAgent(t, ds, "carol")
	for _, a := range []*Agent{alice, bob} {
		if err := a.Create(bg, "team", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Add(bg, "team", "carol"); err != nil {
			t.Fatal(err)
		}
	}
	join(t, carol, "team", "team-2")
	send(t, alice, "team", "from alice's team")
	send(t, bob, "team", "from bob's team")
	wantLines(t, "carol", recv(t, carol, ""), "team alice: from alice's team", "team-2 bob: from bob's team")
	groups, err := carol.Groups()
	if err != nil || len(groups) != 2 || groups[0].Group != "team" || groups[1].Group != "team-2" ||
		groups[0].Status != "active" || groups[0].Epoch != 1 {
		t.Fatalf("groups %+v, %v", groups, err)
	}
}
