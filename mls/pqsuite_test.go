package mls

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"testing"

	"github.com/mlsengine/engine/mls/suite"
)

// TestPQSuitesLifecycle runs a group of each suite of
// draft-ietf-mls-pq-ciphersuites through its life (see lifecycle).
func TestPQSuitesLifecycle(t *testing.T) {
	for _, id := range suite.IDs() {
		if id < suite.MLS_128_MLKEM768X25519_AES128GCM_SHA256_Ed25519 {
			continue // an RFC 9420 suite
		}
		cs, _ := suite.Lookup(id)
		t.Run(id.String(), func(t *testing.T) {
			t.Parallel()
			lifecycle(t, cs, nil)
		})
	}
}

// TestCustomSuite registers a composition that is not built in under the
// code point its peers use, X-Wing with AES-256-GCM, SHA-512 and Ed25519 at
// 0x0053, and runs a group with it; clients without it in their registry
// cannot join.
func TestCustomSuite(t *testing.T) {
	xwing, err := suite.New(0x0053, "MLS_256_XWING_AES256GCM_SHA512_Ed25519", suite.Composition{
		KEM: suite.MLKEM768X25519, KDF: suite.HKDFSHA512, AEAD: suite.AES256GCM, Hash: crypto.SHA512, Signature: suite.Ed25519,
	})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := suite.Default().With(xwing)
	if err != nil {
		t.Fatal(err)
	}
	w := lifecycle(t, xwing, reg)
	if w.groups[0].CipherSuite() != 0x0053 {
		t.Fatalf("group of suite %v", w.groups[0].CipherSuite())
	}
	leaf, _ := w.groups[0].Member(w.groups[0].LeafIndex())
	if !hasSuite(leaf.Capabilities.CipherSuites, 0x0053) || !hasSuite(leaf.Capabilities.CipherSuites, 0xF10B) {
		t.Errorf("capabilities list %v", leaf.Capabilities.CipherSuites)
	}

	// Without the registry, 0x0053 is unknown.
	other := pqClient(t, "other", xwing, reg)
	other.cfg.Suites = nil
	if _, _, err := NewKeyPackage(other.cfg, nil); !errors.Is(err, ErrUnsupported) || !errors.Is(err, suite.ErrUnsupportedSuite) {
		t.Errorf("NewKeyPackage without the registry: %v", err)
	}
	if _, err := UnmarshalGroup(other.cfg, mustSnapshot(t, w.groups[0])); !errors.Is(err, suite.ErrUnsupportedSuite) {
		t.Errorf("LoadGroup without the registry: %v", err)
	}
}

func hasSuite(list []uint16, id suite.ID) bool {
	for _, v := range list {
		if v == uint16(id) {
			return true
		}
	}
	return false
}

// pqClient is a client of suite cs in registry reg, with an external PSK,
// GREASE, and a policy that admits external joins.
func pqClient(t *testing.T, name string, cs *suite.Suite, reg *suite.Registry) *client {
	t.Helper()
	c := newClientOf(t, name, cs)
	psk := bytes.Repeat([]byte{7}, cs.HashSize())
	c.cfg.Suites = reg
	c.cfg.ExternalPSK = func([]byte) ([]byte, error) { return psk, nil }
	c.cfg.GREASE = true
	c.cfg.Policy.Admit = AdmitAll // d joins by external commit
	return c
}

// lifecycle runs a group of suite cs, with clients whose registry is reg:
// create, add two members by Welcome (one KeyPackage through a Storage),
// commits with a path and an Update proposal, an external PSK,
// application messages both ways, an external join, a remove, and every
// member saved and loaded again, who then go on. Members must agree at
// every epoch.
func lifecycle(t *testing.T, cs *suite.Suite, reg *suite.Registry) *world {
	a, b, c, d := pqClient(t, "a", cs, reg), pqClient(t, "b", cs, reg), pqClient(t, "c", cs, reg), pqClient(t, "d", cs, reg)
	g, err := NewGroup(a.cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, clients: []*client{a}, groups: []*Group{g}}
	w.addMembers(0, b)

	// c joins from a KeyPackage kept in a Storage.
	st := NewMemoryStorage()
	kp, priv := c.keyPackage(t)
	if err := StoreKeyPackage(st, priv); err != nil {
		t.Fatal(err)
	}
	add, err := NewAdd(kp)
	if err != nil {
		t.Fatal(err)
	}
	pc := w.commit(1, &CommitOptions{Proposals: []*Proposal{add}})
	gc, err := JoinWithStorage(c.cfg, st, pc.Welcome, nil)
	if err != nil {
		t.Fatalf("joining: %v", err)
	}
	w.clients, w.groups = append(w.clients, c), append(w.groups, gc)
	w.agree()

	w.commit(2, nil) // a full commit with a path
	w.agree()
	upd, err := w.groups[1].ProposeUpdate(nil)
	if err != nil {
		t.Fatal(err)
	}
	w.deliver(1, upd)
	w.commit(0, nil) // commits the pending Update
	w.agree()

	psk, err := w.groups[2].NewExternalPSK([]byte("psk"))
	if err != nil {
		t.Fatal(err)
	}
	w.commit(2, &CommitOptions{Proposals: []*Proposal{psk}})
	w.agree()
	exchange(t, w)

	gi, err := w.groups[0].GroupInfo(&GroupInfoOptions{RatchetTree: true})
	if err != nil {
		t.Fatal(err)
	}
	gd, commit, err := JoinExternal(d.cfg, gi, nil)
	if err != nil {
		t.Fatalf("external join: %v", err)
	}
	w.deliverCommit(-1, commit)
	w.clients, w.groups = append(w.clients, d), append(w.groups, gd)
	w.agree()

	w.commit(3, &CommitOptions{Proposals: []*Proposal{NewRemove(w.groups[1].LeafIndex())}})
	w.agree()
	if w.groups[1] != nil {
		t.Fatal("removed member still in the group")
	}

	for i, g := range w.groups {
		if g == nil {
			continue
		}
		loaded, err := UnmarshalGroup(w.clients[i].cfg, mustSnapshot(t, g))
		if err != nil {
			t.Fatalf("member %d: loading: %v", i, err)
		}
		w.groups[i] = loaded
	}
	w.agree()
	w.commit(0, nil)
	w.agree()
	exchange(t, w)
	return w
}

// exchange has every member send an application message that every other
// member decrypts.
func exchange(t *testing.T, w *world) {
	t.Helper()
	for i, g := range w.groups {
		if g == nil {
			continue
		}
		text := fmt.Sprintf("hello from %d at epoch %d", i, g.Epoch())
		msg, err := g.Encrypt([]byte(text), nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range w.deliver(i, msg) {
			if string(r.ApplicationData) != text || r.Sender.Leaf != g.LeafIndex() {
				t.Fatalf("received %q from %v, want %q from %v", r.ApplicationData, r.Sender, text, g.LeafIndex())
			}
		}
	}
}
