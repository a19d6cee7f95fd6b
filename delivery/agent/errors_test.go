package agent

import (
	"errors"
	"strings"
	"testing"

	"github.com/mlsengine/engine/delivery"
	"github.com/mlsengine/engine/mls"
	"github.com/mlsengine/engine/treekem"
)

func TestErrors(t *testing.T) {
	ds := newDS(t)
	alice, bob := testAgent(t, ds, "alice"), testAgent(t, ds, "bob")
	if err := alice.Create(bg, "team", nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		what string
		err  error
		want error
	}{
		{"open uninitialized", second(Open(bg, Options{Dir: t.TempDir(), DS: ds})), ErrNotInitialized},
		{"init a taken name", second(Init(bg, Options{Dir: t.TempDir(), DS: ds}, "alice", 0)), ErrDelivery},
		{"init an invalid name", second(Init(bg, Options{Dir: t.TempDir(), DS: ds}, "a:b", 0)), ErrInvalidName},
		{"init an unknown suite", second(Init(bg, Options{Dir: t.TempDir(), DS: ds}, "dave", 0x0A0A)), ErrInvalidArgument},
		{"create an invalid name", alice.Create(bg, "my team", nil), ErrInvalidName},
		{"create twice", alice.Create(bg, "team", nil), ErrGroupExists},
		{"add an unknown client", second(alice.Add(bg, "team", "nobody")), ErrKeyPackage},
		{"add a member", second(alice.Add(bg, "team", "alice")), ErrMember},
		{"add twice", second(alice.Add(bg, "team", "bob", "bob")), ErrInvalidArgument},
		{"add nobody", second(alice.Add(bg, "team")), ErrInvalidArgument},
		{"remove self", second(alice.Remove(bg, "team", "alice")), ErrInvalidArgument},
		{"remove a non-member", second(alice.Remove(bg, "team", "bob")), ErrMember},
		{"send to an unknown group", second(alice.Send(bg, "nope", "hi")), ErrUnknownGroup},
		{"send nothing", second(alice.Send(bg, "team", "")), ErrInvalidArgument},
		{"recv an unknown group", second(alice.Receive(bg, "nope")), ErrUnknownGroup},
		{"info of an unknown group", second(alice.Info(bg, "nope")), ErrUnknownGroup},
		{"join with no Welcome", third(bob.Join(bg)), nil},
	} {
		if (tc.want == nil && tc.err != nil) || (tc.want != nil && !errors.Is(tc.err, tc.want)) {
			t.Errorf("%s: %v, want %v", tc.what, tc.err, tc.want)
		}
		if tc.err != nil && !strings.HasPrefix(tc.err.Error(), "mls: client: ") {
			t.Errorf("%s: message %q", tc.what, tc.err)
		}
	}

	// A delivery service that cannot be reached.
	down := testAgent(t, ds, "carol")
	down.ds.BaseURL = "http://127.0.0.1:1"
	if _, _, err := down.Join(bg); !errors.Is(err, ErrDelivery) || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("join with the DS down: %v", err)
	}
	// Bob is added once his KeyPackages are there; a client alone in
	// its group leaves without a proposal.
	if _, err := alice.Add(bg, "team", "bob"); err != nil {
		t.Fatal(err)
	}
	if err := alice.Create(bg, "solo", nil); err != nil {
		t.Fatal(err)
	}
	if ev, err := alice.Leave(bg, "solo"); err != nil || len(ev) != 1 || ev[0].String() != "solo: you left" {
		t.Fatalf("leave solo: %q %v", lines(ev), err)
	}
	if err := alice.Create(bg, "solo", nil); err != nil {
		t.Fatalf("create a group with the name of one left: %v", err)
	}
}

// TestForgedKeyPackage has the delivery service hand out a KeyPackage of
// another identity than the client claimed: the client refuses it.
func TestForgedKeyPackage(t *testing.T) {
	ds := newDS(t)
	alice := testAgent(t, ds, "alice")
	mallory := &delivery.Client{BaseURL: ds}
	if _, err := mallory.Register(bg, "mallory"); err != nil {
		t.Fatal(err)
	}
	eve := testAgent(t, ds, "eve")
	kp, _, err := mls.NewKeyPackage(eve.cfg, nil) // eve's credential, uploaded as mallory's
	if err != nil {
		t.Fatal(err)
	}
	// The delivery service refuses it: the KeyPackage directory holds
	// only KeyPackages of their uploaders.
	if _, err := mallory.UploadKeyPackage(bg, kp, false); !errors.Is(err, delivery.ErrForbidden) {
		t.Fatalf("uploading another client's KeyPackage: %v, want ErrForbidden", err)
	}
	if err := alice.Create(bg, "team", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Add(bg, "team", "mallory"); !errors.Is(err, ErrKeyPackage) {
		t.Fatalf("add of a client without KeyPackages: %v", err)
	}
}

func TestEventString(t *testing.T) {
	for _, tc := range []struct {
		e    Event
		want string
	}{
		{Event{Kind: EventMessage, Group: "g", Sender: "a", Text: "hi there"}, "g a: hi there"},
		{Event{Kind: EventMessage, Group: "g", Sender: "a\nb", Text: "x\ng h: forged\x1b[2J\u202e"}, `g a\nb: x\ng h: forged\x1b[2J\u202e`},
		{Event{Kind: EventMessage, Group: "g", Sender: "a", Text: "caf\xe9 ✓"}, "g a: caf\ufffd ✓"},
		{Event{Kind: EventAdded, Group: "g", Sender: "a", Member: "b"}, "g: a added b"},
		{Event{Kind: EventAdded, Group: "g", Sender: "b", Member: "b"}, "g: b joined"},
		{Event{Kind: EventRemoved, Group: "g", Sender: "a", Member: "b"}, "g: a removed b"},
		{Event{Kind: EventLeft, Group: "g", Member: "b"}, "g: b left"},
		{Event{Kind: EventUpdated, Group: "g", Member: "b"}, "g: b updated"},
		{Event{Kind: EventRemovedSelf, Group: "g", Sender: "a"}, "g: a removed you"},
		{Event{Kind: EventLeftSelf, Group: "g"}, "g: you left"},
		{Event{Kind: EventWarning, Group: "g", Text: "oops"}, "g: warning: oops"},
	} {
		if got := tc.e.String(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.e, got, tc.want)
		}
	}
	if id := identity(&treekem.LeafNode{Credential: treekem.Credential{Type: 2}}); !strings.Contains(id, "credential type") {
		t.Errorf("identity of an X.509 credential: %q", id)
	}
}

func TestNames(t *testing.T) {
	for _, s := range []string{"a", "alice", "A.b_c-d@e+f", strings.Repeat("x", 64)} {
		if !validName(s) {
			t.Errorf("%q refused", s)
		}
	}
	for _, s := range []string{"", "a b", "a:b", "a/b", "é", strings.Repeat("x", 65)} {
		if validName(s) {
			t.Errorf("%q accepted", s)
		}
	}
	recs := []*groupRecord{
		{Name: "team", GroupID: []byte{1}, Status: StatusActive},
		{Name: "team-2", GroupID: []byte{2}, Status: StatusActive},
		{Name: "old", GroupID: []byte{3}, Status: StatusRemoved},
	}
	for _, tc := range []struct{ want, id, got string }{
		{"team", "\x01", "team"},
		{"team", "\x09", "team-3"},
		{"old", "\x09", "old"},
		{"new", "\x09", "new"},
		{strings.Repeat("t", 64), "\x09", strings.Repeat("t", 64)},
	} {
		if got := freeName(recs, tc.want, []byte(tc.id)); got != tc.got {
			t.Errorf("freeName(%q): %q, want %q", tc.want, got, tc.got)
		}
	}
	long := strings.Repeat("t", 64)
	recs = append(recs, &groupRecord{Name: long, GroupID: []byte{4}})
	if got := freeName(recs, long, []byte{9}); got != strings.Repeat("t", 62)+"-2" {
		t.Errorf("freeName of a 64-byte name: %q", got)
	}
	if got := fallbackName([]byte{0xab, 0xcd, 0xef, 0x01, 0x02}); got != "group-abcdef01" {
		t.Errorf("fallbackName: %q", got)
	}
}

func second[A, B any](_ A, b B) B        { return b }
func third[A, B, C any](_ A, _ B, c C) C { return c }
