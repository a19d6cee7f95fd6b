package mls

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/mls/wire"
)

func encryptN(t *testing.T, g *Group, n int) [][]byte {
	t.Helper()
	var out [][]byte
	for i := range n {
		m, err := g.Encrypt([]byte(fmt.Sprint("message ", i)), nil)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func expectData(t *testing.T, g *Group, msg []byte, want string) {
	t.Helper()
	r, err := g.Process(msg)
	if err != nil {
		t.Fatalf("processing %q: %v", want, err)
	}
	if string(r.ApplicationData) != want {
		t.Fatalf("got %q, want %q", r.ApplicationData, want)
	}
}

func TestOutOfOrderWithinWindow(t *testing.T) {
	w := newWorld(t, 3, func(c *Config) { c.MaxRetainedKeys = 10; c.MaxForwardDistance = 20 })
	msgs := encryptN(t, w.groups[0], 12)
	rnd := rand.New(rand.NewPCG(1, 2))
	// Deliver messages 2..11 in a random order, then 0 and 1, which fall
	// out of the 10 retained keys once 11 is received... except those
	// within the window.
	order := rnd.Perm(10)
	for _, k := range order {
		expectData(t, w.groups[1], msgs[k+2], fmt.Sprint("message ", k+2))
	}
	// Generations 0 and 1 were skipped when 11 arrived and retained (the
	// window keeps the 10 most recent skipped keys: 0..9 before any of
	// them is used).
	expectData(t, w.groups[1], msgs[1], "message 1")
	expectData(t, w.groups[1], msgs[0], "message 0")
	// A replay of any of them is rejected, and changes nothing.
	for _, k := range []int{0, 5, 11} {
		expectUnchanged(t, w.groups[1], ErrReplay, func() error { _, err := w.groups[1].Process(msgs[k]); return err })
	}
}

func TestRetainedWindowDropsOldest(t *testing.T) {
	w := newWorld(t, 2, func(c *Config) { c.MaxRetainedKeys = 3 })
	msgs := encryptN(t, w.groups[0], 8)
	expectData(t, w.groups[1], msgs[7], "message 7") // skips 0..6, keeps 4..6
	expectData(t, w.groups[1], msgs[5], "message 5")
	expectUnchanged(t, w.groups[1], ErrReplay, func() error { _, err := w.groups[1].Process(msgs[2]); return err })
}

func TestBeyondForwardWindow(t *testing.T) {
	w := newWorld(t, 2, func(c *Config) { c.MaxForwardDistance = 2 })
	msgs := encryptN(t, w.groups[0], 8)
	expectData(t, w.groups[1], msgs[0], "message 0")
	// Generation 7 lies 6 ahead of the next expected one: refused.
	expectUnchanged(t, w.groups[1], ErrReplay, func() error { _, err := w.groups[1].Process(msgs[7]); return err })
	expectData(t, w.groups[1], msgs[3], "message 3")
	expectData(t, w.groups[1], msgs[6], "message 6")
	expectData(t, w.groups[1], msgs[7], "message 7")
}

func TestLateMessagesFromPastEpochs(t *testing.T) {
	w := newWorld(t, 3, func(c *Config) { c.PastEpochs = 2 })
	var late [][]byte
	for range 3 {
		late = append(late, encryptN(t, w.groups[2], 1)[0])
		w.commit(0, nil)
	}
	// Epochs e-3, e-2, e-1: the two most recent are kept.
	expectData(t, w.groups[1], late[2], "message 0")
	expectData(t, w.groups[1], late[1], "message 0")
	err := expectUnchanged(t, w.groups[1], ErrWrongEpoch, func() error { _, err := w.groups[1].Process(late[0]); return err })
	var ee *EpochError
	if !errors.As(err, &ee) || ee.Current != w.groups[1].Epoch() {
		t.Fatal(err)
	}
	// A late message from a member removed since is still accepted: it
	// was a member in that epoch.
	m := encryptN(t, w.groups[2], 1)[0]
	w.commit(0, &CommitOptions{Proposals: []*Proposal{NewRemove(w.groups[2].LeafIndex())}})
	expectData(t, w.groups[1], m, "message 0")
	// Replays of late messages are rejected too.
	expectUnchanged(t, w.groups[1], ErrReplay, func() error { _, err := w.groups[1].Process(m); return err })
	// A handshake message of a past epoch is refused.
	pc, err := w.groups[0].Commit(nil)
	if err != nil {
		t.Fatal(err)
	}
	w.commit(1, nil)
	expectUnchanged(t, w.groups[1], ErrWrongEpoch, func() error { _, err := w.groups[1].Process(pc.Commit); return err })
	if err := w.groups[0].Apply(pc); !errors.Is(err, ErrStale) {
		t.Fatalf("stale pending commit applied: %v", err)
	}
}

func TestLateMessageAfterUpdate(t *testing.T) {
	// The signature key of a sender that changed since is looked up as it
	// was in the message's epoch.
	w := newWorld(t, 3, nil)
	m := encryptN(t, w.groups[2], 1)[0]
	c := newClient(t, "member-2") // a new signature key
	msg, err := w.groups[2].ProposeUpdate(&UpdateOptions{Signer: c.cfg.Signer})
	if err != nil {
		t.Fatal(err)
	}
	w.deliver(2, msg)
	w.commit(0, nil)
	w.agree()
	if i, ok := w.groups[0].FindMember(c.cfg.Signer.Public()); !ok || i != w.groups[2].LeafIndex() {
		t.Fatal("signature key not rotated")
	}
	expectData(t, w.groups[1], m, "message 0")
	// The member now signs with its new key.
	w.commit(2, nil)
	w.agree()
}

func TestEncryptedHandshake(t *testing.T) {
	w := newWorld(t, 4, func(c *Config) { c.EncryptHandshake = true })
	w.propose(1, NewRemove(w.groups[3].LeafIndex()))
	pc := w.commit(2, nil)
	var m message.MLSMessage
	if err := wire.Unmarshal(pc.Commit, &m); err != nil || m.WireFormat != message.WireFormatPrivateMessage {
		t.Fatal("commit not encrypted")
	}
	w.agree()
	msg, err := w.groups[0].ProposeUpdate(nil)
	if err != nil {
		t.Fatal(err)
	}
	w.deliver(0, msg)
	// The member's own encrypted message cannot come back.
	if _, err := w.groups[0].Process(msg); !errors.Is(err, ErrOwnMessage) {
		t.Fatal(err)
	}
	w.commit(1, nil)
	w.agree()
}

func TestStagedCommitNotApplied(t *testing.T) {
	// A staged commit that is dropped leaves the group as it was, and one
	// of an encrypted commit consumes its key only when applied.
	w := newWorld(t, 3, func(c *Config) { c.EncryptHandshake = true })
	// A first handshake message from member 0 derives its ratchet at
	// member 1 (a lazy derivation that has no visible effect, but shows in
	// a snapshot).
	w.propose(0, NewRemove(w.groups[2].LeafIndex()))
	pc, err := w.groups[0].Commit(nil)
	if err != nil {
		t.Fatal(err)
	}
	before := mustSnapshot(t, w.groups[1])
	r, err := w.groups[1].Process(pc.Commit)
	if err != nil {
		t.Fatal(err)
	}
	if r.Commit.EpochAuthenticator() == nil {
		t.Fatal("no epoch authenticator")
	}
	if string(before) != string(mustSnapshot(t, w.groups[1])) {
		t.Fatal("processing a commit changed the group")
	}
	w.applyCommit(0, pc)
	w.agree()
	// Applying a staged commit twice is stale.
	if err := w.groups[1].Apply(r.Commit); !errors.Is(err, ErrStale) {
		t.Fatal(err)
	}
}

func TestPadding(t *testing.T) {
	w := newWorld(t, 2, func(c *Config) { c.Padding = message.PadToMultiple(64) })
	var sizes []int
	for _, s := range []string{"a", "abcdefghij", "0123456789012345678901234567890"} {
		m, err := w.groups[0].Encrypt([]byte(s), nil)
		if err != nil {
			t.Fatal(err)
		}
		var mm message.MLSMessage
		if err := wire.Unmarshal(m, &mm); err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(mm.PrivateMessage.Ciphertext))
		expectData(t, w.groups[1], m, s)
	}
	if sizes[0] != sizes[1] || sizes[1] != sizes[2] {
		t.Fatalf("padded ciphertexts of sizes %v", sizes)
	}
}

func TestRejectsForeignAndTampered(t *testing.T) {
	w := newWorld(t, 3, nil)
	other := newWorld(t, 2, nil)
	m := encryptN(t, other.groups[0], 1)[0]
	expectUnchanged(t, w.groups[1], ErrWrongGroup, func() error { _, err := w.groups[1].Process(m); return err })
	expectData(t, w.groups[1], encryptN(t, w.groups[0], 1)[0], "message 0") // derives the ratchet
	m = encryptN(t, w.groups[0], 1)[0]
	for i := range m {
		bad := append([]byte(nil), m...)
		bad[i] ^= 0x40
		expectUnchanged(t, w.groups[1], nil, func() error { _, err := w.groups[1].Process(bad); return err })
	}
	expectData(t, w.groups[1], m, "message 0")
	pc, err := w.groups[0].Commit(nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(pc.Commit); i += 7 {
		bad := append([]byte(nil), pc.Commit...)
		bad[i] ^= 0x01
		expectUnchanged(t, w.groups[1], nil, func() error { _, err := w.groups[1].Process(bad); return err })
	}
	gi, err := pc.GroupInfo()
	if err != nil {
		t.Fatal(err)
	}
	for _, junk := range [][]byte{nil, {0}, {0, 1, 0, 1}, pc.Welcome, gi} {
		expectUnchanged(t, w.groups[1], nil, func() error { _, err := w.groups[1].Process(junk); return err })
	}
}
