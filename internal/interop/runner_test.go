package interop_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mlsengine/engine/mls/suite"
)

// The official interop harness of the MLS working group
// (github.com/mlswg/mls-implementations, interop/): its test runner drives
// two instances of `mls interop serve` through every scenario.

const (
	// harnessEnv names the folder of the harness copy (SOURCE,
	// interop/test-runner, interop/configs, ...).
	harnessEnv = "MLS_INTEROP"
	// matrixEnv set to "full" runs every config (but deep_random) with
	// every assignment of the two servers to the roles on every suite;
	// otherwise only on suite 1 (see TestOfficialRunner). .ci/interop
	// sets it.
	matrixEnv = "MLS_INTEROP_MATRIX"
	// randomRuns is how often the official runner runs every config with
	// -random (a random assignment per script, every suite).
	randomRuns = 3
)

// configs are the scenarios of interop/configs run with every assignment
// of servers to roles; deep_random, with hundreds of actors, has 2^n
// assignments and runs with -random only.
var configs = []string{"welcome_join", "application", "commit", "branch", "external_join", "external_proposals", "reinit"}

// TestOfficialRunner runs the official test runner against two instances
// of `mls interop serve`:
//
//   - every config but deep_random, both wire formats (encrypted and plain
//     handshakes), every assignment of the two servers to the roles, on
//     suite 1 (on every suite with MLS_INTEROP_MATRIX=full, as .ci/interop
//     does: about 34,700 cases, too long for go test). The runner built
//     here fixes its enumeration of assignments, which misses some with
//     four or more actors (SOURCE), in a copy; the test checks that every
//     assignment ran.
//   - every config but deep_random with the unmodified runner's -random
//     (one random assignment per script, both wire formats, every suite),
//     randomRuns times.
//   - deep_random once on suite 1 with -random, both wire formats.
//
// Every case must pass.
func TestOfficialRunner(t *testing.T) {
	h := newHarness(t)
	t.Run("failures are seen", func(t *testing.T) { checkMockFails(t, h) })
	full := os.Getenv(matrixEnv) == "full"
	suites := []suite.ID{suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519}
	if full {
		suites = suite.IDs()
	}

	// deep_random first: it is the longest job.
	jobs := []job{{kind: "random", config: "deep_random", runner: h.official, random: true, suite: 1}}
	for _, c := range configs {
		for _, cs := range suites {
			jobs = append(jobs, job{kind: "every assignment", config: c, runner: h.fixed, suite: cs})
		}
	}
	for range randomRuns {
		for _, c := range configs {
			jobs = append(jobs, job{kind: "random", config: c, runner: h.official, random: true})
		}
	}
	h.run(t, jobs)

	counts := map[string]*tally{}
	var keys []string
	for _, j := range jobs {
		k := j.kind + " " + j.config
		if counts[k] == nil {
			counts[k] = &tally{suites: map[uint32]bool{}}
			keys = append(keys, k)
		}
		counts[k].add(j.result)
		if j.kind == "every assignment" {
			checkAssignments(t, h, j)
		}
		checkCoverage(t, j)
	}
	for _, k := range keys {
		c := counts[k]
		t.Logf("%-40s %6d cases, %6d passed, %d failed (suites %s)", k, c.cases, c.passed, c.failed, c.suiteList())
	}
}

// A job is one run of a test runner.
type job struct {
	kind   string
	config string
	runner string
	suite  suite.ID // 0: every suite
	random bool

	result results
	err    error
	output string // the runner's stderr
}

// results is the part of the runner's JSON output the test reads: per
// script, one result per case.
type results struct {
	Scripts map[string][]caseResult `json:"scripts"`
}

type caseResult struct {
	CipherSuite    uint32            `json:"cipher_suite"`
	Actors         map[string]string `json:"actors"`
	Encrypt        bool              `json:"encrypt_flag"`
	Error          any               `json:"error"`
	FailedStep     *int              `json:"failed_step"`
	FailedStepJSON string            `json:"failed_step_json"`
}

type tally struct {
	cases, passed, failed int
	suites                map[uint32]bool
}

func (c *tally) add(r results) {
	for _, cases := range r.Scripts {
		for _, cr := range cases {
			c.cases++
			c.suites[cr.CipherSuite] = true
			if cr.FailedStep == nil {
				c.passed++
			} else {
				c.failed++
			}
		}
	}
}

// suiteList lists the suites that ran, as "1-7 0xf101-0xf10b".
func (c *tally) suiteList() string {
	var ids []uint32
	for s := range c.suites {
		ids = append(ids, s)
	}
	slices.Sort(ids)
	var runs []string
	for i := 0; i < len(ids); {
		j := i
		for j+1 < len(ids) && ids[j+1] == ids[j]+1 {
			j++
		}
		run := fmt.Sprintf("%#x", ids[i])
		if j > i {
			run += fmt.Sprintf("-%#x", ids[j])
		}
		runs = append(runs, run)
		i = j + 1
	}
	return strings.Join(runs, " ")
}

// harness is the runners and the two servers.
type harness struct {
	dir      string // the harness copy
	tmp      string
	official string // the runner as shipped
	fixed    string // the runner with its enumeration fixed
	mock     string // the harness's mock client, which fails every check
	servers  []*server
}

func newHarness(t *testing.T) *harness {
	dir := harnessDir(t)
	tmp := t.TempDir()
	h := &harness{dir: dir, tmp: tmp}
	var wg sync.WaitGroup
	var errs [4]error
	wg.Add(4)
	go func() {
		defer wg.Done()
		h.mock, errs[3] = buildMock(dir, filepath.Join(tmp, "mock"))
	}()
	go func() {
		defer wg.Done()
		h.official, errs[0] = buildRunner(dir, filepath.Join(tmp, "official"), nil)
	}()
	go func() {
		defer wg.Done()
		h.fixed, errs[1] = buildRunner(dir, filepath.Join(tmp, "fixed"), fixEnumeration)
	}()
	var mlsBin string
	go func() {
		defer wg.Done()
		mlsBin, errs[2] = buildMLS(filepath.Join(tmp, "mls"))
	}()
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"mlsengine-1", "mlsengine-2"} {
		h.servers = append(h.servers, startServer(t, mlsBin, name, tmp))
	}
	return h
}

// harnessDir returns the harness copy: $MLS_INTEROP, else
// ../shared/mls-interop next to the module root. A missing folder fails
// the test.
func harnessDir(t *testing.T) string {
	dir := os.Getenv(harnessEnv)
	if dir == "" {
		root, err := moduleRoot()
		if err != nil {
			t.Fatalf("interop harness: %v", err)
		}
		dir = filepath.Join(root, "..", "shared", "mls-interop")
	}
	for _, f := range []string{"go.mod", "interop/test-runner/main.go", "interop/proto/mls_client.pb.go", "interop/configs/commit.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("the MLS working group's interop harness is not at %s (%v): set %s to a copy of "+
				"github.com/mlswg/mls-implementations holding go.mod, go.sum and interop/ with the generated "+
				"proto code (see ../shared/mls-interop/SOURCE)", dir, err, harnessEnv)
		}
	}
	return dir
}

// moduleRoot returns the folder of this module's go.mod.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside a module")
	}
	return filepath.Dir(gomod), nil
}

// buildRunner copies the runner's module (go.mod, go.sum, the proto code
// and the runner) into dst, applies patch to the runner's source if set,
// and builds it. It returns the binary.
func buildRunner(src, dst string, patch func([]byte) ([]byte, error)) (string, error) {
	files := []string{"go.mod", "go.sum", "interop/test-runner/main.go",
		"interop/proto/mls_client.pb.go", "interop/proto/mls_client_grpc.pb.go"}
	if err := copyFiles(src, dst, files, patch); err != nil {
		return "", err
	}
	return goBuild(filepath.Join(dst, "interop", "test-runner"), filepath.Join(dst, "test-runner"))
}

// fixEnumeration fixes combinationsInner, which appends to tuples that
// share a backing array, so that later assignments overwrite earlier ones
// once there are four or more actors: each tuple is extended in a copy.
func fixEnumeration(src []byte) ([]byte, error) {
	const bug = "out = append(out, append(tuple, v))"
	const fix = "out = append(out, append(tuple[:len(tuple):len(tuple)], v))"
	if bytes.Count(src, []byte(bug)) != 1 {
		return nil, fmt.Errorf("the runner's combinationsInner changed: cannot fix its enumeration")
	}
	return bytes.Replace(src, []byte(bug), []byte(fix), 1), nil
}

// buildMock builds the harness's mock client from a copy of its module.
func buildMock(src, dst string) (string, error) {
	files := []string{"go.mod", "go.sum", "interop/go-mock-client-fixed/main.go",
		"interop/proto/mls_client.pb.go", "interop/proto/mls_client_grpc.pb.go"}
	if err := copyFiles(src, dst, files, nil); err != nil {
		return "", err
	}
	return goBuild(filepath.Join(dst, "interop", "go-mock-client-fixed"), filepath.Join(dst, "mock"))
}

// copyFiles copies files (paths relative to src) to dst, the runner's
// source through patch if it is set.
func copyFiles(src, dst string, files []string, patch func([]byte) ([]byte, error)) error {
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			return err
		}
		if f == "interop/test-runner/main.go" && patch != nil {
			if data, err = patch(data); err != nil {
				return err
			}
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, f)), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dst, f), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// goBuild builds the package in dir, of the harness's module, into bin.
func goBuild(dir, bin string) (string, error) {
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s: %v\n%s", dir, err, out)
	}
	return bin, nil
}

// buildMLS builds the mls command.
func buildMLS(bin string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/mls")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building mls: %v\n%s", err, out)
	}
	return bin, nil
}

// server is a running `mls interop serve`.
type server struct {
	name, addr string
	cmd        *exec.Cmd
	log        string // its stderr
}

func startServer(t *testing.T, bin, name, tmp string) *server {
	s := &server{name: name, log: filepath.Join(tmp, name+".log")}
	logFile, err := os.Create(s.log)
	if err != nil {
		t.Fatal(err)
	}
	s.cmd = exec.Command(bin, "interop", "serve", "--listen", "127.0.0.1:0", "--name", name)
	s.cmd.Stderr = logFile
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	const ready = "mls: interop: listening on "
	if !lines.Scan() || !strings.HasPrefix(lines.Text(), ready) {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		t.Fatalf("mls interop serve did not start: %q", lines.Text())
	}
	s.addr = strings.TrimPrefix(lines.Text(), ready)
	t.Cleanup(func() {
		s.cmd.Process.Signal(syscall.SIGTERM)
		rest := make(chan string, 1)
		go func() {
			var b strings.Builder
			for lines.Scan() {
				b.WriteString(lines.Text() + "\n")
			}
			rest <- b.String()
		}()
		err := s.cmd.Wait()
		logFile.Close()
		if out := <-rest; err != nil || out != "mls: interop: stopped\n" {
			t.Errorf("%s did not stop cleanly: %v, %q", name, err, out)
		}
	})
	return s
}

// run runs the jobs, as many at a time as there are CPUs, and fails t for
// every job whose runner failed or reported a failed case.
func (h *harness) run(t *testing.T, jobs []job) {
	workers := min(runtime.NumCPU(), 2)
	next := make(chan *job)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				h.runJob(j)
			}
		}()
	}
	for i := range jobs {
		next <- &jobs[i]
	}
	close(next)
	wg.Wait()
	for _, j := range jobs {
		if j.err != nil {
			t.Errorf("%s %s (suite %d): %v\n%s", j.kind, j.config, j.suite, j.err, j.output)
			h.serverLogs(t)
			continue
		}
		for script, cases := range j.result.Scripts {
			for _, c := range cases {
				if c.FailedStep != nil {
					t.Errorf("%s %s/%s: suite %d, encrypted handshake %v, actors %v: step %d %s: %v",
						j.kind, j.config, script, c.CipherSuite, c.Encrypt, c.Actors, *c.FailedStep, c.FailedStepJSON, c.Error)
				}
			}
		}
	}
}

// runJob runs one runner, its JSON output going to a file that is decoded
// and removed (with transcripts, it is hundreds of megabytes for some
// configs on the slower suites).
func (h *harness) runJob(j *job) {
	var addrs []string
	for _, s := range h.servers {
		addrs = append(addrs, s.addr)
	}
	h.runJobOn(j, addrs)
}

// runJobOn runs the job against the servers at addrs.
func (h *harness) runJobOn(j *job, addrs []string) {
	out, err := os.CreateTemp("", "interop-*.json")
	if err != nil {
		j.err = err
		return
	}
	defer os.Remove(out.Name())
	defer out.Close()
	args := []string{"-config", filepath.Join(h.dir, "interop", "configs", j.config+".json")}
	for _, addr := range addrs {
		args = append(args, "-client", addr)
	}
	if j.suite != 0 {
		args = append(args, "-suite", fmt.Sprint(uint16(j.suite)))
	}
	if j.random {
		args = append(args, "-random")
	}
	var stderr bytes.Buffer
	cmd := exec.Command(j.runner, args...)
	cmd.Stdout, cmd.Stderr = out, &stderr
	start := time.Now()
	runErr := cmd.Run()
	j.output = fmt.Sprintf("(%v) %s", time.Since(start).Round(time.Millisecond), stderr.String())
	if _, err := out.Seek(0, 0); err != nil {
		j.err = err
		return
	}
	if err := json.NewDecoder(bufio.NewReader(out)).Decode(&j.result); err != nil {
		j.err = fmt.Errorf("decoding the runner's output: %v (runner: %v)", err, runErr)
		return
	}
	// The runner exits 1 if a case failed; those are reported per case.
	if runErr != nil && !hasFailure(j.result) {
		j.err = fmt.Errorf("runner: %v", runErr)
	}
}

func hasFailure(r results) bool {
	for _, cases := range r.Scripts {
		for _, c := range cases {
			if c.FailedStep != nil {
				return true
			}
		}
	}
	return false
}

// serverLogs logs the end of each server's log.
func (h *harness) serverLogs(t *testing.T) {
	for _, s := range h.servers {
		data, _ := os.ReadFile(s.log)
		if len(data) > 4000 {
			data = data[len(data)-4000:]
		}
		t.Logf("%s log (end):\n%s", s.name, data)
	}
}

// checkCoverage checks that every script of the job's config ran on the
// job's suite (every suite if it names none), in both wire formats.
func checkCoverage(t *testing.T, j job) {
	want := suite.IDs()
	if j.suite != 0 {
		want = []suite.ID{j.suite}
	}
	for script, cases := range j.result.Scripts {
		ran := map[string]bool{}
		for _, c := range cases {
			ran[fmt.Sprint(c.CipherSuite, c.Encrypt)] = true
		}
		for _, cs := range want {
			for _, enc := range []bool{true, false} {
				if !ran[fmt.Sprint(uint16(cs), enc)] {
					t.Errorf("%s %s/%s: no case on suite %d with encrypted handshakes %v", j.kind, j.config, script, cs, enc)
				}
			}
		}
	}
	if len(j.result.Scripts) == 0 {
		t.Errorf("%s %s: no script ran", j.kind, j.config)
	}
}

// checkAssignments checks that each script ran once for every assignment
// of the two servers to its actors, per suite and wire format.
func checkAssignments(t *testing.T, h *harness, j job) {
	for script, cases := range j.result.Scripts {
		seen := map[string]bool{}
		actors := 0
		for _, c := range cases {
			actors = len(c.Actors)
			seen[fmt.Sprint(c.CipherSuite, c.Encrypt, assignment(c.Actors))] = true
		}
		want := 2 * (1 << actors) // both wire formats
		if len(seen) != want || len(cases) != want {
			t.Errorf("%s %s/%s: %d cases, %d distinct assignments and wire formats; want %d of %d actors on %d servers",
				j.kind, j.config, script, len(cases), len(seen), want, actors, len(h.servers))
		}
	}
}

// assignment is a canonical form of a map from actors to server names.
func assignment(actors map[string]string) string {
	var pairs []string
	for a, s := range actors {
		pairs = append(pairs, a+"="+s)
	}
	sort.Strings(pairs)
	return strings.Join(pairs, ",")
}

// checkMockFails runs welcome_join with one of the servers and the
// harness's mock client, which answers every RPC with made-up bytes: the
// cases whose actors all run on the server pass, every other case fails,
// and the runner exits 1. So the test sees failures when there are some.
func checkMockFails(t *testing.T, h *harness) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	mock := exec.Command(h.mock, "-port", fmt.Sprint(port), "-suites", "1")
	if err := mock.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		mock.Process.Kill()
		mock.Wait()
	}()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if i == 100 {
			t.Fatalf("the mock client does not listen on %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	j := &job{config: "welcome_join", runner: h.fixed, suite: 1}
	h.runJobOn(j, []string{h.servers[0].addr, addr})
	if j.err != nil {
		t.Fatal(j.err, j.output)
	}
	if !hasFailure(j.result) {
		t.Fatal("the runner reported no failure with the mock client")
	}
	for script, cases := range j.result.Scripts {
		for _, c := range cases {
			onServer := true
			for _, name := range c.Actors {
				onServer = onServer && name == h.servers[0].name
			}
			if failed := c.FailedStep != nil; failed == onServer {
				t.Errorf("%s, actors %v: failed %v", script, c.Actors, failed)
			}
		}
	}
}
