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

	"github.com/mlsengine/engine/delivery/store/storetest"
	"github.com/mlsengine/engine/mls/message"
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
