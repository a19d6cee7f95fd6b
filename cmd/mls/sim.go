package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/mlsengine/engine/mls/sim"
	"github.com/mlsengine/engine/mls/suite"
)

const simUsage = `usage: mls sim [--members N] [--suite ID] [--epochs E] [--observers K] [--seed S] [--bare] [--json]

Builds a group of N members through real Add commits, brings it to the
steady state of a group in real use (--bare keeps it as built), lets K
observers with full private state join through Welcomes, then runs E
epochs: a random member commits an update, an add or a remove, which every
observer processes, and a random observer sends an application message.
Prints a table on stdout, or with --json one object with the median costs
(and the table on stderr). Progress goes to stderr.

Exit status: 0 when every epoch agreed, 1 when members disagreed or the run
failed, 2 for a usage error.

flags:
`

func runSim(args []string, stdout, stderr io.Writer) int {
	def := sim.DefaultOptions()
	fs := newFlagSet("mls sim", stderr)
	members := fs.Int("members", def.Members, "group size `N`, observers included")
	suiteID := fs.String("suite", fmt.Sprint(uint16(def.Suite)), "cipher suite `ID`: "+suiteRange+", or its name")
	epochs := fs.Int("epochs", def.Epochs, "number of measured epochs `E`")
	observers := fs.Int("observers", def.Observers, "number of observed members `K`")
	seed := fs.Uint64("seed", def.Seed, "seed `S` of every key and random choice")
	bare := fs.Bool("bare", false, "measure the group as built, without shaping it to the steady state")
	asJSON := fs.Bool("json", false, "print one JSON object on stdout")
	fs.Usage = func() {
		fmt.Fprint(stderr, simUsage)
		fs.PrintDefaults()
	}
	rest, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "mls: sim: unexpected argument %q\n", rest[0])
		fs.Usage()
		return exitUsage
	}
	cs, err := suite.ParseID(*suiteID)
	if err != nil {
		fmt.Fprintf(stderr, "mls: sim: %v\n", err)
		return exitUsage
	}
	opts := sim.Options{
		Members:   *members,
		Suite:     cs,
		Epochs:    *epochs,
		Observers: *observers,
		Seed:      *seed,
		Bare:      *bare,
	}
	bar := newProgressBar(stderr)
	opts.Progress = bar.update

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := sim.Run(ctx, opts)
	bar.finish()
	if errors.Is(err, sim.ErrInvalidOptions) {
		fmt.Fprintf(stderr, "mls: %v\n", err)
		return exitUsage
	}
	if res != nil {
		if *asJSON {
			out, jerr := json.Marshal(res)
			if jerr != nil {
				fmt.Fprintf(stderr, "mls: sim: %v\n", jerr)
				return exitFailed
			}
			fmt.Fprintf(stdout, "%s\n", out)
			_ = res.WriteTable(stderr) // for people; scripts read stdout
		} else if werr := res.WriteTable(stdout); werr != nil {
			fmt.Fprintf(stderr, "mls: sim: %v\n", werr)
			return exitFailed
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "mls: %v\n", err)
		return exitFailed
	}
	return exitOK
}

// progressBar shows a run's progress on stderr: a bar redrawn in place on
// a terminal, else a line when a phase starts and ends.
type progressBar struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	phase string
	start time.Time
	last  time.Time
	drawn bool
	tenth int // the tenths of the phase reported (without a terminal)
}

func newProgressBar(w io.Writer) *progressBar {
	f, ok := w.(*os.File)
	return &progressBar{w: w, tty: ok && term.IsTerminal(int(f.Fd()))}
}

func (b *progressBar) update(p sim.Progress) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if p.Phase != b.phase {
		b.endPhase(now)
		b.phase, b.start, b.tenth = p.Phase, now, 0
		if !b.tty {
			fmt.Fprintf(b.w, "mls sim: %s...\n", p.Phase)
		}
	}
	if !b.tty {
		// A line at each tenth of a long phase.
		if p.Total >= 10 && p.Done*10/p.Total > b.tenth {
			b.tenth = p.Done * 10 / p.Total
			fmt.Fprintf(b.w, "mls sim: %s %d/%d (%.0fs)\n", p.Phase, p.Done, p.Total, now.Sub(b.start).Seconds())
		}
		return
	}
	if now.Sub(b.last) < 100*time.Millisecond && p.Done < p.Total {
		return
	}
	b.last = now
	const width = 30
	fill := width
	count := ""
	if p.Total > 0 {
		fill = width * p.Done / p.Total
		count = fmt.Sprintf(" %d/%d", p.Done, p.Total)
	}
	fmt.Fprintf(b.w, "\r\x1b[K%-7s [%s%s]%s %.0fs", p.Phase, strings.Repeat("=", fill), strings.Repeat(" ", width-fill),
		count, now.Sub(b.start).Seconds())
	b.drawn = true
}

// endPhase closes the current phase's line.
func (b *progressBar) endPhase(now time.Time) {
	if b.phase == "" {
		return
	}
	if b.tty && b.drawn {
		fmt.Fprintln(b.w)
		b.drawn = false
	} else if !b.tty {
		fmt.Fprintf(b.w, "mls sim: %s done in %.1fs\n", b.phase, now.Sub(b.start).Seconds())
	}
}

func (b *progressBar) finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.endPhase(time.Now())
	b.phase = ""
}
