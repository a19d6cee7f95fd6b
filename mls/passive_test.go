package mls_test

import (
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/mlsengine/engine/mls"
	"github.com/mlsengine/engine/mls/keyschedule"
	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/testvectors"
	"github.com/mlsengine/engine/treekem"
)

// TestPassiveClientScenario writes a passive-client test vector (FORMAT.md
// "Passive Client Scenarios") with what the official files lack —
// external proposals, new-member proposals, external joins and resync,
// encrypted handshake messages, resumption and external PSKs, a ReInit —
// and checks it with the vector runner of package testvectors.
func TestPassiveClientScenario(t *testing.T) {
	id := suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	cs, _ := suite.Lookup(id)
	psk := []byte("0123456789abcdef0123456789abcdef")
	withPSK := func(c mls.Config) mls.Config {
		c.ExternalPSK = func([]byte) ([]byte, error) { return psk, nil }
		c.Policy.Admit = mls.AdmitAll // Dave and Erin join by themselves
		return c
	}
	alice, bob := withPSK(newConfig("alice")), withPSK(newConfig("bob"))
	bob.EncryptHandshake = true
	service := newConfig("service")
	es, _ := (message.ExternalSenders{{SignatureKey: service.Signer.Public(), Credential: service.Credential}}).Extension()

	// The passive client, whose private keys go in the vector.
	sigPriv, _, _ := cs.GenerateSignatureKey(nil)
	signer, _ := cs.NewSigner(sigPriv)
	passive := withPSK(mls.Config{Suite: id, Signer: signer, Credential: treekem.BasicCredential([]byte("passive"))})
	kp, kpPriv, err := mls.NewKeyPackage(passive, nil)
	if err != nil {
		t.Fatal(err)
	}

	ga, _ := mls.NewGroup(alice, &mls.GroupOptions{Extensions: treekem.Extensions{es}})
	gb := addMember(ga, bob)
	groups := []*mls.Group{ga, gb}
	deliver := func(msg []byte, except *mls.Group) {
		for _, g := range groups {
			if g == except || g.Removed() {
				continue
			}
			r, err := g.Process(msg)
			if err != nil {
				t.Fatal(err)
			}
			if r.Commit != nil {
				if err := g.Apply(r.Commit); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	// Alice adds the passive client with an external PSK.
	add, _ := mls.NewAdd(kp)
	pskP, _ := ga.NewExternalPSK([]byte("psk"))
	pc, err := ga.Commit(&mls.CommitOptions{Proposals: []*mls.Proposal{add, pskP}})
	if err != nil {
		t.Fatal(err)
	}
	deliver(pc.Commit, ga)
	_ = ga.Apply(pc)
	welcome, initialAuth := pc.Welcome, ga.EpochAuthenticator()

	type epoch struct {
		Proposals []string `json:"proposals"`
		Commit    string   `json:"commit"`
		Auth      string   `json:"epoch_authenticator"`
	}
	var epochs []epoch
	var props []string
	propose := func(msg []byte, from *mls.Group) {
		deliver(msg, from)
		props = append(props, hex.EncodeToString(msg))
	}
	commitBy := func(g *mls.Group, opts *mls.CommitOptions) *mls.PendingCommit {
		pc, err := g.Commit(opts)
		if err != nil {
			t.Fatal(err)
		}
		deliver(pc.Commit, g)
		if err := g.Apply(pc); err != nil {
			t.Fatal(err)
		}
		epochs = append(epochs, epoch{props, hex.EncodeToString(pc.Commit), hex.EncodeToString(g.EpochAuthenticator())})
		props = nil
		return pc
	}

	// 1. An external sender proposes to add Carol; Bob commits (encrypted).
	carol := withPSK(newConfig("carol"))
	kpC, privC, _ := mls.NewKeyPackage(carol, nil)
	addC, _ := mls.NewAdd(kpC)
	msg, err := mls.ExternalProposal(service, ga.GroupID(), ga.Epoch(), 0, addC, nil)
	if err != nil {
		t.Fatal(err)
	}
	propose(msg, nil)
	pc = commitBy(gb, nil)
	gc, err := mls.Join(carol, pc.Welcome, privC, nil)
	if err != nil {
		t.Fatal(err)
	}
	groups = append(groups, gc)

	// 2. Dave joins by external commit.
	dave := withPSK(newConfig("dave"))
	gi, _ := ga.GroupInfo(&mls.GroupInfoOptions{RatchetTree: true})
	gd, commit, err := mls.JoinExternal(dave, gi, nil)
	if err != nil {
		t.Fatal(err)
	}
	deliver(commit, nil)
	epochs = append(epochs, epoch{nil, hex.EncodeToString(commit), hex.EncodeToString(gd.EpochAuthenticator())})
	groups = append(groups, gd)

	// 3. Erin proposes to add herself; Carol proposes an update; Bob a
	// resumption PSK of the current epoch; Alice commits.
	erin := withPSK(newConfig("erin"))
	kpE, _, _ := mls.NewKeyPackage(erin, nil)
	gi, _ = ga.GroupInfo(nil)
	msg, err = mls.NewMemberProposal(erin, gi, kpE, nil)
	if err != nil {
		t.Fatal(err)
	}
	propose(msg, nil)
	msg, _ = gc.ProposeUpdate(nil)
	propose(msg, gc)
	res, err := gb.NewResumptionPSK(gb.Epoch()) // Carol and Dave joined since joinEpoch
	if err != nil {
		t.Fatal(err)
	}
	msg, _ = gb.Propose(res, nil)
	propose(msg, gb)
	commitBy(ga, nil)

	// 4. Dave resyncs: he rejoins and removes his old leaf.
	gi, _ = gb.GroupInfo(&mls.GroupInfoOptions{RatchetTree: true})
	old := gd.LeafIndex()
	groups = groups[:3]
	gd, commit, err = mls.JoinExternal(dave, gi, &mls.ExternalJoinOptions{Remove: &old,
		PSKs: []keyschedule.PreSharedKeyID{{Type: keyschedule.PSKTypeExternal, ID: []byte("psk")}}})
	if err != nil {
		t.Fatal(err)
	}
	deliver(commit, nil)
	epochs = append(epochs, epoch{nil, hex.EncodeToString(commit), hex.EncodeToString(gd.EpochAuthenticator())})
	groups = append(groups, gd)

	// 5. Bob removes Carol by value and Alice's Remove of Dave comes by
	// reference, in an encrypted commit.
	msg, _ = ga.Propose(mls.NewRemove(gd.LeafIndex()), nil)
	propose(msg, ga)
	commitBy(gb, &mls.CommitOptions{Proposals: []*mls.Proposal{mls.NewRemove(gc.LeafIndex())}})

	// 6. A ReInit closes the group.
	commitBy(ga, &mls.CommitOptions{Proposals: []*mls.Proposal{ga.NewReInit([]byte("next"), id, nil)}})

	vector := map[string]any{
		"cipher_suite":                uint16(id),
		"external_psks":               []map[string]string{{"psk_id": hex.EncodeToString([]byte("psk")), "psk": hex.EncodeToString(psk)}},
		"key_package":                 hex.EncodeToString(kp),
		"signature_priv":              hex.EncodeToString(sigPriv),
		"encryption_priv":             hex.EncodeToString(kpPriv.EncryptionKey),
		"init_priv":                   hex.EncodeToString(kpPriv.InitKey),
		"welcome":                     hex.EncodeToString(welcome),
		"ratchet_tree":                nil,
		"initial_epoch_authenticator": hex.EncodeToString(initialAuth),
		"epochs":                      epochs,
	}
	data, err := json.Marshal([]any{vector})
	if err != nil {
		t.Fatal(err)
	}
	var cases []testvectors.PassiveClient
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases[0].Epochs) != 6 {
		t.Fatalf("%d epochs", len(cases[0].Epochs))
	}
	if err := cases[0].Verify(); err != nil {
		t.Fatal(err)
	}
	// A wrong epoch authenticator is caught.
	cases[0].Epochs[2].EpochAuthenticator[0] ^= 1
	if err := cases[0].Verify(); err == nil {
		t.Fatal("wrong epoch authenticator accepted")
	}
}
