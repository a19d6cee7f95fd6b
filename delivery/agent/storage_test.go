package agent

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlsengine/engine/mls"
	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/treekem"
)

func TestDirStorage(t *testing.T) {
	dir := t.TempDir()
	st, err := NewDirStorage(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.LoadGroup([]byte{1}); !errors.Is(err, mls.ErrNotFound) {
		t.Fatalf("LoadGroup of an unknown group: %v", err)
	}
	if _, err := st.TakeKeyPackage([]byte{2}); !errors.Is(err, mls.ErrNotFound) {
		t.Fatalf("TakeKeyPackage of an unknown ref: %v", err)
	}
	if err := st.SaveGroup([]byte{1}, []byte("state 1")); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveGroup([]byte{1}, []byte("state 2")); err != nil {
		t.Fatal(err)
	}
	if got, err := st.LoadGroup([]byte{1}); err != nil || string(got) != "state 2" {
		t.Fatalf("LoadGroup: %q, %v", got, err)
	}
	if err := st.PutKeyPackage([]byte{2}, []byte("private")); err != nil {
		t.Fatal(err)
	}
	if got, err := st.TakeKeyPackage([]byte{2}); err != nil || string(got) != "private" {
		t.Fatalf("TakeKeyPackage: %q, %v", got, err)
	}
	if _, err := st.TakeKeyPackage([]byte{2}); !errors.Is(err, mls.ErrNotFound) {
		t.Fatalf("second TakeKeyPackage: %v", err)
	}

	// A temporary file left by a crash mid-write is ignored.
	if err := os.WriteFile(filepath.Join(dir, groupsDir, tempPrefix+"123"), []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	recs, err := st.records()
	if err != nil || len(recs) != 1 {
		t.Fatalf("records: %d, %v", len(recs), err)
	}
	// Secrets are readable by the owner only.
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		info, _ := d.Info()
		if !d.IsDir() && info.Mode().Perm() != 0o600 && !strings.HasPrefix(d.Name(), tempPrefix) {
			t.Errorf("%s: mode %v", path, info.Mode())
		}
		return nil
	})
}

// TestDirStorageWithMLS uses DirStorage as the mls.Storage of
// mls.JoinWithStorage and mls.Load.
func TestDirStorageWithMLS(t *testing.T) {
	cfg := func(name string) mls.Config {
		s, _ := suite.Lookup(DefaultSuite)
		priv, _, err := s.GenerateSignatureKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		signer, err := s.NewSigner(priv)
		if err != nil {
			t.Fatal(err)
		}
		return mls.Config{Suite: DefaultSuite, Signer: signer, Credential: treekem.BasicCredential([]byte(name))}
	}
	ca, cb := cfg("a"), cfg("b")
	st, err := NewDirStorage(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	kp, priv, err := mls.NewKeyPackage(cb, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := mls.StoreKeyPackage(st, priv); err != nil {
		t.Fatal(err)
	}
	g, err := mls.NewGroup(ca, nil)
	if err != nil {
		t.Fatal(err)
	}
	add, err := mls.NewAdd(kp)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := g.Commit(&mls.CommitOptions{Proposals: []*mls.Proposal{add}})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Apply(pc); err != nil {
		t.Fatal(err)
	}
	joined, err := mls.JoinWithStorage(cb, st, pc.Welcome, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := st.keyPackageCount(); n != 0 {
		t.Fatalf("%d KeyPackages left after joining", n)
	}
	loaded, err := mls.Load(cb, st, g.GroupID())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(loaded.EpochAuthenticator(), joined.EpochAuthenticator()) || !bytes.Equal(loaded.EpochAuthenticator(), g.EpochAuthenticator()) {
		t.Fatal("loaded group differs")
	}
}

func TestReopen(t *testing.T) {
	ds := newDS(t)
	dir := t.TempDir()
	alice := testAgent(t, ds, "alice", func(o *Options) { o.Dir = dir })
	bob := testAgent(t, ds, "bob")
	if err := alice.Create(bg, "team", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Add(bg, "team", "bob"); err != nil {
		t.Fatal(err)
	}
	join(t, bob, "team")

	// The directory is locked while open.
	if _, err := Open(context.Background(), Options{Dir: dir, DS: ds, LockWait: 50 * time.Millisecond}); !errors.Is(err, ErrBusy) {
		t.Fatalf("second Open: %v", err)
	}
	send(t, bob, "team", "one")
	if err := alice.Close(); err != nil {
		t.Fatal(err)
	}
	alice, err := Open(context.Background(), Options{Dir: dir, DS: ds})
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Close()
	wantLines(t, "alice", recv(t, alice, ""), "team bob: one")
	send(t, alice, "team", "two")
	wantLines(t, "bob", recv(t, bob, ""), "team alice: two")
	sameView(t, "team", alice, bob)

	// Init again with the same name is a no-op; with another, an error.
	if err := alice.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Init(bg, Options{Dir: dir, DS: ds}, "mallory", 0); !errors.Is(err, ErrAlreadyInitialized) {
		t.Fatalf("init as another client: %v", err)
	}
	again, err := Init(bg, Options{Dir: dir, DS: ds, KeyPackages: 2}, "alice", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if n, err := again.st.keyPackageCount(); err != nil || n != 3 {
		t.Fatalf("%d KeyPackages stored, want 2 one-time and a last-resort one (%v)", n, err)
	}
}

// TestJoinCrash processes a Welcome as if the client had crashed after
// saving the group but before deleting the Welcome, and one whose
// KeyPackage is gone.
func TestJoinCrash(t *testing.T) {
	ds := newDS(t)
	alice, bob, carol := testAgent(t, ds, "alice"), testAgent(t, ds, "bob"), testAgent(t, ds, "carol")
	for _, g := range []string{"one", "two"} {
		if err := alice.Create(bg, g, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := alice.Add(bg, g, "bob", "carol"); err != nil {
			t.Fatal(err)
		}
	}
	w, err := bob.ds.NextWelcome(bg)
	if err != nil || w == nil {
		t.Fatalf("NextWelcome: %v %v", w, err)
	}
	name, warn, err := bob.joinOne(bg, w)
	if err != nil || warn != nil || name != "one" {
		t.Fatalf("joinOne: %q %v %v", name, warn, err)
	}
	// The Welcome to "one" is deleted, and the join reported (the
	// crashed Join did not).
	join(t, bob, "one", "two")
	if w, err := bob.ds.NextWelcome(bg); w != nil || err != nil {
		t.Fatalf("Welcome left: %v %v", w, err)
	}
	if n, _ := bob.st.keyPackageCount(); n != 3 {
		t.Fatalf("bob keeps %d KeyPackages, want 3", n)
	}

	// Carol lost her KeyPackages' private keys: the Welcomes are reported
	// and dropped.
	if err := os.RemoveAll(filepath.Join(carol.st.Dir(), keyPackagesDir)); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(filepath.Join(carol.st.Dir(), keyPackagesDir), 0o700)
	joined, warnings, err := carol.Join(bg)
	if err != nil || len(joined) != 0 || len(warnings) != 2 || !strings.Contains(warnings[0].String(), "warning: ignored a Welcome") {
		t.Fatalf("carol join: %q %q %v", joined, lines(warnings), err)
	}
	if w, err := carol.ds.NextWelcome(bg); w != nil || err != nil {
		t.Fatalf("Welcome left: %v %v", w, err)
	}
}
