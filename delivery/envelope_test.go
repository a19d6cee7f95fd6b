package delivery

import (
	"bytes"
	"errors"
	"testing"

	"github.com/mlsengine/engine/delivery/store"
	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/testvectors"
	"github.com/mlsengine/engine/testvectors/vectordir"
)

// TestEnvelopeVectors decodes every MLSMessage of the official messages
// vectors, and checks that no strict prefix and no extension decodes.
func TestEnvelopeVectors(t *testing.T) {
	var vs []testvectors.Messages
	vectordir.Load(t, "messages.json", &vs)
	if len(vs) == 0 {
		t.Fatal("no vectors")
	}
	for i, v := range vs {
		if _, _, err := parseGroupInfo(v.MLSGroupInfo); err != nil {
			t.Fatalf("%d: GroupInfo: %v", i, err)
		}
		for name, data := range map[string][]byte{"proposal": v.PublicMessageProposal, "commit": v.PublicMessageCommit, "private": v.PrivateMessage} {
			_, m, err := parseGroupMessage(name, data, nil)
			// The vectors' messages have their own group ids: a mismatch
			// with nil must be the only complaint.
			if err == nil || !errors.Is(err, ErrMalformed) {
				t.Fatalf("%d: %s posted to another group: %v", i, name, err)
			}
			pm, err := parseMLSMessage(name, data, message.WireFormatPublicMessage, message.WireFormatPrivateMessage)
			if err != nil {
				t.Fatalf("%d: %s: %v", i, name, err)
			}
			g, _, _ := pm.Epoch()
			if _, m, err = parseGroupMessage(name, data, g); err != nil {
				t.Fatalf("%d: %s: %v", i, name, err)
			}
			if !bytes.Equal(m.Data, data) {
				t.Fatalf("%d: %s: stored bytes differ from the posted ones", i, name)
			}
		}
		app, err := parseMLSMessage("application", v.PublicMessageApplication, message.WireFormatPublicMessage)
		if err != nil {
			t.Fatalf("%d: public application message: %v", i, err)
		}
		appGroup, _, _ := app.Epoch()
		if _, _, err := parseGroupMessage("application", v.PublicMessageApplication, appGroup); !errors.Is(err, message.ErrApplicationPublic) {
			t.Fatalf("%d: public application message: %v, want ErrApplicationPublic", i, err)
		}
		if _, _, err := parseKeyPackage(v.MLSKeyPackage, nil); err != nil {
			t.Fatalf("%d: KeyPackage: %v", i, err)
		}
		if _, err := parseWelcome(v.MLSWelcome); err != nil {
			t.Fatalf("%d: Welcome: %v", i, err)
		}
		if i < 20 {
			for name, data := range map[string][]byte{"welcome": v.MLSWelcome, "group_info": v.MLSGroupInfo,
				"key_package": v.MLSKeyPackage, "commit": v.PublicMessageCommit, "private": v.PrivateMessage} {
				checkStrict(t, name, data)
			}
		}
	}
}

// checkStrict checks that no strict prefix of data and no extension of it by
// one byte decodes as an MLSMessage.
func checkStrict(t *testing.T, name string, data []byte) {
	t.Helper()
	all := []message.WireFormat{1, 2, 3, 4, 5}
	for n := range len(data) {
		if _, err := parseMLSMessage(name, data[:n], all...); !errors.Is(err, ErrMalformed) {
			t.Fatalf("%s: prefix of %d of %d bytes: %v, want ErrMalformed", name, n, len(data), err)
		}
	}
	if _, err := parseMLSMessage(name, append(bytes.Clone(data), 0), all...); !errors.Is(err, ErrMalformed) {
		t.Fatalf("%s with a trailing byte: %v, want ErrMalformed", name, err)
	}
}

// TestKeyPackageRefVectors checks the KeyPackageRef the service computes
// against the official welcome vectors, whose Welcome names the KeyPackage
// by reference.
func TestKeyPackageRefVectors(t *testing.T) {
	var vs []testvectors.Welcome
	vectordir.Load(t, "welcome.json", &vs)
	if len(vs) == 0 {
		t.Fatal("no vectors")
	}
	for i, v := range vs {
		cs, ref, err := parseKeyPackage(v.KeyPackage, nil)
		if err != nil || uint16(cs) != v.Suite {
			t.Fatalf("%d: parseKeyPackage = suite %v, %v", i, cs, err)
		}
		m, err := parseMLSMessage("welcome", v.Welcome, message.WireFormatWelcome)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Welcome.Find(ref); err != nil {
			t.Fatalf("%d: the Welcome has no entry for KeyPackageRef %x: %v", i, ref, err)
		}
	}
}

func TestParseGroupMessage(t *testing.T) {
	gid := groupID()
	for _, tt := range []struct {
		name string
		data []byte
		ct   store.ContentType
		wf   uint16
	}{
		{"private application", privateMsg(gid, 7, message.ContentApplication), store.ContentApplication, 2},
		{"private proposal", privateMsg(gid, 7, message.ContentProposal), store.ContentProposal, 2},
		{"private commit", privateMsg(gid, 7, message.ContentCommit), store.ContentCommit, 2},
		{"public commit", publicCommit(gid, 7), store.ContentCommit, 1},
		{"member proposal", publicProposal(gid, 7, message.MemberSender(3)), store.ContentProposal, 1},
		{"external remove", publicProposal(gid, 7, message.ExternalSenderAt(0)), store.ContentProposal, 1},
	} {
		_, m, err := parseGroupMessage("message", tt.data, gid)
		if err != nil || m.Epoch != 7 || m.ContentType != tt.ct || m.WireFormat != tt.wf {
			t.Errorf("%s: %+v, %v", tt.name, m, err)
		}
	}
	bad := map[string][]byte{
		"other group":                privateMsg(groupID(), 7, message.ContentApplication),
		"welcome":                    welcomeMsg(1),
		"group info":                 groupInfoMsg(gid, 1),
		"key package":                keyPackageMsg(1, "x"),
		"new_member_proposal remove": publicProposal(gid, 7, message.Sender{Type: message.SenderNewMemberProposal}),
		"new_member_commit proposal": publicProposal(gid, 7, message.Sender{Type: message.SenderNewMemberCommit}),
		"empty":                      nil,
		"version 2":                  append([]byte{0, 2}, privateMsg(gid, 7, 1)[2:]...),
		"wire format 6":              append([]byte{0, 1, 0, 6}, privateMsg(gid, 7, 1)[4:]...),
	}
	for name, data := range bad {
		if _, _, err := parseGroupMessage("message", data, gid); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
}

func TestParseKeyPackage(t *testing.T) {
	for _, cs := range suite.IDs() {
		data := keyPackageMsg(cs, "alice")
		got, ref, err := parseKeyPackage(data, nil)
		if err != nil || got != cs {
			t.Fatalf("suite %v: %v, %v", cs, got, err)
		}
		m, _ := parseMLSMessage("kp", data, message.WireFormatKeyPackage)
		s, _ := suite.Lookup(cs)
		want := s.RefHash("MLS 1.0 KeyPackage Reference", data[4:])
		if !bytes.Equal(ref, want) || !bytes.Equal(m.KeyPackage.Raw, data[4:]) {
			t.Fatalf("suite %v: ref %x, want %x", cs, ref, want)
		}
	}
	if _, _, err := parseKeyPackage(keyPackageMsg(0x0a0a, "grease"), nil); !errors.Is(err, ErrMalformed) {
		t.Fatalf("unknown suite: %v, want ErrMalformed", err)
	}
	// A composition of Config.Suites, unknown to suite.Default.
	tbd1, _ := suite.Lookup(suite.MLS_128_MLKEM768X25519_AES128GCM_SHA256_Ed25519)
	custom, _ := suite.New(0x0053, "custom", tbd1.Composition())
	reg, _ := suite.Default().With(custom)
	if got, _, err := parseKeyPackage(keyPackageMsg(0x0053, "alice"), reg); err != nil || got != 0x0053 {
		t.Fatalf("custom suite: %v, %v", got, err)
	}
	if _, _, err := parseKeyPackage(keyPackageMsg(0x0053, "alice"), nil); !errors.Is(err, ErrMalformed) {
		t.Fatalf("custom suite without the registry: %v, want ErrMalformed", err)
	}
}
