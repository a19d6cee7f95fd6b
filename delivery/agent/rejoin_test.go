package agent

import (
	"errors"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
)

// TestRejoinOutOfSync desynchronizes Bob (his state goes back to before
// his own commit, which he then cannot process), so that he cannot follow
// the group; he rejoins by external commit, removing his old leaf, while
// Carol's commit wins the epoch his first attempt was built for. Then he
// loses his record of the group and rejoins by group id.
func TestRejoinOutOfSync(t *testing.T) {
	ds := newDS(t)
	hook := &hookTransport{method: http.MethodPost, path: "/messages"}
	alice, carol := testAgent(t, ds, "alice"), testAgent(t, ds, "carol")
	bob := testAgent(t, ds, "bob", func(o *Options) { o.HTTPClient = &http.Client{Transport: hook} })
	if err := alice.Create(bg, "team", nil); err != nil {
		t.Fatal(err)
	}
	hook.before = func() {} // not on Bob's posts yet
	if _, err := alice.Add(bg, "team", "bob", "carol"); err != nil {
		t.Fatal(err)
	}
	join(t, bob, "team")
	join(t, carol, "team")

	// Bob's record goes back to before his update: he cannot process
	// Alice's next commit.
	rec, err := bob.st.findRecord("team")
	if err != nil {
		t.Fatal(err)
	}
	path := bob.st.groupPath(rec.GroupID)
	saved, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Update(bg, "team"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, saved, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Update(bg, "team"); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Receive(bg, "team"); !errors.Is(err, ErrOutOfSync) {
		t.Fatalf("bob recv with a stale state: %v", err)
	}

	// Bob rejoins; Carol's update wins the epoch of his first try.
	hook.before = func() {
		if _, err := carol.Update(bg, "team"); err != nil {
			t.Errorf("carol update: %v", err)
		}
	}
	if err := bob.Rejoin(bg, "team"); err != nil {
		t.Fatalf("bob rejoin: %v", err)
	}
	if hook.before != nil || t.Failed() {
		t.Fatal("carol's commit did not race bob's rejoin")
	}
	wantLines(t, "alice", recv(t, alice, ""), "team: bob updated", "team: carol updated", "team: bob rejoined")
	wantLines(t, "carol", recv(t, carol, ""), "team: bob updated", "team: alice updated", "team: bob rejoined")
	v := sameView(t, "team", alice, bob, carol)
	if v.Epoch != 5 || !slices.Equal(v.Members, []string{"alice", "bob", "carol"}) {
		t.Fatalf("after the rejoin: %+v", v)
	}
	send(t, bob, "team", "back in sync")
	wantLines(t, "alice", recv(t, alice, ""), "team bob: back in sync")
	send(t, alice, "team", "welcome back")
	wantLines(t, "bob", recv(t, bob, ""), "team alice: welcome back")

	// Bob's state is lost (unreadable): he rejoins by the group's id,
	// from his record. Without a record he could not: rejoin continues
	// only a group the client knew.
	lost, err := bob.st.loadRecord(rec.GroupID)
	if err != nil {
		t.Fatal(err)
	}
	lost.State = []byte("unreadable")
	if err := bob.st.saveRecord(lost); err != nil {
		t.Fatal(err)
	}
	if name, err := bob.RejoinID(bg, rec.GroupID); err != nil || name != "team" {
		t.Fatalf("bob rejoin by id: %q, %v", name, err)
	}
	wantLines(t, "carol", recv(t, carol, ""), "team bob: back in sync", "team alice: welcome back", "team: bob rejoined")
	wantLines(t, "alice", recv(t, alice, ""), "team: bob rejoined")
	if v := sameView(t, "team", alice, bob, carol); v.Epoch != 6 || !slices.Equal(v.Members, []string{"alice", "bob", "carol"}) {
		t.Fatalf("after the rejoin by id: %+v", v)
	}
	send(t, carol, "team", "hi")
	wantLines(t, "bob", recv(t, bob, ""), "team carol: hi")
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.RejoinID(bg, rec.GroupID); !errors.Is(err, ErrUnknownGroup) {
		t.Fatalf("rejoin of a group without a record: %v, want ErrUnknownGroup", err)
	}
}

// TestRejoinAfterRemoval: Carol, removed by Alice, cannot come back on
// her own (the default policy admits only resyncs): a member adds her
// again. In an open group she rejoins by external commit. A lone creator
// whose state is lost resyncs.
func TestRejoinAfterRemoval(t *testing.T) {
	ds := newDS(t)
	alice, bob, carol := testAgent(t, ds, "alice"), testAgent(t, ds, "bob"), testAgent(t, ds, "carol")
	makeTeam(t, alice, bob, carol)
	if _, err := alice.Remove(bg, "team", "carol"); err != nil {
		t.Fatal(err)
	}
	send(t, alice, "team", "not for carol")
	wantLines(t, "carol", recv(t, carol, ""), "team: alice removed you")
	if err := carol.Rejoin(bg, "team"); !errors.Is(err, ErrInactive) || !strings.Contains(err.Error(), "does not admit this client back") {
		t.Fatalf("carol rejoin after her removal: %v", err)
	}
	wantLines(t, "bob", recv(t, bob, ""), "team: alice removed carol", "team alice: not for carol")
	if _, err := alice.Add(bg, "team", "carol"); err != nil {
		t.Fatal(err)
	}
	join(t, carol, "team")
	send(t, carol, "team", "back")
	wantLines(t, "bob", recv(t, bob, ""), "team: alice added carol", "team carol: back")
	sameView(t, "team", alice, bob, carol)

	// An open group admits her back on her own.
	if err := alice.Create(bg, "open", &CreateOptions{Open: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Add(bg, "open", "carol"); err != nil {
		t.Fatal(err)
	}
	join(t, carol, "open")
	if _, err := alice.Remove(bg, "open", "carol"); err != nil {
		t.Fatal(err)
	}
	wantLines(t, "carol", recv(t, carol, "open"), "open: alice removed you")
	if err := carol.Rejoin(bg, "open"); err != nil {
		t.Fatalf("carol rejoin of an open group: %v", err)
	}
	wantLines(t, "alice", recv(t, alice, "open"), "open: carol joined")
	if v := sameView(t, "open", alice, carol); !slices.Equal(v.Members, []string{"alice", "carol"}) {
		t.Fatalf("after the rejoin: %+v", v)
	}

	// A member in sync has nothing to rejoin. A lone creator's group has
	// the GroupInfo of its epoch 0: once his state is lost, he resyncs.
	if err := bob.Create(bg, "solo", nil); err != nil {
		t.Fatal(err)
	}
	err := bob.Rejoin(bg, "solo")
	if !errors.Is(err, ErrMember) || !strings.Contains(err.Error(), "in sync at epoch 0: nothing to rejoin") {
		t.Fatalf("rejoin while a member in sync: %v", err)
	}
	rec, err := bob.st.findRecord("solo")
	if err != nil {
		t.Fatal(err)
	}
	rec.State = []byte("lost")
	if err := bob.st.saveRecord(rec); err != nil {
		t.Fatal(err)
	}
	if err := bob.Rejoin(bg, "solo"); err != nil {
		t.Fatalf("bob rejoin solo: %v", err)
	}
	if v := sameView(t, "solo", bob); v.Epoch != 1 || !slices.Equal(v.Members, []string{"bob"}) {
		t.Fatalf("solo after the resync: %+v", v)
	}
	if err := bob.Rejoin(bg, "nosuch"); !errors.Is(err, ErrUnknownGroup) {
		t.Fatalf("rejoin an unknown group: %v", err)
	}
}
