package store

import (
	"errors"
	"fmt"
)

var (
	// ErrUnknownGroup is returned for a group the store has never seen.
	ErrUnknownGroup = errors.New("delivery: unknown group")

	// ErrEpoch is matched by every *EpochError: a message for an epoch
	// other than the group's current one.
	ErrEpoch = errors.New("delivery: wrong epoch")

	// ErrClientExists is returned when registering a name that is taken.
	ErrClientExists = errors.New("delivery: client name already registered")

	// ErrUnknownClient is returned for a token hash no client registered.
	ErrUnknownClient = errors.New("delivery: unknown client")

	// ErrKeyPackageExists is returned when a KeyPackage with the same
	// reference was uploaded by another client.
	ErrKeyPackageExists = errors.New("delivery: KeyPackage uploaded by another client")

	// ErrNoKeyPackage is returned by a claim when the client has neither a
	// one-time nor a last-resort KeyPackage (of the requested cipher suite).
	ErrNoKeyPackage = errors.New("delivery: no KeyPackage available")

	// ErrNoGroupInfo is returned when a group has no GroupInfo for its
	// current epoch.
	ErrNoGroupInfo = errors.New("delivery: no GroupInfo for the current epoch")

	// ErrNotFound is returned when deleting a Welcome the client does not
	// have pending.
	ErrNotFound = errors.New("delivery: not found")

	// ErrInvalid is returned for arguments that break a Store's contract
	// (a caller bug, not bad client input: the caller validates that).
	ErrInvalid = errors.New("delivery: invalid store argument")
)

// EpochError reports a message whose epoch is not the group's current epoch:
// a commit that lost the race for its epoch, a stale message, or a message
// for an epoch the group has not reached.
type EpochError struct {
	Epoch   uint64 // the epoch the message carries
	Current uint64 // the group's current epoch

	// Winner is the commit that ended Epoch, when Epoch < Current; it is
	// nil for a message from the future.
	Winner *Message
}

func (e *EpochError) Error() string {
	if e.Winner != nil {
		return fmt.Sprintf("delivery: epoch %d already ended by the commit at sequence number %d; current epoch is %d",
			e.Epoch, e.Winner.Seq, e.Current)
	}
	return fmt.Sprintf("delivery: message for epoch %d, but the current epoch is %d", e.Epoch, e.Current)
}

// Unwrap makes errors.Is(err, ErrEpoch) true.
func (e *EpochError) Unwrap() error { return ErrEpoch }
