package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mlsengine/engine/delivery/store"
)

// testTracker runs the tests of store.Tracker.
func testTracker(t *testing.T, s store.Store) {
	t.Run("Authority", func(t *testing.T) { testAuthority(t, s) })
	t.Run("TrackedGroup", func(t *testing.T) { testTrackedGroup(t, s) })
	t.Run("Views", func(t *testing.T) { testViews(t, s) })
	t.Run("OldestWelcome", func(t *testing.T) { testOldestWelcome(t, s) })
	t.Run("KeyPackageOwner", func(t *testing.T) { testKeyPackageOwner(t, s) })
	t.Run("Claims", func(t *testing.T) { testClaims(t, s) })
}

// testAuthority: the first authority stored wins, also among concurrent
// callers.
func testAuthority(t *testing.T, s store.Store) {
	var wg sync.WaitGroup
	got := make([]store.Authority, 8)
	errs := make([]error, len(got))
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = s.LoadOrStoreAuthority(ctx, store.Authority{Key: random(32), Certificate: random(64)})
		}()
	}
	wg.Wait()
	for i := range got {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !bytes.Equal(got[i].Key, got[0].Key) || !bytes.Equal(got[i].Certificate, got[0].Certificate) {
			t.Fatalf("caller %d got another authority", i)
		}
	}
	again, err := s.LoadOrStoreAuthority(ctx, store.Authority{Key: random(32), Certificate: random(64)})
	if err != nil || !bytes.Equal(again.Key, got[0].Key) {
		t.Fatalf("later call: %v, same key %v", err, bytes.Equal(again.Key, got[0].Key))
	}
	if _, err := s.LoadOrStoreAuthority(ctx, store.Authority{}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("empty authority: %v, want ErrInvalid", err)
	}
}

func testTrackedGroup(t *testing.T, s store.Store) {
	gid := groupID()
	v0 := store.View{Data: []byte("view 0")}
	created, err := s.CreateTrackedGroup(ctx, gid, v0, []byte("group info 0"))
	if err != nil || !created {
		t.Fatalf("CreateTrackedGroup = %v, %v", created, err)
	}
	if g, err := s.Group(ctx, gid); err != nil || g != (store.Group{}) {
		t.Fatalf("Group = %+v, %v; want epoch 0, empty log", g, err)
	}
	if gi, err := s.GroupInfo(ctx, gid); err != nil || string(gi) != "group info 0" {
		t.Fatalf("GroupInfo = %q, %v", gi, err)
	}
	if v, err := s.View(ctx, gid, 0); err != nil || v.Epoch != 0 || v.Seq != 0 || string(v.Data) != "view 0" {
		t.Fatalf("View = %+v, %v", v, err)
	}
	// Creating again changes nothing.
	if created, err := s.CreateTrackedGroup(ctx, gid, store.View{Data: []byte("other")}, []byte("other")); err != nil || created {
		t.Fatalf("second CreateTrackedGroup = %v, %v", created, err)
	}
	if v, err := s.View(ctx, gid, ^uint64(0)); err != nil || string(v.Data) != "view 0" {
		t.Fatalf("View after a second create = %+v, %v", v, err)
	}
	// A group created otherwise has no View, and cannot become tracked.
	plain := groupID()
	if _, _, err := s.CreateGroup(ctx, plain); err != nil {
		t.Fatal(err)
	}
	if _, err := s.View(ctx, plain, ^uint64(0)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("View of an untracked group: %v, want ErrNotFound", err)
	}
	if created, err := s.CreateTrackedGroup(ctx, plain, v0, []byte("gi")); err != nil || created {
		t.Fatalf("CreateTrackedGroup of an existing group = %v, %v", created, err)
	}
	if _, err := s.View(ctx, plain, ^uint64(0)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("View after CreateTrackedGroup of an existing group: %v, want ErrNotFound", err)
	}
	// Commits work as in any group.
	mustCommit(t, s, commit(gid, 0))
	for _, bad := range []store.View{{Epoch: 1, Data: []byte("x")}, {Seq: 1, Data: []byte("x")}, {}} {
		if _, err := s.CreateTrackedGroup(ctx, groupID(), bad, []byte("gi")); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("CreateTrackedGroup with %+v: %v, want ErrInvalid", bad, err)
		}
	}
}

// testViews: PutView keeps a View at or before every epoch from keepFrom
// on, and View finds the newest one at or before an epoch.
func testViews(t *testing.T, s store.Store) {
	gid := groupID()
	if _, err := s.CreateTrackedGroup(ctx, gid, store.View{Data: []byte("v0")}, []byte("gi")); err != nil {
		t.Fatal(err)
	}
	put := func(epoch, keepFrom uint64) {
		t.Helper()
		v := store.View{Epoch: epoch, Seq: epoch * 10, Data: fmt.Appendf(nil, "v%d", epoch)}
		if err := s.PutView(ctx, gid, v, keepFrom); err != nil {
			t.Fatalf("PutView(%d): %v", epoch, err)
		}
	}
	want := func(maxEpoch uint64, data string) {
		t.Helper()
		v, err := s.View(ctx, gid, maxEpoch)
		if data == "" {
			if !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("View(%d) = %+v, %v; want ErrNotFound", maxEpoch, v, err)
			}
			return
		}
		if err != nil || string(v.Data) != data || v.Seq != v.Epoch*10 {
			t.Fatalf("View(%d) = {%d %d %q}, %v; want %q", maxEpoch, v.Epoch, v.Seq, v.Data, err, data)
		}
	}
	put(10, 0)
	put(20, 0)
	want(5, "v0")
	want(10, "v10")
	want(19, "v10")
	want(^uint64(0), "v20")
	put(30, 15) // keeps v10 (the newest at or before 15), drops v0
	want(5, "")
	want(15, "v10")
	want(35, "v30")
	// A View stored again for its epoch is kept as it was.
	if err := s.PutView(ctx, gid, store.View{Epoch: 30, Seq: 300, Data: []byte("other")}, 15); err != nil {
		t.Fatal(err)
	}
	want(30, "v30")
	put(40, 40)
	want(39, "")
	want(40, "v40")
	if err := s.PutView(ctx, groupID(), store.View{Data: []byte("x")}, 0); !errors.Is(err, store.ErrUnknownGroup) {
		t.Fatalf("PutView of an unknown group: %v, want ErrUnknownGroup", err)
	}
	if err := s.PutView(ctx, gid, store.View{Epoch: 50}, 0); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("PutView without data: %v, want ErrInvalid", err)
	}
}

func testOldestWelcome(t *testing.T, s store.Store) {
	gid := groupID()
	if _, err := s.CreateTrackedGroup(ctx, gid, store.View{Data: []byte("v0")}, []byte("gi")); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.OldestWelcome(ctx, gid); err != nil || ok {
		t.Fatalf("OldestWelcome of a group without Welcomes = %v, %v", ok, err)
	}
	mustCommit(t, s, commit(gid, 0))
	c1 := commit(gid, 1)
	c1.Welcome, c1.Recipients = []byte("w1"), []string{"carol", "dave"}
	a1 := mustCommit(t, s, c1)
	c2 := commit(gid, 2)
	c2.Welcome, c2.Recipients = []byte("w2"), []string{"erin"}
	a2 := mustCommit(t, s, c2)
	// Another group's Welcomes do not count.
	other := groupID()
	oc := commit(other, 0)
	oc.Welcome, oc.Recipients = []byte("w"), []string{"carol"}
	mustCommit(t, s, oc)

	check := func(want uint64) {
		t.Helper()
		seq, ok, err := s.OldestWelcome(ctx, gid)
		if err != nil || !ok || seq != want {
			t.Fatalf("OldestWelcome = %d, %v, %v; want %d", seq, ok, err, want)
		}
	}
	check(a1.Seq)
	for _, client := range []string{"carol", "dave"} {
		ws, err := s.Welcomes(ctx, client, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range ws {
			if bytes.Equal(w.GroupID, gid) {
				if err := s.DeleteWelcome(ctx, client, w.ID); err != nil {
					t.Fatal(err)
				}
			}
		}
		if client == "carol" {
			check(a1.Seq) // dave's is still pending
		}
	}
	check(a2.Seq)
}

func testKeyPackageOwner(t *testing.T, s store.Store) {
	k := kp("alice", 1, false)
	if _, err := s.PutKeyPackage(ctx, k); err != nil {
		t.Fatal(err)
	}
	if owner, err := s.KeyPackageOwner(ctx, k.Ref); err != nil || owner != "alice" {
		t.Fatalf("KeyPackageOwner = %q, %v", owner, err)
	}
	claim(t, s, "alice", 1)
	if owner, err := s.KeyPackageOwner(ctx, k.Ref); err != nil || owner != "alice" {
		t.Fatalf("KeyPackageOwner after the claim = %q, %v", owner, err)
	}
	if _, err := s.KeyPackageOwner(ctx, random(32)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("KeyPackageOwner of an unknown ref: %v, want ErrNotFound", err)
	}
}

func testClaims(t *testing.T, s store.Store) {
	base := time.Unix(1700000000, 0)
	for i := range store.MaxClaims + 5 {
		c := store.Claim{Owner: "bob", Claimer: fmt.Sprintf("c%d", i), Ref: random(32), LastResort: i%2 == 0, Time: base.Add(time.Duration(i) * time.Second)}
		if err := s.RecordClaim(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RecordClaim(ctx, store.Claim{Owner: "carol", Claimer: "x", Ref: random(32), Time: base}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Claims(ctx, "bob", 1000)
	if err != nil || len(got) != store.MaxClaims {
		t.Fatalf("Claims = %d claims, %v; want %d", len(got), err, store.MaxClaims)
	}
	for i, c := range got {
		n := store.MaxClaims + 4 - i
		if c.Owner != "bob" || c.Claimer != fmt.Sprintf("c%d", n) || c.LastResort != (n%2 == 0) || !c.Time.Equal(base.Add(time.Duration(n)*time.Second)) || len(c.Ref) != 32 {
			t.Fatalf("claim %d = %+v, want claimer c%d", i, c, n)
		}
	}
	if got, err := s.Claims(ctx, "bob", 2); err != nil || len(got) != 2 || got[0].Claimer != fmt.Sprintf("c%d", store.MaxClaims+4) {
		t.Fatalf("Claims(limit 2) = %+v, %v", got, err)
	}
	if got, err := s.Claims(ctx, "dave", 10); err != nil || len(got) != 0 {
		t.Fatalf("Claims of a client never claimed = %+v, %v", got, err)
	}
}
