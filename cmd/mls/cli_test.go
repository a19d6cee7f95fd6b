package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mlsengine/engine/delivery"
	"github.com/mlsengine/engine/delivery/store/memstore"
)

// everyCommand returns the name of every command that runs, as words.
func everyCommand() [][]string {
	var out [][]string
	var walk func([]*command)
	walk = func(cs []*command) {
		for _, c := range cs {
			if c.run != nil || len(c.subs) == 0 {
				out = append(out, strings.Fields(c.name))
			}
			walk(c.subs)
		}
	}
	walk(commands().subs)
	return out
}

// TestHelp checks that `mls help CMD`, `mls CMD -h` and `mls CMD --help`
// print that command's usage only, on stdout, and exit 0.
func TestHelp(t *testing.T) {
	cmds := everyCommand()
	if len(cmds) < 16 {
		t.Fatalf("only %d commands: %q", len(cmds), cmds)
	}
	for _, words := range cmds {
		name := strings.Join(words, " ")
		want := "usage: mls "
		for _, form := range [][]string{
			append([]string{"help"}, words...),
			append(append([]string{}, words...), "-h"),
			append(append([]string{}, words...), "--help"),
		} {
			code, out, errOut := runCLI(form...)
			if code != exitOK || errOut != "" || !strings.HasPrefix(out, want) || strings.Count(out, "usage:") != 1 {
				t.Errorf("mls %s: exit %d, stderr %q, stdout:\n%s", strings.Join(form, " "), code, errOut, out)
				continue
			}
			first, _, _ := strings.Cut(out, "\n")
			if last := words[len(words)-1]; !strings.Contains(first, " "+last) {
				t.Errorf("mls %s: usage line %q is not of %s", strings.Join(form, " "), first, name)
			}
		}
	}
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}, {"client", "help"}, {"client", "help", "recv"}, {"vectors", "-h"}, {"ds", "help"}} {
		if code, out, _ := runCLI(args...); code != exitOK || !strings.HasPrefix(out, "usage: mls") {
			t.Errorf("mls %q: exit %d\n%s", args, code, out)
		}
	}
	if _, out, _ := runCLI("help"); !strings.Contains(out, "vectors verify") || !strings.Contains(out, "client [--dir DIR]") {
		t.Errorf("mls help lists:\n%s", out)
	}
	if _, out, _ := runCLI("help", "client"); !strings.Contains(out, "client recv [GROUP]") || !strings.Contains(out, "client groups") {
		t.Errorf("mls help client lists:\n%s", out)
	}
}

// usageErrorRE is a usage error: one line saying what is wrong, and how to
// get the command's usage.
var usageErrorRE = regexp.MustCompile(`^mls ([a-z ]+): [^\n]+\nrun 'mls ([a-z ]+) -h' for usage\n$`)

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		cmd  string // the command whose usage the error points to
	}{
		{[]string{"vectors"}, "vectors"},
		{[]string{"vectors", "check"}, "vectors"},
		{[]string{"vectors", "verify"}, "vectors verify"},
		{[]string{"vectors", "verify", "--kind", "nope", "x.json"}, "vectors verify"},
		{[]string{"sim", "--members", "x"}, "sim"},
		{[]string{"sim", "--members", "1"}, "sim"},
		{[]string{"sim", "extra"}, "sim"},
		{[]string{"sim", "--suite", "99"}, "sim"},
		{[]string{"ds"}, "ds"},
		{[]string{"ds", "serve", "--nosuch"}, "ds serve"},
		{[]string{"client"}, "client"},
		{[]string{"client", "frobnicate"}, "client"},
		{[]string{"client", "send", "team"}, "client send"},
		{[]string{"client", "--dir", "a", "--dir", "b", "recv"}, "client"},
		{[]string{"client", "recv", "--dir", "a", "--dir", "b"}, "client recv"},
		{[]string{"client", "init", "alice", "--suite", "bogus"}, "client init"},
		{[]string{"client", "recv", "--suite", "1"}, "client recv"},
		{[]string{"client", "rejoin"}, "client rejoin"},
		{[]string{"help", "nosuch"}, "help"},
		{[]string{"version", "extra"}, "version"},
	} {
		code, out, errOut := runCLI(tc.args...)
		m := usageErrorRE.FindStringSubmatch(errOut)
		if code != exitUsage || out != "" || m == nil || m[1] != tc.cmd || m[2] != tc.cmd {
			t.Errorf("mls %q: exit %d, stdout %q, stderr %q; want a usage error of %q", tc.args, code, out, errOut, tc.cmd)
		}
	}
	if code, _, errOut := runCLI("nosuch"); code != exitUsage || strings.Count(errOut, "\n") != 2 || !strings.Contains(errOut, "run 'mls help'") {
		t.Errorf("unknown command: exit %d, %q", code, errOut)
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := runCLI("version")
	want := regexp.MustCompile(`^mls \S+ \(commit [^)]+\) ` + regexp.QuoteMeta(runtime.Version()) + ` \S+/\S+\n$`)
	if code != exitOK || !want.MatchString(out) {
		t.Fatalf("version: exit %d, %q", code, out)
	}
}

// TestVectorsUnknownKindJSON: a file whose kind cannot be told is listed in
// the JSON report's errors, with exit 2.
func TestVectorsUnknownKindJSON(t *testing.T) {
	unknown := filepath.Join(t.TempDir(), "whatever.json")
	os.WriteFile(unknown, []byte("[]"), 0o644)
	code, out, _ := runCLI("vectors", "verify", "--json", unknown)
	var rep vectorsReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != exitUsage || len(rep.Errors) != 1 ||
		rep.Errors[0].File != unknown || !strings.Contains(rep.Errors[0].Error, "--kind") {
		t.Fatalf("exit %d, %+v (%v)\n%s", code, rep, err, out)
	}
}

// TestSimSuiteNames: the sim takes a suite's name as init does.
func TestSimSuiteNames(t *testing.T) {
	for _, s := range []string{"MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519", "0x0003", "3"} {
		code, out, errOut := runCLI("sim", "--members", "8", "--epochs", "1", "--observers", "1", "--suite", s, "--json")
		var rep struct {
			Suite int `json:"suite"`
		}
		if code != exitOK || json.Unmarshal([]byte(out), &rep) != nil || rep.Suite != 3 {
			t.Errorf("--suite %s: exit %d, %s%s", s, code, out, errOut)
		}
	}
}

// TestSimProgressTotals: the progress counts members out of --members.
func TestSimProgressTotals(t *testing.T) {
	code, _, errOut := runCLI("sim", "--members", "40", "--observers", "3", "--epochs", "2")
	if code != exitOK || !strings.Contains(errOut, "mls sim: build done: 37/40 members in ") || !strings.Contains(errOut, "mls sim: join done: 40/40 members in ") {
		t.Fatalf("exit %d, progress:\n%s", code, errOut)
	}
}

// TestSimInterrupt sends SIGINT to a running `mls sim`: it prints
// "interrupted" on stderr, nothing on stdout, and exits 130.
func TestSimInterrupt(t *testing.T) {
	for _, asJSON := range []bool{false, true} {
		args := []string{"sim", "--members", "200000", "--epochs", "5"}
		if asJSON {
			args = append(args, "--json")
		}
		cmd := exec.Command(os.Args[0], args...)
		cmd.Env = append(os.Environ(), envRunMLS+"=1")
		var out bytes.Buffer
		cmd.Stdout = &out
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stderr)
		var lines []string
		for sc.Scan() {
			lines = append(lines, sc.Text())
			if strings.HasPrefix(sc.Text(), "mls sim: build ") { // a tenth of the build is done
				cmd.Process.Signal(syscall.SIGINT)
				break
			}
		}
		rest, _ := io.ReadAll(stderr)
		cmd.Wait()
		errOut := strings.Join(lines, "\n") + "\n" + string(rest)
		if code := cmd.ProcessState.ExitCode(); code != exitInterrupted || out.Len() != 0 || !strings.HasSuffix(errOut, "mls sim: interrupted\n") {
			t.Fatalf("--json %v: exit %d, stdout %q, stderr:\n%s", asJSON, code, out.String(), errOut)
		}
	}
}

// TestClientConventions: send's text is verbatim, info catches up and says
// when it could not, recv --json and groups.
func TestClientConventions(t *testing.T) {
	srv, err := delivery.NewServer(delivery.Config{Store: memstore.New(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer srv.Close()
	alice, bob := newMLSClient(t, "alice", hs.URL), newMLSClient(t, "bob", hs.URL)
	alice.ok("init", "alice", "--suite", "MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519")
	bob.ok("init", "bob", "--suite", "3")
	alice.ok("create", "team")
	alice.ok("add", "team", "bob")
	bob.ok("join")

	alice.ok("send", "team", "the", "answer", "is", "-1")
	alice.ok("send", "team", "hello", "--dir", bob.dir)
	bob.expect([]string{"recv"}, "team alice: the answer is -1", "team alice: hello --dir "+bob.dir)

	// info catches up: Bob sees Alice's update without a recv.
	alice.ok("update", "team")
	if v := bob.info("team"); v.Epoch != 2 || !v.Synced || v.GroupID == "" {
		t.Fatalf("info did not catch up: %+v", v)
	}
	alice.ok("send", "team", "json")
	out := bob.ok("recv", "--json")
	var ev struct {
		Kind, Group, Sender, Member, Text string
		Seq, Epoch                        uint64
	}
	if len(out) != 2 {
		t.Fatalf("recv --json printed %q", out)
	}
	for i, want := range []string{"updated", "message"} {
		dec := json.NewDecoder(strings.NewReader(out[i]))
		if err := dec.Decode(&ev); err != nil || ev.Kind != want || ev.Group != "team" || ev.Seq == 0 {
			t.Fatalf("recv --json line %d: %q (%v)", i, out[i], err)
		}
	}
	if ev.Sender != "alice" || ev.Text != "json" || ev.Epoch != 2 {
		t.Fatalf("message %+v", ev)
	}
	bob.expect([]string{"groups"}, "team active epoch 2")
	if got := bob.ok("groups", "--json"); len(got) != 1 || !strings.Contains(got[0], `"group":"team"`) || !strings.Contains(got[0], `"status":"active"`) {
		t.Fatalf("groups --json: %q", got)
	}

	// With the service gone, info shows the local state and says so.
	hs.Close()
	code, stdout, errOut := bob.run("info", "team", "--json")
	var v infoJSON
	if code != exitFailed || json.Unmarshal([]byte(stdout), &v) != nil || v.Synced || v.Epoch != 2 ||
		!strings.Contains(errOut, "local state, not synced") {
		t.Fatalf("info without the service: exit %d, stdout %q, stderr %q", code, stdout, errOut)
	}
	if code, out, errOut := bob.run("rejoin", "team"); code != exitFailed || out != "" || !strings.Contains(errOut, "delivery service") {
		t.Fatalf("rejoin without the service: exit %d %q %q", code, out, errOut)
	}
}

// TestClientInterrupt: an interrupted client command (here init, waiting
// for a delivery service that never answers) says so, prints nothing on
// stdout and exits 130.
func TestClientInterrupt(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		if conn, err := ln.Accept(); err == nil {
			accepted <- conn // held open, never answered
		}
	}()
	c := newMLSClient(t, "alice", "http://"+ln.Addr().String())
	cmd := exec.Command(os.Args[0], "client", "--dir", c.dir, "--ds", c.ds, "init", "alice")
	cmd.Env = append(os.Environ(), envRunMLS+"=1")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case conn := <-accepted:
		defer conn.Close()
	case <-time.After(20 * time.Second):
		t.Fatal("init never called the delivery service")
	}
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != exitInterrupted || out.Len() != 0 || errOut.String() != "mls client init: interrupted\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
}
