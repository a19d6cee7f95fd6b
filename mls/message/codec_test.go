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

func TestMessagesVectorsRoundTrip(t *testing.T) {
	for _, f := range loadMessagesVectors(t) {
		v := f.Codec()
		if err := wire.Unmarshal(f.Data, v); err != nil {
			t.Fatalf("case %d %s: %v", f.Case, f.Name, err)
		}
		enc, err := wire.Marshal(v)
		if err != nil {
			t.Fatalf("case %d %s: re-encoding: %v", f.Case, f.Name, err)
		}
		if !bytes.Equal(enc, f.Data) {
			t.Fatalf("case %d %s: re-encoding differs", f.Case, f.Name)
		}
		checkRaw(t, v)
	}
}

// checkRaw checks that the Raw fields kept by decoding equal the fresh
// encodings of the decoded values.
func checkRaw(t *testing.T, v any) {
	t.Helper()
	m, ok := v.(*MLSMessage)
	if !ok {
		if add, ok := v.(*Add); ok {
			checkKeyPackageRaw(t, &add.KeyPackage)
		}
		return
	}
	switch {
	case m.KeyPackage != nil:
		checkKeyPackageRaw(t, m.KeyPackage)
	case m.PublicMessage != nil:
		fresh, err := wire.Marshal(&m.PublicMessage.Content)
		if err != nil || !bytes.Equal(fresh, m.PublicMessage.Content.Raw) {
			t.Fatalf("FramedContent.Raw differs from its encoding (%v)", err)
		}
	case m.GroupInfo != nil:
		raw := m.GroupInfo.RawTBS
		m.GroupInfo.RawTBS = nil
		fresh, err := m.GroupInfo.TBS()
		if err != nil || !bytes.Equal(fresh, raw) {
			t.Fatalf("GroupInfo.RawTBS differs from GroupInfoTBS (%v)", err)
		}
	}
}

func checkKeyPackageRaw(t *testing.T, kp *KeyPackage) {
	t.Helper()
	fresh, err := wire.Marshal(kp)
	if err != nil || !bytes.Equal(fresh, kp.Raw) {
		t.Fatalf("KeyPackage.Raw differs from its encoding (%v)", err)
	}
	tbs, err := kp.TBS()
	if err != nil {
		t.Fatal(err)
	}
	kp2 := *kp
	kp2.Raw = nil
	tbs2, err := kp2.TBS()
	if err != nil || !bytes.Equal(tbs, tbs2) {
		t.Fatalf("KeyPackageTBS from Raw differs from a fresh one (%v)", err)
	}
}

// TestMessagesVectorsNoStrictPrefix checks that no strict prefix of any
// messages.json structure decodes, and that a trailing byte is refused.
func TestMessagesVectorsNoStrictPrefix(t *testing.T) {
	fields := loadMessagesVectors(t)
	if testing.Short() {
		fields = fields[:17*10]
	}
	for _, f := range fields {
		for n := range len(f.Data) {
			if wire.Unmarshal(f.Data[:n], f.Codec()) == nil {
				t.Fatalf("case %d %s: strict prefix of %d/%d bytes decodes", f.Case, f.Name, n, len(f.Data))
			}
		}
		if wire.Unmarshal(append(bytes.Clone(f.Data), 0), f.Codec()) == nil {
			t.Fatalf("case %d %s: trailing byte accepted", f.Case, f.Name)
		}
	}
}

// gen generates random values of every structure.
type gen struct{ r *rand.Rand }

func (g gen) bytes(max int) []byte {
	b := make([]byte, g.r.IntN(max+1))
	for i := range b {
		b[i] = byte(g.r.Uint32())
	}
	return b
}

func (g gen) bool() bool { return g.r.IntN(2) == 1 }

func (g gen) extensions() treekem.Extensions {
	var es treekem.Extensions
	for range g.r.IntN(4) {
		t := treekem.ExtensionType(g.r.Uint32())
		if !es.Has(t) {
			es = append(es, treekem.Extension{Type: t, Data: g.bytes(20)})
		}
	}
	return es
}

func (g gen) credential() treekem.Credential {
	if g.bool() {
		return treekem.BasicCredential(g.bytes(16))
	}
	c := treekem.Credential{Type: treekem.CredentialX509}
	for range g.r.IntN(3) {
		c.Certificates = append(c.Certificates, g.bytes(40))
	}
	return c
}

func (g gen) leafNode(src treekem.LeafNodeSource) treekem.LeafNode {
	l := treekem.LeafNode{
		EncryptionKey: g.bytes(32),
		SignatureKey:  g.bytes(32),
		Credential:    g.credential(),
		Capabilities: treekem.Capabilities{
			Versions:     []treekem.ProtocolVersion{MLS10},
			CipherSuites: []uint16{1, uint16(g.r.Uint32())},
			Extensions:   []treekem.ExtensionType{treekem.ExtensionType(g.r.Uint32())},
			Proposals:    []uint16{uint16(g.r.Uint32())},
			Credentials:  []treekem.CredentialType{treekem.CredentialBasic},
		},
		Source:     src,
		Extensions: g.extensions(),
		Signature:  g.bytes(64),
	}
	switch src {
	case treekem.SourceKeyPackage:
		l.Lifetime = treekem.Lifetime{NotBefore: g.r.Uint64(), NotAfter: g.r.Uint64()}
	case treekem.SourceCommit:
		l.ParentHash = g.bytes(32)
	}
	return l
}

func (g gen) keyPackage() KeyPackage {
	return KeyPackage{
		Version:     MLS10,
		CipherSuite: suite.ID(g.r.Uint32()),
		InitKey:     g.bytes(32),
		LeafNode:    g.leafNode(treekem.SourceKeyPackage),
		Extensions:  g.extensions(),
		Signature:   g.bytes(64),
	}
}

func (g gen) psk() keyschedule.PreSharedKeyID {
	if g.bool() {
		return keyschedule.PreSharedKeyID{Type: keyschedule.PSKTypeExternal, ID: g.bytes(16), Nonce: g.bytes(32)}
	}
	return keyschedule.PreSharedKeyID{
		Type: keyschedule.PSKTypeResumption, Usage: keyschedule.ResumptionPSKUsage(1 + g.r.IntN(3)),
		GroupID: g.bytes(16), Epoch: g.r.Uint64(), Nonce: g.bytes(32),
	}
}

func (g gen) proposal() *Proposal {
	var body ProposalBody
	switch ProposalType(1 + g.r.IntN(8)) {
	case ProposalAdd:
		body = &Add{KeyPackage: g.keyPackage()}
	case ProposalUpdate:
		body = &Update{LeafNode: g.leafNode(treekem.SourceUpdate)}
	case ProposalRemove:
		body = &Remove{Removed: treekem.LeafIndex(g.r.Uint32())}
	case ProposalPSK:
		body = &PreSharedKey{PSK: g.psk()}
	case ProposalReInit:
		body = &ReInit{GroupID: g.bytes(16), Version: ProtocolVersion(g.r.Uint32()),
			CipherSuite: suite.ID(g.r.Uint32()), Extensions: g.extensions()}
	case ProposalExternalInit:
		body = &ExternalInit{KEMOutput: g.bytes(64)}
	case ProposalGroupContextExtensions:
		body = &GroupContextExtensions{Extensions: g.extensions()}
	default:
		// Any type outside RFC 9420, GREASE values included.
		body = &CustomProposal{Type: ProposalType(8 + g.r.IntN(0xfff8)), Data: g.bytes(40)}
	}
	return &Proposal{Body: body}
}

func (g gen) updatePath() *treekem.UpdatePath {
	p := &treekem.UpdatePath{LeafNode: g.leafNode(treekem.SourceCommit)}
	for range g.r.IntN(4) {
		n := treekem.UpdatePathNode{EncryptionKey: g.bytes(32)}
		for range g.r.IntN(3) {
			n.EncryptedPathSecret = append(n.EncryptedPathSecret,
				treekem.HPKECiphertext{KEMOutput: g.bytes(32), Ciphertext: g.bytes(48)})
		}
		p.Nodes = append(p.Nodes, n)
	}
	return p
}

func (g gen) commit() *Commit {
	c := new(Commit)
	for range g.r.IntN(4) {
		if g.bool() {
			c.Proposals = append(c.Proposals, ProposalOrRef{Proposal: g.proposal()})
		} else {
			c.Proposals = append(c.Proposals, ProposalOrRef{Reference: append(g.bytes(32), 0)})
		}
	}
	if g.bool() {
		c.Path = g.updatePath()
	}
	return c
}

func (g gen) sender() Sender {
	switch g.r.IntN(4) {
	case 0:
		return MemberSender(treekem.LeafIndex(g.r.Uint32()))
	case 1:
		return ExternalSenderAt(g.r.Uint32())
	case 2:
		return Sender{Type: SenderNewMemberProposal}
	}
	return Sender{Type: SenderNewMemberCommit}
}

func (g gen) framedContent() FramedContent {
	fc := FramedContent{
		GroupID: g.bytes(16), Epoch: g.r.Uint64(), Sender: g.sender(),
		AuthenticatedData: g.bytes(8), ContentType: ContentType(1 + g.r.IntN(3)),
	}
	switch fc.ContentType {
	case ContentApplication:
		fc.ApplicationData = g.bytes(100)
	case ContentProposal:
		fc.Proposal = g.proposal()
	default:
		fc.Commit = g.commit()
	}
	return fc
}

func (g gen) auth(ct ContentType) FramedContentAuthData {
	a := FramedContentAuthData{Signature: g.bytes(64)}
	if ct == ContentCommit {
		a.ConfirmationTag = g.bytes(32)
	}
	return a
}

func (g gen) groupContext() GroupContext {
	return GroupContext{
		Version: MLS10, CipherSuite: suite.ID(g.r.Uint32()), GroupID: g.bytes(16), Epoch: g.r.Uint64(),
		TreeHash: g.bytes(32), ConfirmedTranscriptHash: g.bytes(32), Extensions: g.extensions(),
	}
}

func (g gen) groupInfo() *GroupInfo {
	return &GroupInfo{
		GroupContext: g.groupContext(), Extensions: g.extensions(), ConfirmationTag: g.bytes(32),
		Signer: treekem.LeafIndex(g.r.Uint32()), Signature: g.bytes(64),
	}
}

func (g gen) groupSecrets() *GroupSecrets {
	gs := &GroupSecrets{JoinerSecret: g.bytes(32)}
	if g.bool() {
		gs.PathSecret = g.bytes(32)
		if gs.PathSecret == nil {
			gs.PathSecret = []byte{}
		}
	}
	for range g.r.IntN(3) {
		gs.PSKs = append(gs.PSKs, g.psk())
	}
	return gs
}

func (g gen) welcome() *Welcome {
	w := &Welcome{CipherSuite: suite.ID(g.r.Uint32()), EncryptedGroupInfo: g.bytes(200)}
	for range g.r.IntN(4) {
		w.Secrets = append(w.Secrets, EncryptedGroupSecrets{
			NewMember:             g.bytes(32),
			EncryptedGroupSecrets: treekem.HPKECiphertext{KEMOutput: g.bytes(32), Ciphertext: g.bytes(64)},
		})
	}
	return w
}

func (g gen) mlsMessage() *MLSMessage {
	switch WireFormat(1 + g.r.IntN(5)) {
	case WireFormatPublicMessage:
		fc := g.framedContent()
		pm := &PublicMessage{Content: fc, Auth: g.auth(fc.ContentType)}
		if fc.Sender.Type == SenderMember {
			pm.MembershipTag = g.bytes(32)
		}
		return NewMLSMessage(pm)
	case WireFormatPrivateMessage:
		return NewMLSMessage(&PrivateMessage{
			GroupID: g.bytes(16), Epoch: g.r.Uint64(), ContentType: ContentType(1 + g.r.IntN(3)),
			AuthenticatedData: g.bytes(8), EncryptedSenderData: g.bytes(28), Ciphertext: g.bytes(100),
		})
	case WireFormatWelcome:
		return NewMLSMessage(g.welcome())
	case WireFormatGroupInfo:
		return NewMLSMessage(g.groupInfo())
	}
	kp := g.keyPackage()
	return NewMLSMessage(&kp)
}

func (g gen) privateMessageContent() *PrivateMessageContent {
	fc := g.framedContent()
	return &PrivateMessageContent{
		ContentType: fc.ContentType, ApplicationData: fc.ApplicationData, Proposal: fc.Proposal,
		Commit: fc.Commit, Auth: g.auth(fc.ContentType), Padding: g.r.IntN(40),
	}
}

// roundTrip encodes v, decodes the encoding into fresh and checks that it
// re-encodes to the same bytes and that no strict prefix decodes.
func roundTrip(t *testing.T, v wire.Marshaler, fresh func() codec, prefixes bool) {
	t.Helper()
	enc, err := wire.Marshal(v)
	if err != nil {
		t.Fatalf("%T: %v", v, err)
	}
	d := fresh()
	if err := wire.Unmarshal(enc, d); err != nil {
		t.Fatalf("%T: %v", v, err)
	}
	re, err := wire.Marshal(d)
	if err != nil || !bytes.Equal(re, enc) {
		t.Fatalf("%T: re-encoding differs (%v)", v, err)
	}
	if !prefixes {
		return
	}
	for n := range len(enc) {
		if wire.Unmarshal(enc[:n], fresh()) == nil {
			t.Fatalf("%T: strict prefix of %d/%d bytes decodes", v, n, len(enc))
		}
	}
}

func TestRandomRoundTrips(t *testing.T) {
	g := gen{rand.New(rand.NewPCG(1, 2))}
	for i := range 300 {
		prefixes := i < 60
		roundTrip(t, g.mlsMessage(), func() codec { return new(MLSMessage) }, prefixes)
		roundTrip(t, g.proposal(), func() codec { return new(Proposal) }, prefixes)
		roundTrip(t, g.commit(), func() codec { return new(Commit) }, prefixes)
		roundTrip(t, g.groupSecrets(), func() codec { return new(GroupSecrets) }, prefixes)
		gc := g.groupContext()
		roundTrip(t, &gc, func() codec { return new(GroupContext) }, prefixes)
		fc := g.framedContent()
		ac := &AuthenticatedContent{WireFormat: WireFormat(1 + g.r.IntN(2)), Content: fc, Auth: g.auth(fc.ContentType)}
		roundTrip(t, ac, func() codec { return new(AuthenticatedContent) }, prefixes)
		es := ExternalSenders{{SignatureKey: g.bytes(32), Credential: g.credential()}}
		roundTrip(t, es, func() codec { return new(ExternalSenders) }, prefixes)
		roundTrip(t, &ExternalPub{ExternalPub: g.bytes(32)}, func() codec { return new(ExternalPub) }, prefixes)
		roundTrip(t, &SenderData{Leaf: 3, Generation: g.r.Uint32(), ReuseGuard: [4]byte{1, 2, 3, 4}},
			func() codec { return new(SenderData) }, prefixes)

		// PrivateMessageContent: its padding runs to the end, so only
		// prefixes that cut into the content and auth fail.
		pmc := g.privateMessageContent()
		enc, err := wire.Marshal(pmc)
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecodePrivateMessageContent(enc, pmc.ContentType)
		if err != nil {
			t.Fatal(err)
		}
		if re, _ := wire.Marshal(back); !bytes.Equal(re, enc) || back.Padding != pmc.Padding {
			t.Fatalf("PrivateMessageContent round trip differs")
		}
	}
}

// TestDecodeRejects checks that invalid enum values, presence bytes and
// versions are refused.
func TestDecodeRejects(t *testing.T) {
	kp := gen{rand.New(rand.NewPCG(5, 6))}.keyPackage()
	kpEnc, err := wire.Marshal(&kp)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		data []byte
		v    wire.Unmarshaler
	}{
		{"reserved proposal type", []byte{0x00, 0x00, 0x00}, new(Proposal)},
		{"custom proposal with a short body", []byte{0xf0, 0x01, 0x05, 'a'}, new(Proposal)},
		{"custom proposal with a trailing byte", []byte{0xf0, 0x01, 0x01, 'a', 'b'}, new(Proposal)},
		{"unknown ProposalOrRef type", []byte{3, 0}, new(ProposalOrRef)},
		{"reserved ProposalOrRef type", []byte{0, 0}, new(ProposalOrRef)},
		{"commit path presence byte 2", []byte{0, 2}, new(Commit)},
		{"unknown sender type", []byte{5}, new(Sender)},
		{"reserved sender type", []byte{0}, new(Sender)},
		{"MLSMessage version 2", []byte{0, 2, 0, 1}, new(MLSMessage)},
		{"MLSMessage wire format 0", []byte{0, 1, 0, 0}, new(MLSMessage)},
		{"MLSMessage wire format 6", []byte{0, 1, 0, 6}, new(MLSMessage)},
		{"KeyPackage version 2", append([]byte{0, 2}, kpEnc[2:]...), new(KeyPackage)},
		{"PrivateMessage content type 4", []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0}, new(PrivateMessage)},
		{"PrivateMessage content type 0", []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, new(PrivateMessage)},
		{"FramedContent content type 0", []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0}, new(FramedContent)},
		{"AuthenticatedContent wire format welcome", []byte{0, 3}, new(AuthenticatedContent)},
		{"GroupSecrets path presence byte 2", []byte{0, 2}, new(GroupSecrets)},
		{"GroupContext version 0", []byte{0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, new(GroupContext)},
		{"non-minimal varint", []byte{0x40, 0x01, 0}, new(ExternalInit)},
		{"duplicate extensions", []byte{8, 0, 9, 1, 0xaa, 0, 9, 1, 0xbb}, new(GroupContextExtensions)},
	} {
		err := wire.Unmarshal(tc.data, tc.v)
		if !errors.Is(err, wire.ErrDecode) {
			t.Errorf("%s: err = %v, want a decode error", tc.name, err)
		}
	}
	// Non-zero padding.
	pmc := &PrivateMessageContent{ContentType: ContentApplication, ApplicationData: []byte("hi"),
		Auth: FramedContentAuthData{Signature: []byte{1}}}
	enc, _ := wire.Marshal(pmc)
	if _, err := DecodePrivateMessageContent(append(enc, 0, 0, 1, 0), ContentApplication); !errors.Is(err, wire.ErrDecode) {
		t.Errorf("non-zero padding: err = %v", err)
	}
	if _, err := DecodePrivateMessageContent(append(enc, 0, 0, 0, 0), ContentApplication); err != nil {
		t.Errorf("zero padding: %v", err)
	}
}

func TestEncodeRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    wire.Marshaler
	}{
		{"proposal without body", &Proposal{}},
		{"proposal content without proposal", &FramedContent{ContentType: ContentProposal}},
		{"commit content without commit", &FramedContent{ContentType: ContentCommit}},
		{"content type 0", &FramedContent{}},
		{"unknown sender type", &Sender{Type: 9}},
		{"MLSMessage without body", &MLSMessage{Version: MLS10, WireFormat: WireFormatWelcome}},
		{"ProposalOrRef with both", &ProposalOrRef{Proposal: &Proposal{Body: &Remove{}}, Reference: []byte{1}}},
		{"negative padding", &PrivateMessageContent{ContentType: ContentApplication, Padding: -1}},
		{"custom proposal of an RFC 9420 type", &Proposal{Body: &CustomProposal{Type: ProposalRemove, Data: []byte{0, 0, 0, 1}}}},
		{"custom proposal of the reserved type", &Proposal{Body: &CustomProposal{}}},
	} {
		if _, err := wire.Marshal(tc.v); !errors.Is(err, wire.ErrEncode) {
			t.Errorf("%s: err = %v, want an encode error", tc.name, err)
		}
	}
}

func TestMLSMessageAccessors(t *testing.T) {
	pm := &PrivateMessage{GroupID: []byte("g"), Epoch: 7, ContentType: ContentCommit}
	m := NewMLSMessage(pm)
	if id, e, ok := m.Epoch(); !ok || string(id) != "g" || e != 7 {
		t.Errorf("Epoch() = %q, %d, %v", id, e, ok)
	}
	if ct, ok := m.ContentType(); !ok || ct != ContentCommit {
		t.Errorf("ContentType() = %v, %v", ct, ok)
	}
	if _, _, ok := NewMLSMessage(&Welcome{}).Epoch(); ok {
		t.Error("Epoch() of a Welcome is ok")
	}
	if NewMLSMessage(&Commit{}) != nil {
		t.Error("NewMLSMessage(Commit) is not nil")
	}
}

// TestCustomProposal checks that a proposal of a type outside RFC 9420,
// an application's or a GREASE value (§13.5), decodes as a CustomProposal
// with an opaque data<V> body, alone and in a Commit, and re-encodes to the
// same bytes.
func TestCustomProposal(t *testing.T) {
	for _, tc := range []struct {
		typ  ProposalType
		data []byte
		enc  []byte
	}{
		{0x0008, []byte{}, []byte{0x00, 0x08, 0x00}},
		{0x0a0a, []byte{1, 2, 3}, []byte{0x0a, 0x0a, 0x03, 1, 2, 3}},
		{0xf001, bytes.Repeat([]byte{'x'}, 64), append([]byte{0xf0, 0x01, 0x40, 0x40}, bytes.Repeat([]byte{'x'}, 64)...)},
	} {
		var p Proposal
		if err := wire.Unmarshal(tc.enc, &p); err != nil {
			t.Fatalf("type %v: %v", tc.typ, err)
		}
		c, ok := p.Body.(*CustomProposal)
		if !ok || c.Type != tc.typ || p.Type() != tc.typ || !bytes.Equal(c.Data, tc.data) {
			t.Fatalf("type %v: decoded %#v", tc.typ, p.Body)
		}
		if re, err := wire.Marshal(&p); err != nil || !bytes.Equal(re, tc.enc) {
			t.Fatalf("type %v: re-encoded %x (%v), want %x", tc.typ, re, err, tc.enc)
		}
		commit := &Commit{Proposals: []ProposalOrRef{{Proposal: &p}, {Proposal: &Proposal{Body: &Remove{Removed: 1}}}}}
		back := reencode(t, commit)
		if c, ok := back.Proposals[0].Proposal.Body.(*CustomProposal); !ok || c.Type != tc.typ || !bytes.Equal(c.Data, tc.data) {
			t.Fatalf("type %v: custom proposal in a commit decoded as %#v", tc.typ, back.Proposals[0].Proposal.Body)
		}
		if r, ok := back.Proposals[1].Proposal.Body.(*Remove); !ok || r.Removed != 1 {
			t.Fatalf("type %v: the proposal after a custom one decoded as %#v", tc.typ, back.Proposals[1].Proposal.Body)
		}
	}
}
