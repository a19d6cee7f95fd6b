// Package wire implements the TLS presentation language codec of RFC 9420
// §2.1: fixed-size integers, optional values and vectors with a
// variable-length (minimal) varint length prefix.
//
// Decoding is strict: a varint that is not minimally encoded, a length that
// exceeds what remains of the input, an optional presence byte other than 0
// or 1, and trailing bytes after a top-level structure are all errors. Lengths
// are checked against the remaining input before anything is allocated.
//
// The style follows golang.org/x/crypto/cryptobyte: a [Reader] whose methods
// return false on failure (remembering why), and a [Builder] that records the
// first error and keeps going so that encoders need no error plumbing.
//
// Types that travel on the wire implement [Marshaler] and [Unmarshaler];
// [Marshal] and [Unmarshal] are the top-level entry points.
package wire
