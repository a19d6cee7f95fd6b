package testvectors

import (
	"fmt"

	"github.com/mlsengine/engine/mls/wire"
)

// Deserialization is a case of deserialization.json: a variable-length
// vector header and the length it encodes (RFC 9420 §2.1.2).
type Deserialization struct {
	VLBytesHeader HexBytes `json:"vlbytes_header"`
	Length        uint64   `json:"length"`
}

// CipherSuite returns 0: the kind has no cipher suite.
func (*Deserialization) CipherSuite() uint16 { return 0 }

// Verify decodes the header as a varint, which must consume it whole, and
// compares the result with the expected length.
func (c *Deserialization) Verify() error {
	r := wire.NewReader(c.VLBytesHeader)
	var n uint64
	if !r.ReadVarint(&n) {
		return fmt.Errorf("vlbytes_header %x: %s", []byte(c.VLBytesHeader), r.Reason())
	}
	if !r.Empty() {
		return fmt.Errorf("vlbytes_header %x: %d trailing bytes", []byte(c.VLBytesHeader), r.Len())
	}
	if n != c.Length {
		return fmt.Errorf("%w: vlbytes_header %x decodes to %d, want %d", ErrMismatch, []byte(c.VLBytesHeader), n, c.Length)
	}
	return nil
}
