package wire

// A Reader consumes an encoded byte string. Every Read method returns false
// and leaves the output untouched on failure; the first failure's reason is
// kept for the error message (see [Reader.Err]).
//
// Byte slices returned by a Reader alias its input.
type Reader struct {
	b      []byte
	reason string
}

// NewReader returns a Reader over b.
func NewReader(b []byte) *Reader { return &Reader{b: b} }

// Len returns the number of unread bytes.
func (r *Reader) Len() int { return len(r.b) }

// Empty reports whether all input has been consumed.
func (r *Reader) Empty() bool { return len(r.b) == 0 }

// Rest returns the unread bytes without consuming them.
func (r *Reader) Rest() []byte { return r.b }

// Reason returns why the first failed read failed, or "".
func (r *Reader) Reason() string { return r.reason }

// Fail records reason (if none is recorded yet) and returns false, so that a
// decoder can reject a semantically invalid value: `return r.Fail("...")`.
func (r *Reader) Fail(reason string) bool { return r.fail(reason) }

func (r *Reader) fail(reason string) bool {
	if r.reason == "" {
		r.reason = reason
	}
	return false
}

func (r *Reader) take(n int) ([]byte, bool) {
	if n < 0 || len(r.b) < n {
		return nil, r.fail("truncated")
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v, true
}

// ReadUint8 reads one byte.
func (r *Reader) ReadUint8(out *uint8) bool {
	v, ok := r.take(1)
	if ok {
		*out = v[0]
	}
	return ok
}

// ReadUint16 reads a big-endian uint16.
func (r *Reader) ReadUint16(out *uint16) bool {
	v, ok := r.take(2)
	if ok {
		*out = uint16(v[0])<<8 | uint16(v[1])
	}
	return ok
}

// ReadUint32 reads a big-endian uint32.
func (r *Reader) ReadUint32(out *uint32) bool {
	v, ok := r.take(4)
	if ok {
		*out = uint32(v[0])<<24 | uint32(v[1])<<16 | uint32(v[2])<<8 | uint32(v[3])
	}
	return ok
}

// ReadUint64 reads a big-endian uint64.
func (r *Reader) ReadUint64(out *uint64) bool {
	v, ok := r.take(8)
	if ok {
		var x uint64
		for _, c := range v {
			x = x<<8 | uint64(c)
		}
		*out = x
	}
	return ok
}

// ReadBool reads a one-byte boolean that must be 0 or 1.
func (r *Reader) ReadBool(out *bool) bool {
	var v uint8
	if !r.ReadUint8(&v) {
		return false
	}
	if v > 1 {
		return r.fail("boolean not 0 or 1")
	}
	*out = v == 1
	return true
}

// ReadFixed reads exactly n bytes (an opaque field of fixed size).
func (r *Reader) ReadFixed(n int, out *[]byte) bool {
	v, ok := r.take(n)
	if ok {
		*out = v
	}
	return ok
}

// ReadVector reads a varint-prefixed opaque vector (opaque data<V>).
func (r *Reader) ReadVector(out *[]byte) bool {
	var n uint64
	if !r.ReadVarint(&n) {
		return false
	}
	if n > uint64(len(r.b)) {
		return r.fail("vector length exceeds input")
	}
	v, _ := r.take(int(n))
	*out = v
	return true
}

// ReadVectorReader reads a varint-prefixed vector and returns a Reader over
// its contents, for vectors of structures. The caller must check that the
// sub-reader is fully consumed (see [Reader.ReadList]).
func (r *Reader) ReadVectorReader(out *Reader) bool {
	var v []byte
	if !r.ReadVector(&v) {
		return false
	}
	*out = Reader{b: v}
	return true
}

// ReadList reads a varint-prefixed vector of elements, calling readElem until
// the vector's bytes are consumed. It fails if any element fails or if an
// element reads past the vector's end.
func (r *Reader) ReadList(readElem func(*Reader) bool) bool {
	var body []byte
	if !r.ReadVector(&body) {
		return false
	}
	// The elements are read from r itself, narrowed to the vector's body:
	// a sub-reader handed to readElem would escape to the heap.
	rest := r.b
	r.b = body
	for len(r.b) > 0 {
		if !readElem(r) {
			r.b = rest
			return r.fail("list element")
		}
	}
	r.b = rest
	return true
}

// ReadOptional reads the presence byte of an optional<T> (§2.1.1) and, if
// the value is present, calls readValue.
func (r *Reader) ReadOptional(present *bool, readValue func(*Reader) bool) bool {
	var p uint8
	if !r.ReadUint8(&p) {
		return false
	}
	switch p {
	case 0:
		*present = false
		return true
	case 1:
		*present = true
		return readValue(r)
	default:
		return r.fail("optional presence byte not 0 or 1")
	}
}

// ReadRaw runs read and stores in out the bytes it consumed, so that a
// decoder can keep the exact encoding of a signed or hashed structure.
func (r *Reader) ReadRaw(out *[]byte, read func(*Reader) bool) bool {
	start := r.b
	if !read(r) {
		return false
	}
	*out = start[: len(start)-len(r.b) : len(start)-len(r.b)]
	return true
}

func (r *Reader) reasonOr(def string) string {
	if r.reason != "" {
		return r.reason
	}
	return def
}
