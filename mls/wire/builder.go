package wire

import "fmt"

// A Builder accumulates an encoding. The first error (a vector longer than
// MaxVarint) is kept and returned by [Builder.Bytes]; later calls are no-ops.
type Builder struct {
	buf []byte
	err error
}

// NewBuilder returns a Builder that appends to buf (which may be nil).
func NewBuilder(buf []byte) *Builder { return &Builder{buf: buf} }

// Bytes returns the encoding, or the first error.
func (b *Builder) Bytes() ([]byte, error) {
	if b.err != nil {
		return nil, b.err
	}
	return b.buf, nil
}

// Err returns the first error, if any.
func (b *Builder) Err() error { return b.err }

// SetError records err if no error is recorded yet, so that an encoder can
// refuse to encode an invalid value.
func (b *Builder) SetError(err error) {
	if b.err == nil {
		b.err = err
	}
}

// Len returns the number of bytes written so far.
func (b *Builder) Len() int { return len(b.buf) }

// AddUint8 appends one byte.
func (b *Builder) AddUint8(v uint8) { b.buf = append(b.buf, v) }

// AddBool appends a boolean as one byte.
func (b *Builder) AddBool(v bool) {
	if v {
		b.AddUint8(1)
	} else {
		b.AddUint8(0)
	}
}

// AddUint16 appends a big-endian uint16.
func (b *Builder) AddUint16(v uint16) { b.buf = append(b.buf, byte(v>>8), byte(v)) }

// AddUint32 appends a big-endian uint32.
func (b *Builder) AddUint32(v uint32) {
	b.buf = append(b.buf, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

// AddUint64 appends a big-endian uint64.
func (b *Builder) AddUint64(v uint64) {
	b.buf = append(b.buf, byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32),
		byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

// AddVarint appends v as a minimal variable-length integer.
func (b *Builder) AddVarint(v uint64) {
	if v > MaxVarint {
		b.SetError(fmt.Errorf("%w: varint %d exceeds 2^30-1", ErrEncode, v))
		return
	}
	b.buf = appendVarint(b.buf, v)
}

// AddFixed appends v as is (an opaque field of fixed size).
func (b *Builder) AddFixed(v []byte) { b.buf = append(b.buf, v...) }

// AddVector appends v with a varint length prefix (opaque data<V>).
func (b *Builder) AddVector(v []byte) {
	b.AddVarint(uint64(len(v)))
	b.buf = append(b.buf, v...)
}

// AddVectorFunc appends a varint length prefix followed by whatever f
// writes, for vectors of structures.
func (b *Builder) AddVectorFunc(f func(*Builder)) {
	start := len(b.buf)
	f(b)
	n := len(b.buf) - start
	prefix := VarintLen(uint64(n))
	if prefix == 0 {
		b.SetError(fmt.Errorf("%w: vector of %d bytes exceeds 2^30-1", ErrEncode, n))
		return
	}
	// Make room for the prefix and shift the contents right.
	for i := 0; i < prefix; i++ {
		b.buf = append(b.buf, 0)
	}
	copy(b.buf[start+prefix:], b.buf[start:start+n])
	appendVarint(b.buf[start:start], uint64(n))
}

// AddOptional appends the presence byte of an optional<T> (§2.1.1) and, if
// present, whatever f writes.
func (b *Builder) AddOptional(present bool, f func(*Builder)) {
	b.AddBool(present)
	if present {
		f(b)
	}
}
