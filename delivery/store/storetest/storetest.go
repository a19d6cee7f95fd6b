// Package storetest is the conformance suite of the delivery service's
// [store.Store]: every backend runs [Run] in its tests, so all backends
// behave alike. It also holds the benchmarks every backend runs ([Bench])
// and the PostgreSQL test setup ([PostgresURL]).
package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/mlsengine/engine/delivery/store"
)

// Open returns a new, empty Store for one test; the suite closes it.
type Open func(t *testing.T) store.Store

// Options tunes the suite.
type Options struct {
	// RaceRounds is the number of epochs of the commit race (50 concurrent
	// distinct commits each); 0 means 200.
	RaceRounds int
	// Reopen, if set, closes nothing and opens the same data again (a
	// durable backend's restart); the suite then checks that everything
	// written before is still there.
	Reopen func(t *testing.T) store.Store
}

// Run runs the conformance suite against the Stores open returns.
func Run(t *testing.T, open Open, opts Options) {
	if opts.RaceRounds == 0 {
		opts.RaceRounds = 200
	}
	tests := []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"Clients", testClients},
		{"KeyPackages", testKeyPackages},
		{"KeyPackageLastResort", testKeyPackageLastResort},
		{"KeyPackageClaimRace", testKeyPackageClaimRace},
		{"Groups", testGroups},
		{"AppendAndFetch", testAppendAndFetch},
		{"AppendIdempotent", testAppendIdempotent},
		{"CommitEpochs", testCommitEpochs},
		{"CommitIdempotent", testCommitIdempotent},
		{"CommitCreatesGroup", testCommitCreatesGroup},
		{"CommitWelcomes", testCommitWelcomes},
		{"GroupInfo", testGroupInfo},
		{"ConcurrentAppends", testConcurrentAppends},
		{"CommitRace", func(t *testing.T, s store.Store) { testCommitRace(t, s, opts.RaceRounds) }},
		{"InvalidArguments", testInvalidArguments},
		{"Tracker", testTracker},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { s.Close() })
			tt.fn(t, s)
		})
	}
	if opts.Reopen != nil {
		t.Run("Reopen", func(t *testing.T) { testReopen(t, open, opts.Reopen) })
	}
}

var ctx = context.Background()

// random returns n random bytes.
func random(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// groupID returns a fresh random group id.
func groupID() []byte { return random(32) }

// msg returns a distinct message of the given type and epoch.
func msg(ct store.ContentType, epoch uint64) store.Message {
	return store.Message{Epoch: epoch, ContentType: ct, WireFormat: 2, Data: random(40)}
}

func commit(gid []byte, epoch uint64) store.Commit {
	return store.Commit{GroupID: gid, Message: msg(store.ContentCommit, epoch)}
}

func mustCommit(t *testing.T, s store.Store, c store.Commit) store.Appended {
	t.Helper()
	a, err := s.Commit(ctx, c)
	if err != nil {
		t.Fatalf("Commit(epoch %d): %v", c.Message.Epoch, err)
	}
	return a
}

func mustAppend(t *testing.T, s store.Store, gid []byte, m store.Message) store.Appended {
	t.Helper()
	a, err := s.Append(ctx, gid, m)
	if err != nil {
		t.Fatalf("Append(epoch %d): %v", m.Epoch, err)
	}
	return a
}

// checkLog fetches the whole log in pages of size page and checks that it is
// exactly want (sequence numbers 1..len(want), same fields and bytes).
func checkLog(t *testing.T, s store.Store, gid []byte, want []store.Message, page int) {
	t.Helper()
	var got []store.Message
	for {
		ms, err := s.Messages(ctx, gid, uint64(len(got)), page)
		if err != nil {
			t.Fatalf("Messages(after %d): %v", len(got), err)
		}
		if len(ms) > page {
			t.Fatalf("Messages returned %d messages, limit %d", len(ms), page)
		}
		if len(ms) == 0 {
			break
		}
		got = append(got, ms...)
	}
	if len(got) != len(want) {
		t.Fatalf("log has %d messages, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Seq != uint64(i+1) || g.Epoch != w.Epoch || g.ContentType != w.ContentType ||
			g.WireFormat != w.WireFormat || !bytes.Equal(g.Data, w.Data) {
			t.Fatalf("log entry %d = {seq %d epoch %d type %d wf %d}, want {seq %d epoch %d type %d wf %d} (same bytes: %v)",
				i, g.Seq, g.Epoch, g.ContentType, g.WireFormat, i+1, w.Epoch, w.ContentType, w.WireFormat,
				bytes.Equal(g.Data, w.Data))
		}
	}
}

func wantEpochError(t *testing.T, err error, epoch, current uint64, winner []byte) *store.EpochError {
	t.Helper()
	var ee *store.EpochError
	if !errors.As(err, &ee) || !errors.Is(err, store.ErrEpoch) {
		t.Fatalf("got %v, want *EpochError", err)
	}
	if ee.Epoch != epoch || ee.Current != current {
		t.Fatalf("EpochError{Epoch %d, Current %d}, want {%d, %d}", ee.Epoch, ee.Current, epoch, current)
	}
	switch {
	case winner == nil && ee.Winner != nil:
		t.Fatalf("EpochError names winner seq %d for a future epoch", ee.Winner.Seq)
	case winner != nil && (ee.Winner == nil || !bytes.Equal(ee.Winner.Data, winner)):
		t.Fatalf("EpochError winner = %+v, want the commit that ended epoch %d", ee.Winner, epoch)
	case winner != nil && (ee.Winner.Epoch != epoch || ee.Winner.ContentType != store.ContentCommit):
		t.Fatalf("EpochError winner has epoch %d type %d", ee.Winner.Epoch, ee.Winner.ContentType)
	}
	return ee
}

func testClients(t *testing.T, s store.Store) {
	if err := s.RegisterClient(ctx, "alice", []byte("hash-a")); err != nil {
		t.Fatal(err)
	}
	if err := s.RegisterClient(ctx, "bob", []byte("hash-b")); err != nil {
		t.Fatal(err)
	}
	if err := s.RegisterClient(ctx, "alice", []byte("hash-c")); !errors.Is(err, store.ErrClientExists) {
		t.Fatalf("registering a taken name: %v, want ErrClientExists", err)
	}
	for hash, want := range map[string]string{"hash-a": "alice", "hash-b": "bob"} {
		if got, err := s.ClientByToken(ctx, []byte(hash)); err != nil || got != want {
			t.Fatalf("ClientByToken(%s) = %q, %v; want %q", hash, got, err, want)
		}
	}
	if _, err := s.ClientByToken(ctx, []byte("hash-c")); !errors.Is(err, store.ErrUnknownClient) {
		t.Fatalf("ClientByToken(unknown) = %v, want ErrUnknownClient", err)
	}
}

func kp(client string, suite uint16, lastResort bool) store.KeyPackage {
	return store.KeyPackage{Ref: random(32), Client: client, CipherSuite: suite, LastResort: lastResort, Data: random(100)}
}

func claim(t *testing.T, s store.Store, client string, suite uint16) store.KeyPackage {
	t.Helper()
	got, err := s.ClaimKeyPackage(ctx, client, suite)
	if err != nil {
		t.Fatalf("ClaimKeyPackage(%s, %d): %v", client, suite, err)
	}
	return got
}

func sameKP(t *testing.T, got, want store.KeyPackage) {
	t.Helper()
	if !bytes.Equal(got.Ref, want.Ref) || !bytes.Equal(got.Data, want.Data) || got.Client != want.Client ||
		got.CipherSuite != want.CipherSuite || got.LastResort != want.LastResort {
		t.Fatalf("claimed %x (suite %d, last resort %v), want %x (suite %d, last resort %v)",
			got.Ref, got.CipherSuite, got.LastResort, want.Ref, want.CipherSuite, want.LastResort)
	}
}

func countIs(t *testing.T, s store.Store, client string, suite uint16, oneTime, lastResort int) {
	t.Helper()
	n, err := s.CountKeyPackages(ctx, client, suite)
	if err != nil || n.OneTime != oneTime || n.LastResort != lastResort {
		t.Fatalf("CountKeyPackages(%s, %d) = %+v, %v; want {%d %d}", client, suite, n, err, oneTime, lastResort)
	}
}

func testKeyPackages(t *testing.T, s store.Store) {
	a1, a2, a3 := kp("alice", 1, false), kp("alice", 1, false), kp("alice", 3, false)
	for _, k := range []store.KeyPackage{a1, a2, a3} {
		if created, err := s.PutKeyPackage(ctx, k); err != nil || !created {
			t.Fatalf("PutKeyPackage = %v, %v; want created", created, err)
		}
	}
	// The same upload again is a no-op; another client's upload of the
	// same reference is refused.
	if created, err := s.PutKeyPackage(ctx, a1); err != nil || created {
		t.Fatalf("PutKeyPackage(again) = %v, %v; want not created, no error", created, err)
	}
	stolen := a2
	stolen.Client = "mallory"
	if _, err := s.PutKeyPackage(ctx, stolen); !errors.Is(err, store.ErrKeyPackageExists) {
		t.Fatalf("PutKeyPackage(other client's ref) = %v, want ErrKeyPackageExists", err)
	}
	countIs(t, s, "alice", 0, 3, 0)
	countIs(t, s, "alice", 1, 2, 0)
	countIs(t, s, "mallory", 0, 0, 0)

	// Suite filter, then oldest first.
	sameKP(t, claim(t, s, "alice", 3), a3)
	if _, err := s.ClaimKeyPackage(ctx, "alice", 3); !errors.Is(err, store.ErrNoKeyPackage) {
		t.Fatalf("claim from an exhausted suite: %v, want ErrNoKeyPackage", err)
	}
	sameKP(t, claim(t, s, "alice", 0), a1)
	sameKP(t, claim(t, s, "alice", 1), a2)
	if _, err := s.ClaimKeyPackage(ctx, "alice", 0); !errors.Is(err, store.ErrNoKeyPackage) {
		t.Fatalf("claim with nothing left: %v, want ErrNoKeyPackage", err)
	}
	if _, err := s.ClaimKeyPackage(ctx, "nobody", 0); !errors.Is(err, store.ErrNoKeyPackage) {
		t.Fatalf("claim for an unknown client: %v, want ErrNoKeyPackage", err)
	}
	// A retried upload of a claimed KeyPackage does not make it claimable.
	if created, err := s.PutKeyPackage(ctx, a1); err != nil || created {
		t.Fatalf("re-upload of a claimed KeyPackage = %v, %v; want not created", created, err)
	}
	countIs(t, s, "alice", 0, 0, 0)
}

func testKeyPackageLastResort(t *testing.T, s store.Store) {
	lr1 := kp("bob", 1, true)
	one := kp("bob", 1, false)
	lr3 := kp("bob", 3, true)
	for _, k := range []store.KeyPackage{lr1, one, lr3} {
		if _, err := s.PutKeyPackage(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	countIs(t, s, "bob", 0, 1, 2)
	countIs(t, s, "bob", 1, 1, 1)
	sameKP(t, claim(t, s, "bob", 1), one)
	// Last resort: handed out again and again, never consumed.
	for range 3 {
		sameKP(t, claim(t, s, "bob", 1), lr1)
		sameKP(t, claim(t, s, "bob", 3), lr3)
	}
	countIs(t, s, "bob", 1, 0, 1)
	// A new last-resort KeyPackage of suite 1 retires the old one.
	lr1b := kp("bob", 1, true)
	if _, err := s.PutKeyPackage(ctx, lr1b); err != nil {
		t.Fatal(err)
	}
	sameKP(t, claim(t, s, "bob", 1), lr1b)
	countIs(t, s, "bob", 0, 0, 2)
	// A one-time KeyPackage uploaded later is preferred again.
	one2 := kp("bob", 1, false)
	if _, err := s.PutKeyPackage(ctx, one2); err != nil {
		t.Fatal(err)
	}
	sameKP(t, claim(t, s, "bob", 0), one2)
	sameKP(t, claim(t, s, "bob", 1), lr1b)
}

func testGroups(t *testing.T, s store.Store) {
	gid := groupID()
	if _, err := s.Group(ctx, gid); !errors.Is(err, store.ErrUnknownGroup) {
		t.Fatalf("Group(unknown) = %v, want ErrUnknownGroup", err)
	}
	if _, err := s.Messages(ctx, gid, 0, 10); !errors.Is(err, store.ErrUnknownGroup) {
		t.Fatalf("Messages(unknown) = %v, want ErrUnknownGroup", err)
	}
	if _, err := s.Append(ctx, gid, msg(store.ContentApplication, 0)); !errors.Is(err, store.ErrUnknownGroup) {
		t.Fatalf("Append(unknown) = %v, want ErrUnknownGroup", err)
	}
	if _, err := s.Commit(ctx, commit(gid, 1)); !errors.Is(err, store.ErrUnknownGroup) {
		t.Fatalf("Commit(unknown group, epoch 1) = %v, want ErrUnknownGroup", err)
	}
	if _, err := s.GroupInfo(ctx, gid); !errors.Is(err, store.ErrUnknownGroup) {
		t.Fatalf("GroupInfo(unknown) = %v, want ErrUnknownGroup", err)
	}
	g, created, err := s.CreateGroup(ctx, gid)
	if err != nil || !created || g != (store.Group{}) {
		t.Fatalf("CreateGroup = %+v, %v, %v; want epoch 0, created", g, created, err)
	}
	mustCommit(t, s, commit(gid, 0))
	g, created, err = s.CreateGroup(ctx, gid)
	if err != nil || created || g != (store.Group{Epoch: 1, LastSeq: 1}) {
		t.Fatalf("CreateGroup(existing) = %+v, %v, %v; want {1 1}, not created", g, created, err)
	}
	if g, err := s.Group(ctx, gid); err != nil || g != (store.Group{Epoch: 1, LastSeq: 1}) {
		t.Fatalf("Group = %+v, %v; want {1 1}", g, err)
	}
	if ms, err := s.Messages(ctx, gid, 1, 10); err != nil || len(ms) != 0 {
		t.Fatalf("Messages(after the end) = %d messages, %v", len(ms), err)
	}
	if ms, err := s.Messages(ctx, gid, 1<<63+5, 10); err != nil || len(ms) != 0 {
		t.Fatalf("Messages(after 2^63+5) = %d messages, %v", len(ms), err)
	}
}

func testAppendAndFetch(t *testing.T, s store.Store) {
	gid := groupID()
	if _, _, err := s.CreateGroup(ctx, gid); err != nil {
		t.Fatal(err)
	}
	var want []store.Message
	for epoch := range uint64(3) {
		for i := range 4 {
			ct := store.ContentApplication
			if i%2 == 1 {
				ct = store.ContentProposal
			}
			m := msg(ct, epoch)
			a := mustAppend(t, s, gid, m)
			if a.Seq != uint64(len(want)+1) || a.Epoch != epoch || a.Duplicate {
				t.Fatalf("Append = %+v, want seq %d epoch %d", a, len(want)+1, epoch)
			}
			want = append(want, m)
		}
		c := commit(gid, epoch)
		mustCommit(t, s, c)
		want = append(want, c.Message)
	}
	for _, page := range []int{1, 3, 100} {
		checkLog(t, s, gid, want, page)
	}
	if ms, err := s.Messages(ctx, gid, 5, 2); err != nil || len(ms) != 2 || ms[0].Seq != 6 || ms[1].Seq != 7 {
		t.Fatalf("Messages(after 5, limit 2) = %v, %v; want seq 6, 7", ms, err)
	}
	if ms, err := s.Messages(ctx, gid, 0, 0); err != nil || len(ms) != 0 {
		t.Fatalf("Messages(limit 0) = %d messages, %v", len(ms), err)
	}
	// Stale and future epochs are refused.
	_, err := s.Append(ctx, gid, msg(store.ContentApplication, 1))
	wantEpochError(t, err, 1, 3, want[9].Data)
	_, err = s.Append(ctx, gid, msg(store.ContentProposal, 4))
	wantEpochError(t, err, 4, 3, nil)
	_, err = s.Append(ctx, gid, msg(store.ContentProposal, 1<<64-1))
	wantEpochError(t, err, 1<<64-1, 3, nil)
	checkLog(t, s, gid, want, 100)
}

func testAppendIdempotent(t *testing.T, s store.Store) {
	gid := groupID()
	if _, _, err := s.CreateGroup(ctx, gid); err != nil {
		t.Fatal(err)
	}
	m1, m2 := msg(store.ContentApplication, 0), msg(store.ContentProposal, 0)
	mustAppend(t, s, gid, m1)
	mustAppend(t, s, gid, m2)
	a := mustAppend(t, s, gid, m1)
	if a != (store.Appended{Seq: 1, Epoch: 0, Duplicate: true}) {
		t.Fatalf("Append(same bytes) = %+v, want the original seq 1, Duplicate", a)
	}
	// Still recognized after the epoch moved on, and with other metadata.
	mustCommit(t, s, commit(gid, 0))
	m2again := m2
	m2again.Epoch = 1
	if a := mustAppend(t, s, gid, m2again); a != (store.Appended{Seq: 2, Epoch: 0, Duplicate: true}) {
		t.Fatalf("Append(same bytes, later epoch) = %+v, want seq 2 epoch 0, Duplicate", a)
	}
	// The same bytes in another group are another message.
	other := groupID()
	if _, _, err := s.CreateGroup(ctx, other); err != nil {
		t.Fatal(err)
	}
	if a := mustAppend(t, s, other, m1); a.Duplicate || a.Seq != 1 {
		t.Fatalf("Append(other group) = %+v, want a new message at seq 1", a)
	}
	if g, _ := s.Group(ctx, gid); g.LastSeq != 3 {
		t.Fatalf("group has %d messages, want 3", g.LastSeq)
	}
}

func testCommitEpochs(t *testing.T, s store.Store) {
	gid := groupID()
	var commits []store.Commit
	for epoch := range uint64(4) {
		c := commit(gid, epoch)
		a := mustCommit(t, s, c)
		if a.Seq != epoch+1 || a.Epoch != epoch || a.Duplicate {
			t.Fatalf("Commit = %+v, want seq %d epoch %d", a, epoch+1, epoch)
		}
		commits = append(commits, c)
	}
	for epoch := range uint64(4) {
		_, err := s.Commit(ctx, commit(gid, epoch))
		ee := wantEpochError(t, err, epoch, 4, commits[epoch].Message.Data)
		if ee.Winner.Seq != epoch+1 {
			t.Fatalf("winner of epoch %d has seq %d, want %d", epoch, ee.Winner.Seq, epoch+1)
		}
	}
	for _, epoch := range []uint64{5, 1 << 62, 1<<63 - 1, 1 << 63, 1<<64 - 1} {
		_, err := s.Commit(ctx, commit(gid, epoch))
		wantEpochError(t, err, epoch, 4, nil)
	}
	if g, err := s.Group(ctx, gid); err != nil || g != (store.Group{Epoch: 4, LastSeq: 4}) {
		t.Fatalf("Group = %+v, %v; want {4 4}", g, err)
	}
}

func testCommitIdempotent(t *testing.T, s store.Store) {
	gid := groupID()
	c0 := commit(gid, 0)
	mustCommit(t, s, c0)
	mustAppend(t, s, gid, msg(store.ContentProposal, 1))
	c1 := commit(gid, 1)
	mustCommit(t, s, c1)
	mustCommit(t, s, commit(gid, 2))
	// A retried winning commit gets its original position back, not a
	// conflict, even with other parts attached; nothing changes.
	for i, c := range []store.Commit{c0, c1} {
		c.Welcome, c.Recipients, c.GroupInfo = []byte("w"), []string{"carol"}, []byte("gi")
		a := mustCommit(t, s, c)
		want := store.Appended{Seq: []uint64{1, 3}[i], Epoch: uint64(i), Duplicate: true}
		if a != want {
			t.Fatalf("retried commit = %+v, want %+v", a, want)
		}
	}
	if g, _ := s.Group(ctx, gid); g != (store.Group{Epoch: 3, LastSeq: 4}) {
		t.Fatalf("Group = %+v, want {3 4}", g)
	}
	if ws, err := s.Welcomes(ctx, "carol", 10); err != nil || len(ws) != 0 {
		t.Fatalf("a retried commit queued %d Welcomes (%v)", len(ws), err)
	}
	if _, err := s.GroupInfo(ctx, gid); !errors.Is(err, store.ErrNoGroupInfo) {
		t.Fatalf("a retried commit set the GroupInfo: %v", err)
	}
}

func testCommitCreatesGroup(t *testing.T, s store.Store) {
	gid := groupID()
	c := commit(gid, 0)
	c.GroupInfo = []byte("group info for epoch 1")
	if a := mustCommit(t, s, c); a != (store.Appended{Seq: 1, Epoch: 0}) {
		t.Fatalf("first commit = %+v, want seq 1 epoch 0", a)
	}
	if g, err := s.Group(ctx, gid); err != nil || g != (store.Group{Epoch: 1, LastSeq: 1}) {
		t.Fatalf("Group = %+v, %v; want {1 1}", g, err)
	}
	if gi, err := s.GroupInfo(ctx, gid); err != nil || !bytes.Equal(gi, c.GroupInfo) {
		t.Fatalf("GroupInfo = %q, %v", gi, err)
	}
	// A retry of the creating commit is a duplicate, not a conflict.
	if a := mustCommit(t, s, c); !a.Duplicate || a.Seq != 1 {
		t.Fatalf("retried first commit = %+v", a)
	}
	checkLog(t, s, gid, []store.Message{c.Message}, 10)
}

func testCommitWelcomes(t *testing.T, s store.Store) {
	gid := groupID()
	mustCommit(t, s, commit(gid, 0))
	win := commit(gid, 1)
	win.Welcome = []byte("welcome for carol and dave")
	win.Recipients = []string{"carol", "dave"}
	lose := commit(gid, 1)
	lose.Welcome = []byte("losing welcome")
	lose.Recipients = []string{"carol", "erin"}
	a := mustCommit(t, s, win)
	if _, err := s.Commit(ctx, lose); !errors.Is(err, store.ErrEpoch) {
		t.Fatalf("losing commit: %v, want ErrEpoch", err)
	}
	if ws, err := s.Welcomes(ctx, "erin", 10); err != nil || len(ws) != 0 {
		t.Fatalf("the losing commit's Welcome was queued (%d, %v)", len(ws), err)
	}
	second := commit(gid, 2)
	second.Welcome = []byte("second welcome for carol")
	second.Recipients = []string{"carol"}
	a2 := mustCommit(t, s, second)

	ws, err := s.Welcomes(ctx, "carol", 10)
	if err != nil || len(ws) != 2 {
		t.Fatalf("carol has %d Welcomes (%v), want 2", len(ws), err)
	}
	for i, w := range ws {
		want := []store.Commit{win, second}[i]
		seq := []uint64{a.Seq, a2.Seq}[i]
		if !bytes.Equal(w.GroupID, gid) || w.Seq != seq || !bytes.Equal(w.Data, want.Welcome) {
			t.Fatalf("carol's Welcome %d = {group %x seq %d %q}, want {%x %d %q}", i, w.GroupID, w.Seq, w.Data, gid, seq, want.Welcome)
		}
	}
	if ws[0].ID >= ws[1].ID {
		t.Fatalf("Welcome ids %d, %d are not increasing", ws[0].ID, ws[1].ID)
	}
	if ws, err := s.Welcomes(ctx, "carol", 1); err != nil || len(ws) != 1 || !bytes.Equal(ws[0].Data, win.Welcome) {
		t.Fatalf("Welcomes(limit 1) = %v, %v", ws, err)
	}
	dave, err := s.Welcomes(ctx, "dave", 10)
	if err != nil || len(dave) != 1 || !bytes.Equal(dave[0].Data, win.Welcome) {
		t.Fatalf("dave's Welcomes = %v, %v", dave, err)
	}
	// Only the owner can delete a Welcome, once.
	if err := s.DeleteWelcome(ctx, "dave", ws[0].ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleting carol's Welcome as dave: %v, want ErrNotFound", err)
	}
	if err := s.DeleteWelcome(ctx, "carol", ws[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteWelcome(ctx, "carol", ws[0].ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleting twice: %v, want ErrNotFound", err)
	}
	if rest, err := s.Welcomes(ctx, "carol", 10); err != nil || len(rest) != 1 || rest[0].ID != ws[1].ID {
		t.Fatalf("after delete carol has %v, %v", rest, err)
	}
	if dave2, err := s.Welcomes(ctx, "dave", 10); err != nil || len(dave2) != 1 {
		t.Fatalf("deleting carol's Welcome touched dave's: %v, %v", dave2, err)
	}
}

func testGroupInfo(t *testing.T, s store.Store) {
	gid := groupID()
	if _, _, err := s.CreateGroup(ctx, gid); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GroupInfo(ctx, gid); !errors.Is(err, store.ErrNoGroupInfo) {
		t.Fatalf("GroupInfo of a new group: %v, want ErrNoGroupInfo", err)
	}
	if err := s.PutGroupInfo(ctx, gid, 0, []byte("gi0")); err != nil {
		t.Fatal(err)
	}
	if gi, err := s.GroupInfo(ctx, gid); err != nil || string(gi) != "gi0" {
		t.Fatalf("GroupInfo = %q, %v", gi, err)
	}
	if err := s.PutGroupInfo(ctx, gid, 1, []byte("gi1")); !errors.Is(err, store.ErrEpoch) {
		t.Fatalf("PutGroupInfo(future epoch): %v, want ErrEpoch", err)
	}
	c := commit(gid, 0)
	c.GroupInfo = []byte("gi1 from the commit")
	mustCommit(t, s, c)
	if gi, err := s.GroupInfo(ctx, gid); err != nil || !bytes.Equal(gi, c.GroupInfo) {
		t.Fatalf("GroupInfo after commit = %q, %v", gi, err)
	}
	_, err := s.Commit(ctx, store.Commit{GroupID: gid, Message: msg(store.ContentCommit, 0), GroupInfo: []byte("loser")})
	wantEpochError(t, err, 0, 1, c.Message.Data)
	if err := s.PutGroupInfo(ctx, gid, 0, []byte("stale")); !errors.Is(err, store.ErrEpoch) {
		t.Fatalf("PutGroupInfo(stale epoch): %v, want ErrEpoch", err)
	}
	if gi, _ := s.GroupInfo(ctx, gid); !bytes.Equal(gi, c.GroupInfo) {
		t.Fatalf("GroupInfo = %q, want the winner's", gi)
	}
	// A commit without a GroupInfo leaves no GroupInfo for the new epoch.
	mustCommit(t, s, commit(gid, 1))
	if _, err := s.GroupInfo(ctx, gid); !errors.Is(err, store.ErrNoGroupInfo) {
		t.Fatalf("GroupInfo after a commit without one: %v, want ErrNoGroupInfo", err)
	}
	if err := s.PutGroupInfo(ctx, groupID(), 0, []byte("x")); !errors.Is(err, store.ErrUnknownGroup) {
		t.Fatalf("PutGroupInfo(unknown group): %v, want ErrUnknownGroup", err)
	}
}

func testInvalidArguments(t *testing.T, s store.Store) {
	gid := groupID()
	if _, _, err := s.CreateGroup(ctx, gid); err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		name string
		err  error
	}{
		{"append a commit", second(s.Append(ctx, gid, msg(store.ContentCommit, 0)))},
		{"append empty data", second(s.Append(ctx, gid, store.Message{ContentType: store.ContentApplication}))},
		{"append content type 0", second(s.Append(ctx, gid, msg(0, 0)))},
		{"commit a proposal", second(s.Commit(ctx, store.Commit{GroupID: gid, Message: msg(store.ContentProposal, 0)}))},
		{"commit a Welcome without recipients", second(s.Commit(ctx, store.Commit{GroupID: gid, Message: msg(store.ContentCommit, 0), Welcome: []byte("w")}))},
		{"commit recipients without a Welcome", second(s.Commit(ctx, store.Commit{GroupID: gid, Message: msg(store.ContentCommit, 0), Recipients: []string{"x"}}))},
		{"empty group id", second(s.Commit(ctx, commit(nil, 0)))},
		{"long group id", second(s.Commit(ctx, commit(make([]byte, store.MaxGroupIDLen+1), 0)))},
	}
	for _, b := range bad {
		if !errors.Is(b.err, store.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", b.name, b.err)
		}
	}
	if g, _ := s.Group(ctx, gid); g != (store.Group{}) {
		t.Fatalf("invalid calls changed the group: %+v", g)
	}
}

func second[T any](_ T, err error) error { return err }

func testReopen(t *testing.T, open, reopen Open) {
	s := open(t)
	gid := groupID()
	c := commit(gid, 0)
	c.Welcome, c.Recipients, c.GroupInfo = []byte("welcome"), []string{"carol"}, []byte("gi")
	mustCommit(t, s, c)
	m := msg(store.ContentApplication, 1)
	mustAppend(t, s, gid, m)
	k := kp("carol", 1, false)
	if err := errors.Join(s.RegisterClient(ctx, "carol", []byte("carol-hash")), second(s.PutKeyPackage(ctx, k))); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = reopen(t)
	defer s.Close()
	checkLog(t, s, gid, []store.Message{c.Message, m}, 10)
	if name, err := s.ClientByToken(ctx, []byte("carol-hash")); err != nil || name != "carol" {
		t.Fatalf("after reopen ClientByToken = %q, %v", name, err)
	}
	sameKP(t, claim(t, s, "carol", 1), k)
	if ws, err := s.Welcomes(ctx, "carol", 10); err != nil || len(ws) != 1 || string(ws[0].Data) != "welcome" {
		t.Fatalf("after reopen Welcomes = %v, %v", ws, err)
	}
	if gi, err := s.GroupInfo(ctx, gid); err != nil || string(gi) != "gi" {
		t.Fatalf("after reopen GroupInfo = %q, %v", gi, err)
	}
	_, err := s.Commit(ctx, commit(gid, 0))
	wantEpochError(t, err, 0, 1, c.Message.Data)
}
