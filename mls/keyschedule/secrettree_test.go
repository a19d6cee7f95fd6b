package keyschedule

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"testing"

	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/treekem"
)

func testSuite(t testing.TB) *suite.Suite {
	return mustSuite(t, suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519)
}

func newTestTree(t testing.TB, leaves uint32, cfg Config) *SecretTree {
	t.Helper()
	s := testSuite(t)
	tree, err := NewSecretTree(s, filled(s.HashSize(), 0x42), leaves, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

// expectGenError checks that err is a *GenerationError wrapping want.
func expectGenError(t *testing.T, err error, want error, gen uint32) {
	t.Helper()
	var ge *GenerationError
	if !errors.Is(err, want) || !errors.As(err, &ge) || ge.Generation != gen {
		t.Fatalf("err = %v, want %v at generation %d", err, want, gen)
	}
}

func TestSendReceiveOutOfOrder(t *testing.T) {
	sender := newTestTree(t, 8, Config{})
	receiver := newTestTree(t, 8, Config{})
	type kn struct{ key, nonce []byte }
	var sent []kn
	for i := range 6 {
		gen, key, nonce, err := sender.SendKey(5, Application)
		if err != nil || gen != uint32(i) {
			t.Fatalf("SendKey: generation %d, %v; want %d", gen, err, i)
		}
		sent = append(sent, kn{key, nonce})
	}
	for _, gen := range []uint32{4, 0, 2, 5, 1, 3} {
		key, nonce, err := receiver.ReceiveKey(5, Application, gen)
		if err != nil {
			t.Fatalf("ReceiveKey(%d): %v", gen, err)
		}
		if !bytes.Equal(key, sent[gen].key) || !bytes.Equal(nonce, sent[gen].nonce) {
			t.Fatalf("generation %d: receiver and sender keys differ", gen)
		}
	}
	// The handshake ratchet is independent and still at generation 0.
	hk, _, err := receiver.ReceiveKey(5, Handshake, 0)
	if err != nil || bytes.Equal(hk, sent[0].key) {
		t.Fatalf("handshake generation 0: %x, %v", hk, err)
	}
}

func TestReplayRejected(t *testing.T) {
	tree := newTestTree(t, 4, Config{})
	if _, _, err := tree.ReceiveKey(1, Handshake, 0); err != nil {
		t.Fatal(err)
	}
	_, _, err := tree.ReceiveKey(1, Handshake, 0)
	expectGenError(t, err, ErrReplay, 0)

	// A retained generation is deleted once used.
	if _, _, err := tree.ReceiveKey(1, Handshake, 3); err != nil {
		t.Fatal(err)
	}
	if _, _, err := tree.ReceiveKey(1, Handshake, 2); err != nil {
		t.Fatal(err)
	}
	_, _, err = tree.ReceiveKey(1, Handshake, 2)
	expectGenError(t, err, ErrReplay, 2)
	_, _, err = tree.ReceiveKey(1, Handshake, 3)
	expectGenError(t, err, ErrReplay, 3)

	// A key the member used to send cannot be obtained again.
	if _, _, _, err := tree.SendKey(2, Application); err != nil {
		t.Fatal(err)
	}
	_, _, err = tree.ReceiveKey(2, Application, 0)
	expectGenError(t, err, ErrReplay, 0)
}

func TestTooFarAhead(t *testing.T) {
	tree := newTestTree(t, 2, Config{MaxForwardDistance: 10})
	_, _, err := tree.ReceiveKey(0, Application, 11)
	expectGenError(t, err, ErrTooFarAhead, 11)
	_, _, err = tree.ReceiveKey(0, Application, math.MaxUint32)
	expectGenError(t, err, ErrTooFarAhead, math.MaxUint32)
	if _, _, err := tree.ReceiveKey(0, Application, 10); err != nil {
		t.Fatalf("generation 10 at distance 10: %v", err)
	}
	// The distance counts from the next expected generation.
	if _, _, err := tree.ReceiveKey(0, Application, 21); err != nil {
		t.Fatalf("generation 21 after 10: %v", err)
	}
	_, _, err = tree.ReceiveKey(0, Application, 33)
	expectGenError(t, err, ErrTooFarAhead, 33)

	// A negative distance allows no skipping at all.
	strict := newTestTree(t, 2, Config{MaxForwardDistance: -1})
	_, _, err = strict.ReceiveKey(1, Handshake, 1)
	expectGenError(t, err, ErrTooFarAhead, 1)
	if _, _, err := strict.ReceiveKey(1, Handshake, 0); err != nil {
		t.Fatal(err)
	}
}

func TestRetentionWindow(t *testing.T) {
	tree := newTestTree(t, 2, Config{MaxRetainedKeys: 2})
	ref := newTestTree(t, 2, Config{MaxRetainedKeys: 1000})
	if _, _, err := tree.ReceiveKey(0, Application, 3); err != nil { // skips 0, 1, 2; keeps 1, 2
		t.Fatal(err)
	}
	_, _, err := tree.ReceiveKey(0, Application, 0)
	expectGenError(t, err, ErrExpired, 0)
	if _, _, err := tree.ReceiveKey(0, Application, 6); err != nil { // keeps 4, 5; evicts 1, 2
		t.Fatal(err)
	}
	for _, gen := range []uint32{1, 2} {
		_, _, err := tree.ReceiveKey(0, Application, gen)
		expectGenError(t, err, ErrExpired, gen)
	}
	for _, gen := range []uint32{5, 4} {
		key, _, err := tree.ReceiveKey(0, Application, gen)
		if err != nil {
			t.Fatalf("retained generation %d: %v", gen, err)
		}
		want, _, _ := ref.ReceiveKey(0, Application, gen)
		if !bytes.Equal(key, want) {
			t.Fatalf("retained generation %d has the wrong key", gen)
		}
	}
	if n := len(tree.ratchets[0][Application].retained); n != 0 {
		t.Fatalf("%d keys still retained", n)
	}
	// Keeping no keys: every skipped generation is gone.
	none := newTestTree(t, 2, Config{MaxRetainedKeys: -1})
	if _, _, err := none.ReceiveKey(1, Handshake, 2); err != nil {
		t.Fatal(err)
	}
	_, _, err = none.ReceiveKey(1, Handshake, 1)
	expectGenError(t, err, ErrExpired, 1)
}

func TestDeletionSchedule(t *testing.T) {
	tree := newTestTree(t, 4, Config{})
	if _, _, err := tree.ReceiveKey(3, Application, 1); err != nil {
		t.Fatal(err)
	}
	// §9.2 example: the tree secrets D (leaf 3), F and G (the root) are
	// consumed; E and C are kept.
	want := map[treekem.NodeIndex]bool{1: true, 4: true}
	if len(tree.nodes) != len(want) {
		t.Fatalf("stored nodes %v, want %v", keys(tree.nodes), want)
	}
	for x := range tree.nodes {
		if !want[x] {
			t.Fatalf("stored nodes %v, want %v", keys(tree.nodes), want)
		}
	}
	r := &tree.ratchets[3][Application]
	// AR0 and AR1 are consumed, AR2 kept; K0/N0 are retained, K1/N1 not.
	if r.next != 2 || len(r.retained) != 1 || r.retained[0].gen != 0 {
		t.Fatalf("ratchet at %d with %d retained keys", r.next, len(r.retained))
	}
	// HR0 is kept.
	if h := &tree.ratchets[3][Handshake]; h.next != 0 || h.secret == nil {
		t.Fatal("handshake ratchet not at generation 0")
	}
	// A retained key is zeroed when used.
	k0 := r.retained[0].key
	if _, _, err := tree.ReceiveKey(3, Application, 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k0, make([]byte, len(k0))) {
		t.Fatal("used key not zeroed")
	}
}

func keys(m map[treekem.NodeIndex][]byte) []treekem.NodeIndex {
	var ks []treekem.NodeIndex
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func TestUseReceiveKeyFailureLeavesState(t *testing.T) {
	tree := newTestTree(t, 8, Config{MaxRetainedKeys: 3})
	if _, _, err := tree.ReceiveKey(6, Application, 2); err != nil {
		t.Fatal(err)
	}
	before := tree.State()
	errForged := errors.New("forged")
	for _, gen := range []uint32{1, 9, 50} {
		var seen []byte
		err := tree.UseReceiveKey(6, Application, gen, func(key, nonce []byte) error {
			seen = key
			return errForged
		})
		if err != errForged {
			t.Fatalf("generation %d: err = %v, want the callback's error", gen, err)
		}
		if !bytes.Equal(seen, make([]byte, len(seen))) {
			t.Fatalf("generation %d: key not zeroed after use", gen)
		}
		if !reflect.DeepEqual(before, tree.State()) {
			t.Fatalf("generation %d: failed use changed the tree", gen)
		}
	}
	// The genuine message still opens.
	var got []byte
	err := tree.UseReceiveKey(6, Application, 9, func(key, nonce []byte) error {
		got = append([]byte(nil), key...)
		return nil
	})
	if err != nil || len(got) == 0 {
		t.Fatalf("genuine generation 9: %v", err)
	}
	_, _, err = tree.ReceiveKey(6, Application, 9)
	expectGenError(t, err, ErrReplay, 9)
}

func TestLeafRange(t *testing.T) {
	tree := newTestTree(t, 5, Config{})
	if _, _, err := tree.ReceiveKey(5, Application, 0); !errors.Is(err, ErrLeafOutOfRange) {
		t.Errorf("leaf 5 of 5: err = %v", err)
	}
	if _, _, _, err := tree.SendKey(math.MaxUint32, Handshake); !errors.Is(err, ErrLeafOutOfRange) {
		t.Errorf("leaf 2^32-1: err = %v", err)
	}
	if _, _, err := tree.ReceiveKey(0, Kind(2), 0); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("kind 2: err = %v", err)
	}
	s := testSuite(t)
	for _, n := range []uint32{0, MaxLeaves + 1} {
		if _, err := NewSecretTree(s, filled(32, 1), n, Config{}); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%d leaves: err = %v", n, err)
		}
	}
}

// A tree whose leaf count is not a power of two has the shape of the next
// power of two (RFC 9420 Appendix C), so it gives the same keys.
func TestNonPowerOfTwo(t *testing.T) {
	five := newTestTree(t, 5, Config{})
	eight := newTestTree(t, 8, Config{})
	for leaf := range treekem.LeafIndex(5) {
		a, _, err := five.ReceiveKey(leaf, Handshake, 1)
		if err != nil {
			t.Fatal(err)
		}
		b, _, _ := eight.ReceiveKey(leaf, Handshake, 1)
		if !bytes.Equal(a, b) {
			t.Fatalf("leaf %d differs", leaf)
		}
	}
	// Nothing is kept for the leafless right edge (nodes 10..14).
	for x := range five.nodes {
		if x >= 10 {
			t.Errorf("secret stored for node %d beyond the last leaf", x)
		}
	}
}

func TestMillionLeaves(t *testing.T) {
	const n = 1_000_000
	tree := newTestTree(t, n, Config{})
	if _, _, err := tree.ReceiveKey(n-1, Application, 0); err != nil {
		t.Fatal(err)
	}
	// Only the co-path of the derived leaf is stored: at most one secret
	// per level (fewer on the leafless right edge).
	depth := int(tree.root.Level())
	if len(tree.nodes) > depth || len(tree.ratchets) != 1 {
		t.Fatalf("%d node secrets and %d ratchets stored for depth %d", len(tree.nodes), len(tree.ratchets), depth)
	}
	if _, _, err := tree.ReceiveKey(0, Application, 0); err != nil {
		t.Fatal(err)
	}
	if len(tree.nodes) > 2*depth {
		t.Fatalf("%d node secrets stored for 2 leaves", len(tree.nodes))
	}
	st := tree.State()
	if _, err := RestoreSecretTree(testSuite(t), st, Config{}); err != nil {
		t.Fatalf("restore: %v", err)
	}
}

func TestStateRoundTrip(t *testing.T) {
	s := testSuite(t)
	tree := newTestTree(t, 6, Config{})
	for _, op := range []struct {
		leaf treekem.LeafIndex
		kind Kind
		gen  uint32
	}{{0, Application, 3}, {4, Handshake, 0}, {5, Application, 1}, {0, Application, 1}} {
		if _, _, err := tree.ReceiveKey(op.leaf, op.kind, op.gen); err != nil {
			t.Fatal(err)
		}
	}
	st := tree.State()
	restored, err := RestoreSecretTree(s, st, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(restored.State(), st) {
		t.Fatal("restored state differs")
	}
	for _, op := range []struct {
		leaf treekem.LeafIndex
		kind Kind
		gen  uint32
	}{{0, Application, 2}, {0, Application, 4}, {3, Handshake, 7}, {5, Application, 0}} {
		a, _, err1 := tree.ReceiveKey(op.leaf, op.kind, op.gen)
		b, _, err2 := restored.ReceiveKey(op.leaf, op.kind, op.gen)
		if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
			t.Fatalf("%+v: %v, %v, equal=%v", op, err1, err2, bytes.Equal(a, b))
		}
	}
	_, _, err = restored.ReceiveKey(0, Application, 1)
	expectGenError(t, err, ErrReplay, 1)

	// Restoring with a smaller window drops the oldest retained keys.
	small, err := RestoreSecretTree(s, st, Config{MaxRetainedKeys: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = small.ReceiveKey(0, Application, 0)
	expectGenError(t, err, ErrExpired, 0)
	if _, _, err := small.ReceiveKey(0, Application, 2); err != nil {
		t.Fatal(err)
	}
}

func TestRestoreRejects(t *testing.T) {
	s := testSuite(t)
	tree := newTestTree(t, 4, Config{})
	if _, _, err := tree.ReceiveKey(1, Application, 2); err != nil {
		t.Fatal(err)
	}
	good := tree.State()
	// good: nodes 0 (leaf 0) and 5 (leaves 2, 3); ratchets of leaf 1.
	for name, mutate := range map[string]func(st *SecretTreeState){
		"no leaves":          func(st *SecretTreeState) { st.Leaves = 0 },
		"short node secret":  func(st *SecretTreeState) { st.Nodes[0].Secret = st.Nodes[0].Secret[1:] },
		"node outside":       func(st *SecretTreeState) { st.Nodes[1].Node = 9 },
		"node order":         func(st *SecretTreeState) { st.Nodes[0], st.Nodes[1] = st.Nodes[1], st.Nodes[0] },
		"missing coverage":   func(st *SecretTreeState) { st.Nodes = st.Nodes[:1] },
		"node under node":    func(st *SecretTreeState) { st.Nodes = append(st.Nodes, NodeSecret{6, filled(32, 1)}) },
		"ratchet under node": func(st *SecretTreeState) { st.Nodes[0].Node = 1 },
		"one ratchet":        func(st *SecretTreeState) { st.Ratchets = st.Ratchets[1:] },
		"ratchet order":      func(st *SecretTreeState) { st.Ratchets[0], st.Ratchets[1] = st.Ratchets[1], st.Ratchets[0] },
		"ratchet leaf":       func(st *SecretTreeState) { st.Ratchets[0].Leaf, st.Ratchets[1].Leaf = 4, 4 },
		"ratchet kind":       func(st *SecretTreeState) { st.Ratchets[1].Kind = 2 },
		"ratchet secret":     func(st *SecretTreeState) { st.Ratchets[1].Secret = nil },
		"floor":              func(st *SecretTreeState) { st.Ratchets[1].Floor = 9 },
		"retained ahead":     func(st *SecretTreeState) { st.Ratchets[1].Retained[0].Generation = 3 },
		"retained order":     func(st *SecretTreeState) { st.Ratchets[1].Retained[1].Generation = 0 },
		"retained key":       func(st *SecretTreeState) { st.Ratchets[1].Retained[0].Key = nil },
	} {
		st := tree.State()
		mutate(st)
		if _, err := RestoreSecretTree(s, st, Config{}); !errors.Is(err, ErrInvalidState) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if _, err := RestoreSecretTree(s, good, Config{}); err != nil {
		t.Fatalf("unmodified state: %v", err)
	}
}

func TestExhaustion(t *testing.T) {
	s := testSuite(t)
	st := &SecretTreeState{Leaves: 1, Ratchets: []RatchetState{
		{Leaf: 0, Kind: Handshake, Next: math.MaxUint32 - 1, Secret: filled(32, 1)},
		{Leaf: 0, Kind: Application, Next: math.MaxUint32 - 2, Secret: filled(32, 2)},
	}}
	tree, err := RestoreSecretTree(s, st, Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []uint32{math.MaxUint32 - 1, math.MaxUint32} {
		gen, _, _, err := tree.SendKey(0, Handshake)
		if err != nil || gen != want {
			t.Fatalf("SendKey: %d, %v; want %d", gen, err, want)
		}
	}
	_, _, _, err = tree.SendKey(0, Handshake)
	expectGenError(t, err, ErrExhausted, math.MaxUint32)
	_, _, err = tree.ReceiveKey(0, Handshake, math.MaxUint32)
	expectGenError(t, err, ErrReplay, math.MaxUint32)

	// Receiving the last generation exhausts the ratchet but keeps the
	// skipped ones.
	if _, _, err := tree.ReceiveKey(0, Application, math.MaxUint32); err != nil {
		t.Fatal(err)
	}
	if _, _, err := tree.ReceiveKey(0, Application, math.MaxUint32-1); err != nil {
		t.Fatal(err)
	}
	_, _, err = tree.ReceiveKey(0, Application, math.MaxUint32)
	expectGenError(t, err, ErrReplay, math.MaxUint32)
	// The exhausted state survives a snapshot.
	if _, err := RestoreSecretTree(s, tree.State(), Config{}); err != nil {
		t.Fatal(err)
	}
}

func TestSecretTreeWipe(t *testing.T) {
	tree := newTestTree(t, 4, Config{})
	if _, _, err := tree.ReceiveKey(1, Application, 3); err != nil {
		t.Fatal(err)
	}
	secret := tree.ratchets[1][Application].secret
	tree.Wipe()
	if !bytes.Equal(secret, make([]byte, len(secret))) || len(tree.nodes) != 0 || len(tree.ratchets) != 0 {
		t.Fatal("Wipe left secrets behind")
	}
	if _, _, err := tree.ReceiveKey(2, Application, 0); !errors.Is(err, ErrInvalidState) {
		t.Fatalf("use after Wipe: err = %v", err)
	}
}

func TestSenderDataSample(t *testing.T) {
	s := testSuite(t)
	secret := filled(s.HashSize(), 3)
	ct := filled(100, 9)
	k1, n1, err := SenderDataKeyNonce(s, secret, ct[:s.HashSize()])
	if err != nil {
		t.Fatal(err)
	}
	k2, n2, _ := SenderDataKeyNonce(s, secret, ct)
	if !bytes.Equal(k1, k2) || !bytes.Equal(n1, n2) {
		t.Error("bytes beyond KDF.Nh change the sender data key")
	}
	k3, _, err := SenderDataKeyNonce(s, secret, ct[:5])
	if err != nil || bytes.Equal(k3, k1) || len(k3) != s.AEADKeySize() {
		t.Errorf("short ciphertext: %x, %v", k3, err)
	}
}

func TestClone(t *testing.T) {
	tree := newTestTree(t, 8, Config{})
	if _, _, err := tree.ReceiveKey(2, Application, 3); err != nil {
		t.Fatal(err)
	}
	c := tree.Clone()
	if !reflect.DeepEqual(c.State(), tree.State()) {
		t.Fatal("clone differs")
	}
	// Consuming in the clone leaves the original untouched, and vice versa.
	k1, _, err := c.ReceiveKey(2, Application, 1)
	if err != nil {
		t.Fatal(err)
	}
	k2, _, err := tree.ReceiveKey(2, Application, 1)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("original after clone use: %v", err)
	}
	if _, _, _, err := c.SendKey(7, Handshake); err != nil {
		t.Fatal(err)
	}
	if _, _, err := tree.ReceiveKey(7, Handshake, 0); err != nil {
		t.Fatal(err)
	}
	c.Wipe()
	if _, _, err := tree.ReceiveKey(2, Application, 0); err != nil {
		t.Fatalf("original after wiping the clone: %v", err)
	}
}
