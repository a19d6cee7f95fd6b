package mls_test

import (
	"fmt"
	"log"

	"github.com/mlsengine/engine/mls"
)

// must stands for the application's error handling.
func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

// The whole flow of a chat backend, with this package only: create a
// group, add a member who joins, send and receive a message, remove a
// member, save the group and load it again. README.md shows this function.
func Example() {
	suite := mls.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	client := func(name string) mls.Config {
		signer, err := mls.NewSigner(suite) // keep it: SigningKey.MarshalBinary
		must(err)
		return mls.Config{Suite: suite, Signer: signer, Credential: mls.BasicCredential([]byte(name))}
	}
	alice, bob := client("alice"), client("bob")
	kp, bobKP, err := mls.NewKeyPackage(bob, nil) // kp goes to the KeyPackage directory
	must(err)
	ga, err := mls.NewGroup(alice, nil)
	must(err)
	pc, err := ga.Add(kp) // the group is unchanged...
	must(err)
	must(ga.Apply(pc)) // ...until the delivery service accepted pc.Commit
	gb, err := mls.Join(bob, pc.Welcome, bobKP, nil)
	must(err)
	msg, err := ga.Encrypt([]byte("hello"), nil)
	must(err)
	r, err := gb.Process(msg)
	must(err)
	pc, err = gb.Remove(ga.LeafIndex()) // bob removes alice
	must(err)
	must(gb.Apply(pc))
	st := mls.NewMemoryStorage() // or mls.NewFileStorage(dir)
	must(gb.Save(st))
	gb, err = mls.Load(bob, st, gb.GroupID())
	must(err)
	fmt.Printf("%s; %d member at epoch %d\n", r.ApplicationData, gb.MemberCount(), gb.Epoch())
	// Output: hello; 1 member at epoch 2
}

// newConfig returns the configuration of a client named name, with a fresh
// signature key (an application would keep it, possibly in an HSM).
func newConfig(name string) mls.Config {
	signer, err := mls.NewSigner(mls.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519)
	must(err)
	return mls.Config{Suite: signer.Suite(), Signer: signer, Credential: mls.BasicCredential([]byte(name))}
}

// addMember has g add the client of cfg, which joins with the Welcome.
func addMember(g *mls.Group, cfg mls.Config) *mls.Group {
	kp, priv, err := mls.NewKeyPackage(cfg, nil)
	must(err)
	pc, err := g.Add(kp)
	must(err)
	must(g.Apply(pc))
	joined, err := mls.Join(cfg, pc.Welcome, priv, nil)
	must(err)
	return joined
}

// Create a group: its creator is its only member, at epoch 0.
func ExampleNewGroup() {
	alice, err := mls.NewGroup(newConfig("alice"), &mls.GroupOptions{GroupID: []byte("team")})
	must(err)
	fmt.Printf("group %s, epoch %d, %d member\n", alice.GroupID(), alice.Epoch(), alice.MemberCount())
	// Output: group team, epoch 0, 1 member
}

// Commit proposals: an Add by value, and an Update that another member
// proposed on its own (pending, covered by reference by default).
func ExampleGroup_Commit() {
	alice, _ := mls.NewGroup(newConfig("alice"), nil)
	bob := addMember(alice, newConfig("bob"))
	prop, err := bob.ProposeUpdate(nil)
	must(err)
	_, err = alice.Process(prop) // pending in alice's group now
	must(err)

	kp, _, err := mls.NewKeyPackage(newConfig("dave"), nil)
	must(err)
	add, err := mls.NewAdd(kp)
	must(err)
	pc, err := alice.Commit(&mls.CommitOptions{Proposals: []*mls.Proposal{add}})
	must(err)
	fmt.Println("adds", len(pc.Adds), "updates", len(pc.Updates), "welcome", pc.Welcome != nil)
	pc.Discard() // say the delivery service refused it
	// Output: adds 1 updates 1 welcome true
}

// Join a group with a Welcome for one of the client's KeyPackages, found
// with ParseWelcome.
func ExampleJoin() {
	alice, _ := mls.NewGroup(newConfig("alice"), nil)
	bobCfg := newConfig("bob")
	kp, bobPriv, _ := mls.NewKeyPackage(bobCfg, nil)
	pc, _ := alice.Add(kp)
	_ = alice.Apply(pc)

	info, err := mls.ParseWelcome(pc.Welcome)
	must(err)
	ref, _ := bobPriv.Ref()
	fmt.Println("for bob's KeyPackage:", string(info.KeyPackageRefs[0]) == string(ref))
	bob, err := mls.Join(bobCfg, pc.Welcome, bobPriv, nil)
	must(err)
	fmt.Printf("bob is at leaf %d of epoch %d\n", bob.LeafIndex(), bob.Epoch())
	_, err = mls.Join(bobCfg, pc.Welcome, bobPriv, nil) // a one-time KeyPackage is consumed
	fmt.Println(err != nil)
	// Output:
	// for bob's KeyPackage: true
	// bob is at leaf 1 of epoch 1
	// true
}

// Send and receive application messages: Encrypt gives a PrivateMessage,
// which every other member passes to Process.
func ExampleGroup_Encrypt() {
	alice, _ := mls.NewGroup(newConfig("alice"), nil)
	bob := addMember(alice, newConfig("bob"))

	msg, err := alice.Encrypt([]byte("hi bob"), nil)
	must(err)
	r, err := bob.Process(msg)
	must(err)
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
	pc, _ := alice.Add(kp)

	r, err := bob.Process(pc.Commit)
	must(err)
	for _, a := range r.Commit.Adds {
		fmt.Printf("adds %s at leaf %d\n", a.LeafNode.Credential.Identity, a.Leaf)
	}
	must(bob.Apply(r.Commit))
	fmt.Println("epoch", bob.Epoch())
	// Output:
	// adds carol at leaf 2
	// epoch 2
}

// Remove a member: any member commits a Remove; the removed member sees
// it and becomes inactive.
func ExampleGroup_Remove() {
	alice, _ := mls.NewGroup(newConfig("alice"), nil)
	bob := addMember(alice, newConfig("bob"))

	pc, err := alice.Remove(bob.LeafIndex())
	must(err)
	_ = alice.Apply(pc)
	r, err := bob.Process(pc.Commit)
	must(err)
	_ = bob.Apply(r.Commit)
	fmt.Println("bob removed:", bob.Removed(), "- members:", alice.MemberCount())
	// Output: bob removed: true - members: 1
}

// Name the members by the identities their credentials present.
func ExampleGroup_Identities() {
	alice, _ := mls.NewGroup(newConfig("alice"), nil)
	addMember(alice, newConfig("bob"))
	for _, m := range alice.Identities() {
		fmt.Printf("leaf %d: %s\n", m.Leaf, m.Identity)
	}
	fmt.Println("bob at", alice.FindIdentity([]byte("bob")))
	// Output:
	// leaf 0: alice
	// leaf 1: bob
	// bob at [1]
}

// Join by external commit from a GroupInfo that carries the tree and the
// external public key, in a group open to anyone holding it: by default
// only a member's resync may join this way (Policy, DefaultAdmit).
func ExampleJoinExternal() {
	open := func(c mls.Config) mls.Config { c.Policy.Admit = mls.AdmitAll; return c }
	alice, _ := mls.NewGroup(open(newConfig("alice")), nil)
	gi, err := alice.GroupInfo(&mls.GroupInfoOptions{RatchetTree: true})
	must(err)

	dave, commit, err := mls.JoinExternal(open(newConfig("dave")), gi, nil)
	must(err)
	r, err := alice.Process(commit)
	must(err)
	fmt.Println("external:", r.Commit.External)
	_ = alice.Apply(r.Commit)
	fmt.Println("members:", alice.MemberCount(), dave.MemberCount())
	fmt.Println("same epoch authenticator:", string(alice.EpochAuthenticator()) == string(dave.EpochAuthenticator()))
	// Output:
	// external: true
	// members: 2 2
	// same epoch authenticator: true
}

// A server follows a group without its secrets: it starts from a GroupInfo
// and checks every handshake message as members do, minus what needs the
// epoch's secrets.
func ExamplePublicGroup() {
	alice, _ := mls.NewGroup(newConfig("alice"), nil)
	gi, err := alice.GroupInfo(&mls.GroupInfoOptions{RatchetTree: true})
	must(err)
	server, err := mls.NewPublicGroup(mls.Config{}, gi, nil) // no signer, no credential
	must(err)

	kp, _, _ := mls.NewKeyPackage(newConfig("bob"), nil)
	pc, _ := alice.Add(kp)
	r, err := server.Process(pc.Commit)
	must(err)
	must(r.Commit.CheckWelcome(pc.Welcome)) // the Welcome is for the Adds
	must(server.Apply(r.Commit))
	must(alice.Apply(pc))
	same := server.GroupContext().Epoch == alice.Epoch() && string(server.GroupContext().TreeHash) == string(alice.GroupContext().TreeHash)
	fmt.Println("members:", server.MemberCount(), "- agrees with alice:", same)
	// Output: members: 2 - agrees with alice: true
}

// Save a signature key and restore it.
func ExampleNewSigner() {
	key, err := mls.NewSigner(mls.MLS_128_DHKEMP256_AES128GCM_SHA256_P256)
	must(err)
	saved, err := key.MarshalBinary() // a secret: store it as such
	must(err)
	restored, err := mls.UnmarshalSigningKey(saved)
	must(err)
	fmt.Println(restored.Suite(), string(restored.Public()) == string(key.Public()))
	// Output: MLS_128_DHKEMP256_AES128GCM_SHA256_P256 true
}
