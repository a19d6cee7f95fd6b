package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/mlsengine/engine/mls/sim"
)

// progress shows a sim run's progress on stderr: on a terminal, a bar per
// phase that fits the terminal's width (github.com/schollz/progressbar);
// otherwise a line when a phase starts, at each tenth of it and when it
// ends. The build and join phases count members out of --members: the
// group is built without the observers, who join it next.
type progress struct {
	mu        sync.Mutex
	w         io.Writer
	tty       bool
	members   int
	observers int
	phase     string
	unit      string // what the phase counts
	start     time.Time
	bar       *progressbar.ProgressBar // the current phase's, on a terminal
	tenth     int                      // the tenths of the phase reported (without a terminal)
	count     string                   // the phase's last count, "DONE/TOTAL UNIT"
}

func newProgress(w io.Writer, members, observers int) *progress {
	f, ok := w.(*os.File)
	return &progress{w: w, tty: ok && term.IsTerminal(int(f.Fd())), members: members, observers: observers}
}

// scale maps a phase's progress to what is shown: members out of
// --members while building and joining, else steps.
func (b *progress) scale(p sim.Progress) (done, total int, unit string) {
	switch p.Phase {
	case "build":
		return p.Done, b.members, "members"
	case "join":
		return b.members - b.observers + p.Done, b.members, "members"
	case "epochs":
		return p.Done, p.Total, "epochs"
	}
	return p.Done, p.Total, ""
}

func (b *progress) update(p sim.Progress) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	done, total, unit := b.scale(p)
	if p.Phase != b.phase {
		b.endPhase(now)
		b.phase, b.start, b.tenth, b.unit, b.count = p.Phase, now, 0, unit, ""
		if b.tty {
			b.bar = b.newBar(p.Phase, total)
		} else {
			fmt.Fprintf(b.w, "mls sim: %s...\n", p.Phase)
		}
	}
	if total > 0 {
		b.count = fmt.Sprintf("%d/%d %s", done, total, unit)
	}
	if b.tty {
		if total > 0 {
			_ = b.bar.Set(done)
		} else {
			_ = b.bar.Add(1) // a spinner
		}
		return
	}
	// A line at each tenth of a long phase.
	if p.Total >= 10 && p.Done*10/p.Total > b.tenth {
		b.tenth = p.Done * 10 / p.Total
		fmt.Fprintf(b.w, "mls sim: %s %s (%.0fs)\n", p.Phase, b.count, now.Sub(b.start).Seconds())
	}
}

func (b *progress) newBar(phase string, total int) *progressbar.ProgressBar {
	max := total
	if total <= 0 {
		max = -1 // a spinner
	}
	return progressbar.NewOptions(max,
		progressbar.OptionSetWriter(b.w),
		progressbar.OptionSetDescription(fmt.Sprintf("%-6s", phase)),
		progressbar.OptionFullWidth(),
		progressbar.OptionShowCount(),
		progressbar.OptionSetItsString(b.unit),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetPredictTime(total > 0),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionUseANSICodes(true),
		progressbar.OptionSetRenderBlankState(true),
	)
}

// endPhase closes the current phase's bar or line.
func (b *progress) endPhase(now time.Time) {
	if b.phase == "" {
		return
	}
	if b.tty {
		_ = b.bar.Exit() // leaves the bar as it stands
		fmt.Fprintln(b.w)
		b.bar = nil
		return
	}
	if b.count != "" {
		fmt.Fprintf(b.w, "mls sim: %s done: %s in %.1fs\n", b.phase, b.count, now.Sub(b.start).Seconds())
		return
	}
	fmt.Fprintf(b.w, "mls sim: %s done in %.1fs\n", b.phase, now.Sub(b.start).Seconds())
}

func (b *progress) finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.endPhase(time.Now())
	b.phase = ""
}
