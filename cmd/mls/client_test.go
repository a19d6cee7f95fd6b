package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mlsengine/engine/delivery"
	"github.com/mlsengine/engine/delivery/store/memstore"
)

// envRunMLS makes the test binary run `mls` with its arguments instead of
// the tests: the end-to-end test starts the delivery service that way, as
// a separate process it can kill.
const envRunMLS = "MLS_TEST_RUN_MLS"

func TestMain(m *testing.M) {
	if os.Getenv(envRunMLS) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// dsProcess is `mls ds serve` running in a child process.
type dsProcess struct {
	cmd  *exec.Cmd
	addr string // host:port it listens on
	done chan struct{}
	mu   sync.Mutex
	out  bytes.Buffer // its stdout and stderr
}

var listeningRE = regexp.MustCompile(`^mls: ds: listening on http://(\S+) `)

// startDS starts `mls ds serve --listen listen --store storeURL` (and
// flags) and waits until it accepts connections.
func startDS(t *testing.T, listen, storeURL string, flags ...string) *dsProcess {
	t.Helper()
	p := &dsProcess{done: make(chan struct{})}
	p.cmd = exec.Command(os.Args[0], append([]string{"ds", "serve", "--listen", listen, "--store", storeURL}, flags...)...)
	p.cmd.Env = append(os.Environ(), envRunMLS+"=1")
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = writerFunc(p.write)
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.write([]byte(sc.Text() + "\n"))
			if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
		p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { p.stop(t, syscall.SIGKILL) })
	select {
	case p.addr = <-addr:
	case <-p.done:
		t.Fatalf("mls ds serve exited: %s", p.output())
	case <-time.After(20 * time.Second):
		t.Fatalf("mls ds serve did not start: %s", p.output())
	}
	return p
}

func (p *dsProcess) write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

func (p *dsProcess) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// stop sends sig and waits for the process to exit; it returns the exit
// code (-1 if killed by a signal).
func (p *dsProcess) stop(t *testing.T, sig os.Signal) int {
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	default:
	}
	p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
		t.Errorf("mls ds serve did not stop on %v: %s", sig, p.output())
	}
	return p.cmd.ProcessState.ExitCode()
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// mlsClient runs `mls client` in-process for one state directory.
type mlsClient struct {
	t    *testing.T
	name string
	dir  string
	ds   string
}

func newMLSClient(t *testing.T, name, ds string) *mlsClient {
	return &mlsClient{t: t, name: name, dir: filepath.Join(t.TempDir(), name), ds: ds}
}

func (c *mlsClient) run(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(context.Background(), append([]string{"client", "--dir", c.dir, "--ds", c.ds}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

// ok runs a command that must succeed and returns its stdout lines.
func (c *mlsClient) ok(args ...string) []string {
	c.t.Helper()
	code, out, errOut := c.run(args...)
	if code != exitOK || errOut != "" {
		c.t.Fatalf("%s: mls client %s: exit %d\nstdout: %s\nstderr: %s", c.name, strings.Join(args, " "), code, out, errOut)
	}
	return splitLines(out)
}

// expect runs a command that must succeed and print exactly want.
func (c *mlsClient) expect(args []string, want ...string) {
	c.t.Helper()
	if got := c.ok(args...); !slices.Equal(got, want) {
		c.t.Fatalf("%s: mls client %s:\ngot  %q\nwant %q", c.name, strings.Join(args, " "), got, want)
	}
}

// fails runs a command that must exit with code and mention want on stderr.
func (c *mlsClient) fails(code int, want string, args ...string) {
	c.t.Helper()
	got, out, errOut := c.run(args...)
	if got != code || !strings.Contains(errOut, want) {
		c.t.Fatalf("%s: mls client %s: exit %d, want %d with %q\nstdout: %s\nstderr: %s", c.name, strings.Join(args, " "), got, code, want, out, errOut)
	}
}

type infoJSON struct {
	Group              string   `json:"group"`
	Epoch              uint64   `json:"epoch"`
	Members            []string `json:"members"`
	EpochAuthenticator string   `json:"epoch_authenticator"`
	GroupID            string   `json:"group_id"`
	Synced             bool     `json:"synced"`
}

func (c *mlsClient) info(group string) infoJSON {
	c.t.Helper()
	out := c.ok("info", group, "--json")
	var v infoJSON
	dec := json.NewDecoder(strings.NewReader(strings.Join(out, "\n")))
	dec.DisallowUnknownFields()
	if len(out) != 1 || dec.Decode(&v) != nil {
		c.t.Fatalf("%s: info --json printed %q", c.name, out)
	}
	return v
}

// agree checks that the clients see the same epoch, members and epoch
// authenticator.
func agree(t *testing.T, group string, members []string, clients ...*mlsClient) infoJSON {
	t.Helper()
	first := clients[0].info(group)
	if first.Group != group || !slices.Equal(first.Members, members) || len(first.EpochAuthenticator) < 64 { // Nh >= 32 bytes, in hex
		t.Fatalf("%s: info %+v, want members %q", clients[0].name, first, members)
	}
	for _, c := range clients[1:] {
		if v := c.info(group); fmt.Sprint(v) != fmt.Sprint(first) {
			t.Fatalf("%s sees %+v, %s sees %+v", clients[0].name, first, c.name, v)
		}
	}
	return first
}

// caFingerprint returns the fingerprint of the root of the delivery
// service at url.
func caFingerprint(t *testing.T, url string) string {
	t.Helper()
	der, err := (&delivery.Client{BaseURL: url}).CA(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return delivery.Fingerprint(der)
}

func splitLines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// TestClientEndToEnd runs three clients with separate state directories
// through a delivery service in another process, which is stopped and
// restarted on the same SQLite store twice (SIGTERM, then SIGKILL): create,
// add two, join, messages in every direction, update, remove one (who then
// cannot read new messages), leave.
func TestClientEndToEnd(t *testing.T) {
	store := "sqlite:" + filepath.Join(t.TempDir(), "ds.db")
	ds := startDS(t, "127.0.0.1:0", store)
	url := "http://" + ds.addr
	alice, bob, carol := newMLSClient(t, "alice", url), newMLSClient(t, "bob", url), newMLSClient(t, "carol", url)

	for _, c := range []*mlsClient{alice, bob, carol} {
		out := c.ok("init", c.name)
		if len(out) != 2 || !strings.HasPrefix(out[0], "initialized "+c.name+" ") || !strings.HasPrefix(out[1], "CA fingerprint: ") {
			t.Fatalf("init printed %q", out)
		}
	}
	alice.expect([]string{"create", "team"}, "created team")
	alice.expect([]string{"add", "team", "bob", "carol"}, "team: alice added bob", "team: alice added carol")

	// The Welcomes survive a clean restart of the delivery service.
	if code := ds.stop(t, syscall.SIGTERM); code != 0 || !strings.Contains(ds.output(), "mls: ds: stopped") {
		t.Fatalf("ds serve exit code %d after SIGTERM:\n%s", code, ds.output())
	}
	ds = startDS(t, ds.addr, store)
	bob.expect([]string{"join"}, "joined team")
	carol.expect([]string{"join"}, "joined team")
	if code, out, errOut := carol.run("join"); code != exitOK || out != "" || !strings.Contains(errOut, "no Welcome pending for carol") {
		t.Fatalf("join with nothing pending: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	v := agree(t, "team", []string{"alice", "bob", "carol"}, alice, bob, carol)
	out := alice.ok("info", "team")
	if len(out) != 6 || out[0] != "group: team" || out[2] != "epoch: 1" ||
		out[3] != "members: alice bob carol" || out[4] != "epoch_authenticator: "+v.EpochAuthenticator ||
		len(strings.Fields(out[5])) != 4 || !strings.HasPrefix(out[5], "fingerprints: ") {
		t.Fatalf("info printed %q", out)
	}
	if bobs := bob.ok("info", "team"); bobs[5] != out[5] {
		t.Fatalf("alice and bob see other certificates: %q, %q", out[5], bobs[5])
	}

	// Messages in every direction, across a crash of the delivery service.
	alice.ok("send", "team", "hello", "from", "alice")
	bob.ok("send", "team", "hi, it's bob")
	carol.ok("send", "--", "team", "-carol here-")
	ds.stop(t, syscall.SIGKILL)
	alice.fails(exitFailed, "mls: client: delivery service", "recv")
	ds = startDS(t, ds.addr, store)
	alice.expect([]string{"recv"}, "team bob: hi, it's bob", "team carol: -carol here-")
	bob.expect([]string{"recv", "team"}, "team alice: hello from alice", "team carol: -carol here-")
	carol.expect([]string{"recv"}, "team alice: hello from alice", "team bob: hi, it's bob")
	alice.expect([]string{"recv"})

	bob.expect([]string{"update", "team"}, "team: bob updated")
	alice.ok("send", "team", "after bob's update")
	alice.expect([]string{"recv"}, "team: bob updated")
	carol.expect([]string{"recv"}, "team: bob updated", "team alice: after bob's update")
	bob.expect([]string{"recv"}, "team alice: after bob's update")
	epoch := agree(t, "team", []string{"alice", "bob", "carol"}, alice, bob, carol).Epoch

	// Carol is removed: she learns it and cannot read what follows.
	alice.expect([]string{"remove", "team", "carol"}, "team: alice removed carol")
	alice.ok("send", "team", "carol must not read this")
	bob.expect([]string{"recv"}, "team: alice removed carol", "team alice: carol must not read this")
	carol.expect([]string{"recv"}, "team: alice removed you")
	carol.expect([]string{"recv"})
	carol.fails(exitFailed, "no longer a member of team (removed by alice)", "recv", "team")
	carol.fails(exitFailed, "no longer a member of team", "send", "team", "hello?")
	carol.fails(exitFailed, "no longer a member of team", "info", "team")
	if v := agree(t, "team", []string{"alice", "bob"}, alice, bob); v.Epoch != epoch+1 {
		t.Fatalf("epoch %d after the removal, want %d", v.Epoch, epoch+1)
	}
	bob.ok("send", "team", "still here")
	alice.expect([]string{"recv", "team"}, "team bob: still here")
	carol.expect([]string{"recv"})

	// Bob leaves; Alice's next recv commits his request.
	bob.expect([]string{"leave", "team"}, "team: you left")
	alice.expect([]string{"recv"}, "team: bob left")
	agree(t, "team", []string{"alice"}, alice)
	bob.fails(exitFailed, "no longer a member of team (this client left it)", "send", "team", "hi")

	if code := ds.stop(t, syscall.SIGINT); code != 0 {
		t.Fatalf("ds serve exit code %d after SIGINT:\n%s", code, ds.output())
	}
}

func TestClientUsage(t *testing.T) {
	c := newMLSClient(t, "alice", "http://127.0.0.1:1")
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"init"},
		{"init", "a", "b"},
		{"send", "team"},
		{"add", "team"},
		{"recv", "a", "b"},
		{"recv", "--suite", "1"},
		{"init", "alice", "--suite", "9"},
		{"init", "alice", "--suite", "bogus"},
		{"--nosuchflag", "join"},
	} {
		if code, _, errOut := c.run(args...); code != exitUsage || errOut == "" {
			t.Errorf("mls client %q: exit %d, stderr %q; want usage error", args, code, errOut)
		}
	}
	if code, _, _ := runClientArgs("client", "--ds", "ftp://x", "join"); code != exitUsage {
		t.Errorf("bad --ds URL: exit %d", code)
	}
	if code, out, _ := runClientArgs("client", "help"); code != exitOK || !strings.Contains(out, "recv [GROUP]") {
		t.Errorf("client help: exit %d, %q", code, out)
	}
	c.fails(exitFailed, "run init first", "join")
	c.fails(exitFailed, "mls: client: delivery service", "init", "alice")
	c.fails(exitFailed, "mls: client: invalid name", "init", "al ice")

	for _, args := range [][]string{{"ds"}, {"ds", "run"}, {"ds", "serve", "extra"}, {"ds", "serve", "--nosuch"}} {
		if code, _, errOut := runClientArgs(args...); code != exitUsage || errOut == "" {
			t.Errorf("mls %q: exit %d, stderr %q; want usage error", args, code, errOut)
		}
	}
	if code, _, errOut := runClientArgs("ds", "serve", "--store", "bogus:x"); code != exitFailed || !strings.Contains(errOut, "mls: ds: ") {
		t.Errorf("ds serve with a bad store: exit %d, stderr %q", code, errOut)
	}
}

func runClientArgs(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestClientRejoin rejoins by external commit through `mls client rejoin`:
// Carol, removed, only into a group created --open; Bob, whose state
// directory was restored from an older copy, by the group id `info`
// prints; not once his record of the group is gone.
func TestClientRejoin(t *testing.T) {
	srv, err := delivery.NewServer(delivery.Config{Store: memstore.New(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	alice, bob, carol := newMLSClient(t, "alice", hs.URL), newMLSClient(t, "bob", hs.URL), newMLSClient(t, "carol", hs.URL)
	for _, c := range []*mlsClient{alice, bob, carol} {
		c.ok("init", c.name)
	}
	alice.ok("create", "team")
	alice.ok("create", "lobby", "--open")
	alice.ok("add", "team", "bob", "carol")
	alice.ok("add", "lobby", "carol")
	bob.expect([]string{"join"}, "joined team")
	carol.expect([]string{"join"}, "joined team", "joined lobby")
	alice.expect([]string{"remove", "team", "carol"}, "team: alice removed carol")
	alice.expect([]string{"remove", "lobby", "carol"}, "lobby: alice removed carol")
	carol.expect([]string{"recv"}, "lobby: alice removed you", "team: alice removed you")

	carol.fails(exitFailed, "does not admit this client back", "rejoin", "team")
	carol.expect([]string{"rejoin", "lobby"}, "rejoined lobby")
	alice.expect([]string{"recv", "lobby"}, "lobby: carol joined")
	agree(t, "lobby", []string{"alice", "carol"}, alice, carol)

	var gid string
	for _, l := range bob.ok("info", "team") {
		if v, ok := strings.CutPrefix(l, "group_id: "); ok {
			gid = v
		}
	}
	if gid == "" {
		t.Fatal("info printed no group_id")
	}
	backup := t.TempDir()
	if err := os.CopyFS(backup, os.DirFS(bob.dir)); err != nil {
		t.Fatal(err)
	}
	bob.ok("update", "team")
	if err := os.RemoveAll(bob.dir); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(bob.dir, os.DirFS(backup)); err != nil {
		t.Fatal(err)
	}
	bob.fails(exitFailed, "rejoin", "recv", "team")
	bob.expect([]string{"rejoin", "--id", gid}, "rejoined team")
	alice.expect([]string{"recv", "team"}, "team: bob updated", "team: bob rejoined")
	v := agree(t, "team", []string{"alice", "bob"}, alice, bob)
	if v.Epoch != 4 {
		t.Fatalf("epoch %d, want 4", v.Epoch)
	}
	bob.ok("send", "team", "back")
	alice.expect([]string{"recv", "team"}, "team bob: back")

	if err := os.RemoveAll(filepath.Join(bob.dir, "groups")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(bob.dir, "groups"), 0o700); err != nil {
		t.Fatal(err)
	}
	bob.fails(exitFailed, "unknown group", "rejoin", "team")
	bob.fails(exitFailed, "rejoin only continues a group it knew", "rejoin", "--id", gid)

	for _, args := range [][]string{{"rejoin"}, {"rejoin", "team", "--id", gid}, {"rejoin", "--id", "zz"}, {"rejoin", "a", "b"}, {"info", "team", "--id", gid}} {
		if code, _, errOut := bob.run(args...); code != exitUsage || errOut == "" {
			t.Errorf("mls client %q: exit %d, stderr %q; want usage error", args, code, errOut)
		}
	}
}
