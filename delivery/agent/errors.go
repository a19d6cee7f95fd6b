package agent

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error returned by this package wraps one of them
// (errors.Is), often together with the error of package mls or delivery
// that caused it, and its message starts with "mls: client: ".
var (
	// ErrNotInitialized reports a state directory without an identity:
	// run Init first.
	ErrNotInitialized = errors.New("mls: client: state directory not initialized")

	// ErrAlreadyInitialized reports an Init in a directory that already
	// holds another identity.
	ErrAlreadyInitialized = errors.New("mls: client: state directory already initialized")

	// ErrInvalidArgument reports an argument that cannot be used: an
	// unknown cipher suite, an empty message.
	ErrInvalidArgument = errors.New("mls: client: invalid argument")

	// ErrInvalidName reports a client or group name that is not 1 to 64
	// of A-Z a-z 0-9 . _ - @ +.
	ErrInvalidName = errors.New("mls: client: invalid name")

	// ErrUnknownGroup reports a group name this client does not know.
	ErrUnknownGroup = errors.New("mls: client: unknown group")

	// ErrGroupExists reports a group name already in use by this client.
	ErrGroupExists = errors.New("mls: client: group already exists")

	// ErrInactive reports an operation on a group this client was removed
	// from or left.
	ErrInactive = errors.New("mls: client: no longer a member of the group")

	// ErrMember reports a name that is not a member of the group where one
	// was expected, or is one where it should not be.
	ErrMember = errors.New("mls: client: membership")

	// ErrKeyPackage reports a KeyPackage handed out by the delivery service
	// that cannot be used: invalid, of another cipher suite, or for another
	// identity than the one claimed.
	ErrKeyPackage = errors.New("mls: client: unusable KeyPackage")

	// ErrDelivery is matched by every failure to talk to the delivery
	// service or refusal from it; the cause is wrapped too (errors.Is with
	// the sentinels of packages delivery and delivery/store).
	ErrDelivery = errors.New("mls: client: delivery service")

	// ErrCommit reports a commit or proposal that package mls refused to
	// create (the cause says why, e.g. an invalid proposal).
	ErrCommit = errors.New("mls: client: cannot commit")

	// ErrConflict reports a commit that lost its epoch twice in a row: the
	// group is busy; try again.
	ErrConflict = errors.New("mls: client: commit lost its epoch again")

	// ErrOutOfSync reports a group whose log holds a message this client
	// cannot follow (a commit it cannot process): its state no longer
	// matches the group's.
	ErrOutOfSync = errors.New("mls: client: group out of sync")

	// ErrState reports a state directory that cannot be read or written,
	// or holds a file this package cannot decode.
	ErrState = errors.New("mls: client: state directory")

	// ErrBusy reports a state directory locked by another process.
	ErrBusy = errors.New("mls: client: state directory in use by another process")
)

// outOfSync returns an ErrOutOfSync error for the group named group,
// saying how to get back in: the state cannot follow the group any more.
func outOfSync(group, format string, args ...any) error {
	return errorf(ErrOutOfSync, "%s: %s; run 'mls client rejoin %s' to join it again", group, fmt.Sprintf(format, args...), group)
}

// outOfSyncErr is outOfSync with a cause.
func outOfSyncErr(group, what string, cause error) error {
	return &wrapped{sentinel: ErrOutOfSync, cause: cause,
		msg: fmt.Sprintf("%s: %s: %s: %v; run 'mls client rejoin %s' to join it again", ErrOutOfSync, group, what, cause, group)}
}

// errorf returns an error wrapping sentinel whose message is the sentinel's
// followed by the formatted detail.
func errorf(sentinel error, format string, args ...any) error {
	return &wrapped{sentinel: sentinel, msg: sentinel.Error() + ": " + fmt.Sprintf(format, args...)}
}

// wrapErr returns an error wrapping sentinel and cause, with the detail
// what between them in the message.
func wrapErr(sentinel error, what string, cause error) error {
	return &wrapped{sentinel: sentinel, cause: cause, msg: sentinel.Error() + ": " + what + ": " + cause.Error()}
}

type wrapped struct {
	sentinel, cause error
	msg             string
}

func (e *wrapped) Error() string { return e.msg }

// Unwrap exposes the sentinel and the cause to errors.Is and errors.As.
func (e *wrapped) Unwrap() []error {
	if e.cause == nil {
		return []error{e.sentinel}
	}
	return []error{e.sentinel, e.cause}
}
