package wire

import (
	"errors"
	"fmt"
)

// ErrDecode is matched (errors.Is) by every decoding failure.
var ErrDecode = errors.New("wire: malformed encoding")

// ErrEncode is matched by every encoding failure (a value too large to encode).
var ErrEncode = errors.New("wire: cannot encode")

// DecodeError reports which structure failed to decode and why.
type DecodeError struct {
	Type   string // the top-level structure being decoded, e.g. "KeyPackage"
	Reason string // the first low-level failure, e.g. "non-minimal varint"
}

func (e *DecodeError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("wire: malformed %s", e.Type)
	}
	return fmt.Sprintf("wire: malformed %s: %s", e.Type, e.Reason)
}

// Unwrap makes errors.Is(err, ErrDecode) true.
func (e *DecodeError) Unwrap() error { return ErrDecode }
