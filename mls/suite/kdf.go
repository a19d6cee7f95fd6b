package suite

import (
	"crypto"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"fmt"

	"github.com/mlsengine/engine/mls/wire"
)

// labelPrefix is prepended to every MLS label (§5.1.2, §5.1.3, §8).
const labelPrefix = "MLS 1.0 "

// HashSize returns the output size of the suite's hash, KDF.Nh.
func (s *Suite) HashSize() int { return s.hash.Size() }

// Hash returns the suite's hash of data.
func (s *Suite) Hash(data []byte) []byte { return s.AppendHash(nil, data) }

// AppendHash appends the suite's hash of data to dst and returns the
// extended slice. It allocates nothing when dst has room for the hash, so
// that hashing many small inputs (the nodes of a tree) creates no garbage.
func (s *Suite) AppendHash(dst, data []byte) []byte {
	switch s.hash {
	case crypto.SHA256:
		h := sha256.Sum256(data)
		return append(dst, h[:]...)
	case crypto.SHA384:
		h := sha512.Sum384(data)
		return append(dst, h[:]...)
	case crypto.SHA512:
		h := sha512.Sum512(data)
		return append(dst, h[:]...)
	}
	h := s.newHash()
	h.Write(data)
	return h.Sum(dst)
}

// HashParts returns the suite's hash of parts concatenated, without
// concatenating them: for inputs of kilobytes that are at hand in pieces.
func (s *Suite) HashParts(parts ...[]byte) []byte {
	h := s.newHash()
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

// Extract is HKDF-Extract (RFC 5869 §2.2) with the suite's hash. A nil or
// empty salt stands for Nh zero bytes.
func (s *Suite) Extract(salt, ikm []byte) []byte {
	prk, err := hkdf.Extract(s.newHash, ikm, salt)
	if err != nil {
		// Unreachable: crypto/hkdf fails only in GODEBUG=fips140=only mode,
		// where Lookup returns no Suite.
		panic(fmt.Sprintf("suite: HKDF-Extract unavailable: %v", err))
	}
	return prk
}

// Expand is HKDF-Expand (RFC 5869 §2.3) with the suite's hash. length must
// be in [0, 255*Nh].
func (s *Suite) Expand(prk, info []byte, length int) ([]byte, error) {
	if length < 0 || length > 255*s.HashSize() {
		return nil, fmt.Errorf("%w: HKDF-Expand length %d out of range", ErrInvalidArgument, length)
	}
	if length == 0 {
		return []byte{}, nil
	}
	out, err := hkdf.Expand(s.newHash, prk, string(info), length)
	if err != nil {
		return nil, fmt.Errorf("%w: HKDF-Expand: %v", ErrInternal, err)
	}
	return out, nil
}

// ExpandWithLabel is RFC 9420 §8 ExpandWithLabel:
// KDF.Expand(secret, KDFLabel{length, "MLS 1.0 "+label, context}, length).
func (s *Suite) ExpandWithLabel(secret []byte, label string, context []byte, length int) ([]byte, error) {
	// §8: KDFLabel.length is a uint16.
	if length < 0 || length > 0xffff {
		return nil, fmt.Errorf("%w: ExpandWithLabel length %d out of range", ErrInvalidArgument, length)
	}
	b := wire.NewBuilder(make([]byte, 0, 2+2+len(labelPrefix)+len(label)+4+len(context)))
	b.AddUint16(uint16(length))
	b.AddVector([]byte(labelPrefix + label))
	b.AddVector(context)
	info, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("%w: KDFLabel: %v", ErrInvalidArgument, err)
	}
	return s.Expand(secret, info, length)
}

// DeriveSecret is RFC 9420 §8 DeriveSecret:
// ExpandWithLabel(secret, label, "", KDF.Nh).
func (s *Suite) DeriveSecret(secret []byte, label string) ([]byte, error) {
	return s.ExpandWithLabel(secret, label, nil, s.HashSize())
}

// DeriveTreeSecret is RFC 9420 §9.1 DeriveTreeSecret: ExpandWithLabel with
// the generation encoded as a big-endian uint32 as context.
func (s *Suite) DeriveTreeSecret(secret []byte, label string, generation uint32, length int) ([]byte, error) {
	var ctx [4]byte
	binary.BigEndian.PutUint32(ctx[:], generation)
	return s.ExpandWithLabel(secret, label, ctx[:], length)
}

// RefHash is RFC 9420 §5.2 RefHash: Hash(RefHashInput{label, value}).
// The label is used as is (callers pass e.g. "MLS 1.0 KeyPackage
// Reference"). It returns nil only if label or value is longer than
// 2^30-1 bytes, which no MLS encoding can carry.
func (s *Suite) RefHash(label string, value []byte) []byte {
	// The value is hashed in place rather than copied into the encoding.
	b := wire.NewBuilder(make([]byte, 0, 4+len(label)+4))
	b.AddVector([]byte(label))
	b.AddVarint(uint64(len(value)))
	prefix, err := b.Bytes()
	if err != nil {
		return nil
	}
	h := s.newHash()
	h.Write(prefix)
	h.Write(value)
	return h.Sum(nil)
}

// MAC returns HMAC (RFC 2104) of data under key with the suite's hash
// (RFC 9420 §17.1: all suites use HMAC).
func (s *Suite) MAC(key, data []byte) []byte {
	m := hmac.New(s.newHash, key)
	m.Write(data)
	return m.Sum(nil)
}

// VerifyMAC reports, in constant time, whether tag is MAC(key, data).
func (s *Suite) VerifyMAC(key, data, tag []byte) bool {
	return hmac.Equal(s.MAC(key, data), tag)
}
