package delivery

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mlsengine/engine/delivery/store"
	"github.com/mlsengine/engine/delivery/store/memstore"
	"github.com/mlsengine/engine/mls"
	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/mls/suite"
)

var bg = context.Background()

// testServer runs a Server over st (memory if nil) on a local port.
func testServer(t *testing.T, st store.Store, cfg Config) (*Server, string) {
	t.Helper()
	if st == nil {
		st = memstore.New()
	}
	cfg.Store = st
	if cfg.Limits == (Limits{}) {
		cfg.Limits = noRates
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	return srv, hs.URL
}

// newClient registers a client named name.
func newClient(t testing.TB, url, name string) *Client {
	t.Helper()
	c := &Client{BaseURL: url}
	if _, err := c.Register(bg, name); err != nil {
		t.Fatalf("registering %s: %v", name, err)
	}
	return c
}

func TestEndToEnd(t *testing.T) {
	_, url := testServer(t, nil, Config{})
	alice, carol := newClient(t, url, "alice"), newClient(t, url, "carol")
	bob := newMember(t, url, "bob")
	const cs = suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519

	// Bob publishes two one-time KeyPackages and a last-resort one.
	var bobKPs, bobRefs [][]byte
	for i := range 3 {
		kp := bob.keyPackage(t, i == 2)
		up, err := bob.UploadKeyPackage(bg, kp, i == 2)
		if err != nil || !up.Created || len(up.Ref) != 32 {
			t.Fatalf("upload: %+v, %v", up, err)
		}
		bobKPs, bobRefs = append(bobKPs, kp), append(bobRefs, up.Ref)
	}
	if up, err := bob.UploadKeyPackage(bg, bobKPs[0], false); err != nil || up.Created {
		t.Fatalf("re-upload: %+v, %v; want not created", up, err)
	}
	if n, err := bob.CountKeyPackages(bg, 0); err != nil || n != (KeyPackageCount{OneTime: 2, LastResort: 1}) {
		t.Fatalf("count = %+v, %v", n, err)
	}
	for i, want := range []int{0, 1, 2, 2} {
		got, err := alice.ClaimKeyPackage(bg, "bob", uint16(cs))
		if err != nil || !bytes.Equal(got.KeyPackage, bobKPs[want]) || got.LastResort != (want == 2) {
			t.Fatalf("claim %d: last resort %v, %v; want KeyPackage %d", i, got.LastResort, err, want)
		}
	}
	if _, err := alice.ClaimKeyPackage(bg, "carol", 0); !errors.Is(err, store.ErrNoKeyPackage) {
		t.Fatalf("claim from carol: %v, want ErrNoKeyPackage", err)
	}
	// Bob sees who claimed his KeyPackages.
	claims, err := bob.Claims(bg)
	if err != nil || len(claims) != 4 || claims[0].Claimer != "alice" || !claims[0].LastResort || !bytes.Equal(claims[3].Ref, bobRefs[0]) {
		t.Fatalf("bob's claims: %+v, %v", claims, err)
	}

	// Alice creates an opaque group (the service only orders it) and adds
	// bob.
	gid := groupID()
	if g, err := alice.CreateGroup(bg, gid, opaque); err != nil || g != (GroupState{}) {
		t.Fatalf("CreateGroup: %+v, %v", g, err)
	}
	c0 := privateMsg(gid, 0, message.ContentCommit)
	gi1 := groupInfoMsg(gid, 1)
	p, err := alice.PostCommit(bg, gid, &CommitBundle{Commit: c0, Welcome: welcomeFor(bobRefs[0]), Recipients: []string{"bob"}, GroupInfo: gi1})
	if err != nil || p != (Posted{Seq: 1, Epoch: 0}) {
		t.Fatalf("first commit: %+v, %v", p, err)
	}
	w, err := bob.NextWelcome(bg)
	if err != nil || w == nil || !bytes.Equal(w.GroupID, gid) || w.Seq != 1 || w.Epoch != 1 {
		t.Fatalf("bob's Welcome: %+v, %v", w, err)
	}
	if got, err := carol.GroupInfo(bg, gid); err != nil || !bytes.Equal(got, gi1) {
		t.Fatalf("GroupInfo: %v", err)
	}
	if err := bob.DeleteWelcome(bg, w.ID); err != nil {
		t.Fatal(err)
	}
	if w, err := bob.NextWelcome(bg); err != nil || w != nil {
		t.Fatalf("after delete: %+v, %v", w, err)
	}
	if err := alice.DeleteWelcome(bg, 1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleting a Welcome that is not yours: %v, want ErrNotFound", err)
	}

	// Messages in epoch 1, a retry, a losing commit, a future message.
	app := privateMsg(gid, 1, message.ContentApplication)
	if p, err := bob.Post(bg, gid, app); err != nil || p != (Posted{Seq: 2, Epoch: 1}) {
		t.Fatalf("application message: %+v, %v", p, err)
	}
	if p, err := bob.Post(bg, gid, app); err != nil || p != (Posted{Seq: 2, Epoch: 1, Duplicate: true}) {
		t.Fatalf("retry: %+v, %v", p, err)
	}
	prop := publicProposal(gid, 1, message.MemberSender(1))
	if p, err := bob.Post(bg, gid, prop); err != nil || p.Seq != 3 {
		t.Fatalf("proposal: %+v, %v", p, err)
	}
	win := publicCommit(gid, 1)
	if p, err := alice.Post(bg, gid, win); err != nil || p != (Posted{Seq: 4, Epoch: 1}) {
		t.Fatalf("commit: %+v, %v", p, err)
	}
	_, err = bob.Post(bg, gid, privateMsg(gid, 1, message.ContentCommit))
	var ee *store.EpochError
	if !errors.As(err, &ee) || ee.Epoch != 1 || ee.Current != 2 || ee.Winner == nil ||
		ee.Winner.Seq != 4 || !bytes.Equal(ee.Winner.Data, win) || ee.Winner.WireFormat != 1 {
		t.Fatalf("losing commit: %v (%+v)", err, ee)
	}
	_, err = bob.Post(bg, gid, privateMsg(gid, 5, message.ContentApplication))
	if !errors.As(err, &ee) || ee.Epoch != 5 || ee.Current != 2 || ee.Winner != nil {
		t.Fatalf("future message: %v", err)
	}
	if p, err := alice.Post(bg, gid, win); err != nil || p != (Posted{Seq: 4, Epoch: 1, Duplicate: true}) {
		t.Fatalf("retried winning commit: %+v, %v", p, err)
	}
	if _, err := carol.GroupInfo(bg, gid); !errors.Is(err, store.ErrNoGroupInfo) {
		t.Fatalf("GroupInfo after a commit without one: %v", err)
	}
	gi2 := groupInfoMsg(gid, 2)
	if err := alice.PutGroupInfo(bg, gid, gi2); err != nil {
		t.Fatal(err)
	}
	if err := alice.PutGroupInfo(bg, gid, groupInfoMsg(gid, 1)); !errors.Is(err, store.ErrEpoch) {
		t.Fatalf("stale GroupInfo: %v", err)
	}

	// Fetch: everything, in pages.
	want := [][]byte{c0, app, prop, win}
	var got [][]byte
	for after := uint64(0); ; {
		es, err := carol.Fetch(bg, gid, after, 3, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(es) == 0 {
			break
		}
		for _, e := range es {
			if e.Seq != uint64(len(got)+1) {
				t.Fatalf("entry seq %d, want %d", e.Seq, len(got)+1)
			}
			got = append(got, e.Message)
			after = e.Seq
		}
	}
	if len(got) != len(want) {
		t.Fatalf("fetched %d messages, want %d", len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("message %d differs", i+1)
		}
	}
	if g, err := carol.Group(bg, gid); err != nil || g != (GroupState{Epoch: 2, LastSeq: 4}) {
		t.Fatalf("group state %+v, %v", g, err)
	}

	// Unknown groups.
	other := groupID()
	for name, err := range map[string]error{
		"post":              second(bob.Post(bg, other, privateMsg(other, 0, message.ContentApplication))),
		"fetch":             second(bob.Fetch(bg, other, 0, 0, 0)),
		"group":             second(bob.Group(bg, other)),
		"info":              second(bob.GroupInfo(bg, other)),
		"commit at epoch 1": second(bob.Post(bg, other, privateMsg(other, 1, message.ContentCommit))),
	} {
		if !errors.Is(err, store.ErrUnknownGroup) {
			t.Errorf("%s in an unknown group: %v, want ErrUnknownGroup", name, err)
		}
	}
	if g, err := bob.CreateGroup(bg, other, opaque); err != nil || g != (GroupState{}) {
		t.Fatalf("CreateGroup: %+v, %v", g, err)
	}
	if g, err := bob.CreateGroup(bg, other, opaque); err != nil || g != (GroupState{}) {
		t.Fatalf("CreateGroup again: %+v, %v", g, err)
	}
	if p, err := bob.Post(bg, other, privateMsg(other, 0, message.ContentApplication)); err != nil || p.Seq != 1 {
		t.Fatalf("post to a created group: %+v, %v", p, err)
	}
}

func second[T any](_ T, err error) error { return err }

func TestAuthentication(t *testing.T) {
	_, url := testServer(t, nil, Config{})
	alice := newClient(t, url, "alice")
	if _, err := (&Client{BaseURL: url}).Register(bg, "alice"); !errors.Is(err, store.ErrClientExists) {
		t.Fatalf("registering a taken name: %v", err)
	}
	for _, name := range []string{"", "a/b", "with space", strings.Repeat("x", 65), "é"} {
		if _, err := (&Client{BaseURL: url}).Register(bg, name); !errors.Is(err, ErrMalformed) {
			t.Errorf("registering %q: %v, want ErrMalformed", name, err)
		}
	}
	gid := groupID()
	for _, tok := range []string{"", "nonsense", tokenPrefix + "unknown", strings.Repeat("x", 1000)} {
		c := &Client{BaseURL: url, Token: tok}
		if _, err := c.CreateGroup(bg, gid, opaque); !errors.Is(err, ErrUnauthorized) {
			t.Errorf("token %q: %v, want ErrUnauthorized", tok, err)
		}
	}
	if _, err := alice.CreateGroup(bg, gid, opaque); err != nil {
		t.Fatal(err)
	}

	// An embedding backend's own identities.
	_, url2 := testServer(t, nil, Config{Authenticate: func(r *http.Request) (string, error) {
		if u := r.Header.Get("X-User"); u != "" {
			return u, nil
		}
		return "", errors.New("no X-User")
	}})
	c := &Client{BaseURL: url2, HTTPClient: &http.Client{Transport: headerTransport{"X-User", "dave"}}}
	// The embedder's clients get certificates too (their name is the
	// embedder's).
	dave := &testMember{Client: c, name: "dave", st: mls.NewMemoryStorage()}
	signer, _ := mls.NewSigner(testSuite)
	chain, err := c.Certify(bg, "dave", testSuite, signer)
	if err != nil {
		t.Fatal(err)
	}
	if dave.cfg, err = mls.NewX509Config(testSuite, signer, chain, rootPool(t, c)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Certify(bg, "erin", testSuite, signer); !errors.Is(err, ErrForbidden) {
		t.Fatalf("certifying another client's key: %v, want ErrForbidden", err)
	}
	if _, err := c.UploadKeyPackage(bg, dave.keyPackage(t, false), false); err != nil {
		t.Fatal(err)
	}
	if kp, err := c.ClaimKeyPackage(bg, "dave", 1); err != nil || kp.LastResort {
		t.Fatalf("claim: %v", err)
	}
	if _, err := (&Client{BaseURL: url2}).CreateGroup(bg, gid, opaque); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("without identity: %v", err)
	}
	if _, err := (&Client{BaseURL: url2}).Register(bg, "eve"); err == nil {
		t.Fatal("registration is open although the embedder authenticates")
	}
}

type headerTransport struct{ key, value string }

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(h.key, h.value)
	return http.DefaultTransport.RoundTrip(r)
}

func TestLongPoll(t *testing.T) {
	_, url := testServer(t, nil, Config{PollInterval: time.Hour})
	alice := newClient(t, url, "alice")
	gid := groupID()
	if _, err := alice.CreateGroup(bg, gid, opaque); err != nil {
		t.Fatal(err)
	}
	msg := privateMsg(gid, 0, message.ContentApplication)
	got := make(chan []Entry, 1)
	errc := make(chan error, 1)
	go func() {
		es, err := alice.Fetch(bg, gid, 0, 0, 30*time.Second)
		got <- es
		errc <- err
	}()
	// The post wakes the waiting fetch (the poll interval is an hour, and
	// the wait 30 s: only the notification can end it with a message).
	waitFor(t, func() bool { return metric(t, url, "mls_ds_long_polls_waiting") != "0" })
	if _, err := alice.Post(bg, gid, msg); err != nil {
		t.Fatal(err)
	}
	es := <-got
	if err := <-errc; err != nil || len(es) != 1 || es[0].Seq != 1 || !bytes.Equal(es[0].Message, msg) {
		t.Fatalf("long poll: %v, %v", es, err)
	}
	// A fetch behind the log answers at once.
	if es, err := alice.Fetch(bg, gid, 0, 0, 30*time.Second); err != nil || len(es) != 1 {
		t.Fatalf("fetch: %v, %v", es, err)
	}
}

// metric returns the value of an unlabelled metric of the server at url.
func metric(t *testing.T, url, name string) string {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	t.Fatalf("no metric %s", name)
	return ""
}

// waitFor polls cond until it holds (the test's deadline bounds it).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for !cond() {
		time.Sleep(5 * time.Millisecond)
	}
}

func TestEventStream(t *testing.T) {
	_, url := testServer(t, nil, Config{PollInterval: time.Hour})
	alice := newClient(t, url, "alice")
	gid := groupID()
	var sent [][]byte
	post := func(n int) {
		for range n {
			m := privateMsg(gid, 0, message.ContentApplication)
			if _, err := alice.Post(bg, gid, m); err != nil {
				t.Fatal(err)
			}
			sent = append(sent, m)
		}
	}
	if _, err := alice.CreateGroup(bg, gid, opaque); err != nil {
		t.Fatal(err)
	}
	post(3)
	var got [][]byte
	// Read 5 messages (3 old, 2 posted while streaming), stop, resume from
	// the cursor and read 3 more: no gap, no duplicate.
	for _, n := range []int{5, 3} {
		ctx, cancel := context.WithCancel(bg)
		want := len(got) + n
		done := make(chan struct{})
		go func() {
			defer close(done)
			alice.Stream(ctx, gid, uint64(len(got)), func(e Entry) error {
				if e.Seq != uint64(len(got)+1) {
					t.Errorf("event seq %d, want %d", e.Seq, len(got)+1)
				}
				got = append(got, e.Message)
				if len(got) == want {
					cancel()
				}
				return nil
			})
		}()
		post(want - len(sent))
		<-done
		cancel()
	}
	if len(got) != 8 {
		t.Fatalf("streamed %d messages, want 8", len(got))
	}
	for i := range got {
		if !bytes.Equal(got[i], sent[i]) {
			t.Fatalf("message %d differs", i+1)
		}
	}
	if _, err := alice.Stream(bg, groupID(), 0, nil); !errors.Is(err, store.ErrUnknownGroup) {
		t.Fatalf("stream of an unknown group: %v", err)
	}
}

func TestMetrics(t *testing.T) {
	_, url := testServer(t, nil, Config{})
	alice := newClient(t, url, "alice")
	gid := groupID()
	if _, err := alice.CreateGroup(bg, gid, opaque); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.PostCommit(bg, gid, &CommitBundle{Commit: privateMsg(gid, 0, message.ContentCommit)}); err != nil {
		t.Fatal(err)
	}
	alice.Post(bg, gid, privateMsg(gid, 0, message.ContentCommit))
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(body)
	for _, want := range []string{
		`mls_ds_http_requests_total{route="POST /v1/groups/{group}/messages",code="201"} 1`,
		`mls_ds_http_requests_total{route="POST /v1/groups/{group}/messages",code="409"} 1`,
		`mls_ds_messages_stored_total{content_type="commit"} 1`,
		`mls_ds_epoch_conflicts_total{content_type="commit"} 1`,
		`mls_ds_http_request_duration_seconds_count{route="POST /v1/clients"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(text, EncodeGroupID(gid)) || strings.Contains(text, "alice") {
		t.Error("metrics contain a group or client id")
	}
}
