package treekem

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/mlsengine/engine/mls/wire"
)

func TestValidateLeaf(t *testing.T) {
	tr, ms, rnd := smallTree(t, 4)
	cs := tr.cs
	gid := []byte("g")
	resign := func(ln *LeafNode, m *member, at LeafIndex) *LeafNode {
		tbs, _ := ln.TBS(gid, at)
		ln.Signature, _ = cs.SignWithLabel(m.signer, labelLeafNodeTBS, tbs)
		return ln
	}
	kp := func() (*LeafNode, *member) { return newLeaf(t, cs, rnd, SourceKeyPackage, nil, nil, 0) }

	ok, _ := kp()
	if err := tr.ValidateLeaf(ok, LeafContext{Role: RoleKeyPackage}, nil); err != nil {
		t.Fatalf("valid key package leaf: %v", err)
	}
	upd, _ := newLeaf(t, cs, rnd, SourceUpdate, ms[2], gid, 2)
	if err := tr.ValidateLeaf(upd, LeafContext{Role: RoleUpdate, Index: 2, GroupID: gid}, nil); err != nil {
		t.Fatalf("valid update leaf: %v", err)
	}
	if err := tr.ValidateLeaf(upd, LeafContext{Role: RoleUpdate, Index: 1, GroupID: gid}, nil); err == nil {
		t.Fatal("update leaf signed for leaf 2 accepted at leaf 1")
	}

	type tc struct {
		name string
		ln   func() *LeafNode
		lc   LeafContext
		pol  *Policy
		is   error
	}
	cases := []tc{
		{"wrong source", func() *LeafNode { l, _ := kp(); return l }, LeafContext{Role: RoleUpdate, Index: 1, GroupID: gid}, nil, ErrInvalidLeafNode},
		{"bad signature", func() *LeafNode { l, _ := kp(); l.Signature[3] ^= 1; return l }, LeafContext{Role: RoleKeyPackage}, nil, ErrInvalidLeafNode},
		{"duplicate encryption key", func() *LeafNode {
			l, m := kp()
			l.EncryptionKey = tr.EncryptionKey(LeafIndex(3).Node())
			return resign(l, m, 0)
		}, LeafContext{Role: RoleKeyPackage}, nil, ErrDuplicateKey},
		{"duplicate signature key", func() *LeafNode {
			l, _ := kp()
			l.SignatureKey = ms[1].signer.Public()
			return resign(l, ms[1], 0)
		}, LeafContext{Role: RoleKeyPackage}, nil, ErrDuplicateKey},
		{"update keeps the encryption key", func() *LeafNode {
			l, _ := newLeaf(t, cs, rnd, SourceUpdate, ms[2], gid, 2)
			l.EncryptionKey = tr.EncryptionKey(LeafIndex(2).Node())
			return resign(l, ms[2], 2)
		}, LeafContext{Role: RoleUpdate, Index: 2, GroupID: gid}, nil, ErrDuplicateKey},
		{"credential not in capabilities", func() *LeafNode {
			l, m := kp()
			l.Capabilities.Credentials = []CredentialType{CredentialX509, CredentialBasic}
			l.Credential = Credential{Type: CredentialX509, Certificates: [][]byte{{1}}}
			l.Capabilities.Credentials = []CredentialType{CredentialBasic}
			return resign(l, m, 0)
		}, LeafContext{Role: RoleKeyPackage}, nil, ErrInvalidLeafNode},
		{"x509 without validator", func() *LeafNode {
			l, m := kp()
			l.Capabilities.Credentials = []CredentialType{CredentialX509, CredentialBasic}
			l.Credential = Credential{Type: CredentialX509, Certificates: [][]byte{{1}}}
			return resign(l, m, 0)
		}, LeafContext{Role: RoleKeyPackage}, nil, ErrCredential},
		{"credential rejected", func() *LeafNode { l, _ := kp(); return l }, LeafContext{Role: RoleKeyPackage},
			&Policy{Credentials: CredentialValidatorFunc(func(*Credential, []byte) error { return errors.New("revoked") })}, ErrCredential},
		{"required extension", func() *LeafNode { l, _ := kp(); return l }, LeafContext{Role: RoleKeyPackage},
			&Policy{RequiredCapabilities: &RequiredCapabilities{Extensions: []ExtensionType{0x0c0c}}}, ErrInvalidLeafNode},
		{"required credential", func() *LeafNode { l, _ := kp(); return l }, LeafContext{Role: RoleKeyPackage},
			&Policy{RequiredCapabilities: &RequiredCapabilities{Credentials: []CredentialType{CredentialX509}}}, ErrInvalidLeafNode},
		{"unsupported extension", func() *LeafNode {
			l, m := kp()
			l.Extensions = Extensions{{Type: 0x0d0d, Data: []byte{1}}}
			return resign(l, m, 0)
		}, LeafContext{Role: RoleKeyPackage}, nil, ErrInvalidLeafNode},
		{"expired", func() *LeafNode {
			l, m := kp()
			l.Lifetime = Lifetime{NotBefore: 10, NotAfter: 20}
			return resign(l, m, 0)
		}, LeafContext{Role: RoleKeyPackage}, &Policy{Now: time.Now}, ErrInvalidLeafNode},
		{"too long", func() *LeafNode { l, _ := kp(); return l }, LeafContext{Role: RoleKeyPackage}, &Policy{MaxLifetime: time.Hour}, ErrInvalidLeafNode},
		{"credential type not supported by members", func() *LeafNode {
			l, m := kp()
			l.Capabilities.Credentials = []CredentialType{CredentialX509, CredentialBasic}
			l.Credential = Credential{Type: CredentialX509, Certificates: [][]byte{{1}}}
			return resign(l, m, 0)
		}, LeafContext{Role: RoleKeyPackage}, &Policy{Credentials: CredentialValidatorFunc(func(*Credential, []byte) error { return nil })}, ErrInvalidLeafNode},
	}
	for _, c := range cases {
		err := tr.ValidateLeaf(c.ln(), c.lc, c.pol)
		if !errors.Is(err, c.is) {
			t.Errorf("%s: %v, want %v", c.name, err, c.is)
		}
	}
	// Extensions listed in the capabilities and a validator that accepts.
	l, m := kp()
	l.Extensions = Extensions{{Type: 0x0d0d}, {Type: ExtensionApplicationID, Data: []byte("app")}}
	l.Capabilities.Extensions = []ExtensionType{0x0d0d}
	l.Lifetime = Lifetime{NotBefore: 0, NotAfter: uint64(time.Now().Add(time.Hour).Unix())}
	resign(l, m, 0)
	called := false
	pol := &Policy{Now: time.Now, Credentials: CredentialValidatorFunc(func(c *Credential, key []byte) error {
		called = bytes.Equal(key, l.SignatureKey) && c.Type == CredentialBasic
		return nil
	})}
	if err := tr.ValidateLeaf(l, LeafContext{Role: RoleKeyPackage}, pol); err != nil || !called {
		t.Fatalf("valid leaf with extensions: %v (validator called: %v)", err, called)
	}
}

func TestUpdatePathErrors(t *testing.T) {
	tr, ms, rnd := smallTree(t, 9)
	cs := tr.cs
	gid := []byte("g")
	// Give every member a leaf signed for its position, so that paths
	// from them are valid, and set up private states.
	privs := map[LeafIndex]*PrivateState{}
	for i := range LeafIndex(9) {
		p, err := NewPrivateState(cs, i, ms[i].encPriv)
		if err != nil {
			t.Fatal(err)
		}
		privs[i] = p
	}
	staged := tr.Clone()
	pp, err := staged.PrepareUpdatePath(PathParams{Sender: 4, GroupID: gid, Signer: ms[4].signer, Rand: rnd})
	if err != nil {
		t.Fatal(err)
	}
	gc := []byte("gc")
	up, err := pp.Encrypt(rnd, gc, nil)
	if err != nil {
		t.Fatal(err)
	}
	enc, _ := wire.Marshal(up)
	fresh := func() *UpdatePath {
		var p UpdatePath
		if err := wire.Unmarshal(bytes.Clone(enc), &p); err != nil {
			t.Fatal(err)
		}
		return &p
	}
	merge := func(p *UpdatePath) error { return tr.Clone().MergeUpdatePath(4, p, gid, nil) }
	if err := merge(fresh()); err != nil {
		t.Fatalf("valid path: %v", err)
	}
	if _, err := staged.PrepareUpdatePath(PathParams{Sender: 4, GroupID: gid, Signer: ms[3].signer}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("wrong signer: %v", err)
	}
	bad := []struct {
		name  string
		alter func(*UpdatePath)
		is    error
	}{
		{"missing node", func(p *UpdatePath) { p.Nodes = p.Nodes[:len(p.Nodes)-1] }, ErrInvalidPath},
		{"reused key", func(p *UpdatePath) { p.Nodes[0].EncryptionKey = tr.EncryptionKey(0) }, ErrDuplicateKey},
		{"repeated key", func(p *UpdatePath) { p.Nodes[1].EncryptionKey = p.Nodes[0].EncryptionKey }, ErrDuplicateKey},
		{"other key", func(p *UpdatePath) { p.Nodes[1].EncryptionKey = bytes.Repeat([]byte{7}, 32) }, ErrParentHash},
		{"leaf signature", func(p *UpdatePath) { p.LeafNode.Signature[0] ^= 1 }, ErrInvalidLeafNode},
	}
	for _, b := range bad {
		p := fresh()
		b.alter(p)
		if err := merge(p); !errors.Is(err, b.is) {
			t.Errorf("%s: %v, want %v", b.name, err, b.is)
		}
	}
	// A valid merge, then decryption failures.
	recv := tr.Clone()
	if err := recv.MergeUpdatePath(4, fresh(), gid, nil); err != nil {
		t.Fatal(err)
	}
	if dp, err := privs[0].DecryptPath(recv, 4, fresh(), gc, nil); err != nil || !bytes.Equal(dp.CommitSecret, pp.CommitSecret()) {
		t.Fatalf("valid decryption: %v", err)
	}
	if _, err := privs[0].DecryptPath(recv, 4, fresh(), []byte("other gc"), nil); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("wrong group context: %v", err)
	}
	p := fresh()
	for k := range p.Nodes {
		p.Nodes[k].EncryptedPathSecret = p.Nodes[k].EncryptedPathSecret[1:]
	}
	if _, err := privs[0].DecryptPath(recv, 4, p, gc, nil); !errors.Is(err, ErrInvalidPath) {
		t.Fatalf("missing ciphertext: %v", err)
	}
	// A member whose leaf key is stale cannot decrypt.
	stale, _ := NewPrivateState(cs, 5, bytes.Repeat([]byte{3}, 32))
	if _, err := stale.DecryptPath(recv, 4, fresh(), gc, nil); !errors.Is(err, ErrNoPrivateKey) {
		t.Fatalf("stale key: %v", err)
	}
	// A new member (excluded) cannot, and the committer gives it the path
	// secret instead.
	if _, err := privs[8].DecryptPath(recv, 4, fresh(), gc, []LeafIndex{8}); !errors.Is(err, ErrNoPrivateKey) {
		t.Fatalf("excluded member: %v", err)
	}
	secret, ok := pp.PathSecretFor(8)
	if !ok {
		t.Fatal("no path secret for leaf 8")
	}
	if err := privs[8].ImplantPathSecret(recv, CommonAncestor(LeafIndex(4).Node(), LeafIndex(8).Node()), secret); err != nil {
		t.Fatal(err)
	}
	if err := privs[8].Check(recv); err != nil {
		t.Fatal(err)
	}
	if err := privs[7].ImplantPathSecret(recv, CommonAncestor(LeafIndex(4).Node(), LeafIndex(7).Node()), secret); !errors.Is(err, ErrNoPrivateKey) {
		t.Fatalf("wrong path secret: %v", err)
	}
}
