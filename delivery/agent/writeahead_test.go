package agent

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mlsengine/engine/delivery"
)

// lossyTransport loses the posts of one kind while armed: with
// forward, each reaches the delivery service and its answer is dropped (the
// connection fails after the server accepted), without, the request is
// dropped before it is sent.
type lossyTransport struct {
	mu        sync.Mutex
	mediaType string // delivery.MediaTypeCommitBundle or delivery.MediaTypeMLS
	forward   bool
	armed     bool
	lost      int
}

func (l *lossyTransport) arm(mediaType string, forward bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.mediaType, l.forward, l.armed = mediaType, forward, true
}

func (l *lossyTransport) disarm() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.armed = false
}

var errConnectionLost = errors.New("test: connection lost")

func (l *lossyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	l.mu.Lock()
	mt, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	lose := l.armed && req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/messages") && mt == l.mediaType
	forward := l.forward
	if lose {
		l.lost++
	}
	l.mu.Unlock()
	if !lose {
		return http.DefaultTransport.RoundTrip(req)
	}
	if forward {
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return nil, errConnectionLost
}

// lose runs op with the posts of mediaType lost (see lossyTransport),
// checks that it failed with ErrDelivery and returns the error.
func (l *lossyTransport) lose(t *testing.T, mediaType string, forward bool, op func() error) error {
	t.Helper()
	l.arm(mediaType, forward)
	err := op()
	l.disarm()
	if !errors.Is(err, ErrDelivery) {
		t.Fatalf("with its posts lost (forwarded: %v): %v; want ErrDelivery", forward, err)
	}
	return err
}

func lossyAgent(t *testing.T, ds, name string) (*Agent, *lossyTransport) {
	t.Helper()
	lt := &lossyTransport{}
	return testAgent(t, ds, name, func(o *Options) { o.HTTPClient = &http.Client{Transport: lt} }), lt
}

func sentCount(t *testing.T, a *Agent, group string) int {
	t.Helper()
	rec, err := a.st.findRecord(group)
	if err != nil {
		t.Fatal(err)
	}
	return len(rec.Sent)
}

// TestCommitAcceptedAnswerLost drops the connection of every post of
// Alice's update after the delivery service accepted it: the command fails,
// and her next command (a send) finds the commit in the log and finishes it
// from the write-ahead record, so everyone agrees and nothing is lost.
func TestCommitAcceptedAnswerLost(t *testing.T) {
	ds := newDS(t)
	alice, lt := lossyAgent(t, ds, "alice")
	bob := testAgent(t, ds, "bob")
	makeTeam(t, alice, bob)

	err := lt.lose(t, delivery.MediaTypeCommitBundle, true, func() error { _, err := alice.Update(bg, "team"); return err })
	if lt.lost != 3 {
		t.Fatalf("%d posts lost, want 3 (the post and its retries)", lt.lost)
	}
	if !strings.Contains(err.Error(), "the next command on the group finishes it") {
		t.Errorf("error does not say what happens next: %v", err)
	}
	if n := sentCount(t, alice, "team"); n != 1 {
		t.Fatalf("%d messages written ahead, want the commit", n)
	}
	// Bob is in the new epoch already.
	wantLines(t, "bob", recv(t, bob, "team"), "team: alice updated")

	send(t, alice, "team", "after my update")
	if n := sentCount(t, alice, "team"); n != 0 {
		t.Fatalf("%d messages still written ahead after the next command", n)
	}
	wantLines(t, "bob", recv(t, bob, "team"), "team alice: after my update")
	wantLines(t, "alice learns her update went through", recv(t, alice, "team"), "team: alice updated")
	if v := sameView(t, "team", alice, bob); v.Epoch != 2 {
		t.Fatalf("epoch %d, want 2", v.Epoch)
	}
	send(t, bob, "team", "in sync")
	wantLines(t, "alice", recv(t, alice, "team"), "team bob: in sync")
}

// TestCommitNeverPosted loses Alice's commit before it reaches the
// delivery service. If nobody commits meanwhile, her next command posts it
// again; if Bob's commit takes the epoch first, hers is discarded.
func TestCommitNeverPosted(t *testing.T) {
	ds := newDS(t)
	alice, lt := lossyAgent(t, ds, "alice")
	bob := testAgent(t, ds, "bob")
	makeTeam(t, alice, bob)

	lt.lose(t, delivery.MediaTypeCommitBundle, false, func() error { _, err := alice.Remove(bg, "team", "bob"); return err })
	wantLines(t, "bob has seen nothing", recv(t, bob, "team"))
	wantLines(t, "alice's next recv posts it", recv(t, alice, "team"), "team: alice removed bob")
	wantLines(t, "bob", recv(t, bob, ""), "team: alice removed you")
	if v := sameView(t, "team", alice); v.Epoch != 2 || len(v.Members) != 1 {
		t.Fatalf("view %+v", v)
	}

	carol := testAgent(t, ds, "carol")
	if _, err := alice.Add(bg, "team", "carol"); err != nil {
		t.Fatal(err)
	}
	join(t, carol, "team")
	lt.lose(t, delivery.MediaTypeCommitBundle, false, func() error { _, err := alice.Update(bg, "team"); return err })
	if _, err := carol.Update(bg, "team"); err != nil {
		t.Fatal(err)
	}
	wantLines(t, "alice's update lost to carol's", recv(t, alice, "team"), "team: carol updated")
	if n := sentCount(t, alice, "team"); n != 0 {
		t.Fatalf("the lost commit is still written ahead (%d)", n)
	}
	if v := sameView(t, "team", alice, carol); v.Epoch != 4 {
		t.Fatalf("epoch %d, want 4", v.Epoch)
	}
}

// TestSendAnswerLost loses the answer to Alice's message: Bob gets it once,
// and Alice's next command recognizes it in the log.
func TestSendAnswerLost(t *testing.T) {
	ds := newDS(t)
	alice, lt := lossyAgent(t, ds, "alice")
	bob := testAgent(t, ds, "bob")
	makeTeam(t, alice, bob)

	lt.lose(t, delivery.MediaTypeMLS, true, func() error { _, err := alice.Send(bg, "team", "once"); return err })
	wantLines(t, "alice", recv(t, alice, "team"))
	wantLines(t, "bob", recv(t, bob, "team"), "team alice: once")
	lt.lose(t, delivery.MediaTypeMLS, false, func() error { _, err := alice.Send(bg, "team", "later"); return err })
	wantLines(t, "alice's recv posts it", recv(t, alice, "team"))
	wantLines(t, "bob", recv(t, bob, "team"), "team alice: later")
}

// TestRestoredOlderState restores Alice's state directory from a copy
// made before her last commit: her next command says that the state cannot
// follow the group and how to rejoin, instead of skipping her own commit,
// and rejoin brings her back.
func TestRestoredOlderState(t *testing.T) {
	ds := newDS(t)
	alice, bob := testAgent(t, ds, "alice"), testAgent(t, ds, "bob")
	makeTeam(t, alice, bob)
	groups := filepath.Join(alice.opts.Dir, groupsDir)
	backup := t.TempDir()
	copyDir(t, groups, backup)

	if _, err := alice.Update(bg, "team"); err != nil {
		t.Fatal(err)
	}
	send(t, alice, "team", "sent by the lost state")
	wantLines(t, "bob", recv(t, bob, "team"), "team: alice updated", "team alice: sent by the lost state")
	if err := os.RemoveAll(groups); err != nil {
		t.Fatal(err)
	}
	copyDir(t, backup, groups)

	for _, op := range []func() error{
		func() error { _, err := alice.Send(bg, "team", "reusing a key?"); return err },
		func() error { _, err := alice.Receive(bg, "team"); return err },
		func() error { _, err := alice.Info(bg, "team"); return err },
	} {
		err := op()
		if !errors.Is(err, ErrOutOfSync) || !strings.Contains(err.Error(), "run 'mls client rejoin team'") {
			t.Fatalf("restored state: %v; want ErrOutOfSync saying to rejoin", err)
		}
	}
	if err := alice.Rejoin(bg, "team"); err != nil {
		t.Fatal(err)
	}
	wantLines(t, "bob", recv(t, bob, "team"), "team: alice rejoined")
	sameView(t, "team", alice, bob)
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(to, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
