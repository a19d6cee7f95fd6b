package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/mlsengine/engine/mls/sim"
	"github.com/mlsengine/engine/mls/suite"
)

func simCommand() *command {
	def := sim.DefaultOptions()
	c := &command{
		name:    "sim",
		args:    "[--members N | --sizes LIST] [--suite ID] [--epochs E] [--observers K] [--seed S] [--bare] [--mix MIX] [--committers C] [--ds STORE] [--json] [--csv FILE] [--plot FILE]",
		summary: "simulate a large group",
		details: fmt.Sprintf(`Builds a group of N members through real Add commits, brings it to the
steady state of a group in real use (--bare keeps it as built), lets K
observers with full private state join through Welcomes, then runs E
epochs: a member commits an update, an add or a remove, which every
observer processes, and a random observer sends an application message.
Prints a table on stdout, or with --json one object with the median costs
(and the table on stderr). Progress goes to stderr: a bar that fits the
terminal, or a line per phase and per tenth of it when stderr is not a
terminal.

--sizes runs a sweep: the same run (same seed) at each group size, in
order. It prints one table row per size, or with --json an array of the
objects a single run prints.

--ds runs the group through a delivery service in this process, on a
loopback listener, with the store STORE: from the observers' joins on,
every commit (with its Welcome and GroupInfo) and application message is
posted to it by its sender, validated and ordered by it, and fetched from
it by the observers, who join with the tree it serves. Members then carry
X.509 credentials of the service's CA. The JSON gains a "ds" object: bytes
uploaded per commit, downloaded per join and per commit by the observers,
the service's CPU time and the post and fetch times per commit.

flags:
  --members N     group size, observers included (default %d)
  --sizes LIST    sweep these group sizes, such as 1e3,1e4,1e5 (instead
                  of --members)
  --suite ID      cipher suite: a number (1 to 7 or 0xF101 to 0xF10B,
                  decimal or 0x hex) or its name
                  (default %d, %v)
  --epochs E      number of measured epochs (default %d)
  --observers K   number of observed members (default %d)
  --seed S        seed of every key and random choice (default %d)
  --bare          measure the group as built, without shaping it
  --mix MIX       update=W,add=W,remove=W: the weights, whole numbers, of
                  the epochs' kinds of commit; a kind left out has weight 0
                  (default %v)
  --committers C  who commits each epoch: uniform (default: every member
                  alike) or zipf:S (0 <= S <= %d: the members ranked by
                  when they joined, the k-th with weight k^-S; a removed
                  member's share goes to the others in proportion to theirs)
  --ds STORE      go through a delivery service whose store is memory:,
                  sqlite:PATH or postgres://... (runs may share a store)
  --json          print the JSON on stdout
  --csv FILE      write a CSV file: the JSON's fields (nested names
                  joined by dots), one row per size
  --plot FILE     write an SVG chart of the create, process and join
                  times and the commit and Welcome sizes against the
                  group size, on log axes

Ctrl-C stops the run: "interrupted" on stderr, nothing on stdout, no
--csv or --plot file, exit status 130. Otherwise the exit status is 0 when
every epoch agreed, 1 when members disagreed or the run failed (the
results so far are printed and written), 2 for a usage error.
`, def.Members, uint16(def.Suite), def.Suite, def.Epochs, def.Observers, def.Seed, def.Mix, sim.MaxZipf),
	}
	c.run = func(e *env, args []string) int { return runSim(e, c, args) }
	return c
}

// suiteFlag is a flag.Value taking a cipher suite number or name.
type suiteFlag struct{ id *suite.ID }

func (f suiteFlag) String() string {
	if f.id == nil {
		return ""
	}
	return strconv.Itoa(int(*f.id))
}

func (f suiteFlag) Set(s string) error {
	id, err := suite.ParseID(s)
	if err != nil {
		return errors.New("unknown cipher suite: want a number (" + suiteRange + ") or a name")
	}
	*f.id = id
	return nil
}

// parsedFlag is a flag.Value set by one of package sim's Parse
// functions, whose errors it words for a flag.
type parsedFlag[T any] struct {
	v     *T
	parse func(string) (T, error)
}

func (f parsedFlag[T]) String() string {
	if f.v == nil {
		return ""
	}
	return fmt.Sprint(*f.v)
}

func (f parsedFlag[T]) Set(s string) error {
	v, err := f.parse(s)
	if err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), sim.ErrInvalidOptions.Error()+": "))
	}
	*f.v = v
	return nil
}

func runSim(e *env, c *command, args []string) int {
	opts := sim.DefaultOptions()
	var sizes []int
	fs := newFlagSet(c)
	fs.IntVar(&opts.Members, "members", opts.Members, "")
	fs.Var(parsedFlag[[]int]{&sizes, sim.ParseSizes}, "sizes", "")
	fs.Var(suiteFlag{&opts.Suite}, "suite", "")
	fs.IntVar(&opts.Epochs, "epochs", opts.Epochs, "")
	fs.IntVar(&opts.Observers, "observers", opts.Observers, "")
	fs.Uint64Var(&opts.Seed, "seed", opts.Seed, "")
	fs.BoolVar(&opts.Bare, "bare", false, "")
	fs.Var(parsedFlag[sim.Mix]{&opts.Mix, sim.ParseMix}, "mix", "")
	fs.Var(parsedFlag[sim.Committers]{&opts.Committers, sim.ParseCommitters}, "committers", "")
	fs.StringVar(&opts.DS, "ds", "", "")
	asJSON := fs.Bool("json", false, "")
	csvPath := fs.String("csv", "", "")
	plotPath := fs.String("plot", "", "")
	rest, code, ok := parse(e, c, fs, args, nil)
	if !ok {
		return code
	}
	if len(rest) > 0 {
		return usageError(e, c, "unexpected argument %q", rest[0])
	}
	sweep := sizes != nil
	if sweep && slices.Contains(flagsSet(fs), "members") {
		return usageError(e, c, "--members and --sizes cannot be combined")
	}
	if !sweep {
		sizes = []int{opts.Members}
	}
	var outputs []*outputFile
	for _, path := range []string{*csvPath, *plotPath} {
		if path == "" {
			outputs = append(outputs, nil)
			continue
		}
		f, err := createOutput(path)
		if err != nil {
			discardAll(outputs)
			fmt.Fprintf(e.stderr, "mls sim: %v\n", err)
			return exitFailed
		}
		outputs = append(outputs, f)
	}

	bar := &sweepProgress{w: e.stderr, observers: opts.Observers, sizes: len(sizes)}
	opts.Progress = bar.update
	var results []*sim.Result
	var err error
	if sweep {
		results, err = sim.Sweep(e.ctx, opts, sizes)
	} else {
		var res *sim.Result
		if res, err = sim.Run(e.ctx, opts); res != nil {
			results = []*sim.Result{res}
		}
	}
	bar.finish()
	switch {
	case e.ctx.Err() != nil:
		discardAll(outputs)
		return interrupted(e, c)
	case errors.Is(err, sim.ErrInvalidOptions):
		discardAll(outputs)
		return usageError(e, c, "%v", err)
	}
	code = exitOK
	if err != nil {
		code = exitFailed
	}
	if werr := printSim(e, results, sweep, *asJSON); werr != nil {
		fmt.Fprintf(e.stderr, "mls sim: %v\n", werr)
		code = exitFailed
	}
	for i, write := range []func(io.Writer, []*sim.Result) error{sim.WriteCSV, writePlot} {
		if outputs[i] == nil {
			continue
		}
		if werr := outputs[i].write(func(w io.Writer) error { return write(w, results) }); werr != nil {
			fmt.Fprintf(e.stderr, "mls sim: %v\n", werr)
			code = exitFailed
		}
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "mls %v\n", err)
	}
	return code
}

// printSim prints the results on stdout: a single run's table or JSON
// object, a sweep's table or JSON array. With JSON the table goes to
// stderr, for people; scripts read stdout.
func printSim(e *env, results []*sim.Result, sweep, asJSON bool) error {
	if len(results) == 0 {
		return nil
	}
	table := func(w io.Writer) error {
		if sweep {
			return sim.WriteSweepTable(w, results)
		}
		return results[0].WriteTable(w)
	}
	if !asJSON {
		return table(e.stdout)
	}
	var v any = results
	if !sweep {
		v = results[0]
	}
	out, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(e.stdout, "%s\n", out); err != nil {
		return err
	}
	_ = table(e.stderr)
	return nil
}

// sweepProgress shows the progress of each run of a sweep: a line naming
// the size when a run starts (when there are several), then the run's
// progress.
type sweepProgress struct {
	mu        sync.Mutex
	w         io.Writer
	observers int
	sizes     int // runs in the sweep
	runs      int // runs started
	members   int // the current run's
	bar       *progress
}

func (s *sweepProgress) update(p sim.Progress) {
	s.mu.Lock()
	if s.bar == nil || p.Members != s.members {
		if s.bar != nil {
			s.bar.finish()
		}
		s.runs++
		s.members = p.Members
		if s.sizes > 1 {
			fmt.Fprintf(s.w, "mls sim: %d members (size %d of %d)\n", p.Members, s.runs, s.sizes)
		}
		s.bar = newProgress(s.w, p.Members, s.observers)
	}
	bar := s.bar
	s.mu.Unlock()
	bar.update(p)
}

func (s *sweepProgress) finish() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bar != nil {
		s.bar.finish()
	}
}

// outputFile is a file written once a run is over (--csv, --plot). It is
// created before the run, so that a path it cannot write fails at once.
type outputFile struct {
	path string
	f    *os.File
}

func createOutput(path string) (*outputFile, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return &outputFile{path: path, f: f}, nil
}

// write writes the file with fn and closes it.
func (o *outputFile) write(fn func(io.Writer) error) error {
	w := bufio.NewWriter(o.f)
	err := fn(w)
	if err == nil {
		err = w.Flush()
	}
	if cerr := o.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", o.path, err)
	}
	return nil
}

// discardAll closes and removes the files not written.
func discardAll(files []*outputFile) {
	for _, o := range files {
		if o != nil {
			o.f.Close()
			os.Remove(o.path)
		}
	}
}
