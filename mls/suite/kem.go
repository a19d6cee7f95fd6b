package suite

import (
	"crypto/hkdf"
	"encoding/binary"
	"fmt"
	"hash"
	"io"
)

// kemScheme is the HPKE (RFC 9180, base mode) instantiation of a suite:
// its KEM together with the suite's KDF and AEAD. Implementations
// validate every key and KEM output before using it.
type kemScheme interface {
	params() *kemParams
	// deriveKeyPair is the KEM's DeriveKeyPair for an ikm of any length.
	deriveKeyPair(ikm []byte) (priv, pub []byte, err error)
	// publicKey returns SerializePublicKey(pk(priv)), or an error wrapping
	// ErrInvalidKey if priv is not a valid serialized private key.
	publicKey(priv []byte) ([]byte, error)
	// checkPublicKey returns an error wrapping ErrInvalidKey unless pub is a
	// valid serialized public key.
	checkPublicKey(pub []byte) error
	seal(rand io.Reader, pub, info, aad, plaintext []byte) (enc, ct []byte, err error)
	open(priv, enc, info, aad, ct []byte) ([]byte, error)
	exportSender(rand io.Reader, pub, info, exporterContext []byte, length int) (enc, secret []byte, err error)
	exportReceiver(priv, enc, info, exporterContext []byte, length int) ([]byte, error)
}

// kemParams are the RFC 9180 §7.1 parameters of a KEM.
type kemParams struct {
	name    string
	id      uint16           // kem_id
	newHash func() hash.Hash // a DHKEM's KDF, for deriveKeyPair; nil for the others
	nh      int              // the HPKE KDF's Nh (bounds HPKE exports: 255*Nh)
	nsk     int              // Nsk
	npk     int              // Npk
	nenc    int              // Nenc
	// bitmask is 0 for X25519, X448 and the post-quantum KEMs (a private
	// key is any string of Nsk bytes); for the NIST curves it is the mask
	// of the first candidate byte of the DeriveKeyPair rejection loop (RFC
	// 9180 §7.1.3).
	bitmask byte
}

// privateKeyBytes returns priv as a serialized private key of Nsk bytes
// (RFC 9180 §7.1.2). A NIST-curve private key is a big-endian scalar, and a
// shorter encoding is the same integer with its leading zero bytes dropped
// (as some generators write them): it is left-padded. X25519 and X448
// private keys are byte strings of a fixed length (RFC 7748 §5), not
// integers, as are the seeds that are the private keys of the
// post-quantum KEMs (draft-ietf-hpke-pq), and any other length is
// rejected.
func (p *kemParams) privateKeyBytes(priv []byte) ([]byte, error) {
	if p.bitmask != 0 {
		return scalarBytes(p.name, priv, p.nsk)
	}
	if len(priv) != p.nsk {
		return nil, fmt.Errorf("%w: %s private key of %d bytes, want %d", ErrInvalidKey, p.name, len(priv), p.nsk)
	}
	return priv, nil
}

// scalarBytes returns priv, a big-endian private scalar of a NIST curve,
// as exactly n bytes: a shorter non-empty encoding is the same integer and
// is left-padded with zeros into a new slice; a longer one is rejected.
// The scalar's range is the caller's to check.
func scalarBytes(name string, priv []byte, n int) ([]byte, error) {
	if len(priv) == 0 || len(priv) > n {
		return nil, fmt.Errorf("%w: %s private key of %d bytes, want %d", ErrInvalidKey, name, len(priv), n)
	}
	if len(priv) < n {
		priv = append(make([]byte, n-len(priv), n), priv...)
	}
	return priv, nil
}

// suiteID returns the KEM's suite_id: "KEM" || I2OSP(kem_id, 2) (RFC 9180 §4.1).
func (p *kemParams) suiteID() []byte {
	return []byte{'K', 'E', 'M', byte(p.id >> 8), byte(p.id)}
}

// labeledExtract is RFC 9180 §4 LabeledExtract with the KEM's suite_id.
func (p *kemParams) labeledExtract(salt []byte, label string, ikm []byte) ([]byte, error) {
	in := make([]byte, 0, 7+5+len(label)+len(ikm))
	in = append(in, "HPKE-v1"...)
	in = append(in, p.suiteID()...)
	in = append(in, label...)
	in = append(in, ikm...)
	prk, err := hkdf.Extract(p.newHash, in, salt)
	if err != nil {
		return nil, fmt.Errorf("%w: %s LabeledExtract: %v", ErrInternal, p.name, err)
	}
	return prk, nil
}

// labeledExpand is RFC 9180 §4 LabeledExpand with the KEM's suite_id.
func (p *kemParams) labeledExpand(prk []byte, label string, info []byte, length int) ([]byte, error) {
	in := make([]byte, 2, 2+7+5+len(label)+len(info))
	binary.BigEndian.PutUint16(in, uint16(length))
	in = append(in, "HPKE-v1"...)
	in = append(in, p.suiteID()...)
	in = append(in, label...)
	in = append(in, info...)
	out, err := hkdf.Expand(p.newHash, prk, string(in), length)
	if err != nil {
		return nil, fmt.Errorf("%w: %s LabeledExpand: %v", ErrInternal, p.name, err)
	}
	return out, nil
}

// deriveKeyPair is RFC 9180 §7.1.3 DeriveKeyPair of a DHKEM for any ikm
// length.
func deriveKeyPair(k kemScheme, ikm []byte) (priv, pub []byte, err error) {
	p := k.params()
	dkpPRK, err := p.labeledExtract(nil, "dkp_prk", ikm)
	if err != nil {
		return nil, nil, err
	}
	if p.bitmask == 0 {
		// X25519, X448: sk = LabeledExpand(dkp_prk, "sk", "", Nsk).
		sk, err := p.labeledExpand(dkpPRK, "sk", nil, p.nsk)
		if err != nil {
			return nil, nil, err
		}
		pk, err := k.publicKey(sk)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %s DeriveKeyPair: %v", ErrInternal, p.name, err)
		}
		return sk, pk, nil
	}
	// NIST curves: rejection sampling until 0 < sk < order, at most 256
	// candidates. publicKey rejects exactly the out-of-range scalars
	// (crypto/ecdh, SEC 1 §2.3.6).
	for counter := 0; counter < 256; counter++ {
		sk, err := p.labeledExpand(dkpPRK, "candidate", []byte{byte(counter)}, p.nsk)
		if err != nil {
			return nil, nil, err
		}
		sk[0] &= p.bitmask
		if pk, err := k.publicKey(sk); err == nil {
			return sk, pk, nil
		}
	}
	// RFC 9180 §7.1.3: DeriveKeyPairError. Probability below 2^-256 for
	// P-256 and lower for P-384 and P-521.
	return nil, nil, fmt.Errorf("%w: %s DeriveKeyPair: no valid candidate", ErrInternal, p.name)
}
