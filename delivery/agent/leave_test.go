package agent

import (
	"errors"
	"net/http"
	"slices"
	"testing"
)

// TestLeaveLostToCommit has Carol's request to leave lose its epoch: Bob's
// update, built before he saw her proposal, wins the epoch without
// covering it, so the proposal is void in the new epoch (RFC 9420 §12.4)
// and Carol is still a member. Her next Receive notices and proposes
// again; the next member to receive commits that one.
func TestLeaveLostToCommit(t *testing.T) {
	ds := newDS(t)
	hook := &hookTransport{method: http.MethodPost, path: "/messages"}
	alice := testAgent(t, ds, "alice")
	bob := testAgent(t, ds, "bob", func(o *Options) { o.HTTPClient = &http.Client{Transport: hook} })
	carol := testAgent(t, ds, "carol")
	makeTeam(t, alice, bob, carol)

	// Carol asks to leave after Bob caught up and before his commit is
	// posted: his commit (epoch 1) wins and does not cover her proposal.
	hook.before = func() {
		ev, err := carol.Leave(bg, "team")
		if err != nil {
			t.Errorf("carol leave: %v", err)
			return
		}
		if got := lines(ev); !slices.Equal(got, []string{"team: you left"}) {
			t.Errorf("carol leave: %q", got)
		}
	}
	ev, err := bob.Update(bg, "team")
	wantLines(t, "bob update", mustEvents(t, "update", ev, err), "team: bob updated")
	if t.Failed() {
		t.FailNow()
	}
	// Alice sees the proposal, then the commit that ends its epoch: there
	// is nothing left to commit, and Carol is still a member.
	wantLines(t, "alice", recv(t, alice, ""), "team: bob updated")
	if v := sameView(t, "team", alice, bob); v.Epoch != 2 || !slices.Equal(v.Members, []string{"alice", "bob", "carol"}) {
		t.Fatalf("after the lost proposal: %+v", v)
	}
	if _, err := carol.Send(bg, "team", "hi"); !errors.Is(err, ErrInactive) {
		t.Fatalf("carol send while leaving: %v", err)
	}
	rec, err := carol.st.findRecord("team")
	if err != nil || !rec.Leaving || rec.LeaveEpoch != 1 || len(rec.State) == 0 || rec.Status != StatusLeft {
		t.Fatalf("carol's record while leaving: leaving %v, epoch %d, %d bytes of state, %v, %v", rec.Leaving, rec.LeaveEpoch, len(rec.State), rec.Status, err)
	}

	// Carol's next sync sees she is still in the group at epoch 2 and
	// asks again; it reports nothing (she already left as far as she
	// is concerned).
	wantLines(t, "carol", recv(t, carol, ""))
	if rec, err = carol.st.findRecord("team"); err != nil || !rec.Leaving || rec.LeaveEpoch != 2 {
		t.Fatalf("carol's record after proposing again: leaving %v, epoch %d, %v", rec.Leaving, rec.LeaveEpoch, err)
	}
	// Nothing more to do while her proposal is pending.
	wantLines(t, "carol", recv(t, carol, ""))
	if rec, err = carol.st.findRecord("team"); err != nil || rec.LeaveEpoch != 2 {
		t.Fatalf("carol proposed again in the same epoch: %d, %v", rec.LeaveEpoch, err)
	}

	wantLines(t, "alice", recv(t, alice, ""), "team: carol left")
	wantLines(t, "bob", recv(t, bob, ""),
		"team: warning: skipped the proposal at 2: its epoch 1 ended before it was committed", "team: carol left")
	if v := sameView(t, "team", alice, bob); v.Epoch != 3 || !slices.Equal(v.Members, []string{"alice", "bob"}) {
		t.Fatalf("after the leave: %+v", v)
	}

	// Carol follows the log to her removal and then drops the state.
	wantLines(t, "carol", recv(t, carol, ""))
	rec, err = carol.st.findRecord("team")
	if err != nil || rec.Leaving || len(rec.State) != 0 || rec.Status != StatusLeft {
		t.Fatalf("carol's record after her removal: leaving %v, %d bytes of state, %v, %v", rec.Leaving, len(rec.State), rec.Status, err)
	}
	if _, err := carol.Receive(bg, "team"); !errors.Is(err, ErrInactive) {
		t.Fatalf("carol recv team after leaving: %v", err)
	}
	send(t, alice, "team", "carol is gone")
	wantLines(t, "bob", recv(t, bob, ""), "team alice: carol is gone")
	wantLines(t, "carol", recv(t, carol, ""))
}
