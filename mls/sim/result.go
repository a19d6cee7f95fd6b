package sim

import (
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"time"

	"github.com/mlsengine/engine/mls/suite"
)

// Result is what a run measured. Its JSON encoding is the output of
// `mls sim --json`; the fields without a JSON name are for the table.
type Result struct {
	Members      int      `json:"members"`
	Suite        suite.ID `json:"suite"`
	Epochs       int      `json:"epochs"`
	Observers    int      `json:"observers"`
	BuildSeconds float64  `json:"build_seconds"`
	Ops          Ops      `json:"ops"`
	Join         Join     `json:"join"`
	Application  App      `json:"application"`
	MaxRSSBytes  uint64   `json:"max_rss_bytes"`
	// AgreedEpochs counts the measured epochs at which the committer and
	// every observer agreed on the epoch authenticator.
	AgreedEpochs int `json:"agreed_epochs"`
	// Mix and Committers are the run's workload: Options.Mix (equal
	// weights for the zero Mix) and Options.Committers.
	Mix        Mix        `json:"mix"`
	Committers Committers `json:"committers"`
	// DS is what a run through a delivery service (Options.DS) measured
	// of it; nil (and no "ds" in the JSON) without.
	DS *DS `json:"ds,omitempty"`

	// Bare reports a run without shaping.
	Bare bool `json:"-"`
	// Phases are the wall-clock times of the phases before the epochs
	// (BuildSeconds is their sum): "build", "shape", "ds" (creating the
	// group at the delivery service), "join", "setup".
	Phases []Phase `json:"-"`
	// Floor is the crypto floor of an update's creation at the median
	// depth of the updates: Depth × (one HPKE seal + one DeriveKeyPair),
	// measured on this machine during the run. Zero without updates.
	Floor Floor `json:"-"`
}

// Ops are the measurements of each kind of commit.
type Ops struct {
	Update Op `json:"update"`
	Add    Op `json:"add"`
	Remove Op `json:"remove"`
}

// Op measures one kind of commit over the epochs: how long the committer
// took to create it (mls.Group.Commit), how long each observer took to
// process and apply it (mls.Group.Process and Apply), and its size.
type Op struct {
	Count             int     `json:"count"`
	CreateMedianMS    float64 `json:"create_median_ms"`
	ProcessMedianMS   float64 `json:"process_median_ms"`
	CommitBytesMedian int     `json:"commit_bytes_median"`
	// CreateCPUMedianMS and ProcessCPUMedianMS are the medians of the CPU
	// time the process spent on each call, on all its threads: the work
	// done, which waiting for a core on a busy machine does not inflate.
	CreateCPUMedianMS  float64 `json:"-"`
	ProcessCPUMedianMS float64 `json:"-"`
}

// Join measures the observers' joins: mls.Join with the tree passed out
// of band (so the whole tree is decoded and validated), and the size of
// the Welcome.
type Join struct {
	MedianMS     float64 `json:"median_ms"`
	WelcomeBytes int     `json:"welcome_bytes"`
}

// App measures application messages: mls.Group.Encrypt by the sender and
// mls.Group.Process by each other observer.
type App struct {
	EncryptMedianUS float64 `json:"encrypt_median_us"`
	DecryptMedianUS float64 `json:"decrypt_median_us"`
}

// Phase is the duration of a phase of the run.
type Phase struct {
	Name    string
	Seconds float64
}

// Floor is the crypto floor of creating an UpdatePath: depth × (one HPKE
// seal + one DeriveKeyPair), timed right after each update. Its times and
// ratios are in process CPU time, which a busy machine does not inflate.
type Floor struct {
	Depth int // median filtered direct path length of the updates
	// Encryptions is the median number of HPKE encryptions of the updates
	// (Depth when every copath resolution holds one node).
	Encryptions int
	CreateMS    float64 // median floor of the updates
	// CreateRatio and ProcessRatio are the medians, over the updates (and
	// observers), of the time to create (process) the commit divided by
	// its floor.
	CreateRatio, ProcessRatio float64
	// CreateWallRatio and ProcessWallRatio are the same medians in
	// wall-clock time: the latency of the commit, whose HPKE operations
	// run on GOMAXPROCS goroutines, over the floor's, on one.
	CreateWallRatio, ProcessWallRatio float64
	// PathRatio is the median of the time to create each update divided
	// by the crypto its path needs: the floor plus one seal per
	// encryption beyond Depth.
	PathRatio float64
}

// samples collects durations and sizes for medians.
type samples struct {
	create, process map[string][]span
	bytes           map[string][]int
	depth           []int           // filtered direct path length of each update
	encs            []int           // HPKE encryptions of each update
	floor           []time.Duration // crypto floor of each update's path (CPU time)
	floorNow        span            // of the current update
	createRatio     []float64       // create / floor of each update
	createWall      []float64       // the same in wall-clock time
	processWall     []float64       // process / floor in wall-clock time
	pathRatio       []float64       // create / (floor + extra seals) of each update
	processRatio    []float64       // process / floor of each update and observer
	join            []time.Duration
	welcome         []int
	encrypt         []span
	decrypt         []span
}

func newSamples() *samples {
	return &samples{
		create:  map[string][]span{},
		process: map[string][]span{},
		bytes:   map[string][]int{},
	}
}

func walls(s []span) []time.Duration {
	out := make([]time.Duration, len(s))
	for i, v := range s {
		out[i] = v.wall
	}
	return out
}

func cpus(s []span) []time.Duration {
	out := make([]time.Duration, len(s))
	for i, v := range s {
		out[i] = v.cpu
	}
	return out
}

// median returns the median of v (the mean of the two middle values for
// an even count), or 0 for none; v is not reordered.
func median[T int | float64 | time.Duration](v []T) T {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ratio(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// ms and us round a duration to microseconds, in milliseconds or
// microseconds.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 }
func us(d time.Duration) float64 { return float64(d.Nanoseconds()/100) / 10 }

// fill sets the medians of r from s.
func (s *samples) fill(r *Result) {
	op := func(kind string) Op {
		return Op{
			Count:              len(s.create[kind]),
			CreateMedianMS:     ms(median(walls(s.create[kind]))),
			ProcessMedianMS:    ms(median(walls(s.process[kind]))),
			CommitBytesMedian:  median(s.bytes[kind]),
			CreateCPUMedianMS:  ms(median(cpus(s.create[kind]))),
			ProcessCPUMedianMS: ms(median(cpus(s.process[kind]))),
		}
	}
	r.Ops = Ops{Update: op(opUpdate), Add: op(opAdd), Remove: op(opRemove)}
	r.Join = Join{MedianMS: ms(median(s.join)), WelcomeBytes: median(s.welcome)}
	r.Application = App{EncryptMedianUS: us(median(walls(s.encrypt))), DecryptMedianUS: us(median(walls(s.decrypt)))}
	if len(s.floor) > 0 {
		r.Floor = Floor{
			Depth:        median(s.depth),
			Encryptions:  median(s.encs),
			CreateMS:     ms(median(s.floor)),
			CreateRatio:  math.Round(median(s.createRatio)*100) / 100,
			ProcessRatio: math.Round(median(s.processRatio)*100) / 100,
			PathRatio:    math.Round(median(s.pathRatio)*100) / 100,

			CreateWallRatio:  math.Round(median(s.createWall)*100) / 100,
			ProcessWallRatio: math.Round(median(s.processWall)*100) / 100,
		}
	}
}

// describe returns the options of the run but its size, as the tables
// show them; the workload only when it is not the default.
func (r *Result) describe() string {
	shape := "steady state"
	if r.Bare {
		shape = "bare (as built)"
	}
	cs, _ := suite.Lookup(r.Suite)
	name := r.Suite.String()
	if cs != nil {
		name = cs.String()
	}
	s := fmt.Sprintf("suite %d (%s), %d epochs, %d observers, %s", uint16(r.Suite), name, r.Epochs, r.Observers, shape)
	if r.Mix != defaultMix && r.Mix != (Mix{}) {
		s += ", mix " + r.Mix.String()
	}
	if r.Committers != (Committers{}) {
		s += ", committers " + r.Committers.String()
	}
	return s
}

// WriteTable writes r as a human-readable table.
func (r *Result) WriteTable(w io.Writer) error {
	p := &printer{w: w}
	p.printf("mls sim: %d members, %s\n\n", r.Members, r.describe())
	p.printf("%-10s %6s %12s %12s %14s %12s %12s\n", "operation", "count", "create ms", "process ms", "commit bytes", "create cpu", "process cpu")
	for _, row := range []struct {
		name string
		op   Op
	}{{"update", r.Ops.Update}, {"add", r.Ops.Add}, {"remove", r.Ops.Remove}} {
		p.printf("%-10s %6d %12.3f %12.3f %14d %12.3f %12.3f\n", row.name, row.op.Count, row.op.CreateMedianMS, row.op.ProcessMedianMS,
			row.op.CommitBytesMedian, row.op.CreateCPUMedianMS, row.op.ProcessCPUMedianMS)
	}
	tree := "out of band"
	if r.DS != nil {
		tree = "served by the delivery service"
	}
	p.printf("\njoin          %.3f ms median, Welcome %d bytes (tree %s)\n", r.Join.MedianMS, r.Join.WelcomeBytes, tree)
	p.printf("application   encrypt %.1f us, decrypt %.1f us (medians)\n", r.Application.EncryptMedianUS, r.Application.DecryptMedianUS)
	if f := r.Floor; f.CreateMS > 0 {
		p.printf("crypto floor  %.3f ms cpu = depth %d x (HPKE seal + DeriveKeyPair); update create %.2fx, process %.2fx the floor (cpu)\n",
			f.CreateMS, f.Depth, f.CreateRatio, f.ProcessRatio)
		p.printf("              in wall-clock time (GOMAXPROCS %d): update create %.2fx, process %.2fx the floor\n",
			runtime.GOMAXPROCS(0), f.CreateWallRatio, f.ProcessWallRatio)
		p.printf("              median update: %d HPKE encryptions for a depth of %d; create %.2fx its own crypto\n",
			f.Encryptions, f.Depth, f.PathRatio)
	}
	p.printf("build         %.1f s", r.BuildSeconds)
	for i, ph := range r.Phases {
		sep := ", "
		if i == 0 {
			sep = " ("
		}
		p.printf("%s%s %.1f s", sep, ph.Name, ph.Seconds)
	}
	if len(r.Phases) > 0 {
		p.printf(")")
	}
	p.printf("\nmax RSS       %.1f MiB\n", float64(r.MaxRSSBytes)/(1<<20))
	p.printf("agreed        %d of %d epochs\n", r.AgreedEpochs, r.Epochs)
	if r.DS != nil {
		r.DS.writeTable(p)
	}
	return p.err
}

type printer struct {
	w   io.Writer
	err error
}

func (p *printer) printf(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}
