package delivery

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"errors"
	"github.com/mlsengine/engine/delivery/store"
	"github.com/mlsengine/engine/delivery/store/storetest"
	"github.com/mlsengine/engine/mls"
	"github.com/mlsengine/engine/mls/message"
	"slices"
	"sync"
)

// The multi-process tests run delivery service processes: this test binary
// re-executed in server mode (envServe set), serving the store envStore
// names on a free local port until killed or until its stdin closes.
const (
	envServe = "MLS_DS_TEST_SERVE"
	envStore = "MLS_DS_TEST_STORE"
	envPoll  = "MLS_DS_TEST_POLL" // the server's PollInterval, if set
)

func TestMain(m *testing.M) {
	if os.Getenv(envServe) != "" {
		os.Exit(serveChild())
	}
	os.Exit(m.Run())
}

func serveChild() int {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		io.Copy(io.Discard, os.Stdin) // the parent test ended
		cancel()
	}()
	poll, _ := time.ParseDuration(os.Getenv(envPoll))
	err := ListenAndServe(ctx, ServeConfig{
		Addr:     "127.0.0.1:0",
		StoreURL: os.Getenv(envStore),
		Server:   Config{Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)), PollInterval: poll, Limits: noRates},
		Ready:    func(a net.Addr, _ string) { fmt.Printf("listening %s\n", a) },
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "delivery test server:", err)
		return 1
	}
	return 0
}

// dsProcess is a delivery service process started by a test.
type dsProcess struct {
	cmd *exec.Cmd
	url string
}

// startDS starts a delivery service process over storeURL; the test's end
// kills it. env adds variables of its environment.
func startDS(t *testing.T, storeURL string, env ...string) *dsProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), envServe+"=1", envStore+"="+storeURL), env...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &dsProcess{cmd: cmd}
	t.Cleanup(p.kill)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if err != nil || !ok {
		t.Fatalf("delivery service process did not start: %q, %v", line, err)
	}
	p.url = "http://" + addr
	return p
}

// kill ends the process with SIGKILL (kill -9) and reaps it.
func (p *dsProcess) kill() {
	if p.cmd.ProcessState == nil {
		p.cmd.Process.Kill()
		p.cmd.Wait()
	}
}

// TestLongPollAcrossProcesses: a long poll served by one process over
// PostgreSQL is woken by a message posted through another. The waiting
// process re-reads the store only hourly and the poll waits 60 s, so only
// the notification (LISTEN/NOTIFY) can answer it with the message.
func TestLongPollAcrossProcesses(t *testing.T) {
	u := postgresURL(t)
	a, b := startDS(t, u), startDS(t, u, envPoll+"=1h")
	// Appends made before b listens are not announced to it.
	waitFor(t, func() bool { return metric(t, b.url, "mls_ds_store_listens_total") != "0" })
	alice := newClient(t, a.url, "alice")
	gid := groupID()
	if _, err := alice.CreateGroup(bg, gid, opaque); err != nil {
		t.Fatal(err)
	}
	msg := privateMsg(gid, 0, message.ContentApplication)
	got := make(chan []Entry, 1)
	go func() {
		es, err := clientAt(alice, b.url).Fetch(bg, gid, 0, 0, time.Minute)
		if err != nil {
			t.Error(err)
		}
		got <- es
	}()
	waitFor(t, func() bool { return metric(t, b.url, "mls_ds_long_polls_waiting") != "0" })
	if _, err := clientAt(alice, a.url).Post(bg, gid, msg); err != nil {
		t.Fatal(err)
	}
	if es := <-got; len(es) != 1 || !bytes.Equal(es[0].Message, msg) {
		t.Fatalf("long poll through the other process returned %d entries", len(es))
	}
	// Had the notification been lost, the poll would have ended at its
	// deadline with a last read instead.
	if n := metric(t, b.url, "mls_ds_store_notifications_total"); n == "0" {
		t.Fatal("the other process was not notified of the append")
	}
}

// testHTTP is the HTTP client of the multi-process tests: enough idle
// connections for the concurrent clients.
var testHTTP = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128, IdleConnTimeout: time.Minute}}

// clientAt returns a client of url with c's token.
func clientAt(c *Client, url string) *Client {
	return &Client{BaseURL: url, Token: c.Token, HTTPClient: testHTTP}
}

// sqliteURL returns a store URL for a new SQLite file.
func sqliteURL(t testing.TB) string { return "sqlite:" + filepath.Join(t.TempDir(), "ds.db") }

// postgresURL returns a store URL for a fresh PostgreSQL schema; the test
// fails if $MLS_TEST_POSTGRES is unset (see .ci/postgres.sh).
func postgresURL(t testing.TB) string { return storetest.PostgresURL(t) }

// TestTrackedAcrossProcesses: two service processes share a PostgreSQL
// store and each tracks the group: a commit validated by one is followed
// by the other before it validates the next, a proposal stored through one
// is known to the other when a commit references it, and of two commits
// racing through the two, one wins.
func TestTrackedAcrossProcesses(t *testing.T) {
	u := postgresURL(t)
	a, b := startDS(t, u), startDS(t, u)
	alice, bob := newMember(t, a.url, "alice"), newMember(t, b.url, "bob")
	bob.publish(t, 1)
	ga := alice.create(t)
	alice.add(t, ga, bob)
	gb, cursor := bob.join(t) // through b, which loads the group
	for i := range 4 {
		m, g, other, og := alice, ga, bob, gb
		if i%2 == 1 {
			m, g, other, og = bob, gb, alice, ga
		}
		pc, err := g.Update()
		if err != nil {
			t.Fatal(err)
		}
		m.post(t, g, pc)
		_, cursor = other.follow(t, og, cursor)
	}
	// A proposal through b, committed through a.
	prop, err := gb.Propose(mls.NewGroupContextExtensions(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Post(bg, gb.GroupID(), prop); err != nil {
		t.Fatal(err)
	}
	_, cursor = alice.follow(t, ga, cursor)
	pc, err := ga.Commit(&mls.CommitOptions{OutOfBandTree: true})
	if err != nil || len(pc.Proposals) != 1 {
		t.Fatalf("alice's commit of bob's proposal: %v", err)
	}
	alice.post(t, ga, pc)
	_, cursor = bob.follow(t, gb, cursor)
	// A race through both processes.
	pa, _ := ga.Update()
	pb, _ := gb.Update()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, r := range []struct {
		m  *testMember
		pc *mls.PendingCommit
	}{{alice, pa}, {bob, pb}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = r.m.PostCommit(bg, ga.GroupID(), bundleOf(t, r.pc))
		}()
	}
	wg.Wait()
	aliceWon := errs[0] == nil
	lost := errs[1]
	if !aliceWon {
		lost = errs[0]
	}
	if aliceWon == (errs[1] == nil) || !errors.Is(lost, store.ErrEpoch) {
		t.Fatalf("racing commits: %v, %v", errs[0], errs[1])
	}
	if aliceWon {
		ga.Apply(pa)
		pb.Discard()
		bob.follow(t, gb, cursor)
	} else {
		gb.Apply(pb)
		pa.Discard()
		alice.follow(t, ga, cursor)
	}
	if !bytes.Equal(ga.EpochAuthenticator(), gb.EpochAuthenticator()) {
		t.Fatal("alice and bob disagree after the race")
	}
	alice.send(t, ga, "after the race")
	if texts, _ := bob.follow(t, gb, cursor); !slices.Contains(texts, "after the race") {
		t.Fatalf("bob read %q", texts)
	}
}
