package sim

import (
	"fmt"

	"github.com/mlsengine/engine/mls/suite"
)

// Defaults of Options, those of `mls sim`.
const (
	DefaultMembers   = 1000
	DefaultSuite     = suite.ID(1)
	DefaultEpochs    = 20
	DefaultObservers = 4
	DefaultSeed      = 1
	// DefaultBatch is the number of Add proposals per build commit.
	DefaultBatch = 1000
)

// Options describe a run.
type Options struct {
	// Members is the size of the group when the measured epochs start,
	// observers included (at least Observers+1).
	Members int
	// Suite is the cipher suite.
	Suite suite.ID
	// Epochs is the number of measured epochs.
	Epochs int
	// Observers is the number of members with full private state (at
	// least 1).
	Observers int
	// Seed selects every key and random choice of the run.
	Seed uint64
	// Bare skips the shaping: the epochs run on the tree as the Add
	// commits left it, with every parent node blank.
	Bare bool
	// Batch is the number of Add proposals per build commit; 0 means
	// DefaultBatch.
	Batch int
	// Mix weighs the kinds of commit of the measured epochs; the zero Mix
	// means equal weights.
	Mix Mix
	// Committers chooses who commits each measured epoch; the zero value
	// is uniform.
	Committers Committers
	// DS, if not empty, runs the group through a delivery service in this
	// process: the URL of its store, as delivery.OpenStore takes it
	// ("memory:", "sqlite:PATH", "postgres://..."). Its members then carry
	// X.509 credentials of the service's CA. See Result.DS.
	DS string
	// Progress, if set, is called as the run advances.
	Progress func(Progress)

	// fork, for tests, delivers another commit of the committer to one
	// observer at one epoch, which must then be detected.
	fork *forkFault
}

// forkFault makes observer Observer (an index into the observers) process
// a second, different commit of epoch Epoch's committer.
type forkFault struct {
	Epoch, Observer int
}

// DefaultOptions returns the options of `mls sim` without flags.
func DefaultOptions() Options {
	return Options{
		Members:   DefaultMembers,
		Suite:     DefaultSuite,
		Epochs:    DefaultEpochs,
		Observers: DefaultObservers,
		Seed:      DefaultSeed,
		Mix:       defaultMix,
	}
}

// Progress reports how far a phase of a run has got.
type Progress struct {
	// Phase is "build", "shape", "ds" (through a delivery service),
	// "join", "setup" or "epochs".
	Phase string
	// Done of Total steps are complete (members added, observers joined,
	// epochs run); Total is 0 for a phase without steps.
	Done, Total int
	// Members is the run's Options.Members, which tells the runs of a
	// Sweep apart.
	Members int
}

// maxMembers bounds Members: a tree of 2^31 leaves is the most treekem
// holds, and far more than fits in memory.
const maxMembers = 1 << 30

func (o *Options) check() error {
	switch {
	case o.Observers < 1:
		return fmt.Errorf("%w: %d observers, want at least 1", ErrInvalidOptions, o.Observers)
	case o.Members < o.Observers+1:
		return fmt.Errorf("%w: %d members for %d observers, want at least %d", ErrInvalidOptions, o.Members, o.Observers, o.Observers+1)
	case o.Members > maxMembers:
		return fmt.Errorf("%w: %d members, at most %d", ErrInvalidOptions, o.Members, maxMembers)
	case o.Epochs < 0:
		return fmt.Errorf("%w: %d epochs", ErrInvalidOptions, o.Epochs)
	case o.Batch < 0:
		return fmt.Errorf("%w: batch of %d", ErrInvalidOptions, o.Batch)
	}
	if _, err := suite.Lookup(o.Suite); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidOptions, err)
	}
	if err := o.Mix.check(); err != nil {
		return err
	}
	return o.Committers.check()
}

func (o *Options) progress(phase string, done, total int) {
	if o.Progress != nil {
		o.Progress(Progress{Phase: phase, Done: done, Total: total, Members: o.Members})
	}
}
