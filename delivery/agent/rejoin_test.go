package agent

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mlsengine/engine/delivery"
	"github.com/mlsengine/engine/mls"
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
	desync(t, alice, bob)
	rec, err := bob.st.findRecord("team")
	if err != nil {
		t.Fatal(err)
	}
	path := bob.st.groupPath(rec.GroupID)

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
	wantLines(t, "alice", recv(t, alice, ""), "team: carol updated", "team: bob rejoined")
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

// TestRejoinAnswerLost: Bob's external commit reaches the delivery service
// but the answer is lost (as if the process died after the service
// accepted it): it was written ahead, and his next command finishes it.
// Then a rejoin lost before it reached the service is forgotten when
// another commit takes its epoch.
func TestRejoinAnswerLost(t *testing.T) {
	ds := newDS(t)
	alice := testAgent(t, ds, "alice")
	bob, lt := lossyAgent(t, ds, "bob")
	makeTeam(t, alice, bob)
	desync(t, alice, bob)

	lt.lose(t, delivery.MediaTypeCommitBundle, true, func() error { return bob.Rejoin(bg, "team") })
	if rec, _ := bob.st.findRecord("team"); rec.Rejoin == nil {
		t.Fatal("the rejoin was not written ahead")
	}
	wantLines(t, "alice", recv(t, alice, "team"), "team: bob rejoined")
	// Bob's next command finishes the rejoin: he follows the group.
	send(t, alice, "team", "welcome back")
	wantLines(t, "bob", recv(t, bob, "team"), "team alice: welcome back")
	if rec, _ := bob.st.findRecord("team"); rec.Rejoin != nil {
		t.Fatal("the rejoin is still written ahead")
	}
	sameView(t, "team", alice, bob)

	// A rejoin that never reached the service loses its epoch to Alice's
	// update: it is forgotten, and Bob rejoins again.
	desync(t, alice, bob)
	lt.lose(t, delivery.MediaTypeCommitBundle, false, func() error { return bob.Rejoin(bg, "team") })
	if _, err := alice.Update(bg, "team"); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Receive(bg, "team"); !errors.Is(err, ErrOutOfSync) {
		t.Fatalf("bob after his lost rejoin: %v", err)
	}
	if rec, _ := bob.st.findRecord("team"); rec.Rejoin != nil {
		t.Fatal("the lost rejoin is still written ahead")
	}
	if err := bob.Rejoin(bg, "team"); err != nil {
		t.Fatal(err)
	}
	recv(t, alice, "team")
	send(t, bob, "team", "back")
	wantLines(t, "alice", recv(t, alice, "team"), "team bob: back")
	sameView(t, "team", alice, bob)
}

// desync takes b's state of "team" back to before its update, so that it
// cannot follow the group.
func desync(t *testing.T, a, b *Agent) {
	t.Helper()
	rec, err := b.st.findRecord("team")
	if err != nil {
		t.Fatal(err)
	}
	path := b.st.groupPath(rec.GroupID)
	saved, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Update(bg, "team"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, saved, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Update(bg, "team"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Receive(bg, "team"); !errors.Is(err, ErrOutOfSync) {
		t.Fatalf("%s with a stale state: %v", b.Name(), err)
	}
	recv(t, a, "team")
}

// TestRejoinLyingService: a delivery service that serves another group
// under the group's id (here the attacker's own group, same id, a later
// epoch) does not get Bob to rejoin it: the members he knew are missing
// and the log does not remove them.
func TestRejoinLyingService(t *testing.T) {
	ds := newDS(t)
	alice, carol := testAgent(t, ds, "alice"), testAgent(t, ds, "carol")
	lie := &lyingTransport{}
	bob := testAgent(t, ds, "bob", func(o *Options) { o.HTTPClient = &http.Client{Transport: lie} })
	makeTeam(t, alice, bob, carol)
	desync(t, alice, bob)

	// Mallory's group under the same id, at a later epoch, her
	// certificate from the same CA: the service itself lies.
	rec, _ := bob.st.findRecord("team")
	mallory := testAgent(t, ds, "mallory")
	fake, err := mls.NewGroup(mallory.cfg, &mls.GroupOptions{GroupID: rec.GroupID})
	if err != nil {
		t.Fatal(err)
	}
	for fake.Epoch() < rec.Epoch+3 {
		pc, _ := fake.Update()
		fake.Apply(pc)
	}
	lie.groupInfo, _ = fake.GroupInfo(nil)
	lie.tree, _ = fake.RatchetTree()
	lie.epoch = fake.Epoch()
	err = bob.Rejoin(bg, "team")
	if !errors.Is(err, ErrDelivery) || !strings.Contains(err.Error(), "lacks alice") {
		t.Fatalf("rejoining a forged group: %v, want ErrDelivery", err)
	}
	lie.groupInfo = nil
	if err := bob.Rejoin(bg, "team"); err != nil {
		t.Fatalf("rejoining the real group: %v", err)
	}
	wantLines(t, "carol", recv(t, carol, "team"), "team: bob updated", "team: alice updated", "team: bob rejoined")
	sameView(t, "team", alice, bob, carol)
}

// lyingTransport serves groupInfo and tree for every group, while set.
type lyingTransport struct {
	groupInfo, tree []byte
	epoch           uint64
}

func (l *lyingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if l.groupInfo != nil && req.Method == http.MethodGet {
		var body []byte
		h := http.Header{}
		switch {
		case strings.HasSuffix(req.URL.Path, "/groupinfo"):
			body = l.groupInfo
		case strings.HasSuffix(req.URL.Path, "/tree"):
			body = l.tree
			h.Set("Mls-Epoch", strconv.FormatUint(l.epoch, 10))
		}
		if body != nil {
			return &http.Response{StatusCode: http.StatusOK, Header: h, Body: io.NopCloser(bytes.NewReader(body)), Request: req}, nil
		}
	}
	return http.DefaultTransport.RoundTrip(req)
}
