package agent

import (
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/mlsengine/engine/mls"
)

// claimLastResort claims KeyPackages of name until the delivery service
// hands out the last-resort one (consuming the one-time ones), and returns
// it with its ref.
func claimLastResort(t *testing.T, by *Agent, name string) (kp, ref []byte) {
	t.Helper()
	for range 10 {
		c, err := by.ds.ClaimKeyPackage(bg, name, uint16(by.Suite()))
		if err != nil {
			t.Fatal(err)
		}
		if c.LastResort {
			return c.KeyPackage, c.Ref
		}
	}
	t.Fatal("no last-resort KeyPackage handed out")
	return nil, nil
}

func keyPackageHeld(t *testing.T, a *Agent, ref []byte) bool {
	t.Helper()
	_, err := os.Stat(a.st.keyPackagePath(ref))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return err == nil
}

// TestLastResortRotation has Bob join with his last-resort KeyPackage: he
// replaces it at the delivery service, updates his leaf in the group, keeps
// the old private key for the grace period (a late Welcome for it still
// works) and deletes it at the first Join after that. An unused
// last-resort KeyPackage is rotated once it gets old.
func TestLastResortRotation(t *testing.T) {
	ds := newDS(t)
	alice, carol := testAgent(t, ds, "alice"), testAgent(t, ds, "carol")
	bob := testAgent(t, ds, "bob", func(o *Options) { o.KeyPackages = 1 })
	clock := time.Now()
	bob.now = func() time.Time { return clock }

	lr, err := bob.readLastResort()
	if err != nil || lr.Current == "" || lr.Used || len(lr.Retired) != 0 {
		t.Fatalf("after init: %+v, %v", lr, err)
	}
	kp0, ref0 := claimLastResort(t, alice, "bob")
	if hex.EncodeToString(ref0) != lr.Current {
		t.Fatalf("the delivery service hands out %x, the client's current last-resort KeyPackage is %s", ref0, lr.Current)
	}

	// Alice adds Bob: she gets the last-resort KeyPackage.
	for _, c := range []*Agent{alice, carol} {
		if err := c.Create(bg, c.Name(), nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := alice.Add(bg, "alice", "bob"); err != nil {
		t.Fatal(err)
	}
	join(t, bob, "alice")

	lr, err = bob.readLastResort()
	if err != nil || lr.Current == "" || lr.Current == hex.EncodeToString(ref0) || lr.Used {
		t.Fatalf("after joining with it: %+v, %v", lr, err)
	}
	if when, ok := lr.Retired[hex.EncodeToString(ref0)]; !ok || !when.Equal(clock) || len(lr.Retired) != 1 {
		t.Fatalf("retired: %v", lr.Retired)
	}
	_, ref1 := claimLastResort(t, alice, "bob")
	if hex.EncodeToString(ref1) != lr.Current {
		t.Fatalf("the delivery service hands out %x, want the new %s", ref1, lr.Current)
	}
	if !keyPackageHeld(t, bob, ref0) || !keyPackageHeld(t, bob, ref1) {
		t.Fatal("a last-resort private key is missing")
	}
	// Bob updated his leaf, whose key came with the KeyPackage.
	wantLines(t, "alice", recv(t, alice, ""), "alice: bob updated")
	if v := sameView(t, "alice", alice, bob); v.Epoch != 2 {
		t.Fatalf("epoch %d, want 2", v.Epoch)
	}
	if rec, err := bob.st.findRecord("alice"); err != nil || rec.RefreshLeaf {
		t.Fatalf("RefreshLeaf still set: %v", err)
	}

	// Carol claimed the old KeyPackage before the rotation and commits
	// only now: within the grace period, Bob still joins.
	cs, err := carol.openSynced(bg, "carol")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := carol.commit(bg, cs, func() (*mls.PendingCommit, []string, error) {
		p, err := mls.NewAdd(kp0)
		if err != nil {
			return nil, nil, err
		}
		pc, err := cs.g.Commit(&mls.CommitOptions{Proposals: []*mls.Proposal{p}})
		return pc, []string{"bob"}, err
	}); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(DefaultLastResortGrace / 2)
	join(t, bob, "carol")
	if lr2, err := bob.readLastResort(); err != nil || lr2.Current != lr.Current || lr2.Used || len(lr2.Retired) != 1 {
		t.Fatalf("a Welcome for a retired KeyPackage changed the rotation state: %+v, %v", lr2, err)
	}
	if !keyPackageHeld(t, bob, ref0) {
		t.Fatal("the retired private key was deleted within the grace period")
	}
	send(t, carol, "carol", "hello bob")
	wantLines(t, "bob", recv(t, bob, "carol"), "carol carol: hello bob")

	// After the grace period, the next Join deletes it.
	clock = clock.Add(DefaultLastResortGrace)
	join(t, bob)
	if keyPackageHeld(t, bob, ref0) {
		t.Fatal("the retired private key outlived the grace period")
	}
	if lr2, err := bob.readLastResort(); err != nil || len(lr2.Retired) != 0 || lr2.Current != lr.Current {
		t.Fatalf("after the grace period: %+v, %v", lr2, err)
	}
	if !keyPackageHeld(t, bob, ref1) {
		t.Fatal("the current last-resort private key was deleted")
	}

	// An unused last-resort KeyPackage is rotated once it gets old.
	clock = clock.Add(LastResortMaxAge)
	join(t, bob)
	lr2, err := bob.readLastResort()
	if err != nil || lr2.Current == lr.Current || !slices.Equal(keys(lr2.Retired), []string{lr.Current}) {
		t.Fatalf("after aging: %+v, %v", lr2, err)
	}
	if _, ref2 := claimLastResort(t, alice, "bob"); hex.EncodeToString(ref2) != lr2.Current {
		t.Fatalf("the delivery service hands out %x, want %s", ref2, lr2.Current)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
