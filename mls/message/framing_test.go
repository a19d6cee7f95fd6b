package message

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/mlsengine/engine/mls/keyschedule"
	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/mls/wire"
	"github.com/mlsengine/engine/treekem"
)

// testGroup is the state of one epoch of a 4-member group, as the group
// state machine would hold it, for framing tests.
type testGroup struct {
	s          *suite.Suite
	signers    []suite.Signer // by leaf
	gc         GroupContext
	gcBytes    []byte
	membership []byte
	encryption []byte
	senderData []byte
	external   suite.Signer // entry 0 of external_senders
}

// seededRand is a deterministic randomness source for tests.
type seededRand struct{ r *rand.ChaCha8 }

func (s seededRand) Read(p []byte) (int, error) { return s.r.Read(p) }

func newSeeded(seed byte) seededRand {
	return seededRand{rand.NewChaCha8([32]byte{seed})}
}

func newTestGroup(tb testing.TB, id suite.ID) *testGroup {
	tb.Helper()
	s, err := suite.Lookup(id)
	if err != nil {
		tb.Fatal(err)
	}
	rnd := newSeeded(byte(id))
	g := &testGroup{s: s}
	for range 5 {
		priv, _, err := s.GenerateSignatureKey(rnd)
		if err != nil {
			tb.Fatal(err)
		}
		signer, err := s.NewSigner(priv)
		if err != nil {
			tb.Fatal(err)
		}
		g.signers = append(g.signers, signer)
	}
	g.external, g.signers = g.signers[4], g.signers[:4]
	secret := func() []byte {
		b := make([]byte, s.HashSize())
		rnd.Read(b)
		return b
	}
	g.membership, g.encryption, g.senderData = secret(), secret(), secret()
	g.gc = GroupContext{
		Version: MLS10, CipherSuite: id, GroupID: []byte("test group"), Epoch: 42,
		TreeHash: secret(), ConfirmedTranscriptHash: secret(),
	}
	if g.gcBytes, err = g.gc.Bytes(); err != nil {
		tb.Fatal(err)
	}
	return g
}

// lookup finds the signature key of a member or of external sender 0.
func (g *testGroup) lookup(fc *FramedContent) ([]byte, error) {
	switch fc.Sender.Type {
	case SenderMember:
		if int(fc.Sender.Leaf) < len(g.signers) {
			return g.signers[fc.Sender.Leaf].Public(), nil
		}
		return nil, errors.New("blank leaf")
	case SenderExternal:
		if fc.Sender.ExternalIndex == 0 {
			return g.external.Public(), nil
		}
		return nil, errors.New("no such external sender")
	}
	return NewMemberSignatureKey(fc)
}

func (g *testGroup) tree(tb testing.TB) *keyschedule.SecretTree {
	tb.Helper()
	t, err := keyschedule.NewSecretTree(g.s, g.encryption, uint32(len(g.signers)), keyschedule.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// context returns the serialized GroupContext with a changed epoch or group.
func (g *testGroup) context(tb testing.TB, groupID []byte, epoch uint64) []byte {
	gc := g.gc
	gc.GroupID, gc.Epoch = groupID, epoch
	b, err := gc.Bytes()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func (g *testGroup) content(sender Sender, ct ContentType) *FramedContent {
	fc := &FramedContent{
		GroupID: g.gc.GroupID, Epoch: g.gc.Epoch, Sender: sender,
		AuthenticatedData: []byte("aad"), ContentType: ct,
	}
	switch ct {
	case ContentApplication:
		fc.ApplicationData = bytes.Repeat([]byte{'m'}, 100)
	case ContentProposal:
		fc.Proposal = &Proposal{Body: &Remove{Removed: 2}}
	case ContentCommit:
		fc.Commit = &Commit{Proposals: []ProposalOrRef{{Proposal: &Proposal{Body: &Remove{Removed: 3}}}}}
	}
	return fc
}

// sign signs content of leaf's signer (or the external signer).
func (g *testGroup) sign(tb testing.TB, wf WireFormat, fc *FramedContent, signer suite.Signer) *AuthenticatedContent {
	tb.Helper()
	ac, err := SignContent(g.s, signer, wf, fc, g.gcBytes)
	if err != nil {
		tb.Fatal(err)
	}
	if fc.ContentType == ContentCommit {
		ac.Auth.ConfirmationTag = ConfirmationTag(g.s, g.membership, []byte("confirmed"))
	}
	return ac
}

// reencode sends m through its encoding, as the network would.
func reencode[T any, PT interface {
	*T
	codec
}](tb testing.TB, m PT) PT {
	tb.Helper()
	enc, err := wire.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	out := PT(new(T))
	if err := wire.Unmarshal(enc, out); err != nil {
		tb.Fatal(err)
	}
	return out
}

func forEachSuite(t *testing.T, f func(t *testing.T, g *testGroup)) {
	for _, id := range suite.IDs() {
		t.Run(fmt.Sprint(uint16(id)), func(t *testing.T) {
			f(t, newTestGroup(t, id))
		})
	}
}

func TestPublicMessageRoundTrip(t *testing.T) {
	forEachSuite(t, func(t *testing.T, g *testGroup) {
		kp := gen{rand.New(rand.NewPCG(1, 1))}.keyPackage()
		kp.LeafNode.SignatureKey = g.signers[3].Public()
		cases := []struct {
			fc     *FramedContent
			signer suite.Signer
		}{
			{g.content(MemberSender(1), ContentProposal), g.signers[1]},
			{g.content(MemberSender(2), ContentCommit), g.signers[2]},
			{g.content(ExternalSenderAt(0), ContentProposal), g.external},
			{&FramedContent{GroupID: g.gc.GroupID, Epoch: g.gc.Epoch, Sender: Sender{Type: SenderNewMemberProposal},
				ContentType: ContentProposal, Proposal: &Proposal{Body: &Add{KeyPackage: kp}}}, g.signers[3]},
			{&FramedContent{GroupID: g.gc.GroupID, Epoch: g.gc.Epoch, Sender: Sender{Type: SenderNewMemberCommit},
				ContentType: ContentCommit, Commit: &Commit{Path: &treekem.UpdatePath{
					LeafNode: treekem.LeafNode{SignatureKey: g.signers[0].Public(), Source: treekem.SourceCommit,
						Credential: treekem.BasicCredential([]byte("joiner"))}}}},
				g.signers[0]},
		}
		for _, c := range cases {
			ac := g.sign(t, WireFormatPublicMessage, c.fc, c.signer)
			pm, err := ProtectPublic(g.s, ac, g.membership, g.gcBytes)
			if err != nil {
				t.Fatalf("%v: %v", c.fc.Sender, err)
			}
			if (c.fc.Sender.Type == SenderMember) != (pm.MembershipTag != nil) {
				t.Fatalf("%v: membership tag %x", c.fc.Sender, pm.MembershipTag)
			}
			m := reencode(t, NewMLSMessage(pm))
			back, err := UnprotectPublic(g.s, m.PublicMessage, g.gcBytes, g.membership, g.lookup)
			if err != nil {
				t.Fatalf("%v: %v", c.fc.Sender, err)
			}
			want, _ := wire.Marshal(ac)
			got, _ := wire.Marshal(back)
			if !bytes.Equal(got, want) {
				t.Fatalf("%v: unprotected content differs", c.fc.Sender)
			}
		}
	})
}

func TestPublicMessageTamper(t *testing.T) {
	forEachSuite(t, func(t *testing.T, g *testGroup) {
		ac := g.sign(t, WireFormatPublicMessage, g.content(MemberSender(1), ContentCommit), g.signers[1])
		good, err := ProtectPublic(g.s, ac, g.membership, g.gcBytes)
		if err != nil {
			t.Fatal(err)
		}
		fresh := func() *PublicMessage { return reencode(t, good) }
		unprotect := func(pm *PublicMessage, gc []byte) error {
			_, err := UnprotectPublic(g.s, pm, gc, g.membership, g.lookup)
			return err
		}
		if err := unprotect(fresh(), g.gcBytes); err != nil {
			t.Fatal(err)
		}
		// retag recomputes the membership tag, as an insider who knows the
		// membership key could.
		retag := func(pm *PublicMessage) *PublicMessage {
			pm.Content.Raw = nil
			tbm, err := authenticatedContentTBM(&pm.Content, &pm.Auth, g.gcBytes)
			if err != nil {
				t.Fatal(err)
			}
			pm.MembershipTag = g.s.MAC(g.membership, tbm)
			return pm
		}

		pm := fresh()
		pm.MembershipTag[0] ^= 1
		if err := unprotect(pm, g.gcBytes); !errors.Is(err, ErrMembershipTag) {
			t.Errorf("flipped membership tag: %v", err)
		}
		// VerifyPublic, for a party without the membership key, checks all
		// but the tag.
		if _, err := VerifyPublic(g.s, pm, g.gcBytes, g.lookup); err != nil {
			t.Errorf("VerifyPublic, flipped membership tag: %v", err)
		}
		pm.Auth.Signature = bytes.Clone(pm.Auth.Signature)
		pm.Auth.Signature[0] ^= 1
		if _, err := VerifyPublic(g.s, pm, g.gcBytes, g.lookup); !errors.Is(err, ErrSignature) {
			t.Errorf("VerifyPublic, flipped signature: %v", err)
		}
		if _, err := VerifyPublic(g.s, fresh(), g.context(t, []byte("other group"), 42), g.lookup); !errors.Is(err, ErrWrongGroup) {
			t.Errorf("VerifyPublic, wrong group: %v", err)
		}
		pm = fresh()
		pm.Content.AuthenticatedData = []byte("other")
		pm.Content.Raw = nil
		if err := unprotect(pm, g.gcBytes); !errors.Is(err, ErrMembershipTag) {
			t.Errorf("changed content: %v", err)
		}
		pm = fresh()
		pm.Auth.Signature[len(pm.Auth.Signature)-1] ^= 1
		if err := unprotect(retag(pm), g.gcBytes); !errors.Is(err, ErrSignature) {
			t.Errorf("flipped signature: %v", err)
		}
		pm = fresh()
		pm.Content.AuthenticatedData = []byte("other")
		if err := unprotect(retag(pm), g.gcBytes); !errors.Is(err, ErrSignature) {
			t.Errorf("changed content with valid tag: %v", err)
		}
		pm = fresh()
		pm.Content.Sender = MemberSender(2) // signed by leaf 1
		if err := unprotect(retag(pm), g.gcBytes); !errors.Is(err, ErrSignature) {
			t.Errorf("wrong sender: %v", err)
		}
		pm = fresh()
		pm.Content.Sender = MemberSender(9)
		if err := unprotect(retag(pm), g.gcBytes); !errors.Is(err, ErrInvalidSender) {
			t.Errorf("blank sender: %v", err)
		}
		var ee *EpochError
		if err := unprotect(fresh(), g.context(t, g.gc.GroupID, 43)); !errors.As(err, &ee) || ee.Got != 42 || ee.Want != 43 {
			t.Errorf("wrong epoch: %v", err)
		}
		if err := unprotect(fresh(), g.context(t, []byte("other group"), 42)); !errors.Is(err, ErrWrongGroup) {
			t.Errorf("wrong group: %v", err)
		}
		// The membership key of another epoch.
		other := bytes.Clone(g.membership)
		other[0] ^= 1
		if _, err := UnprotectPublic(g.s, fresh(), g.gcBytes, other, g.lookup); !errors.Is(err, ErrMembershipTag) {
			t.Errorf("wrong membership key: %v", err)
		}
		// A signature over another GroupContext (same group and epoch).
		gc := g.gc
		gc.TreeHash = []byte("other tree")
		gcOther, _ := gc.Bytes()
		if _, err := UnprotectPublic(g.s, fresh(), gcOther, g.membership, g.lookup); !errors.Is(err, ErrMembershipTag) {
			t.Errorf("other GroupContext: %v", err)
		}

		// Application data is never a PublicMessage (§6).
		app := g.content(MemberSender(1), ContentApplication)
		if _, err := SignContent(g.s, g.signers[1], WireFormatPublicMessage, app, g.gcBytes); !errors.Is(err, ErrApplicationPublic) {
			t.Errorf("SignContent(application, public): %v", err)
		}
		appAC := g.sign(t, WireFormatPrivateMessage, app, g.signers[1])
		appAC.WireFormat = WireFormatPublicMessage
		if _, err := ProtectPublic(g.s, appAC, g.membership, g.gcBytes); !errors.Is(err, ErrApplicationPublic) {
			t.Errorf("ProtectPublic(application): %v", err)
		}
		pm = retag(&PublicMessage{Content: *app, Auth: appAC.Auth})
		if err := unprotect(pm, g.gcBytes); !errors.Is(err, ErrApplicationPublic) {
			t.Errorf("UnprotectPublic(application): %v", err)
		}

		// Sender rules of §6.1.
		ext := g.content(ExternalSenderAt(0), ContentProposal)
		ext.Proposal = &Proposal{Body: &Update{}}
		if _, err := SignContent(g.s, g.external, WireFormatPublicMessage, ext, g.gcBytes); !errors.Is(err, ErrInvalidSender) {
			t.Errorf("external Update: %v", err)
		}
		ext = g.content(ExternalSenderAt(0), ContentCommit)
		if _, err := SignContent(g.s, g.external, WireFormatPublicMessage, ext, g.gcBytes); !errors.Is(err, ErrInvalidSender) {
			t.Errorf("external commit: %v", err)
		}
		nm := g.content(Sender{Type: SenderNewMemberProposal}, ContentProposal)
		if _, err := SignContent(g.s, g.external, WireFormatPublicMessage, nm, g.gcBytes); !errors.Is(err, ErrInvalidSender) {
			t.Errorf("new member Remove: %v", err)
		}
		ext = g.content(ExternalSenderAt(0), ContentProposal)
		if _, err := SignContent(g.s, g.external, WireFormatPrivateMessage, ext, g.gcBytes); !errors.Is(err, ErrInvalidSender) {
			t.Errorf("external PrivateMessage: %v", err)
		}
		// A commit needs its confirmation tag.
		noTag := g.sign(t, WireFormatPublicMessage, g.content(MemberSender(1), ContentCommit), g.signers[1])
		noTag.Auth.ConfirmationTag = nil
		if _, err := ProtectPublic(g.s, noTag, g.membership, g.gcBytes); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("commit without confirmation tag: %v", err)
		}
	})
}

func TestPrivateMessageRoundTrip(t *testing.T) {
	forEachSuite(t, func(t *testing.T, g *testGroup) {
		send, recv := g.tree(t), g.tree(t)
		for i, ct := range []ContentType{ContentApplication, ContentProposal, ContentCommit, ContentApplication} {
			fc := g.content(MemberSender(treekem.LeafIndex(i%4)), ct)
			ac := g.sign(t, WireFormatPrivateMessage, fc, g.signers[i%4])
			pm, err := ProtectPrivate(g.s, ac, send, g.senderData, PadToMultiple(64), nil)
			if err != nil {
				t.Fatal(err)
			}
			m := reencode(t, NewMLSMessage(pm))
			back, err := UnprotectPrivate(g.s, m.PrivateMessage, g.gcBytes, recv, g.senderData, g.lookup)
			if err != nil {
				t.Fatalf("%v: %v", ct, err)
			}
			want, _ := wire.Marshal(ac)
			got, _ := wire.Marshal(back)
			if !bytes.Equal(got, want) {
				t.Fatalf("%v: unprotected content differs", ct)
			}
			// Replaying the message fails: its key is consumed (§9.2).
			if _, err := UnprotectPrivate(g.s, m.PrivateMessage, g.gcBytes, recv, g.senderData, g.lookup); !errors.Is(err, keyschedule.ErrReplay) {
				t.Fatalf("replay: %v", err)
			}
		}
	})
}

func TestPrivateMessagePadding(t *testing.T) {
	g := newTestGroup(t, suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519)
	ac := g.sign(t, WireFormatPrivateMessage, g.content(MemberSender(0), ContentApplication), g.signers[0])
	var lens []int
	for _, p := range []Padding{nil, PadToMultiple(1), PadToMultiple(256), func(int) int { return 1000 }} {
		pm, err := ProtectPrivate(g.s, ac, g.tree(t), g.senderData, p, nil)
		if err != nil {
			t.Fatal(err)
		}
		lens = append(lens, len(pm.Ciphertext))
	}
	tag := 16
	if lens[0] != lens[1] || (lens[2]-tag)%256 != 0 || lens[3] != lens[0]+1000 {
		t.Errorf("ciphertext lengths %v", lens)
	}
	if _, err := ProtectPrivate(g.s, ac, g.tree(t), g.senderData, func(int) int { return -1 }, nil); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("negative padding: %v", err)
	}
}

func TestPrivateMessageTamper(t *testing.T) {
	forEachSuite(t, func(t *testing.T, g *testGroup) {
		send := g.tree(t)
		ac := g.sign(t, WireFormatPrivateMessage, g.content(MemberSender(1), ContentApplication), g.signers[1])
		good, err := ProtectPrivate(g.s, ac, send, g.senderData, nil, newSeeded(1))
		if err != nil {
			t.Fatal(err)
		}
		recv := g.tree(t)
		unprotect := func(pm *PrivateMessage, gc []byte) error {
			_, err := UnprotectPrivate(g.s, pm, gc, recv, g.senderData, g.lookup)
			return err
		}
		fresh := func() *PrivateMessage { return reencode(t, good) }

		pm := fresh()
		pm.Ciphertext[len(pm.Ciphertext)/2] ^= 1
		if err := unprotect(pm, g.gcBytes); !errors.Is(err, ErrDecrypt) {
			t.Errorf("flipped ciphertext bit: %v", err)
		}
		pm = fresh()
		pm.Ciphertext[0] ^= 1 // also changes the sender data key
		if err := unprotect(pm, g.gcBytes); !errors.Is(err, ErrDecrypt) {
			t.Errorf("flipped first ciphertext bit: %v", err)
		}
		pm = fresh()
		pm.EncryptedSenderData[0] ^= 1
		if err := unprotect(pm, g.gcBytes); !errors.Is(err, ErrDecrypt) {
			t.Errorf("flipped sender data bit: %v", err)
		}
		pm = fresh()
		pm.AuthenticatedData = []byte("other")
		if err := unprotect(pm, g.gcBytes); !errors.Is(err, ErrDecrypt) {
			t.Errorf("changed authenticated data: %v", err)
		}
		pm = fresh()
		pm.ContentType = ContentProposal
		if err := unprotect(pm, g.gcBytes); !errors.Is(err, ErrDecrypt) {
			t.Errorf("changed content type: %v", err)
		}
		if err := unprotect(fresh(), g.context(t, g.gc.GroupID, 41)); !errors.Is(err, ErrWrongEpoch) {
			t.Errorf("wrong epoch: %v", err)
		}
		if err := unprotect(fresh(), g.context(t, []byte("x"), 42)); !errors.Is(err, ErrWrongGroup) {
			t.Errorf("wrong group: %v", err)
		}
		wrongSDS := bytes.Clone(g.senderData)
		wrongSDS[0] ^= 1
		if _, err := UnprotectPrivate(g.s, fresh(), g.gcBytes, recv, wrongSDS, g.lookup); !errors.Is(err, ErrDecrypt) {
			t.Errorf("wrong sender data secret: %v", err)
		}
		// The failures above consumed nothing: the genuine message opens.
		if err := unprotect(fresh(), g.gcBytes); err != nil {
			t.Fatalf("genuine message after forgeries: %v", err)
		}

		// A member signing as another: the AEAD opens, the signature does not.
		forged := g.sign(t, WireFormatPrivateMessage, g.content(MemberSender(2), ContentProposal), g.signers[1])
		pm, err = ProtectPrivate(g.s, forged, send, g.senderData, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := unprotect(pm, g.gcBytes); !errors.Is(err, ErrSignature) {
			t.Errorf("signature by another member: %v", err)
		}

		// Non-zero padding and a sender at a blank leaf, sealed by hand.
		sealTree := g.tree(t)
		bigTree, err := keyschedule.NewSecretTree(g.s, g.encryption, 16, keyschedule.Config{})
		if err != nil {
			t.Fatal(err)
		}
		seal := func(leaf treekem.LeafIndex, plaintext []byte) *PrivateMessage {
			pm := &PrivateMessage{GroupID: g.gc.GroupID, Epoch: g.gc.Epoch, ContentType: ContentApplication}
			tree := sealTree
			if uint32(leaf) >= tree.Leaves() {
				tree = bigTree
			}
			if err := sealPrivate(g.s, pm, leaf, plaintext, tree, g.senderData, newSeeded(2)); err != nil {
				t.Fatal(err)
			}
			return pm
		}
		content := &PrivateMessageContent{ContentType: ContentApplication, ApplicationData: []byte("x"), Auth: ac.Auth}
		plain, _ := wire.Marshal(content)
		if err := unprotect(seal(3, append(bytes.Clone(plain), 0, 0, 0, 1)), g.gcBytes); !errors.Is(err, ErrMalformed) {
			t.Errorf("non-zero padding: %v", err)
		}
		if err := unprotect(seal(3, plain[:len(plain)-1]), g.gcBytes); !errors.Is(err, ErrMalformed) {
			t.Errorf("truncated content: %v", err)
		}
		if err := unprotect(seal(9, plain), g.gcBytes); !errors.Is(err, ErrInvalidSender) {
			t.Errorf("sender at a blank leaf: %v", err)
		}
	})
}

func TestProposalRef(t *testing.T) {
	g := newTestGroup(t, suite.MLS_128_DHKEMP256_AES128GCM_SHA256_P256)
	ac := g.sign(t, WireFormatPublicMessage, g.content(MemberSender(1), ContentProposal), g.signers[1])
	pm, err := ProtectPublic(g.s, ac, g.membership, g.gcBytes)
	if err != nil {
		t.Fatal(err)
	}
	back, err := UnprotectPublic(g.s, reencode(t, pm), g.gcBytes, g.membership, g.lookup)
	if err != nil {
		t.Fatal(err)
	}
	r1, err := MakeProposalRef(g.s, ac)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := MakeProposalRef(g.s, back)
	if err != nil {
		t.Fatal(err)
	}
	enc, _ := wire.Marshal(ac)
	if !bytes.Equal(r1, r2) || !bytes.Equal(r1, g.s.RefHash("MLS 1.0 Proposal Reference", enc)) {
		t.Errorf("proposal refs differ: %x %x", r1, r2)
	}
	commit := g.sign(t, WireFormatPublicMessage, g.content(MemberSender(1), ContentCommit), g.signers[1])
	if _, err := MakeProposalRef(g.s, commit); err == nil {
		t.Error("proposal ref of a commit")
	}
}

// TestCustomProposalFraming sends a custom proposal in a PublicMessage and
// a PrivateMessage: the receiver verifies the signature over the exact
// bytes received (FramedContent.Raw) and computes the sender's proposal
// reference.
func TestCustomProposalFraming(t *testing.T) {
	g := newTestGroup(t, suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519)
	send, recv := g.tree(t), g.tree(t)
	for _, wf := range []WireFormat{WireFormatPublicMessage, WireFormatPrivateMessage} {
		fc := g.content(MemberSender(1), ContentProposal)
		fc.Proposal = &Proposal{Body: &CustomProposal{Type: 0xf001, Data: []byte("custom body")}}
		ac := g.sign(t, wf, fc, g.signers[1])
		var body wire.Marshaler
		var err error
		if wf == WireFormatPublicMessage {
			body, err = ProtectPublic(g.s, ac, g.membership, g.gcBytes)
		} else {
			body, err = ProtectPrivate(g.s, ac, send, g.senderData, nil, nil)
		}
		if err != nil {
			t.Fatalf("%v: %v", wf, err)
		}
		enc, err := wire.Marshal(NewMLSMessage(body))
		if err != nil {
			t.Fatal(err)
		}
		var m MLSMessage
		if err := wire.Unmarshal(enc, &m); err != nil {
			t.Fatalf("%v: %v", wf, err)
		}
		var back *AuthenticatedContent
		if wf == WireFormatPublicMessage {
			if raw := m.PublicMessage.Content.Raw; !bytes.Contains(enc, raw) {
				t.Fatalf("FramedContent.Raw %x is not the received bytes", raw)
			}
			back, err = UnprotectPublic(g.s, m.PublicMessage, g.gcBytes, g.membership, g.lookup)
		} else {
			back, err = UnprotectPrivate(g.s, m.PrivateMessage, g.gcBytes, recv, g.senderData, g.lookup)
		}
		if err != nil {
			t.Fatalf("%v: %v", wf, err)
		}
		if c, ok := back.Content.Proposal.Body.(*CustomProposal); !ok || c.Type != 0xf001 || string(c.Data) != "custom body" {
			t.Fatalf("%v: received %#v", wf, back.Content.Proposal.Body)
		}
		want, err := MakeProposalRef(g.s, ac)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := MakeProposalRef(g.s, back); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%v: proposal ref %x (%v), want %x", wf, got, err, want)
		}
	}
}

// TestPrivateMessageBadSignatureKeepsKey checks that a PrivateMessage that
// decrypts under the right key but carries a bad signature does not burn
// its generation: the genuine message of that generation still opens, and
// only then is the key consumed.
func TestPrivateMessageBadSignatureKeepsKey(t *testing.T) {
	forEachSuite(t, func(t *testing.T, g *testGroup) {
		for _, ct := range []ContentType{ContentApplication, ContentProposal, ContentCommit} {
			recv := g.tree(t)
			ac := g.sign(t, WireFormatPrivateMessage, g.content(MemberSender(1), ct), g.signers[1])
			// Two senders in the same state encrypt at the same generation.
			genuine, err := ProtectPrivate(g.s, ac, g.tree(t), g.senderData, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			bad := *ac
			bad.Auth.Signature = bytes.Clone(ac.Auth.Signature)
			bad.Auth.Signature[len(bad.Auth.Signature)/2] ^= 1
			forged, err := ProtectPrivate(g.s, &bad, g.tree(t), g.senderData, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := UnprotectPrivate(g.s, reencode(t, forged), g.gcBytes, recv, g.senderData, g.lookup); !errors.Is(err, ErrSignature) {
				t.Fatalf("%v: bad signature: %v", ct, err)
			}
			if _, err := OpenPrivate(g.s, reencode(t, forged), g.gcBytes, recv, g.senderData, g.lookup); !errors.Is(err, ErrSignature) {
				t.Fatalf("%v: bad signature opened: %v", ct, err)
			}
			// OpenPrivate does not consume the key either; Consume does.
			o, err := OpenPrivate(g.s, reencode(t, genuine), g.gcBytes, recv, g.senderData, g.lookup)
			if err != nil {
				t.Fatalf("%v: genuine message after the forgery: %v", ct, err)
			}
			if o.SenderData.Leaf != 1 || o.SenderData.Generation != 0 {
				t.Fatalf("%v: sender data %+v", ct, o.SenderData)
			}
			back, err := UnprotectPrivate(g.s, reencode(t, genuine), g.gcBytes, recv, g.senderData, g.lookup)
			if err != nil {
				t.Fatalf("%v: genuine message after OpenPrivate: %v", ct, err)
			}
			want, _ := wire.Marshal(ac)
			if got, _ := wire.Marshal(back); !bytes.Equal(got, want) {
				t.Fatalf("%v: unprotected content differs", ct)
			}
			if _, err := UnprotectPrivate(g.s, reencode(t, genuine), g.gcBytes, recv, g.senderData, g.lookup); !errors.Is(err, keyschedule.ErrReplay) {
				t.Fatalf("%v: replay: %v", ct, err)
			}
			if err := o.Consume(); !errors.Is(err, keyschedule.ErrReplay) {
				t.Fatalf("%v: Consume of a consumed key: %v", ct, err)
			}
		}
	})
}
