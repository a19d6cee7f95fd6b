package mls_test

import (
	"fmt"
	"log"

	"github.com/mlsengine/engine/mls"
	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/treekem"
)

// newConfig returns the configuration of a client named name, with a fresh
// signature key (an application would keep it, possibly in an HSM).
func newConfig(name string) mls.Config {
	id := suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	cs, err := suite.Lookup(id)
	if err != nil {
		log.Fatal(err)
	}
	priv, _, err := cs.GenerateSignatureKey(nil)
	if err != nil {
		log.Fatal(err)
	}
	signer, err := cs.NewSigner(priv)
	if err != nil {
		log.Fatal(err)
	}
	return mls.Config{Suite: id, Signer: signer, Credential: treekem.BasicCredential([]byte(name))}
}

// addMember has g add the client of cfg, which joins with the Welcome.
func addMember(g *mls.Group, cfg mls.Config) *mls.Group {
	kp, priv, err := mls.NewKeyPackage(cfg, nil)
	if err != nil {
		log.Fatal(err)
	}
	add, err := mls.NewAdd(kp)
	if err != nil {
		log.Fatal(err)
	}
	pc, err := g.Commit(&mls.CommitOptions{Proposals: []*mls.Proposal{add}})
	if err != nil {
		log.Fatal(err)
	}
	if err := g.Apply(pc); err != nil {
		log.Fatal(err)
	}
	joined, err := mls.Join(cfg, pc.Welcome, priv, nil)
	if err != nil {
		log.Fatal(err)
	}
	return joined
}

// Create a group: its creator is its only member, at epoch 0.
func ExampleNewGroup() {
	alice, err := mls.NewGroup(newConfig("alice"), &mls.GroupOptions{GroupID: []byte("team")})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("group %s, epoch %d, %d member\n", alice.GroupID(), alice.Epoch(), alice.MemberCount())
	// Output: group team, epoch 0, 1 member
}

// Add a member: Bob publishes a KeyPackage, Alice commits an Add of it and
// applies the commit once the delivery service accepted it, and Bob joins
// with the Welcome.
func ExampleGroup_Commit() {
	bobCfg := newConfig("bob")
	kp, bobPriv, err := mls.NewKeyPackage(bobCfg, nil) // kp goes to the KeyPackage directory
	if err != nil {
		log.Fatal(err)
	}

	alice, _ := mls.NewGroup(newConfig("alice"), nil)
	add, err := mls.NewAdd(kp)
	if err != nil {
		log.Fatal(err)
	}
	pc, err := alice.Commit(&mls.CommitOptions{Proposals: []*mls.Proposal{add}})
	if err != nil {
		log.Fatal(err)
	}
	// pc.Commit goes to the delivery service; once it is accepted:
	if err := alice.Apply(pc); err != nil {
		log.Fatal(err)
	}
	bob, err := mls.Join(bobCfg, pc.Welcome, bobPriv, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("members:", alice.MemberCount(), bob.MemberCount())
	fmt.Println("same epoch authenticator:", string(alice.EpochAuthenticator()) == string(bob.EpochAuthenticator()))
	// Output:
	// members: 2 2
	// same epoch authenticator: true
}

// Join a group with a Welcome for one of the client's KeyPackages.
func ExampleJoin() {
	alice, _ := mls.NewGroup(newConfig("alice"), nil)
	bobCfg := newConfig("bob")
	kp, bobPriv, _ := mls.NewKeyPackage(bobCfg, nil)
	add, _ := mls.NewAdd(kp)
	pc, _ := alice.Commit(&mls.CommitOptions{Proposals: []*mls.Proposal{add}})
	_ = alice.Apply(pc)

	bob, err := mls.Join(bobCfg, pc.Welcome, bobPriv, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("bob is at leaf %d of epoch %d\n", bob.LeafIndex(), bob.Epoch())
	// Output: bob is at leaf 1 of epoch 1
}

// Send and receive application messages: Encrypt gives a PrivateMessage,
// which every other member passes to Process.
func ExampleGroup_Encrypt() {
	alice, _ := mls.NewGroup(newConfig("alice"), nil)
	bob := addMember(alice, newConfig("bob"))

	msg, err := alice.Encrypt([]byte("hi bob"), nil)
	if err != nil {
		log.Fatal(err)
	}
	r, err := bob.Process(msg)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s from leaf %d\n", r.ApplicationData, r.Sender.Leaf)
	// A replay is refused.
	_, err = bob.Process(msg)
	fmt.Println(err != nil)
	// Output:
	// hi bob from leaf 0
	// true
}

// Receive a commit: Process stages it, the application inspects the
// changes, then applies it.
func ExampleGroup_Process() {
	alice, _ := mls.NewGroup(newConfig("alice"), nil)
	bob := addMember(alice, newConfig("bob"))
	kp, _, _ := mls.NewKeyPackage(newConfig("carol"), nil)
	add, _ := mls.NewAdd(kp)
	pc, _ := alice.Commit(&mls.CommitOptions{Proposals: []*mls.Proposal{add}})

	r, err := bob.Process(pc.Commit)
	if err != nil {
		log.Fatal(err)
	}
	for _, a := range r.Commit.Adds {
		fmt.Printf("adds %s at leaf %d\n", a.LeafNode.Credential.Identity, a.Leaf)
	}
	if err := bob.Apply(r.Commit); err != nil {
		log.Fatal(err)
	}
	fmt.Println("epoch", bob.Epoch())
	// Output:
	// adds carol at leaf 2
	// epoch 2
}

// Remove a member: any member commits a Remove; the removed member sees
// it and becomes inactive.
func ExampleNewRemove() {
	alice, _ := mls.NewGroup(newConfig("alice"), nil)
	bob := addMember(alice, newConfig("bob"))

	pc, err := alice.Commit(&mls.CommitOptions{Proposals: []*mls.Proposal{mls.NewRemove(bob.LeafIndex())}})
	if err != nil {
		log.Fatal(err)
	}
	_ = alice.Apply(pc)
	r, err := bob.Process(pc.Commit)
	if err != nil {
		log.Fatal(err)
	}
	_ = bob.Apply(r.Commit)
	fmt.Println("bob removed:", bob.Removed(), "- members:", alice.MemberCount())
	// Output: bob removed: true - members: 1
}

// Join by external commit from a GroupInfo that carries the tree and the
// external public key, in a group open to anyone holding it (by default
// only a member's resync may join this way).
func ExampleJoinExternal() {
	open := func(c mls.Config) mls.Config { c.Policy.Admit = mls.AdmitAll; return c }
	alice, _ := mls.NewGroup(open(newConfig("alice")), nil)
	gi, err := alice.GroupInfo(&mls.GroupInfoOptions{RatchetTree: true})
	if err != nil {
		log.Fatal(err)
	}

	dave, commit, err := mls.JoinExternal(open(newConfig("dave")), gi, nil)
	if err != nil {
		log.Fatal(err)
	}
	r, err := alice.Process(commit)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("external:", r.Commit.External)
	_ = alice.Apply(r.Commit)
	fmt.Println("members:", alice.MemberCount(), dave.MemberCount())
	fmt.Println("same epoch authenticator:", string(alice.EpochAuthenticator()) == string(dave.EpochAuthenticator()))
	// Output:
	// external: true
	// members: 2 2
	// same epoch authenticator: true
}
