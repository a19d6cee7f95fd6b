package mls

import (
	"errors"
	"fmt"
	"runtime/debug"
)

// Sentinel errors. Every error returned by this package wraps one of them
// (errors.Is), often together with the error of a lower package that caused
// it, and its message starts with "mls: ".
var (
	// ErrInvalidArgument reports a value the caller should not have passed
	// (a nil signer, a leaf index outside the tree, a pending commit of
	// another group).
	ErrInvalidArgument = errors.New("mls: invalid argument")

	// ErrMalformed reports input that does not decode, or decodes to a
	// structure of the wrong kind (a Welcome where a KeyPackage was
	// expected).
	ErrMalformed = errors.New("mls: malformed message")

	// ErrWrongGroup reports a message for another group.
	ErrWrongGroup = errors.New("mls: message for another group")

	// ErrWrongEpoch reports a message for an epoch other than the current
	// one that cannot be processed: a handshake message of a past epoch, a
	// message of a future epoch, or an application message of an epoch no
	// longer kept (Config.PastEpochs). See EpochError.
	ErrWrongEpoch = errors.New("mls: message for another epoch")

	// ErrAuthentication reports a message whose signature, membership tag,
	// confirmation tag or AEAD does not verify, or whose sender is not
	// allowed to send it.
	ErrAuthentication = errors.New("mls: message authentication failed")

	// ErrReplay reports an application or handshake message whose key
	// generation was already used or dropped from the out-of-order window,
	// or lies too far ahead of it (RFC 9420 §9.2, §15.3).
	ErrReplay = errors.New("mls: generation replayed or out of window")

	// ErrInvalidProposal reports a proposal, or a list of proposals in a
	// commit, that breaks a rule of RFC 9420 §12.1 or §12.2. See
	// ProposalError.
	ErrInvalidProposal = errors.New("mls: invalid proposal")

	// ErrInvalidCommit reports a commit that breaks a rule of RFC 9420
	// §12.4 outside its proposal list: a missing or invalid path, an
	// unknown proposal reference, a wrong confirmation tag.
	ErrInvalidCommit = errors.New("mls: invalid commit")

	// ErrInvalidWelcome reports a Welcome or GroupInfo that cannot be used
	// to join (RFC 9420 §12.4.3).
	ErrInvalidWelcome = errors.New("mls: invalid welcome or group info")

	// ErrNoKeyPackage reports a Welcome with no entry for the given
	// KeyPackage.
	ErrNoKeyPackage = errors.New("mls: welcome is not for this key package")

	// ErrPSKNotFound reports a pre-shared key that is not available: an
	// external PSK the application does not know, or a resumption PSK of an
	// epoch no longer kept.
	ErrPSKNotFound = errors.New("mls: pre-shared key not available")

	// ErrRejected reports a proposal, credential or group that the
	// application's policy refused.
	ErrRejected = errors.New("mls: rejected by policy")

	// ErrUnsupported reports a parameter this client does not support: a
	// cipher suite, protocol version, GroupContext extension or proposal
	// type.
	ErrUnsupported = errors.New("mls: not supported")

	// ErrStale reports a PendingCommit or StagedCommit that no longer
	// applies because the group moved to another epoch since it was made,
	// or because it was discarded (PendingCommit.Discard,
	// StagedCommit.Discard).
	ErrStale = errors.New("mls: commit no longer applies to the group")

	// ErrInactive reports an operation on a group the member can no longer
	// use: it was removed, or the group was reinitialized (RFC 9420 §11.2,
	// "MUST NOT use the group to send messages anymore").
	ErrInactive = errors.New("mls: group is no longer active")

	// ErrPendingProposals reports application data sent while proposals
	// are pending: RFC 9420 §12.4 requires a Commit first.
	ErrPendingProposals = errors.New("mls: proposals pending, commit first")

	// ErrOwnMessage reports a message sent by this member coming back:
	// its own commits are applied with Group.Apply, and its own encrypted
	// messages cannot be decrypted (their keys were deleted when sent).
	ErrOwnMessage = errors.New("mls: message sent by this member")

	// ErrInvalidState reports a snapshot that cannot be loaded.
	ErrInvalidState = errors.New("mls: invalid group state")

	// ErrNotFound is returned by Storage implementations for a group or
	// KeyPackage they do not hold.
	ErrNotFound = errors.New("mls: not found")

	// ErrInternal reports a bug in this package: valid input and a valid
	// state cannot cause it.
	ErrInternal = errors.New("mls: internal error")
)

// ProposalError reports which proposal of a list broke which rule.
type ProposalError struct {
	// Index is the proposal's position in the commit's list, or -1 for a
	// proposal received on its own or a rule about the whole list.
	Index int
	// Type is the proposal's type (0 for a rule about the whole list).
	Type ProposalType
	// Rule names the broken rule, e.g. "multiple GroupContextExtensions".
	Rule string
	// Err is the cause, if a lower layer reported one.
	Err error
}

func (e *ProposalError) Error() string {
	s := "mls: invalid proposal"
	if e.Index >= 0 {
		s += fmt.Sprintf(" %d", e.Index)
	}
	if e.Type != 0 {
		s += fmt.Sprintf(" (%v)", e.Type)
	}
	s += ": " + e.Rule
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap makes errors.Is(err, ErrInvalidProposal) true, and errors.Is and
// errors.As see the cause.
func (e *ProposalError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrInvalidProposal, e.Err}
	}
	return []error{ErrInvalidProposal}
}

// EpochError reports a message for an epoch that cannot be processed.
type EpochError struct {
	Got, Current uint64
}

func (e *EpochError) Error() string {
	return fmt.Sprintf("mls: message for epoch %d, group is at epoch %d", e.Got, e.Current)
}

// Unwrap makes errors.Is(err, ErrWrongEpoch) true.
func (e *EpochError) Unwrap() error { return ErrWrongEpoch }

// wrapErr returns an error that matches both the sentinel and the cause,
// with the message "mls: <what>: <cause>".
func wrapErr(sentinel error, what string, cause error) error {
	if cause == nil {
		return fmt.Errorf("%w: %s", sentinel, what)
	}
	return &causeError{sentinel: sentinel, what: what, cause: cause}
}

type causeError struct {
	sentinel error
	what     string
	cause    error
}

func (e *causeError) Error() string {
	return e.sentinel.Error() + ": " + e.what + ": " + e.cause.Error()
}

func (e *causeError) Unwrap() []error { return []error{e.sentinel, e.cause} }

// errorf formats an error wrapping sentinel.
func errorf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))
}

// PanicError reports a panic recovered at an entry point of this package
// (Process, Join, JoinExternal, UnmarshalGroup, PublicGroup.Process): a bug
// of ours, which no input can cause. It matches ErrInternal; its message
// ends with the panic's stack, for bug reports.
type PanicError struct {
	What  string // what was being done, e.g. "processing a message"
	Value any    // the value passed to panic
	Stack []byte // the goroutine's stack at the panic
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("mls: internal error: panic %s: %v\n%s", e.What, e.Value, e.Stack)
}

// Unwrap makes errors.Is(err, ErrInternal) true.
func (e *PanicError) Unwrap() error { return ErrInternal }

// recovered turns a recovered panic into a *PanicError; recover() must be
// called by the deferred function itself, which passes its result.
func recovered(what string, p any) error {
	return &PanicError{What: what, Value: p, Stack: debug.Stack()}
}

// internalErr reports a bug of ours.
func internalErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInternal, fmt.Sprintf(format, args...))
}

// proposalErr returns a *ProposalError.
func proposalErr(index int, t ProposalType, rule string, cause error) error {
	return &ProposalError{Index: index, Type: t, Rule: rule, Err: cause}
}
