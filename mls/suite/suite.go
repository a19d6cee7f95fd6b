package suite

import (
	"crypto"
	"fmt"
	"hash"
)

// ID is a cipher suite identifier, its code point (RFC 9420 §5.1, §17.1).
type ID uint16

// String returns the name of a suite of Default, or "ID(0x....)".
func (id ID) String() string {
	if s := defaultRegistry.byID[id]; s != nil {
		return s.name
	}
	return fmt.Sprintf("ID(0x%04x)", uint16(id))
}

// A Suite bundles the primitives of one cipher suite under its code point.
// It is immutable and safe for concurrent use; obtain one from a Registry
// (Lookup for the built-in ones) or New.
type Suite struct {
	id      ID
	name    string
	comp    Composition
	hash    crypto.Hash // the suite's hash; also HMAC's and HKDF's
	newHash func() hash.Hash
	aead    *aeadAlg
	kem     kemScheme
	sig     signatureScheme
}

// ID returns the suite's code point.
func (s *Suite) ID() ID { return s.id }

// String returns the suite's name: the IANA name for the built-in suites.
func (s *Suite) String() string { return s.name }

// Composition returns the suite's primitives.
func (s *Suite) Composition() Composition { return s.comp }
