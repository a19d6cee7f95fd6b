package treekem

import (
	"bytes"
	"runtime"
	"testing"

	"github.com/mlsengine/engine/internal/parallel"
	"github.com/mlsengine/engine/mls/wire"
)

// TestEncryptSameOnAnyCores checks that a path whose encryptions run on
// several goroutines (a tree without parent keys: the sender encrypts to
// every other leaf) is the same UpdatePath for the same randomness whatever
// GOMAXPROCS is, and that the farthest member decrypts it.
func TestEncryptSameOnAnyCores(t *testing.T) {
	cs := testSuite(t)
	rnd := newSeeded(3)
	tr, err := NewTree(cs)
	if err != nil {
		t.Fatal(err)
	}
	const n = 4 * parallel.MinEach
	var members []*member
	for i := range n {
		ln, m := newLeaf(t, cs, rnd, SourceKeyPackage, nil, nil, 0)
		if _, err := tr.AddLeaf(ln); err != nil {
			t.Fatalf("leaf %d: %v", i, err)
		}
		members = append(members, m)
	}
	gid, gc := []byte("group"), []byte("group context")
	var paths [][]byte
	var up *UpdatePath
	for _, procs := range []int{1, 4} {
		old := runtime.GOMAXPROCS(procs)
		staged := tr.Clone()
		seeded := newSeeded(9)
		pp, err := staged.PrepareUpdatePath(PathParams{Sender: 0, GroupID: gid, Signer: members[0].signer, Rand: seeded})
		if err == nil {
			up, err = pp.Encrypt(seeded, gc, nil)
		}
		runtime.GOMAXPROCS(old)
		if err != nil {
			t.Fatal(err)
		}
		b, err := wire.Marshal(up)
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, b)
	}
	if !bytes.Equal(paths[0], paths[1]) {
		t.Fatal("the UpdatePath depends on GOMAXPROCS")
	}
	if got := len(up.Nodes[len(up.Nodes)-1].EncryptedPathSecret); got != n/2 {
		t.Fatalf("%d encryptions at the root's child, want %d", got, n/2)
	}

	far := LeafIndex(n - 1)
	rs := tr.Clone()
	if err := rs.MergeUpdatePath(0, up, gid, nil); err != nil {
		t.Fatal(err)
	}
	priv, err := NewPrivateState(cs, far, members[far].encPriv)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := priv.DecryptPath(rs, 0, up, gc, nil); err != nil {
		t.Fatalf("leaf %d decrypting: %v", far, err)
	}
}

// TestPendingPathWipe checks that Wipe zeroes the pending path's secrets
// and keys but not the copies handed out before.
func TestPendingPathWipe(t *testing.T) {
	cs := testSuite(t)
	rnd := newSeeded(4)
	tr, err := NewTree(cs)
	if err != nil {
		t.Fatal(err)
	}
	var first *member
	for i := range 4 {
		ln, m := newLeaf(t, cs, rnd, SourceKeyPackage, nil, nil, 0)
		if _, err := tr.AddLeaf(ln); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = m
		}
	}
	pp, err := tr.PrepareUpdatePath(PathParams{Sender: 0, GroupID: []byte("g"), Signer: first.signer, Rand: rnd})
	if err != nil {
		t.Fatal(err)
	}
	cs1 := pp.CommitSecret()
	priv := pp.PrivateState()
	pp.Wipe()
	for k, s := range pp.secrets {
		if !allZero(s) {
			t.Fatalf("path secret %d not wiped", k)
		}
	}
	if !allZero(pp.commitSecret) || len(pp.priv.keys) != 0 {
		t.Fatal("commit secret or private keys not wiped")
	}
	if allZero(cs1) || len(priv.keys) == 0 || allZero(priv.keys[0].priv) {
		t.Fatal("a copy handed out before Wipe was wiped")
	}
	pp.Wipe() // again: nothing to do
}
