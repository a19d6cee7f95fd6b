package message

import (
	"bytes"
	"testing"

	"github.com/mlsengine/engine/mls/keyschedule"
	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/mls/wire"
)

// Fuzz targets, one per top-level decoder, seeded from messages.json. Each
// checks that decoding never panics and that whatever decodes re-encodes
// to the input (the encoding is canonical).

// seeds returns the messages.json fields with the given names, each
// transformed by f (nil to skip a field).
func seeds(f *testing.F, transform func(name string, data []byte) []byte) {
	for _, v := range loadMessagesVectors(f) {
		if s := transform(v.Name, v.Data); s != nil {
			f.Add(s)
		}
	}
}

// checkCanonical fails unless v re-encodes to data.
func checkCanonical(t *testing.T, v wire.Marshaler, data []byte) {
	t.Helper()
	enc, err := wire.Marshal(v)
	if err != nil {
		t.Fatalf("decoded %T does not encode: %v", v, err)
	}
	if !bytes.Equal(enc, data) {
		t.Fatalf("decoded %T re-encodes differently:\n in  %x\n out %x", v, data, enc)
	}
}

// fuzzCodec runs the canonical round trip for a decoder.
func fuzzCodec(f *testing.F, fresh func() codec, extra func(t *testing.T, v codec)) {
	f.Fuzz(func(t *testing.T, data []byte) {
		v := fresh()
		if wire.Unmarshal(data, v) != nil {
			return
		}
		checkCanonical(t, v, data)
		if extra != nil {
			extra(t, v)
		}
	})
}

// mlsBody strips the version and wire format of an MLSMessage of format wf.
func mlsBody(wf WireFormat) func(string, []byte) []byte {
	return func(_ string, data []byte) []byte {
		if len(data) < 4 || WireFormat(uint16(data[2])<<8|uint16(data[3])) != wf {
			return nil
		}
		return data[4:]
	}
}

// fuzzEnv is a fixed epoch against which fuzzed messages are unprotected,
// so that the framing code also sees arbitrary input.
type fuzzEnv struct {
	s          *suite.Suite
	gc         []byte
	secret     []byte
	signerPub  []byte
	membership []byte
}

func newFuzzEnv(tb testing.TB) *fuzzEnv {
	s, err := suite.Lookup(suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519)
	if err != nil {
		tb.Fatal(err)
	}
	_, pub, err := s.GenerateSignatureKey(newSeeded(1))
	if err != nil {
		tb.Fatal(err)
	}
	gc, err := (&GroupContext{Version: MLS10, CipherSuite: s.ID(), GroupID: []byte("g")}).Bytes()
	if err != nil {
		tb.Fatal(err)
	}
	return &fuzzEnv{s: s, gc: gc, secret: make([]byte, 32), signerPub: pub, membership: make([]byte, 32)}
}

func (e *fuzzEnv) unprotect(t *testing.T, m *MLSMessage) {
	lookup := func(fc *FramedContent) ([]byte, error) {
		if fc.Sender.Type == SenderNewMemberCommit || fc.Sender.Type == SenderNewMemberProposal {
			return NewMemberSignatureKey(fc)
		}
		return e.signerPub, nil
	}
	switch {
	case m.PublicMessage != nil:
		if _, err := UnprotectPublic(e.s, m.PublicMessage, e.gc, e.membership, lookup); err == nil {
			t.Fatal("fuzzed PublicMessage verified")
		}
	case m.PrivateMessage != nil:
		tree, err := keyschedule.NewSecretTree(e.s, e.secret, 4, keyschedule.Config{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := UnprotectPrivate(e.s, m.PrivateMessage, e.gc, tree, e.secret, lookup); err == nil {
			t.Fatal("fuzzed PrivateMessage verified")
		}
	}
}

func FuzzMLSMessage(f *testing.F) {
	seeds(f, func(name string, data []byte) []byte {
		if name == "ratchet_tree" || name == "group_secrets" || name == "commit" || len(name) > 9 && name[len(name)-9:] == "_proposal" {
			return nil
		}
		return data
	})
	env := newFuzzEnv(f)
	fuzzCodec(f, func() codec { return new(MLSMessage) }, func(t *testing.T, v codec) {
		m := v.(*MLSMessage)
		if m.KeyPackage != nil {
			m.KeyPackage.Verify(env.s)
		}
		m.Epoch()
		env.unprotect(t, m)
	})
}

func FuzzKeyPackage(f *testing.F) {
	seeds(f, mlsBody(WireFormatKeyPackage))
	seeds(f, func(name string, data []byte) []byte {
		if name == "add_proposal" {
			return data
		}
		return nil
	})
	s, _ := suite.Lookup(suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519)
	fuzzCodec(f, func() codec { return new(KeyPackage) }, func(t *testing.T, v codec) {
		kp := v.(*KeyPackage)
		tbs, err := kp.TBS()
		if err != nil {
			t.Fatal(err)
		}
		kp2 := *kp
		kp2.Raw = nil
		if tbs2, _ := kp2.TBS(); !bytes.Equal(tbs, tbs2) {
			t.Fatal("KeyPackageTBS from Raw differs")
		}
		kp.Verify(s)
	})
}

func FuzzWelcome(f *testing.F) {
	seeds(f, mlsBody(WireFormatWelcome))
	fuzzCodec(f, func() codec { return new(Welcome) }, nil)
}

func FuzzGroupInfo(f *testing.F) {
	seeds(f, mlsBody(WireFormatGroupInfo))
	s, _ := suite.Lookup(suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519)
	fuzzCodec(f, func() codec { return new(GroupInfo) }, func(t *testing.T, v codec) {
		gi := v.(*GroupInfo)
		gi.VerifySignature(s, make([]byte, 32))
		gi.ExternalPub()
		gi.RatchetTree()
	})
}

func FuzzGroupSecrets(f *testing.F) {
	seeds(f, func(name string, data []byte) []byte {
		if name == "group_secrets" {
			return data
		}
		return nil
	})
	fuzzCodec(f, func() codec { return new(GroupSecrets) }, nil)
}

// proposalTypes maps the proposal fields of messages.json to their types.
var proposalTypes = map[string]ProposalType{
	"add_proposal": ProposalAdd, "update_proposal": ProposalUpdate, "remove_proposal": ProposalRemove,
	"pre_shared_key_proposal": ProposalPSK, "re_init_proposal": ProposalReInit,
	"external_init_proposal": ProposalExternalInit, "group_context_extensions_proposal": ProposalGroupContextExtensions,
}

func FuzzProposal(f *testing.F) {
	seeds(f, func(name string, data []byte) []byte {
		t, ok := proposalTypes[name]
		if !ok {
			return nil
		}
		return append([]byte{byte(t >> 8), byte(t)}, data...)
	})
	// Custom proposals (an application's type, a GREASE value): opaque
	// data<V> bodies.
	f.Add([]byte{0xf0, 0x01, 0x03, 'a', 'b', 'c'})
	f.Add([]byte{0x0a, 0x0a, 0x00})
	fuzzCodec(f, func() codec { return new(Proposal) }, nil)
}

func FuzzCommit(f *testing.F) {
	seeds(f, func(name string, data []byte) []byte {
		if name == "commit" {
			return data
		}
		return nil
	})
	// A custom proposal by value, then a reference, and no path.
	f.Add([]byte{0x0b, 1, 0xf0, 0x01, 0x02, 'h', 'i', 2, 0x03, 1, 2, 3, 0})
	fuzzCodec(f, func() codec { return new(Commit) }, nil)
}

func FuzzAuthenticatedContent(f *testing.F) {
	// An AuthenticatedContent is a wire format followed by a PublicMessage
	// without its membership tag.
	seeds(f, func(name string, data []byte) []byte {
		var m MLSMessage
		if wire.Unmarshal(data, &m) != nil || m.PublicMessage == nil {
			return nil
		}
		ac := &AuthenticatedContent{WireFormat: WireFormatPublicMessage, Content: m.PublicMessage.Content, Auth: m.PublicMessage.Auth}
		enc, _ := wire.Marshal(ac)
		return enc
	})
	fuzzCodec(f, func() codec { return new(AuthenticatedContent) }, func(t *testing.T, v codec) {
		ac := v.(*AuthenticatedContent)
		raw, err := ac.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		fresh, _ := wire.Marshal(ac)
		if !bytes.Equal(raw, fresh) {
			t.Fatal("AuthenticatedContent over Raw differs")
		}
	})
}

func FuzzPrivateMessageContent(f *testing.F) {
	// The first byte is the content type; the rest the plaintext.
	seeds(f, func(name string, data []byte) []byte {
		var m MLSMessage
		if wire.Unmarshal(data, &m) != nil || m.PublicMessage == nil {
			return nil
		}
		fc := &m.PublicMessage.Content
		pmc := &PrivateMessageContent{ContentType: fc.ContentType, ApplicationData: fc.ApplicationData,
			Proposal: fc.Proposal, Commit: fc.Commit, Auth: m.PublicMessage.Auth, Padding: 7}
		enc, _ := wire.Marshal(pmc)
		return append([]byte{byte(fc.ContentType)}, enc...)
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		c, err := DecodePrivateMessageContent(data[1:], ContentType(data[0]))
		if err != nil {
			return
		}
		checkCanonical(t, c, data[1:])
	})
}
