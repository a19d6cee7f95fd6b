package suite

import (
	"crypto"
	"crypto/ecdh"
	"crypto/elliptic"
	"crypto/fips140"
	"crypto/hpke"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"

	circlhpke "github.com/cloudflare/circl/hpke"
)

// ID is a cipher suite identifier (RFC 9420 §5.1, §17.1).
type ID uint16

// The cipher suites of RFC 9420 §17.1, named as in the IANA registry.
const (
	MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519        ID = 0x0001
	MLS_128_DHKEMP256_AES128GCM_SHA256_P256             ID = 0x0002
	MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519 ID = 0x0003
	MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448            ID = 0x0004
	MLS_256_DHKEMP521_AES256GCM_SHA512_P521             ID = 0x0005
	MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448     ID = 0x0006
	MLS_256_DHKEMP384_AES256GCM_SHA384_P384             ID = 0x0007
)

// String returns the IANA name of a known suite, or "ID(0x....)".
func (id ID) String() string {
	if s := suites[id]; s != nil {
		return s.name
	}
	return fmt.Sprintf("ID(0x%04x)", uint16(id))
}

// IDs returns the identifiers of all supported suites in ascending order.
func IDs() []ID {
	return []ID{
		MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519,
		MLS_128_DHKEMP256_AES128GCM_SHA256_P256,
		MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519,
		MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448,
		MLS_256_DHKEMP521_AES256GCM_SHA512_P521,
		MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448,
		MLS_256_DHKEMP384_AES256GCM_SHA384_P384,
	}
}

// Lookup returns the suite with the given identifier. It is the only place
// identifiers are checked; an unknown one yields an error wrapping
// ErrUnsupportedSuite.
//
// With GODEBUG=fips140=only every suite is unsupported: that mode forbids
// AES-GCM with caller-chosen nonces (RFC 9420 §6.3.1 derives them), HMAC
// and HKDF keys shorter than 112 bits, X25519, X448, EdDSA over Ed448 and
// ChaCha20-Poly1305, so no suite could run to completion.
func Lookup(id ID) (*Suite, error) {
	s := suites[id]
	if s == nil {
		return nil, fmt.Errorf("%w: 0x%04x", ErrUnsupportedSuite, uint16(id))
	}
	if fips140.Enforced() {
		return nil, fmt.Errorf("%w: %v in FIPS 140-only mode", ErrUnsupportedSuite, id)
	}
	return s, nil
}

// A Suite bundles the primitives of one cipher suite. It is immutable and
// safe for concurrent use; obtain one with Lookup.
type Suite struct {
	id      ID
	name    string
	hash    crypto.Hash // the suite's hash; also HMAC's and HKDF's
	newHash func() hash.Hash
	aead    *aeadAlg
	kem     kemScheme
	sig     signatureScheme
}

// ID returns the suite's identifier.
func (s *Suite) ID() ID { return s.id }

// String returns the suite's IANA name.
func (s *Suite) String() string { return s.name }

// suites is the read-only table of supported suites, built once.
var suites = map[ID]*Suite{
	MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519: {
		id: MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519, name: "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519",
		hash: crypto.SHA256, newHash: sha256.New, aead: aes128GCM,
		kem: newX25519KEM(hpke.AES128GCM(), circlhpke.AEAD_AES128GCM),
		sig: ed25519Scheme{},
	},
	MLS_128_DHKEMP256_AES128GCM_SHA256_P256: {
		id: MLS_128_DHKEMP256_AES128GCM_SHA256_P256, name: "MLS_128_DHKEMP256_AES128GCM_SHA256_P256",
		hash: crypto.SHA256, newHash: sha256.New, aead: aes128GCM,
		kem: newStdKEM(ecdh.P256(), crypto.SHA256, hpke.HKDFSHA256(), hpke.AES128GCM()),
		sig: newECDSAScheme(elliptic.P256(), crypto.SHA256),
	},
	MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519: {
		id: MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519, name: "MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519",
		hash: crypto.SHA256, newHash: sha256.New, aead: chacha20Poly1305,
		kem: newX25519KEM(hpke.ChaCha20Poly1305(), circlhpke.AEAD_ChaCha20Poly1305),
		sig: ed25519Scheme{},
	},
	MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448: {
		id: MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448, name: "MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448",
		hash: crypto.SHA512, newHash: sha512.New, aead: aes256GCM,
		kem: newCirclKEM(circlhpke.KEM_X448_HKDF_SHA512, circlhpke.KDF_HKDF_SHA512, circlhpke.AEAD_AES256GCM),
		sig: ed448Scheme{},
	},
	MLS_256_DHKEMP521_AES256GCM_SHA512_P521: {
		id: MLS_256_DHKEMP521_AES256GCM_SHA512_P521, name: "MLS_256_DHKEMP521_AES256GCM_SHA512_P521",
		hash: crypto.SHA512, newHash: sha512.New, aead: aes256GCM,
		kem: newStdKEM(ecdh.P521(), crypto.SHA512, hpke.HKDFSHA512(), hpke.AES256GCM()),
		sig: newECDSAScheme(elliptic.P521(), crypto.SHA512),
	},
	MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448: {
		id: MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448, name: "MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448",
		hash: crypto.SHA512, newHash: sha512.New, aead: chacha20Poly1305,
		kem: newCirclKEM(circlhpke.KEM_X448_HKDF_SHA512, circlhpke.KDF_HKDF_SHA512, circlhpke.AEAD_ChaCha20Poly1305),
		sig: ed448Scheme{},
	},
	MLS_256_DHKEMP384_AES256GCM_SHA384_P384: {
		id: MLS_256_DHKEMP384_AES256GCM_SHA384_P384, name: "MLS_256_DHKEMP384_AES256GCM_SHA384_P384",
		hash: crypto.SHA384, newHash: sha512.New384, aead: aes256GCM,
		kem: newStdKEM(ecdh.P384(), crypto.SHA384, hpke.HKDFSHA384(), hpke.AES256GCM()),
		sig: newECDSAScheme(elliptic.P384(), crypto.SHA384),
	},
}
