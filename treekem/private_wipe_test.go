package treekem

import (
	"bytes"
	"errors"
	"testing"
)

// wipeFixture is a tree of 4 members after member 0's UpdatePath, with the
// private states of member 0 (the committer) and member 3.
type wipeFixture struct {
	tree      *Tree
	up        *UpdatePath
	gc        []byte
	sender    *PrivateState
	receiver  *PrivateState // member 3, before it decrypts the path
	pathAbove []byte        // path secret of the root, for an implant
}

func newWipeFixture(t *testing.T) *wipeFixture {
	t.Helper()
	cs := testSuite(t)
	rnd := newSeeded(11)
	tr, err := NewTree(cs)
	if err != nil {
		t.Fatal(err)
	}
	var members []*member
	for range 4 {
		ln, m := newLeaf(t, cs, rnd, SourceKeyPackage, nil, nil, 0)
		if _, err := tr.AddLeaf(ln); err != nil {
			t.Fatal(err)
		}
		members = append(members, m)
	}
	gid, gc := []byte("group"), []byte("group context")
	pp, err := tr.PrepareUpdatePath(PathParams{Sender: 0, GroupID: gid, Signer: members[0].signer, Rand: rnd})
	if err != nil {
		t.Fatal(err)
	}
	up, err := pp.Encrypt(rnd, gc, nil)
	if err != nil {
		t.Fatal(err)
	}
	recv, err := NewPrivateState(cs, 3, members[3].encPriv)
	if err != nil {
		t.Fatal(err)
	}
	root, ok := pp.PathSecret(tr.Root())
	if !ok {
		t.Fatal("no path secret at the root")
	}
	return &wipeFixture{tree: tr, up: up, gc: gc, sender: pp.PrivateState(), receiver: recv, pathAbove: root}
}

// privs returns the private key slices p holds (not copies).
func privs(p *PrivateState) [][]byte {
	var out [][]byte
	for _, k := range p.keys {
		out = append(out, k.priv)
	}
	return out
}

func cloneAll(bs [][]byte) [][]byte {
	out := make([][]byte, len(bs))
	for i, b := range bs {
		out[i] = bytes.Clone(b)
	}
	return out
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

func TestPrivateStateWipe(t *testing.T) {
	f := newWipeFixture(t)
	p := f.sender
	if len(p.keys) < 3 {
		t.Fatalf("committer holds %d keys, want its leaf and path", len(p.keys))
	}
	held := privs(p)
	want := cloneAll(held)

	// Wiping a clone leaves the original intact: Clone is deep.
	c := p.Clone()
	cloned := privs(c)
	c.Wipe()
	for i, k := range cloned {
		if !allZero(k) {
			t.Errorf("clone's key %d not zeroed", i)
		}
		if !bytes.Equal(held[i], want[i]) {
			t.Errorf("original's key %d changed by wiping the clone", i)
		}
	}
	if len(c.Nodes()) != 0 || c.LeafPrivateKey() != nil {
		t.Error("wiped clone still holds keys")
	}
	if err := p.Check(f.tree); err != nil {
		t.Fatalf("original after wiping its clone: %v", err)
	}

	p.Wipe()
	for i, k := range held {
		if !allZero(k) {
			t.Errorf("key %d not zeroed", i)
		}
	}
	if len(p.Nodes()) != 0 || p.LeafPrivateKey() != nil {
		t.Error("wiped state still holds keys")
	}
	if err := p.Check(f.tree); !errors.Is(err, ErrNoPrivateKey) {
		t.Errorf("Check of a wiped state: %v, want ErrNoPrivateKey", err)
	}
	p.Wipe() // again
	var nilState *PrivateState
	nilState.Wipe()
}

// TestPrivateStateWipeThenDecrypt: a wiped receiver cannot decrypt a path,
// and fails cleanly.
func TestPrivateStateWipeThenDecrypt(t *testing.T) {
	f := newWipeFixture(t)
	// The decrypted state is the receiver's deep copy: wiping it leaves
	// the receiver able to decrypt again.
	dp, err := f.receiver.DecryptPath(f.tree, 0, f.up, f.gc, nil)
	if err != nil {
		t.Fatal(err)
	}
	dp.Private.Wipe()
	if _, err := f.receiver.DecryptPath(f.tree, 0, f.up, f.gc, nil); err != nil {
		t.Fatalf("receiver after wiping its decrypted copy: %v", err)
	}
	f.receiver.Wipe()
	if _, err := f.receiver.DecryptPath(f.tree, 0, f.up, f.gc, nil); !errors.Is(err, ErrNoPrivateKey) {
		t.Fatalf("DecryptPath with a wiped state: %v, want ErrNoPrivateKey", err)
	}
}

// TestImplantPathSecretAtomic: a wrong path secret leaves the state as it
// was, and the caller's path secret is not modified.
func TestImplantPathSecretAtomic(t *testing.T) {
	f := newWipeFixture(t)
	p := f.receiver
	before, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	wrong := bytes.Repeat([]byte{7}, len(f.pathAbove))
	if err := p.ImplantPathSecret(f.tree, f.tree.Root(), wrong); !errors.Is(err, ErrNoPrivateKey) {
		t.Fatalf("wrong path secret: %v, want ErrNoPrivateKey", err)
	}
	if after, _ := p.MarshalBinary(); !bytes.Equal(before, after) {
		t.Fatal("state changed by a failed implant")
	}
	secret := bytes.Clone(f.pathAbove)
	if err := p.ImplantPathSecret(f.tree, f.tree.Root(), secret); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(secret, f.pathAbove) {
		t.Fatal("ImplantPathSecret modified the caller's path secret")
	}
	if _, ok := p.PublicKey(f.tree.Root()); !ok {
		t.Fatal("root key not implanted")
	}
	if err := p.Check(f.tree); err != nil {
		t.Fatal(err)
	}
}
