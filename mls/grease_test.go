package mls

import (
	"errors"
	"slices"
	"testing"

	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/mls/wire"
	"github.com/mlsengine/engine/treekem"
)

// checkRFC10 is an independent check of RFC 9420 §10 and §7.2 on a
// KeyPackage, as a strict peer makes it: every extension of the KeyPackage
// and of its leaf has its type in the leaf's capabilities, unless it is a
// default type, and no default type is listed there.
func checkRFC10(t *testing.T, kp *message.KeyPackage) {
	t.Helper()
	caps := kp.LeafNode.Capabilities.Extensions
	for _, list := range []treekem.Extensions{kp.Extensions, kp.LeafNode.Extensions} {
		for _, e := range list {
			if uint16(e.Type) >= 1 && uint16(e.Type) <= 5 {
				continue // application_id ... external_senders (§7.2)
			}
			if !slices.Contains(caps, e.Type) {
				t.Fatalf("extension 0x%04x not in the capabilities %v (§10)", uint16(e.Type), caps)
			}
		}
	}
	for _, c := range caps {
		if uint16(c) >= 1 && uint16(c) <= 5 {
			t.Fatalf("default extension 0x%04x listed in the capabilities (§7.2)", uint16(c))
		}
	}
}

// TestGREASEKeyPackageCapabilities is the defect a strict peer (OpenMLS)
// refused: with Config.GREASE, the KeyPackage's GREASE extension must be
// in its leaf's capabilities, as must KeyPackageOptions.Extensions.
func TestGREASEKeyPackageCapabilities(t *testing.T) {
	c := newClient(t, "alice")
	c.cfg.GREASE = true
	opts := &KeyPackageOptions{LastResort: true, Extensions: treekem.Extensions{{Type: 0xff01, Data: []byte("x")}}}
	for range 64 { // random GREASE values
		kp, _, err := NewKeyPackage(c.cfg, opts)
		if err != nil {
			t.Fatal(err)
		}
		k, err := ValidateKeyPackage(c.cfg, kp)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(k.Extensions, func(e treekem.Extension) bool { return IsGREASE(uint16(e.Type)) }) {
			t.Fatal("no GREASE extension in the KeyPackage")
		}
		checkRFC10(t, k)
	}

	// Explicit capabilities that lack an extension type are refused, not
	// silently changed; GREASE and last_resort are still added.
	caps := DefaultCapabilities(c.cfg)
	c.cfg.Capabilities = &caps
	_, _, err := NewKeyPackage(c.cfg, opts)
	if !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("extension outside Config.Capabilities: %v, want ErrInvalidArgument", err)
	}
	caps.Extensions = append(caps.Extensions, 0xff01)
	kp, _, err := NewKeyPackage(c.cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ParseKeyPackage(kp)
	if err != nil {
		t.Fatal(err)
	}
	checkRFC10(t, k)
}

// TestKeyPackageUnlistedExtensionAccepted: receivers validate KeyPackages
// per §10.1, which does not ask for KeyPackage extensions to be listed, so
// one from a less careful peer is still added.
func TestKeyPackageUnlistedExtensionAccepted(t *testing.T) {
	w := newWorld(t, 2, nil)
	c := newClient(t, "sloppy")
	kp, priv := c.keyPackage(t)
	k, err := ParseKeyPackage(kp)
	if err != nil {
		t.Fatal(err)
	}
	k.Extensions = append(k.Extensions, treekem.Extension{Type: 0x3a3a, Data: []byte{1}})
	if err := k.Sign(w.groups[0].cf.cs, c.cfg.Signer); err != nil {
		t.Fatal(err)
	}
	kp, err = encodeMLS(k)
	if err != nil {
		t.Fatal(err)
	}
	if priv.KeyPackage, err = wire.Marshal(k); err != nil {
		t.Fatal(err)
	}
	if _, err := ValidateKeyPackage(c.cfg, kp); err != nil {
		t.Fatal(err)
	}
	add, err := NewAdd(kp)
	if err != nil {
		t.Fatal(err)
	}
	pc := w.commit(0, &CommitOptions{Proposals: []*Proposal{add}})
	if _, err := Join(c.cfg, pc.Welcome, priv, nil); err != nil {
		t.Fatal(err)
	}
}
