package message

import (
	"errors"
	"fmt"

	"github.com/mlsengine/engine/mls/wire"
)

// Sentinel errors. Every error of this package wraps one of them or an
// error of a lower package (wire.ErrDecode, wire.ErrEncode, a suite or
// keyschedule error), and its message starts with "message: ".
var (
	// ErrWrongGroup reports content for another group than the one whose
	// GroupContext was given.
	ErrWrongGroup = errors.New("message: wrong group")
	// ErrWrongEpoch reports content for another epoch than the one whose
	// GroupContext was given. See EpochError.
	ErrWrongEpoch = errors.New("message: wrong epoch")
	// ErrInvalidSender reports a sender that is not allowed where it
	// appears (for example a non-member sender in a PrivateMessage, or a
	// new_member_commit sender of a proposal). See SenderError.
	ErrInvalidSender = errors.New("message: invalid sender")
	// ErrSignature reports a signature that does not verify.
	ErrSignature = errors.New("message: invalid signature")
	// ErrMembershipTag reports a missing or wrong membership_tag (§6.2).
	ErrMembershipTag = errors.New("message: invalid membership tag")
	// ErrConfirmationTag reports a missing or wrong confirmation_tag (§6.1).
	ErrConfirmationTag = errors.New("message: invalid confirmation tag")
	// ErrApplicationPublic reports application data in a PublicMessage,
	// which §6 forbids ("Applications MUST use PrivateMessage to encrypt
	// application messages").
	ErrApplicationPublic = errors.New("message: application data in a PublicMessage")
	// ErrDecrypt reports a PrivateMessage, sender data, GroupSecrets or
	// GroupInfo that does not decrypt. It carries no detail on purpose.
	ErrDecrypt = errors.New("message: decryption failed")
	// ErrMalformed reports a decrypted plaintext that does not decode, a
	// PrivateMessageContent with non-zero padding (§6.3.1) or a structure
	// that contradicts itself (for example a wire format that does not
	// match the message carrying it).
	ErrMalformed = errors.New("message: malformed message")
	// ErrNotFound reports that a Welcome has no entry for a KeyPackage.
	ErrNotFound = errors.New("message: no matching entry")
	// ErrInvalidArgument reports an argument the caller should not have
	// passed (a nil suite, a secret of the wrong size, a negative padding).
	ErrInvalidArgument = errors.New("message: invalid argument")
	// ErrInternal reports a bug in this package.
	ErrInternal = errors.New("message: internal error")
)

// EpochError reports content for an epoch other than the expected one.
type EpochError struct {
	Got, Want uint64
}

func (e *EpochError) Error() string {
	return fmt.Sprintf("message: wrong epoch: got %d, want %d", e.Got, e.Want)
}

// Unwrap makes errors.Is(err, ErrWrongEpoch) true.
func (e *EpochError) Unwrap() error { return ErrWrongEpoch }

// SenderError reports a sender that may not send this content or use this
// wire format.
type SenderError struct {
	Sender Sender
	Reason string
}

func (e *SenderError) Error() string {
	return fmt.Sprintf("message: invalid sender %v: %s", e.Sender, e.Reason)
}

// Unwrap makes errors.Is(err, ErrInvalidSender) true.
func (e *SenderError) Unwrap() error { return ErrInvalidSender }

// encodeError returns an encoding error (wrapping wire.ErrEncode).
func encodeError(format string, args ...any) error {
	return fmt.Errorf("message: %w: %s", wire.ErrEncode, fmt.Sprintf(format, args...))
}

// malformed returns an error wrapping ErrMalformed and, if cause is not
// nil, cause.
func malformed(what string, cause error) error {
	if cause == nil {
		return fmt.Errorf("%w: %s", ErrMalformed, what)
	}
	return fmt.Errorf("%w: %s: %w", ErrMalformed, what, cause)
}

// internalError wraps an error that valid input cannot cause.
func internalError(what string, cause error) error {
	return fmt.Errorf("%w: %s: %w", ErrInternal, what, cause)
}
