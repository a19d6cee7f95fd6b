package mls

import (
	"bytes"
	"errors"
	"testing"

	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/mls/suite"
)

func TestCreateAddJoinSend(t *testing.T) {
	w := newWorld(t, 5, nil)
	if got := w.groups[0].MemberCount(); got != 5 {
		t.Fatalf("%d members, want 5", got)
	}
	for i := range w.groups {
		msg, err := w.groups[i].Encrypt([]byte("hello from "+w.clients[i].name), &SendOptions{AuthenticatedData: []byte("aad")})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range w.deliver(i, msg) {
			if r.ContentType != message.ContentApplication || string(r.ApplicationData) != "hello from "+w.clients[i].name {
				t.Fatalf("got %v %q", r.ContentType, r.ApplicationData)
			}
			if string(r.AuthenticatedData) != "aad" || r.Sender.Leaf != w.groups[i].LeafIndex() {
				t.Fatalf("sender %v aad %q", r.Sender, r.AuthenticatedData)
			}
		}
	}
	// An empty commit from every member in turn.
	for i := range w.groups {
		w.commit(i, nil)
		w.agree()
	}
	e1, err := w.groups[1].Export("test", []byte("ctx"), 32)
	if err != nil {
		t.Fatal(err)
	}
	e3, _ := w.groups[3].Export("test", []byte("ctx"), 32)
	if !bytes.Equal(e1, e3) {
		t.Fatal("exporters differ")
	}
}

func TestAllSuites(t *testing.T) {
	for _, id := range suite.IDs() {
		t.Run(id.String(), func(t *testing.T) {
			a, b, c := newClientSuite(t, "a", id), newClientSuite(t, "b", id), newClientSuite(t, "c", id)
			w := &world{t: t, clients: []*client{a}}
			g, err := NewGroup(a.cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			w.groups = []*Group{g}
			w.addMembers(0, b, c)
			w.commit(2, nil)
			w.agree()
			msg, err := w.groups[1].Encrypt([]byte("x"), nil)
			if err != nil {
				t.Fatal(err)
			}
			w.deliver(1, msg)
		})
	}
}

func TestRemove(t *testing.T) {
	w := newWorld(t, 6, nil)
	removed := w.groups[3]
	w.commit(1, &CommitOptions{Proposals: []*Proposal{NewRemove(w.groups[3].LeafIndex())}})
	if !removed.Removed() || removed.Active() {
		t.Fatal("removed member still active")
	}
	if _, err := removed.Encrypt([]byte("x"), nil); !errors.Is(err, ErrInactive) {
		t.Fatalf("Encrypt after removal: %v", err)
	}
	if w.groups[0].MemberCount() != 5 {
		t.Fatal("member count")
	}
	w.agree()
	// Removing the last leaves truncates the tree.
	w.commit(0, &CommitOptions{Proposals: []*Proposal{NewRemove(w.groups[5].LeafIndex()), NewRemove(w.groups[4].LeafIndex())}})
	w.agree()
	if n := w.groups[0].Tree().LeafCount(); n != 4 {
		t.Fatalf("%d leaves after truncation, want 4", n)
	}
}

// TestPendingCommitGroupInfo checks the GroupInfo a commit returns: the
// same as Group.GroupInfo gives once the commit is applied, usable for an
// external join, and refused once the group moved to another epoch.
func TestPendingCommitGroupInfo(t *testing.T) {
	w := newWorld(t, 3, admitAll)
	pc, err := w.groups[0].Commit(&CommitOptions{GroupInfo: GroupInfoOptions{RatchetTree: true}})
	if err != nil {
		t.Fatal(err)
	}
	before, err := pc.GroupInfo() // before Apply
	if err != nil {
		t.Fatal(err)
	}
	w.applyCommit(0, pc)
	after, err := pc.GroupInfo()
	if err != nil || !bytes.Equal(before, after) {
		t.Fatalf("GroupInfo after Apply differs (%v)", err)
	}
	gi, err := parseGroupInfo(after)
	if err != nil {
		t.Fatal(err)
	}
	if gi.GroupContext.Epoch != w.groups[0].Epoch() || !bytes.Equal(gi.ConfirmationTag, w.groups[0].ep.confirmationTag) {
		t.Fatalf("GroupInfo of epoch %d, group at %d", gi.GroupContext.Epoch, w.groups[0].Epoch())
	}
	d := newClient(t, "d")
	admitAll(&d.cfg)
	g, commit, err := JoinExternal(d.cfg, after, nil)
	if err != nil {
		t.Fatalf("external join from the commit's GroupInfo: %v", err)
	}
	w.deliverCommit(-1, commit)
	w.clients, w.groups = append(w.clients, d), append(w.groups, g)
	w.agree()
	if again, err := pc.GroupInfo(); err != nil || !bytes.Equal(again, after) {
		t.Fatalf("the GroupInfo made before the group moved on is lost (%v)", err)
	}

	// A commit not yet asked for its GroupInfo, then overtaken by another.
	pc1, err := w.groups[1].Commit(&CommitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w.commit(2, &CommitOptions{})
	if _, err := pc1.GroupInfo(); !errors.Is(err, ErrStale) {
		t.Fatalf("GroupInfo of an overtaken commit: %v, want ErrStale", err)
	}
}
