package message

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/mlsengine/engine/mls/keyschedule"
	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/mls/wire"
	"github.com/mlsengine/engine/treekem"
)

// signedKeyPackage returns a KeyPackage of g's suite signed by leaf 0's
// signer, and the private key of its init key.
func signedKeyPackage(t *testing.T, g *testGroup) (*KeyPackage, []byte) {
	t.Helper()
	initPriv, initPub, err := g.s.GenerateKeyPair(newSeeded(7))
	if err != nil {
		t.Fatal(err)
	}
	_, encPub, err := g.s.GenerateKeyPair(newSeeded(8))
	if err != nil {
		t.Fatal(err)
	}
	kp := gen{rand.New(rand.NewPCG(3, 3))}.keyPackage()
	kp.CipherSuite = g.s.ID()
	kp.InitKey = initPub
	kp.LeafNode.EncryptionKey = encPub
	kp.LeafNode.SignatureKey = g.signers[0].Public()
	if err := kp.Sign(g.s, g.signers[0]); err != nil {
		t.Fatal(err)
	}
	return &kp, initPriv
}

func TestKeyPackageSignVerify(t *testing.T) {
	forEachSuite(t, func(t *testing.T, g *testGroup) {
		kp, _ := signedKeyPackage(t, g)
		if err := kp.Verify(g.s); err != nil {
			t.Fatal(err)
		}
		back := reencode(t, kp)
		if err := back.Verify(g.s); err != nil {
			t.Fatalf("decoded: %v", err)
		}
		r1, _ := kp.Ref(g.s)
		r2, _ := back.Ref(g.s)
		enc, _ := wire.Marshal(kp)
		if !bytes.Equal(r1, r2) || !bytes.Equal(r1, g.s.RefHash("MLS 1.0 KeyPackage Reference", enc)) {
			t.Fatalf("KeyPackageRef differs")
		}

		bad := reencode(t, kp)
		bad.Extensions = append(bad.Extensions, treekem.Extension{Type: 0xfafa})
		bad.Raw = nil
		if err := bad.Verify(g.s); !errors.Is(err, ErrSignature) {
			t.Errorf("changed KeyPackage: %v", err)
		}
		bad = reencode(t, kp)
		bad.InitKey = bad.LeafNode.EncryptionKey
		bad.Raw = nil
		if err := bad.Verify(g.s); !errors.Is(err, ErrMalformed) {
			t.Errorf("init_key == encryption_key: %v", err)
		}
		bad = reencode(t, kp)
		bad.LeafNode.Source = treekem.SourceUpdate
		if err := bad.Verify(g.s); !errors.Is(err, ErrMalformed) {
			t.Errorf("leaf source update: %v", err)
		}
		other, _ := suite.Lookup(suite.ID(uint16(g.s.ID())%7 + 1))
		if err := kp.Verify(other); !errors.Is(err, ErrMalformed) {
			t.Errorf("other suite: %v", err)
		}
	})
}

func TestWelcomeRoundTrip(t *testing.T) {
	forEachSuite(t, func(t *testing.T, g *testGroup) {
		kp, initPriv := signedKeyPackage(t, g)
		ref, err := kp.Ref(g.s)
		if err != nil {
			t.Fatal(err)
		}

		// The committer's side: a new epoch, its GroupInfo and Welcome.
		initSecret := make([]byte, g.s.HashSize())
		epoch, err := keyschedule.Derive(g.s, initSecret, nil, nil, g.gcBytes)
		if err != nil {
			t.Fatal(err)
		}
		ext, err := (&ExternalPub{ExternalPub: []byte("external key")}).Extension()
		if err != nil {
			t.Fatal(err)
		}
		gi := &GroupInfo{
			GroupContext:    g.gc,
			Extensions:      treekem.Extensions{ext},
			ConfirmationTag: ConfirmationTag(g.s, epoch.Confirmation, g.gc.ConfirmedTranscriptHash),
		}
		if err := gi.Sign(g.s, g.signers[2], 2); err != nil {
			t.Fatal(err)
		}
		egi, err := EncryptGroupInfo(g.s, epoch.WelcomeSecret, gi)
		if err != nil {
			t.Fatal(err)
		}
		gs := &GroupSecrets{JoinerSecret: epoch.JoinerSecret, PathSecret: []byte("path secret")}
		ct, err := EncryptGroupSecrets(g.s, newSeeded(9), kp.InitKey, egi, gs)
		if err != nil {
			t.Fatal(err)
		}
		w := &Welcome{CipherSuite: g.s.ID(), EncryptedGroupInfo: egi, Secrets: []EncryptedGroupSecrets{
			{NewMember: KeyPackageRef("someone else"), EncryptedGroupSecrets: ct},
			{NewMember: ref, EncryptedGroupSecrets: ct},
		}}
		w = reencode(t, NewMLSMessage(w)).Welcome

		// The joiner's side.
		entry, err := w.Find(ref)
		if err != nil {
			t.Fatal(err)
		}
		gotGS, err := DecryptGroupSecrets(g.s, initPriv, w.EncryptedGroupInfo, &entry.EncryptedGroupSecrets)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(gotGS.JoinerSecret, epoch.JoinerSecret) || string(gotGS.PathSecret) != "path secret" {
			t.Fatal("GroupSecrets differ")
		}
		welcomeSecret, err := keyschedule.WelcomeSecret(g.s, gotGS.JoinerSecret, nil)
		if err != nil {
			t.Fatal(err)
		}
		gotGI, err := DecryptGroupInfo(g.s, welcomeSecret, w.EncryptedGroupInfo)
		if err != nil {
			t.Fatal(err)
		}
		if err := gotGI.VerifySignature(g.s, g.signers[2].Public()); err != nil {
			t.Fatal(err)
		}
		if err := gotGI.VerifySignature(g.s, g.signers[1].Public()); !errors.Is(err, ErrSignature) {
			t.Errorf("GroupInfo verified with another key: %v", err)
		}
		if err := VerifyConfirmationTag(g.s, epoch.Confirmation, gotGI.GroupContext.ConfirmedTranscriptHash, gotGI.ConfirmationTag); err != nil {
			t.Fatal(err)
		}
		if ep, ok, err := gotGI.ExternalPub(); err != nil || !ok || string(ep.ExternalPub) != "external key" {
			t.Errorf("ExternalPub() = %v, %v, %v", ep, ok, err)
		}
		if _, ok, err := gotGI.RatchetTree(); ok || err != nil {
			t.Errorf("RatchetTree() = %v, %v", ok, err)
		}

		// Failures.
		if _, err := w.Find(KeyPackageRef("nobody")); !errors.Is(err, ErrNotFound) {
			t.Errorf("Find(unknown): %v", err)
		}
		otherPriv, _, _ := g.s.GenerateKeyPair(newSeeded(10))
		if _, err := DecryptGroupSecrets(g.s, otherPriv, w.EncryptedGroupInfo, &entry.EncryptedGroupSecrets); !errors.Is(err, ErrDecrypt) {
			t.Errorf("GroupSecrets with another key: %v", err)
		}
		// The GroupSecrets are bound to the encrypted GroupInfo.
		if _, err := DecryptGroupSecrets(g.s, initPriv, append(bytes.Clone(egi), 0), &entry.EncryptedGroupSecrets); !errors.Is(err, ErrDecrypt) {
			t.Errorf("GroupSecrets with another encrypted_group_info: %v", err)
		}
		bad := bytes.Clone(w.EncryptedGroupInfo)
		bad[0] ^= 1
		if _, err := DecryptGroupInfo(g.s, welcomeSecret, bad); !errors.Is(err, ErrDecrypt) {
			t.Errorf("flipped GroupInfo bit: %v", err)
		}
		gotGI.Signer = 3
		gotGI.RawTBS = nil
		if err := gotGI.VerifySignature(g.s, g.signers[2].Public()); !errors.Is(err, ErrSignature) {
			t.Errorf("changed signer: %v", err)
		}
		if err := VerifyConfirmationTag(g.s, epoch.Membership, g.gc.ConfirmedTranscriptHash, gi.ConfirmationTag); !errors.Is(err, ErrConfirmationTag) {
			t.Errorf("confirmation tag with another key: %v", err)
		}
	})
}

func TestTranscriptHashes(t *testing.T) {
	g := newTestGroup(t, suite.MLS_256_DHKEMP384_AES256GCM_SHA384_P384)
	ac := g.sign(t, WireFormatPublicMessage, g.content(MemberSender(1), ContentCommit), g.signers[1])
	interim := []byte("interim before")
	confirmed, err := ConfirmedTranscriptHash(g.s, interim, ac)
	if err != nil {
		t.Fatal(err)
	}
	b := wire.NewBuilder(append([]byte(nil), interim...))
	b.AddUint16(uint16(WireFormatPublicMessage))
	ac.Content.MarshalMLS(b)
	b.AddVector(ac.Auth.Signature)
	in, _ := b.Bytes()
	if !bytes.Equal(confirmed, g.s.Hash(in)) {
		t.Fatal("confirmed transcript hash differs")
	}
	next, err := InterimTranscriptHash(g.s, confirmed, ac.Auth.ConfirmationTag)
	if err != nil {
		t.Fatal(err)
	}
	tagVec, _ := InterimTranscriptHashInput(ac.Auth.ConfirmationTag)
	if !bytes.Equal(next, g.s.Hash(append(bytes.Clone(confirmed), tagVec...))) {
		t.Fatal("interim transcript hash differs")
	}
	prop := g.sign(t, WireFormatPublicMessage, g.content(MemberSender(1), ContentProposal), g.signers[1])
	if _, err := ConfirmedTranscriptHash(g.s, interim, prop); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("transcript hash of a proposal: %v", err)
	}
}

func TestExtensionHelpers(t *testing.T) {
	es := ExternalSenders{{SignatureKey: []byte("k"), Credential: treekem.BasicCredential([]byte("ds"))}}
	e1, err := es.Extension()
	if err != nil {
		t.Fatal(err)
	}
	rc := &treekem.RequiredCapabilities{Proposals: []uint16{0xf000}}
	e2, err := rc.Extension()
	if err != nil {
		t.Fatal(err)
	}
	exts := treekem.Extensions{e1, e2}
	gotES, ok, err := ParseExternalSenders(exts)
	if err != nil || !ok || len(gotES) != 1 || string(gotES[0].Credential.Identity) != "ds" {
		t.Errorf("ParseExternalSenders = %v, %v, %v", gotES, ok, err)
	}
	gotRC, err := treekem.RequiredCapabilitiesOf(exts)
	if err != nil || gotRC == nil || len(gotRC.Proposals) != 1 || gotRC.Proposals[0] != 0xf000 {
		t.Errorf("RequiredCapabilitiesOf = %v, %v", gotRC, err)
	}
	if _, ok, err := ParseExternalSenders(nil); ok || err != nil {
		t.Errorf("ParseExternalSenders(nil) = %v, %v", ok, err)
	}
	bad := treekem.Extensions{{Type: treekem.ExtensionExternalSenders, Data: []byte{5}}}
	if _, _, err := ParseExternalSenders(bad); !errors.Is(err, ErrMalformed) {
		t.Errorf("malformed external_senders: %v", err)
	}
}
