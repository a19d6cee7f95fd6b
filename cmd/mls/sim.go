package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/mlsengine/engine/mls/sim"
	"github.com/mlsengine/engine/mls/suite"
)

func simCommand() *command {
	def := sim.DefaultOptions()
	c := &command{
		name:    "sim",
		args:    "[--members N] [--suite ID] [--epochs E] [--observers K] [--seed S] [--bare] [--json]",
		summary: "simulate a large group",
		details: fmt.Sprintf(`Builds a group of N members through real Add commits, brings it to the
steady state of a group in real use (--bare keeps it as built), lets K
observers with full private state join through Welcomes, then runs E
epochs: a random member commits an update, an add or a remove, which every
observer processes, and a random observer sends an application message.
Prints a table on stdout, or with --json one object with the median costs
(and the table on stderr). Progress goes to stderr: a bar that fits the
terminal, or a line per phase and per tenth of it when stderr is not a
terminal.

flags:
  --members N     group size, observers included (default %d)
  --suite ID      cipher suite: a number (1 to 7, or 0x0001) or its name
                  (default %d, %v)
  --epochs E      number of measured epochs (default %d)
  --observers K   number of observed members (default %d)
  --seed S        seed of every key and random choice (default %d)
  --bare          measure the group as built, without shaping it
  --json          print one JSON object on stdout

Ctrl-C stops the run: "interrupted" on stderr, nothing on stdout, exit
status 130. Otherwise the exit status is 0 when every epoch agreed, 1 when
members disagreed or the run failed, 2 for a usage error.
`, def.Members, uint16(def.Suite), def.Suite, def.Epochs, def.Observers, def.Seed),
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
		return errors.New("unknown cipher suite: want a number from 1 to 7 or a name")
	}
	*f.id = id
	return nil
}

func runSim(e *env, c *command, args []string) int {
	opts := sim.DefaultOptions()
	fs := newFlagSet(c)
	fs.IntVar(&opts.Members, "members", opts.Members, "")
	fs.Var(suiteFlag{&opts.Suite}, "suite", "")
	fs.IntVar(&opts.Epochs, "epochs", opts.Epochs, "")
	fs.IntVar(&opts.Observers, "observers", opts.Observers, "")
	fs.Uint64Var(&opts.Seed, "seed", opts.Seed, "")
	fs.BoolVar(&opts.Bare, "bare", false, "")
	asJSON := fs.Bool("json", false, "")
	rest, code, ok := parse(e, c, fs, args, nil)
	if !ok {
		return code
	}
	if len(rest) > 0 {
		return usageError(e, c, "unexpected argument %q", rest[0])
	}
	bar := newProgress(e.stderr, opts.Members, opts.Observers)
	opts.Progress = bar.update

	res, err := sim.Run(e.ctx, opts)
	bar.finish()
	switch {
	case e.ctx.Err() != nil:
		return interrupted(e, c)
	case errors.Is(err, sim.ErrInvalidOptions):
		return usageError(e, c, "%v", err)
	}
	if res != nil {
		if *asJSON {
			out, jerr := json.Marshal(res)
			if jerr != nil {
				fmt.Fprintf(e.stderr, "mls sim: %v\n", jerr)
				return exitFailed
			}
			fmt.Fprintf(e.stdout, "%s\n", out)
			_ = res.WriteTable(e.stderr) // for people; scripts read stdout
		} else if werr := res.WriteTable(e.stdout); werr != nil {
			fmt.Fprintf(e.stderr, "mls sim: %v\n", werr)
			return exitFailed
		}
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "mls %v\n", err)
		return exitFailed
	}
	return exitOK
}
