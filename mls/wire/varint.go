package wire

// MaxVarint is the largest value a variable-length integer can hold (2^30-1),
// and so the largest length of a vector (RFC 9420 §2.1.2).
const MaxVarint = 1<<30 - 1

// VarintLen returns the number of bytes of the minimal encoding of v, or 0 if
// v exceeds MaxVarint.
func VarintLen(v uint64) int {
	switch {
	case v < 1<<6:
		return 1
	case v < 1<<14:
		return 2
	case v <= MaxVarint:
		return 4
	default:
		return 0
	}
}

// appendVarint appends the minimal encoding of v, which must be <= MaxVarint.
func appendVarint(b []byte, v uint64) []byte {
	switch VarintLen(v) {
	case 1:
		return append(b, byte(v))
	case 2:
		return append(b, 0x40|byte(v>>8), byte(v))
	default:
		return append(b, 0x80|byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
}

// ReadVarint reads a minimally encoded variable-length integer (§2.1.2).
func (r *Reader) ReadVarint(out *uint64) bool {
	if len(r.b) == 0 {
		return r.fail("truncated varint")
	}
	prefix := r.b[0] >> 6
	if prefix == 3 {
		return r.fail("invalid varint prefix 0b11")
	}
	n := 1 << prefix
	if len(r.b) < n {
		return r.fail("truncated varint")
	}
	v := uint64(r.b[0] & 0x3f)
	for i := 1; i < n; i++ {
		v = v<<8 | uint64(r.b[i])
	}
	// §2.1.2: a value that fits in half the length was not minimally encoded.
	if prefix >= 1 && v < 1<<(8*(n/2)-2) {
		return r.fail("non-minimal varint")
	}
	r.b = r.b[n:]
	*out = v
	return true
}
