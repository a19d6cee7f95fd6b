package treekem_test

import (
	"bytes"
	"fmt"

	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/treekem"
)

// client is a would-be member: a signed key_package LeafNode and its keys.
type client struct {
	leaf    *treekem.LeafNode
	signer  suite.Signer
	encPriv []byte
}

func newClient(cs *suite.Suite, name string) *client {
	sigPriv, sigPub, _ := cs.GenerateSignatureKey(nil)
	signer, _ := cs.NewSigner(sigPriv)
	encPriv, encPub, _ := cs.GenerateKeyPair(nil)
	ln := &treekem.LeafNode{
		EncryptionKey: encPub,
		SignatureKey:  sigPub,
		Credential:    treekem.BasicCredential([]byte(name)),
		Capabilities: treekem.Capabilities{
			Versions:     []treekem.ProtocolVersion{treekem.MLS10},
			CipherSuites: []uint16{uint16(cs.ID())},
			Credentials:  []treekem.CredentialType{treekem.CredentialBasic},
		},
		Source:   treekem.SourceKeyPackage,
		Lifetime: treekem.Lifetime{NotBefore: 0, NotAfter: 1 << 62},
	}
	tbs, _ := ln.TBS(nil, 0)
	ln.Signature, _ = cs.SignWithLabel(signer, "LeafNodeTBS", tbs)
	return &client{leaf: ln, signer: signer, encPriv: encPriv}
}

// A commit with an UpdatePath, staged by the committer and processed by a
// member, in the three steps that the provisional GroupContext requires.
func Example() {
	cs, _ := suite.Lookup(suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519)
	groupID := []byte("example group")
	alice, bob, carol := newClient(cs, "alice"), newClient(cs, "bob"), newClient(cs, "carol")

	// The current epoch's tree: Alice and Bob.
	tree, _ := treekem.NewTree(cs)
	tree.AddLeaf(alice.leaf)
	tree.AddLeaf(bob.leaf)
	bobState, _ := treekem.NewPrivateState(cs, 1, bob.encPriv)

	// Alice commits adding Carol, on a staged copy of the tree.
	staged := tree.Clone()
	if err := staged.ValidateLeaf(carol.leaf, treekem.LeafContext{Role: treekem.RoleKeyPackage}, nil); err != nil {
		panic(err)
	}
	carolLeaf, _ := staged.AddLeaf(carol.leaf)
	pending, err := staged.PrepareUpdatePath(treekem.PathParams{Sender: 0, GroupID: groupID, Signer: alice.signer})
	if err != nil {
		panic(err)
	}
	groupContext := append([]byte("provisional GroupContext with tree hash "), staged.TreeHash()...)
	path, _ := pending.Encrypt(nil, groupContext, []treekem.LeafIndex{carolLeaf})

	// Bob applies the Add and merges the path into his own staged copy,
	// then decrypts with the same provisional GroupContext.
	bobTree := tree.Clone()
	bobTree.AddLeaf(carol.leaf)
	if err := bobTree.MergeUpdatePath(0, path, groupID, nil); err != nil {
		panic(err)
	}
	bobContext := append([]byte("provisional GroupContext with tree hash "), bobTree.TreeHash()...)
	got, err := bobState.DecryptPath(bobTree, 0, path, bobContext, []treekem.LeafIndex{carolLeaf})
	if err != nil {
		panic(err)
	}

	// Carol joins with the path secret from her Welcome.
	carolState, _ := treekem.NewPrivateState(cs, carolLeaf, carol.encPriv)
	secret, _ := pending.PathSecretFor(carolLeaf)
	ancestor := treekem.CommonAncestor(treekem.LeafIndex(0).Node(), carolLeaf.Node())
	if err := carolState.ImplantPathSecret(bobTree, ancestor, secret); err != nil {
		panic(err)
	}

	fmt.Println("members:", bobTree.MemberCount())
	fmt.Println("same tree:", bytes.Equal(bobTree.TreeHash(), staged.TreeHash()))
	fmt.Println("same commit secret:", bytes.Equal(got.CommitSecret, pending.CommitSecret()))
	fmt.Println("Carol consistent:", carolState.Check(bobTree) == nil)
	fmt.Println("original tree unchanged:", tree.MemberCount())
	// Output:
	// members: 3
	// same tree: true
	// same commit secret: true
	// Carol consistent: true
	// original tree unchanged: 2
}
