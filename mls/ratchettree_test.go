package mls_test

import (
	"bytes"
	"errors"
	"fmt"
	"log"
	"testing"

	"github.com/mlsengine/engine/mls"
)

// Deliver the tree out of band: the Welcome leaves it out, and the new
// member gets it from the committer's PendingCommit.
func ExamplePendingCommit_RatchetTree() {
	bobCfg := newConfig("bob")
	kp, bobPriv, err := mls.NewKeyPackage(bobCfg, nil)
	if err != nil {
		log.Fatal(err)
	}
	alice, _ := mls.NewGroup(newConfig("alice"), nil)
	add, _ := mls.NewAdd(kp)
	pc, err := alice.Commit(&mls.CommitOptions{Proposals: []*mls.Proposal{add}, OutOfBandTree: true})
	if err != nil {
		log.Fatal(err)
	}
	tree, err := pc.RatchetTree() // sent to Bob next to the Welcome
	if err != nil {
		log.Fatal(err)
	}
	if err := alice.Apply(pc); err != nil {
		log.Fatal(err)
	}
	bob, err := mls.Join(bobCfg, pc.Welcome, bobPriv, &mls.JoinOptions{RatchetTree: tree})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(bob.MemberCount(), bytes.Equal(bob.EpochAuthenticator(), alice.EpochAuthenticator()))
	// Output: 2 true
}

// Read a GroupInfo's group and epoch before joining by external commit.
func ExampleParseGroupInfo() {
	alice, _ := mls.NewGroup(newConfig("alice"), &mls.GroupOptions{GroupID: []byte("team")})
	gi, err := alice.GroupInfo(nil)
	if err != nil {
		log.Fatal(err)
	}
	info, err := mls.ParseGroupInfo(gi)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("group %s, epoch %d\n", info.GroupContext.GroupID, info.GroupContext.Epoch)
	// Output: group team, epoch 0
}

// TestPendingCommitRatchetTree checks that a PendingCommit's tree is the
// tree of its epoch while that epoch is pending or current, and that it is
// refused once the commit is discarded or the group has moved on.
func TestPendingCommitRatchetTree(t *testing.T) {
	alice, err := mls.NewGroup(newConfig("alice"), nil)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := alice.RatchetTree()
	discarded, err := alice.Commit(nil)
	if err != nil {
		t.Fatal(err)
	}
	discarded.Discard()
	if _, err := discarded.RatchetTree(); !errors.Is(err, mls.ErrStale) {
		t.Errorf("RatchetTree of a discarded commit: %v, want ErrStale", err)
	}

	pc, err := alice.Commit(nil)
	if err != nil {
		t.Fatal(err)
	}
	pending, err := pc.RatchetTree()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(pending, before) {
		t.Error("the pending tree is the current one: the commit's path is missing")
	}
	if now, _ := alice.RatchetTree(); !bytes.Equal(now, before) {
		t.Error("RatchetTree changed the group")
	}
	if err := alice.Apply(pc); err != nil {
		t.Fatal(err)
	}
	applied, err := pc.RatchetTree()
	if err != nil {
		t.Fatal(err)
	}
	if now, _ := alice.RatchetTree(); !bytes.Equal(applied, pending) || !bytes.Equal(now, pending) {
		t.Error("the tree of the applied commit differs from the pending one")
	}

	next, err := alice.Commit(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.Apply(next); err != nil {
		t.Fatal(err)
	}
	if _, err := pc.RatchetTree(); !errors.Is(err, mls.ErrStale) {
		t.Errorf("RatchetTree of a commit two epochs back: %v, want ErrStale", err)
	}
}
