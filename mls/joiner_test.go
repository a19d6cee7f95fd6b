package mls

import (
	"bytes"
	"testing"

	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/mls/wire"
	"github.com/mlsengine/engine/treekem"
)

// checkJoiner checks the Joiner of a staged external commit against the
// joiner's own group once it is in.
func checkJoiner(t *testing.T, sc *StagedCommit, joiner *Group) {
	t.Helper()
	j := sc.Joiner
	if !sc.External || j == nil {
		t.Fatalf("external commit: External %v, Joiner %v", sc.External, j)
	}
	if j.Leaf != joiner.LeafIndex() || j.Leaf != sc.CommitterLeaf {
		t.Fatalf("Joiner at leaf %d, joiner's group at %d, CommitterLeaf %d", j.Leaf, joiner.LeafIndex(), sc.CommitterLeaf)
	}
	if j.Sender.Type != message.SenderNewMemberCommit || j.KeyPackage != nil {
		t.Fatalf("Joiner sender %v, KeyPackage %v", j.Sender.Type, j.KeyPackage)
	}
	own, ok := joiner.Member(joiner.LeafIndex())
	if !ok {
		t.Fatal("joiner's leaf is blank")
	}
	got, err := wire.Marshal(j.LeafNode)
	if err != nil {
		t.Fatal(err)
	}
	want, err := wire.Marshal(own)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("Joiner.LeafNode is not the joiner's leaf")
	}
	if j.LeafNode.Source != treekem.SourceCommit {
		t.Fatalf("Joiner's leaf of source %v", j.LeafNode.Source)
	}
	for _, a := range sc.Adds {
		if a.Leaf == j.Leaf {
			t.Fatal("the joiner is listed in Adds")
		}
	}
}

func TestStagedCommitJoiner(t *testing.T) {
	w := newWorld(t, 3, admitAll)
	// A member's commit has no Joiner.
	pc, err := w.groups[0].Commit(nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := w.groups[1].Process(pc.Commit)
	if err != nil {
		t.Fatal(err)
	}
	if r.Commit.Joiner != nil || r.Commit.External {
		t.Fatal("Joiner set for a member's commit")
	}
	r.Commit.Discard()
	pc.Discard()

	// Remove member 1 so that the joiner takes the blank leaf 1.
	w.commit(0, &CommitOptions{Proposals: []*Proposal{NewRemove(1)}})
	gi, err := w.groups[0].GroupInfo(&GroupInfoOptions{RatchetTree: true})
	if err != nil {
		t.Fatal(err)
	}
	d := newClient(t, "d")
	admitAll(&d.cfg)
	g, commit, err := JoinExternal(d.cfg, gi, nil)
	if err != nil {
		t.Fatal(err)
	}
	if g.LeafIndex() != 1 {
		t.Fatalf("joiner at leaf %d, want the blank leaf 1", g.LeafIndex())
	}
	for _, i := range w.members() {
		r, err := w.groups[i].Process(commit)
		if err != nil {
			t.Fatal(err)
		}
		checkJoiner(t, r.Commit, g)
		if len(r.Commit.Adds) != 0 || len(r.Commit.Removes) != 0 {
			t.Fatalf("external join lists %d adds, %d removes", len(r.Commit.Adds), len(r.Commit.Removes))
		}
		if err := w.groups[i].Apply(r.Commit); err != nil {
			t.Fatal(err)
		}
	}
	w.clients, w.groups = append(w.clients, d), append(w.groups, g)
	w.agree()
}

// TestStagedCommitJoinerResync: a client rejoins by external commit,
// removing its earlier leaf (§12.4.3.2); the removed appearance sees the
// commit as removing it, with the same Joiner.
func TestStagedCommitJoinerResync(t *testing.T) {
	w := newWorld(t, 3, nil)
	gi, err := w.groups[0].GroupInfo(&GroupInfoOptions{RatchetTree: true})
	if err != nil {
		t.Fatal(err)
	}
	// The same client, which lost its group state but kept its key.
	old := w.groups[2].LeafIndex()
	g, commit, err := JoinExternal(w.clients[2].cfg, gi, &ExternalJoinOptions{Resync: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range w.members() {
		r, err := w.groups[i].Process(commit)
		if err != nil {
			t.Fatal(err)
		}
		checkJoiner(t, r.Commit, g)
		if len(r.Commit.Removes) != 1 || r.Commit.Removes[0].Leaf != old {
			t.Fatalf("member %d: removes %v, want leaf %d", i, r.Commit.Removes, old)
		}
		if r.Commit.SelfRemoved != (i == 2) {
			t.Fatalf("member %d: SelfRemoved %v", i, r.Commit.SelfRemoved)
		}
		if err := w.groups[i].Apply(r.Commit); err != nil {
			t.Fatal(err)
		}
	}
	w.groups[2] = g
	w.agree()
}
