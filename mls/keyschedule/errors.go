package keyschedule

import (
	"errors"
	"fmt"

	"github.com/mlsengine/engine/treekem"
)

var (
	// ErrSecretLength is matched when an input secret does not have the
	// length the cipher suite requires (KDF.Nh).
	ErrSecretLength = errors.New("keyschedule: secret has the wrong length")

	// ErrInvalidArgument is matched when a caller passes a value outside the
	// documented range (a zero-leaf tree, an exporter length above 2^16-1).
	ErrInvalidArgument = errors.New("keyschedule: invalid argument")

	// ErrLeafOutOfRange is matched when a leaf index is not a leaf of the
	// secret tree.
	ErrLeafOutOfRange = errors.New("keyschedule: leaf index out of range")

	// ErrReplay is matched when a received generation was already consumed
	// (§9.2: its key was deleted when it was used).
	ErrReplay = errors.New("keyschedule: generation already consumed")

	// ErrExpired is matched when a received generation lies behind the
	// ratchet and its key is no longer retained (it fell out of the
	// out-of-order window). A replay of a generation this old is also
	// reported as ErrExpired: the tree no longer knows which it was.
	ErrExpired = errors.New("keyschedule: generation no longer retained")

	// ErrTooFarAhead is matched when a received generation is further ahead
	// of the ratchet than [Config.MaxForwardDistance] allows (§15.3).
	ErrTooFarAhead = errors.New("keyschedule: generation too far ahead")

	// ErrExhausted is matched when a ratchet has used all 2^32 generations.
	ErrExhausted = errors.New("keyschedule: ratchet exhausted")

	// ErrTooManyPSKs is matched when more than 2^16-1 pre-shared keys are
	// given: PSKLabel counts them in a uint16 (§8.4).
	ErrTooManyPSKs = errors.New("keyschedule: too many pre-shared keys")

	// ErrInvalidPSK is matched when a PreSharedKeyID is not acceptable
	// (§12.1.4: unknown type or usage, nonce not of length KDF.Nh).
	ErrInvalidPSK = errors.New("keyschedule: invalid pre-shared key id")

	// ErrInvalidState is matched when a secret-tree snapshot given to
	// [RestoreSecretTree] is inconsistent.
	ErrInvalidState = errors.New("keyschedule: invalid secret tree state")

	// ErrInternal is matched by failures that indicate a bug in this module
	// (a cipher-suite operation failing on lengths this package chose).
	ErrInternal = errors.New("keyschedule: internal error")
)

// SecretLengthError reports which secret had the wrong length.
type SecretLengthError struct {
	Name string // the secret's name in RFC 9420, e.g. "commit_secret"
	Got  int
	Want int
}

func (e *SecretLengthError) Error() string {
	return fmt.Sprintf("keyschedule: %s has %d bytes, want %d", e.Name, e.Got, e.Want)
}

// Unwrap makes errors.Is(err, ErrSecretLength) true.
func (e *SecretLengthError) Unwrap() error { return ErrSecretLength }

// GenerationError reports a key request that the secret tree refused. Err is
// one of ErrReplay, ErrExpired, ErrTooFarAhead, ErrExhausted.
type GenerationError struct {
	Leaf       treekem.LeafIndex
	Kind       Kind
	Generation uint32
	Err        error
}

func (e *GenerationError) Error() string {
	return fmt.Sprintf("%v: leaf %d, %s ratchet, generation %d", e.Err, e.Leaf, e.Kind, e.Generation)
}

// Unwrap returns the sentinel that classifies the refusal.
func (e *GenerationError) Unwrap() error { return e.Err }

// StateError reports why a secret-tree snapshot was rejected.
type StateError struct {
	Reason string
}

func (e *StateError) Error() string { return "keyschedule: invalid secret tree state: " + e.Reason }

// Unwrap makes errors.Is(err, ErrInvalidState) true.
func (e *StateError) Unwrap() error { return ErrInvalidState }

// internal wraps a cipher-suite failure that this package did not expect.
func internal(op string, err error) error {
	return fmt.Errorf("%w: %s: %w", ErrInternal, op, err)
}
