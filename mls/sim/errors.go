package sim

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error returned by this package wraps one of them,
// and its message starts with "sim: ".
var (
	// ErrInvalidOptions reports Options that cannot describe a run.
	ErrInvalidOptions = errors.New("sim: invalid options")
	// ErrDisagreement reports an epoch at which the committer and the
	// observers do not share the epoch authenticator, or an application
	// message that an observer decrypted differently. See EpochError.
	ErrDisagreement = errors.New("sim: members disagree")
	// ErrFailed reports a library call that failed during a run: the run
	// could not go on. See EpochError.
	ErrFailed = errors.New("sim: run failed")
)

// EpochError locates a failure of a run.
type EpochError struct {
	// Phase is "build", "shape", "join", "setup" or "epoch".
	Phase string
	// Epoch is the measured epoch (1-based) in phase "epoch", else the
	// step of the phase.
	Epoch int
	// Kind is ErrDisagreement or ErrFailed.
	Kind error
	// Msg says what failed; Err is the cause, if any.
	Msg string
	Err error
}

func (e *EpochError) Error() string {
	s := fmt.Sprintf("sim: %s %d: %s", e.Phase, e.Epoch, e.Msg)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap makes errors.Is see Kind and the cause.
func (e *EpochError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

func failed(phase string, step int, err error, format string, args ...any) error {
	return &EpochError{Phase: phase, Epoch: step, Kind: ErrFailed, Msg: fmt.Sprintf(format, args...), Err: err}
}

func disagree(phase string, step int, format string, args ...any) error {
	return &EpochError{Phase: phase, Epoch: step, Kind: ErrDisagreement, Msg: fmt.Sprintf(format, args...)}
}
