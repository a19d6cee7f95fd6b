package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// envKillTrials sets the number of trials of TestClientSIGKILL.
const envKillTrials = "MLS_TEST_KILL_TRIALS"

const defaultKillTrials = 1000

// killOp is an operation a trial runs in a child `mls client` process and
// kills with SIGKILL at a random moment.
type killOp struct {
	name string
	// applies reports whether the operation can run now (dave: whether
	// Dave is a member).
	applies func(dave bool) bool
}

var killOps = []killOp{
	{"send", func(bool) bool { return true }},
	{"update", func(bool) bool { return true }},
	{"recv", func(bool) bool { return true }},
	{"add", func(dave bool) bool { return !dave }},
	{"remove", func(dave bool) bool { return dave }},
	{"join", func(dave bool) bool { return !dave }},
}

// killRun is one `mls client` child process of a trial.
type killRun struct {
	out    string
	killed bool
	took   time.Duration
}

// TestClientSIGKILL kills `mls client` with SIGKILL at random points of
// send, update, add, remove, recv and join, against a real SQLite `mls ds
// serve` in another process. Alice, Bob and Carol stay in the group and
// send messages; Dave is added, joins and is removed over and over. After
// each trial every client recovers with ordinary commands (recv, and join
// for Dave), never rejoin, and then every member must agree on the epoch,
// the members and the epoch authenticator. At the end, every message whose
// send was acknowledged (exit 0) has been printed by every other stable
// member, and no message was printed twice by recv runs that completed.
//
// A trial's kill comes after a delay drawn uniformly from [0, 1.2 × the
// operation's mean duration], so kills land all through the commands,
// including after they finished (those runs count as completed).
// MLS_TEST_KILL_TRIALS sets the number of trials (default 1000, 60 with
// -short).
func TestClientSIGKILL(t *testing.T) {
	trials := defaultKillTrials
	if testing.Short() {
		trials = 60
	}
	if s := os.Getenv(envKillTrials); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want a positive number", envKillTrials, s)
		}
		trials = n
	}
	start := time.Now()
	// Alice adds Dave hundreds of times: no claim limits.
	ds := startDS(t, "127.0.0.1:0", "sqlite:"+filepath.Join(t.TempDir(), "ds.db"), "--claims-per-target", "off", "--claims-of-target", "off")
	url := "http://" + ds.addr
	alice, bob, carol, dave := newMLSClient(t, "alice", url), newMLSClient(t, "bob", url), newMLSClient(t, "carol", url), newMLSClient(t, "dave", url)
	stable := []*mlsClient{alice, bob, carol}
	for _, c := range append(slices.Clone(stable), dave) {
		c.ok("init", c.name)
	}
	alice.ok("create", "team")
	alice.ok("add", "team", "bob", "carol")
	bob.ok("join")
	carol.ok("join")

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 11))
	seed := rng.Uint64()
	rng = rand.New(rand.NewPCG(seed, 11))
	t.Logf("seed %d", seed)

	mean := map[string]time.Duration{}
	runs := map[string]int{}
	acked := map[string]string{}               // message text -> sender
	completed := map[string]map[string]int{}   // receiver -> text -> times printed by completed recvs
	seenKilled := map[string]map[string]bool{} // receiver -> text -> printed by a killed recv
	for _, c := range append(slices.Clone(stable), dave) {
		completed[c.name], seenKilled[c.name] = map[string]int{}, map[string]bool{}
	}
	record := func(c *mlsClient, out string, killed bool) {
		for _, line := range splitLines(out) {
			// Messages are "team SENDER: TEXT"; membership changes
			// start with "team:".
			rest, ok := strings.CutPrefix(line, "team ")
			if !ok {
				continue
			}
			_, text, ok := strings.Cut(rest, ": ")
			if !ok {
				continue
			}
			if killed {
				seenKilled[c.name][text] = true
			} else {
				completed[c.name][text]++
			}
		}
	}
	kills := map[string]int{}
	daveIn := false
	for trial := range trials {
		var ops []killOp
		for _, op := range killOps {
			if op.applies(daveIn) {
				ops = append(ops, op)
			}
		}
		op := ops[rng.IntN(len(ops))]
		who := stable[rng.IntN(len(stable))]
		var args []string
		text := fmt.Sprintf("m%d", trial)
		switch op.name {
		case "send":
			args = []string{"send", "team", text}
		case "update":
			args = []string{"update", "team"}
		case "recv":
			if rng.IntN(4) == 0 && daveIn {
				who = dave
			}
			args = []string{"recv"}
		case "add":
			args = []string{"add", "team", "dave"}
		case "remove":
			args = []string{"remove", "team", "dave"}
		case "join":
			who.ok("add", "team", "dave")
			who, args = dave, []string{"join"}
		}
		est := mean[op.name]
		if est == 0 {
			est = 50 * time.Millisecond
		}
		delay := time.Duration(rng.Int64N(int64(est) * 6 / 5))
		r := runKilled(t, who, args, delay)
		if r.killed {
			kills[op.name]++
		} else {
			runs[op.name]++
			mean[op.name] += (r.took - mean[op.name]) / time.Duration(runs[op.name])
		}
		switch {
		case op.name == "send" && !r.killed:
			acked[text] = who.name
		case op.name == "recv":
			record(who, r.out, r.killed)
		}

		// Recovery with ordinary commands, then agreement.
		for _, c := range stable {
			record(c, strings.Join(c.ok("recv"), "\n"), false)
		}
		view := alice.info("team")
		daveIn = slices.Contains(view.Members, "dave")
		var daveOut string
		if daveIn {
			code, out, errOut := dave.run("join")
			if code != exitOK {
				t.Fatalf("trial %d: dave join: exit %d\n%s%s", trial, code, out, errOut)
			}
			rout := strings.Join(dave.ok("recv"), "\n")
			daveOut = out + errOut + rout
			record(dave, rout, false)
			// A join with Dave's last-resort KeyPackage commits an update
			// of his leaf (RFC 9750 §5.1: as early as possible), so the
			// epoch to agree on is the one after his recovery.
			view = alice.info("team")
		} else {
			dave.run("recv") // learns it was removed; may fail if it never joined
		}
		members := []*mlsClient{alice, bob, carol}
		if daveIn {
			members = append(members, dave)
		}
		got := agree(t, "team", view.Members, members...)
		if got.Epoch != view.Epoch {
			t.Fatalf("trial %d: epoch moved during the check (%d -> %d; op %s by %s, killed %v)\ndave: %s", trial, view.Epoch, got.Epoch, op.name, who.name, r.killed, daveOut)
		}
	}

	for text, sender := range acked {
		for _, c := range stable {
			if c.name == sender {
				continue
			}
			if completed[c.name][text] == 0 && !seenKilled[c.name][text] {
				t.Errorf("%s never printed the acknowledged message %q from %s", c.name, text, sender)
			}
		}
	}
	for name, texts := range completed {
		for text, n := range texts {
			if n > 1 {
				t.Errorf("%s printed %q %d times", name, text, n)
			}
		}
	}
	t.Logf("%d trials in %v: killed %v; completed %v (mean durations %v); %d messages acknowledged; final epoch %d",
		trials, time.Since(start).Round(time.Second), kills, runs, roundDurations(mean), len(acked), alice.info("team").Epoch)
}

// runKilled runs `mls client ARGS` for c in a child process and sends it
// SIGKILL after delay, unless it finished before.
func runKilled(t *testing.T, c *mlsClient, args []string, delay time.Duration) killRun {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"client", "--dir", c.dir, "--ds", c.ds}, args...)...)
	cmd.Env = append(os.Environ(), envRunMLS+"=1")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	timer := time.NewTimer(delay)
	defer timer.Stop()
	var err error
	select {
	case err = <-done:
	case <-timer.C:
		cmd.Process.Signal(syscall.SIGKILL)
		err = <-done
	}
	took := time.Since(begin)
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return killRun{out: out.String(), killed: true, took: took}
	}
	// Completed runs may fail only for a reason the test expects: adding
	// Dave while his add is in flight, or a commit that lost twice.
	if err != nil && !strings.Contains(errOut.String(), "already a member") && !strings.Contains(errOut.String(), "not a member") {
		t.Fatalf("%s: mls client %s: %v\nstdout: %s\nstderr: %s", c.name, strings.Join(args, " "), err, out.String(), errOut.String())
	}
	return killRun{out: out.String(), took: took}
}

func roundDurations(m map[string]time.Duration) map[string]time.Duration {
	out := map[string]time.Duration{}
	for k, v := range m {
		out[k] = v.Round(time.Millisecond)
	}
	return out
}
