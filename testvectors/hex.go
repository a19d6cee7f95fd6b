package testvectors

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// HexBytes is a hex-encoded byte string in JSON; null decodes to nil.
type HexBytes []byte

// UnmarshalJSON decodes a hex string.
func (h *HexBytes) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		*h = nil
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return err
	}
	*h = b
	return nil
}

// MarshalJSON encodes as a hex string, and nil as null (as UnmarshalJSON
// decodes them): an empty value must be a non-nil empty slice.
func (h HexBytes) MarshalJSON() ([]byte, error) {
	if h == nil {
		return []byte("null"), nil
	}
	return json.Marshal(hex.EncodeToString(h))
}

// expectEqual returns an ErrMismatch error naming what differs.
func expectEqual(what string, got, want []byte) error {
	if !bytes.Equal(got, want) {
		return fmt.Errorf("%w: %s: got %x, want %x", ErrMismatch, what, got, want)
	}
	return nil
}
