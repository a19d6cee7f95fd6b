package mls

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/mlsengine/engine/mls/suite"
)

func TestNewSigner(t *testing.T) {
	for _, id := range suite.IDs() {
		k, err := NewSigner(id)
		if err != nil {
			t.Fatal(err)
		}
		data, err := k.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		back, err := UnmarshalSigningKey(data)
		if err != nil {
			t.Fatalf("%v: %v", id, err)
		}
		if back.Suite() != id || !bytes.Equal(back.Public(), k.Public()) {
			t.Fatalf("%v: the restored key differs", id)
		}
		cs, _ := suite.Lookup(id)
		sig, err := cs.SignWithLabel(back, "test", []byte("m"))
		if err != nil {
			t.Fatal(err)
		}
		if err := cs.VerifyWithLabel(k.Public(), "test", []byte("m"), sig); err != nil {
			t.Fatalf("%v: %v", id, err)
		}
	}
	for _, bad := range [][]byte{nil, {0, 1}, {0xff, 0xff, 1}, {0, 1, 2, 3}} {
		if _, err := UnmarshalSigningKey(bad); err == nil {
			t.Fatalf("%x accepted", bad)
		}
	}
}

// TestZeroConfig: each missing field of Config is named.
func TestZeroConfig(t *testing.T) {
	var cfg Config
	for _, field := range []string{"Config.Suite", "Config.Signer", "Config.Credential"} {
		_, err := NewGroup(cfg, nil)
		if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), field) {
			t.Fatalf("%v: want an error naming %s", err, field)
		}
		switch field {
		case "Config.Suite":
			cfg.Suite = testSuite
		case "Config.Signer":
			k, err := NewSigner(testSuite)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Signer = k
		default:
			cfg.Credential = BasicCredential([]byte("x"))
		}
	}
	if _, err := NewGroup(cfg, nil); err != nil {
		t.Fatal(err)
	}
}

// TestPanicKeepsStack: a panic in Process (here in an application hook)
// is an ErrInternal that keeps its stack for the bug report.
func TestPanicKeepsStack(t *testing.T) {
	w := newWorld(t, 2, nil)
	msg, err := w.groups[0].Propose(NewRemove(0), nil)
	if err != nil {
		t.Fatal(err)
	}
	cf := *w.groups[1].cf
	cf.Policy.Proposal = func(*Proposal) error { panic("boom") }
	w.groups[1].cf = &cf
	_, err = w.groups[1].Process(msg)
	var pe *PanicError
	if !errors.Is(err, ErrInternal) || !errors.As(err, &pe) || pe.Value != "boom" ||
		!bytes.Contains(pe.Stack, []byte("TestPanicKeepsStack")) || !strings.Contains(err.Error(), "TestPanicKeepsStack") {
		t.Fatalf("%v: want a PanicError with the stack", err)
	}
}

func TestJoinConsumesKeyPackage(t *testing.T) {
	w := newWorld(t, 2, nil)
	c := newClient(t, "c")
	kp, priv := c.keyPackage(t)
	pc, err := w.groups[0].Add(kp)
	if err != nil {
		t.Fatal(err)
	}
	w.applyCommit(0, pc)
	info, err := ParseWelcome(pc.Welcome)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := priv.Ref()
	if info.CipherSuite != testSuite || len(info.KeyPackageRefs) != 1 || !bytes.Equal(info.KeyPackageRefs[0], ref) {
		t.Fatalf("ParseWelcome: %+v", info)
	}
	if _, err := Join(c.cfg, pc.Welcome, priv, nil); err != nil {
		t.Fatal(err)
	}
	if priv.InitKey != nil || priv.EncryptionKey != nil {
		t.Fatal("the KeyPackage's private keys survive the Join")
	}
	if _, err := Join(c.cfg, pc.Welcome, priv, nil); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("second Join: %v", err)
	}
	// A last-resort KeyPackage joins two groups.
	lr, lrPriv, err := NewKeyPackage(c.cfg, &KeyPackageOptions{LastResort: true})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		o := newWorld(t, 2, nil)
		pc := o.commit(0, &CommitOptions{Proposals: []*Proposal{mustAdd(t, lr)}})
		if _, err := Join(c.cfg, pc.Welcome, lrPriv, nil); err != nil {
			t.Fatal(err)
		}
	}
}

func mustAdd(t *testing.T, kp []byte) *Proposal {
	t.Helper()
	p, err := NewAdd(kp)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestShortcuts: Add, Remove and Update, Identities and FindIdentity.
func TestShortcuts(t *testing.T) {
	w := newWorld(t, 2, nil)
	c, d := newClient(t, "c"), newClient(t, "d")
	kc, pc0 := c.keyPackage(t)
	kd, pd := d.keyPackage(t)
	pc, err := w.groups[0].Add(kc, kd)
	if err != nil {
		t.Fatal(err)
	}
	w.applyCommit(0, pc)
	for _, j := range []struct {
		c    *client
		priv *KeyPackagePrivate
	}{{c, pc0}, {d, pd}} {
		g, err := Join(j.c.cfg, pc.Welcome, j.priv, nil)
		if err != nil {
			t.Fatal(err)
		}
		w.clients, w.groups = append(w.clients, j.c), append(w.groups, g)
	}
	w.agree()
	var names []string
	for _, m := range w.groups[1].Identities() {
		names = append(names, string(m.Identity))
	}
	if !slices.Equal(names, []string{"member-0", "member-1", "c", "d"}) {
		t.Fatalf("identities %q", names)
	}
	leaves := w.groups[1].FindIdentity([]byte("c"))
	if len(leaves) != 1 || leaves[0] != w.groups[2].LeafIndex() {
		t.Fatalf("FindIdentity: %v", leaves)
	}
	if got := w.groups[1].PublicGroup().FindIdentity([]byte("d")); len(got) != 1 || got[0] != w.groups[3].LeafIndex() {
		t.Fatalf("PublicGroup.FindIdentity: %v", got)
	}
	pc, err = w.groups[2].Remove(leaves[0]+1, w.groups[1].LeafIndex())
	if err != nil {
		t.Fatal(err)
	}
	w.applyCommit(2, pc)
	before := w.groups[0].EpochAuthenticator()
	pc, err = w.groups[0].Update()
	if err != nil {
		t.Fatal(err)
	}
	w.applyCommit(0, pc)
	w.agree()
	if w.groups[0].MemberCount() != 2 || bytes.Equal(before, w.groups[0].EpochAuthenticator()) {
		t.Fatal("shortcuts")
	}
}

// TestWireFormatPerMessage: a commit or proposal chooses its wire format,
// whatever Config.EncryptHandshake says.
func TestWireFormatPerMessage(t *testing.T) {
	w := newWorld(t, 3, nil)
	msg, err := w.groups[1].Propose(NewRemove(2), &ProposeOptions{WireFormat: WireFormatPrivateMessage})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range w.deliver(1, msg) {
		if r.WireFormat != WireFormatPrivateMessage {
			t.Fatalf("proposal sent as %v", r.WireFormat)
		}
	}
	pc, err := w.groups[0].Commit(&CommitOptions{WireFormat: WireFormatPrivateMessage})
	if err != nil {
		t.Fatal(err)
	}
	r, err := w.groups[1].Process(pc.Commit)
	if err != nil || r.WireFormat != WireFormatPrivateMessage {
		t.Fatalf("commit: %v, %v", r, err)
	}
	r.Commit.Discard()
	pc.Discard()
	if _, err := w.groups[0].Commit(&CommitOptions{WireFormat: 9}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("wire format 9: %v", err)
	}
	cf := *w.groups[0].cf
	cf.EncryptHandshake = true
	w.groups[0].cf = &cf
	pub := w.groups[1].PublicGroup()
	pc = w.commit(0, &CommitOptions{WireFormat: WireFormatPublicMessage})
	if _, err := pub.Process(pc.Commit); err != nil {
		t.Fatalf("the commit is not a PublicMessage: %v", err)
	}
}

// TestStorageContract runs the contract of Storage on MemoryStorage and
// FileStorage, then joins, saves and loads through a FileStorage.
func TestStorageContract(t *testing.T) {
	fs, err := NewFileStorage(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for name, st := range map[string]Storage{"memory": NewMemoryStorage(), "file": fs} {
		t.Run(name, func(t *testing.T) {
			if _, err := st.LoadGroup([]byte("g")); !errors.Is(err, ErrNotFound) {
				t.Fatalf("LoadGroup of nothing: %v", err)
			}
			for _, s := range []string{"one", "two"} {
				if err := st.SaveGroup([]byte("g"), []byte(s)); err != nil {
					t.Fatal(err)
				}
				if got, err := st.LoadGroup([]byte("g")); err != nil || string(got) != s {
					t.Fatalf("LoadGroup: %q, %v", got, err)
				}
			}
			if err := st.SaveGroup([]byte("h"), []byte("x")); err != nil {
				t.Fatal(err)
			}
			ids, err := st.GroupIDs()
			if err != nil {
				t.Fatal(err)
			}
			slices.SortFunc(ids, bytes.Compare)
			if len(ids) != 2 || string(ids[0]) != "g" || string(ids[1]) != "h" {
				t.Fatalf("GroupIDs %q", ids)
			}
			for range 2 {
				if err := st.DeleteGroup([]byte("g")); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := st.LoadGroup([]byte("g")); !errors.Is(err, ErrNotFound) {
				t.Fatalf("LoadGroup after DeleteGroup: %v", err)
			}
			if err := st.PutKeyPackage([]byte("r"), []byte("secret")); err != nil {
				t.Fatal(err)
			}
			if got, err := st.TakeKeyPackage([]byte("r")); err != nil || string(got) != "secret" {
				t.Fatalf("TakeKeyPackage: %q, %v", got, err)
			}
			if _, err := st.TakeKeyPackage([]byte("r")); !errors.Is(err, ErrNotFound) {
				t.Fatalf("second TakeKeyPackage: %v", err)
			}
		})
	}
	w := newWorld(t, 2, nil)
	c := newClient(t, "c")
	kp, priv := c.keyPackage(t)
	if err := StoreKeyPackage(fs, priv); err != nil {
		t.Fatal(err)
	}
	pc := w.commit(0, &CommitOptions{Proposals: []*Proposal{mustAdd(t, kp)}})
	g, err := JoinWithStorage(c.cfg, fs, pc.Welcome, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := JoinWithStorage(c.cfg, fs, pc.Welcome, nil); !errors.Is(err, ErrNoKeyPackage) {
		t.Fatalf("second join: %v", err)
	}
	loaded, err := Load(c.cfg, fs, g.GroupID())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(loaded.EpochAuthenticator(), w.groups[0].EpochAuthenticator()) {
		t.Fatal("loaded group differs")
	}
}
