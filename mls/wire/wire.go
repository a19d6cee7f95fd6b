package wire

import (
	"fmt"
	"strings"
)

// Marshaler is implemented by every type with an RFC 9420 encoding.
type Marshaler interface {
	MarshalMLS(b *Builder)
}

// Unmarshaler is implemented by every type with an RFC 9420 decoding. It
// returns false on malformed input (recording the reason with [Reader.Fail]
// where the Reader does not already know it).
type Unmarshaler interface {
	UnmarshalMLS(r *Reader) bool
}

// Marshal returns the encoding of v.
func Marshal(v Marshaler) ([]byte, error) { return AppendMarshal(nil, v) }

// AppendMarshal appends the encoding of v to buf.
func AppendMarshal(buf []byte, v Marshaler) ([]byte, error) {
	b := NewBuilder(buf)
	v.MarshalMLS(b)
	return b.Bytes()
}

// Unmarshal decodes data into v strictly: all of data must be consumed. The
// decoded value may alias data; callers that reuse data must copy it first.
// The error is a *DecodeError naming v's type.
func Unmarshal(data []byte, v Unmarshaler) error {
	r := NewReader(data)
	if !v.UnmarshalMLS(r) {
		return &DecodeError{Type: typeName(v), Reason: r.reasonOr("invalid value")}
	}
	if !r.Empty() {
		return &DecodeError{Type: typeName(v), Reason: "trailing bytes"}
	}
	return nil
}

// typeName returns the bare type name of v ("KeyPackage" for *message.KeyPackage).
func typeName(v any) string {
	name := strings.TrimLeft(fmt.Sprintf("%T", v), "*")
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	return name
}
