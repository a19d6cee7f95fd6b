package mls

import (
	"bytes"
	"encoding/binary"

	"github.com/mlsengine/engine/mls/suite"
)

// SigningKey is a signature private key held in memory: a Signer whose key
// can be saved (MarshalBinary) and restored (UnmarshalSigningKey). Keys
// kept elsewhere, in an HSM for instance, implement Signer themselves.
type SigningKey struct {
	Signer
	id   CipherSuite
	priv []byte
}

// NewSigner generates a signature key for the signature scheme of cipher
// suite id (§5.1) of suite.Default, from crypto/rand. For a suite of another
// registry, use that Suite's GenerateSignatureKey and NewSigner.
func NewSigner(id CipherSuite) (*SigningKey, error) {
	cs, err := lookupSuite(nil, id)
	if err != nil {
		return nil, err
	}
	priv, _, err := cs.GenerateSignatureKey(nil)
	if err != nil {
		return nil, wrapErr(ErrInvalidArgument, "generating a signature key", err)
	}
	return newSigningKey(cs, priv)
}

func newSigningKey(cs *suite.Suite, priv []byte) (*SigningKey, error) {
	s, err := cs.NewSigner(priv)
	if err != nil {
		return nil, wrapErr(ErrInvalidArgument, "signature key", err)
	}
	return &SigningKey{Signer: s, id: cs.ID(), priv: priv}, nil
}

// Suite returns the cipher suite the key is for.
func (k *SigningKey) Suite() CipherSuite { return k.id }

// MarshalBinary encodes the key: its suite (two bytes, big-endian) and the
// private key (the RFC 8032 seed for EdDSA, the big-endian scalar for
// ECDSA). It is a secret.
func (k *SigningKey) MarshalBinary() ([]byte, error) {
	return append(binary.BigEndian.AppendUint16(nil, uint16(k.id)), k.priv...), nil
}

// UnmarshalSigningKey restores a key encoded by SigningKey.MarshalBinary,
// of a suite of suite.Default.
func UnmarshalSigningKey(data []byte) (*SigningKey, error) {
	if len(data) < 3 {
		return nil, errorf(ErrMalformed, "signing key of %d bytes", len(data))
	}
	cs, err := lookupSuite(nil, CipherSuite(binary.BigEndian.Uint16(data)))
	if err != nil {
		return nil, err
	}
	return newSigningKey(cs, bytes.Clone(data[2:]))
}

// lookupSuite looks a cipher suite up in suites (nil: suite.Default),
// saying so when it is unset.
func lookupSuite(suites *suite.Registry, id CipherSuite) (*suite.Suite, error) {
	if id == 0 {
		return nil, errorf(ErrInvalidArgument, "the cipher suite is zero: set one, e.g. mls.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519")
	}
	cs, err := suites.Lookup(id)
	if err != nil {
		return nil, wrapErr(ErrUnsupported, "cipher suite", err)
	}
	return cs, nil
}
