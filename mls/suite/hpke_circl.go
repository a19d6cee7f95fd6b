package suite

import (
	"crypto"
	"crypto/rand"
	"errors"
	"fmt"
	"io"

	"github.com/cloudflare/circl/dh/x25519"
	"github.com/cloudflare/circl/dh/x448"
	circlhpke "github.com/cloudflare/circl/hpke"
	"github.com/cloudflare/circl/kem"
)

// circlKEM is HPKE with DHKEM(X25519, HKDF-SHA256) or DHKEM(X448,
// HKDF-SHA512), implemented by circl: the standard library has no X448, and
// circl's X25519 is faster than crypto/ecdh's on amd64 with BMI2 and ADX
// (see kemselect.go). circl's DeriveKeyPair panics unless the seed has
// exactly Nsk bytes, so it is never called with MLS input: key derivation
// uses deriveKeyPair, and circl only derives ephemeral keys from seeds it
// reads itself.
type circlKEM struct {
	kemParams
	scheme kem.Scheme
	suite  circlhpke.Suite
}

// newCirclKEM returns DHKEM(X25519) or DHKEM(X448) with the HPKE KDF and
// AEAD of the given identifiers, which circl uses too.
func newCirclKEM(id KEM, kdf KDF, aead AEAD) *circlKEM {
	cid := circlhpke.KEM(id)
	k := &circlKEM{scheme: cid.Scheme(), suite: circlhpke.NewSuite(cid, circlhpke.KDF(kdf), circlhpke.AEAD(aead))}
	switch id {
	case DHKEMX25519:
		k.kemParams = kemParams{newHash: crypto.SHA256.New, nsk: x25519.Size, npk: x25519.Size}
	case DHKEMX448:
		k.kemParams = kemParams{newHash: crypto.SHA512.New, nsk: x448.Size, npk: x448.Size}
	default:
		panic("suite: unsupported circl KEM in the suite table")
	}
	k.name, k.id, k.nh, k.nenc = id.String(), uint16(id), kdfHashes[kdf].Size(), k.npk
	return k
}

func (k *circlKEM) params() *kemParams { return &k.kemParams }

func (k *circlKEM) deriveKeyPair(ikm []byte) (priv, pub []byte, err error) {
	return deriveKeyPair(k, ikm)
}

func (k *circlKEM) publicKey(priv []byte) ([]byte, error) {
	// RFC 7748 §5: every string of Nsk bytes is a scalar (clamped when used).
	priv, err := k.privateKeyBytes(priv)
	if err != nil {
		return nil, err
	}
	if k.nsk == x25519.Size {
		var sk, pk x25519.Key
		copy(sk[:], priv)
		x25519.KeyGen(&pk, &sk)
		return pk[:], nil
	}
	var sk, pk x448.Key
	copy(sk[:], priv)
	x448.KeyGen(&pk, &sk)
	return pk[:], nil
}

func (k *circlKEM) privateKey(priv []byte) (kem.PrivateKey, error) {
	priv, err := k.privateKeyBytes(priv)
	if err != nil {
		return nil, err
	}
	sk, err := k.scheme.UnmarshalBinaryPrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("%w: %s private key: %v", ErrInvalidKey, k.name, err)
	}
	return sk, nil
}

func (k *circlKEM) parsePublicKey(pub []byte) (kem.PublicKey, error) {
	// Low-order points are rejected by the DH computation (x25519.Shared,
	// x448.Shared), as RFC 9180 §7.1.4 requires.
	if len(pub) != k.npk {
		return nil, fmt.Errorf("%w: %s public key of %d bytes, want %d", ErrInvalidKey, k.name, len(pub), k.npk)
	}
	pk, err := k.scheme.UnmarshalBinaryPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %s public key: %v", ErrInvalidKey, k.name, err)
	}
	return pk, nil
}

func (k *circlKEM) checkPublicKey(pub []byte) error {
	// Every string of Npk bytes is an X25519 or X448 public key (RFC 7748
	// §5), which is all that circl's parsing checks; checking the length
	// here spares the copy it allocates.
	if len(pub) != k.npk {
		return fmt.Errorf("%w: %s public key of %d bytes, want %d", ErrInvalidKey, k.name, len(pub), k.npk)
	}
	return nil
}

func (k *circlKEM) sender(rnd io.Reader, pub, info []byte) ([]byte, circlhpke.Sealer, error) {
	pk, err := k.parsePublicKey(pub)
	if err != nil {
		return nil, nil, err
	}
	s, err := k.suite.NewSender(pk, info)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s sender: %v", ErrInternal, k.name, err)
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	enc, sealer, err := s.Setup(rnd)
	switch {
	case errors.Is(err, circlhpke.ErrInvalidKEMSharedSecret):
		// RFC 9180 §7.1.4: a low-order public key gives an all-zero DH output.
		return nil, nil, fmt.Errorf("%w: %s public key of low order", ErrInvalidKey, k.name)
	case err != nil:
		return nil, nil, fmt.Errorf("%w: %s encapsulation: %v", ErrRandom, k.name, err)
	}
	return enc, sealer, nil
}

// receiver sets up a receiving context; a malformed enc wraps ErrDecrypt.
func (k *circlKEM) receiver(priv, enc, info []byte) (circlhpke.Opener, error) {
	sk, err := k.privateKey(priv)
	if err != nil {
		return nil, err
	}
	if len(enc) != k.nenc {
		return nil, fmt.Errorf("%w: %s KEM output of %d bytes, want %d", ErrDecrypt, k.name, len(enc), k.nenc)
	}
	r, err := k.suite.NewReceiver(sk, info)
	if err != nil {
		return nil, fmt.Errorf("%w: %s receiver: %v", ErrInternal, k.name, err)
	}
	o, err := r.Setup(enc)
	if err != nil {
		return nil, fmt.Errorf("%w: %s decapsulation", ErrDecrypt, k.name)
	}
	return o, nil
}

func (k *circlKEM) seal(rnd io.Reader, pub, info, aad, plaintext []byte) (enc, ct []byte, err error) {
	enc, sealer, err := k.sender(rnd, pub, info)
	if err != nil {
		return nil, nil, err
	}
	ct, err = sealer.Seal(plaintext, aad)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s seal: %v", ErrInternal, k.name, err)
	}
	return enc, ct, nil
}

func (k *circlKEM) open(priv, enc, info, aad, ct []byte) ([]byte, error) {
	o, err := k.receiver(priv, enc, info)
	if err != nil {
		return nil, err
	}
	pt, err := o.Open(ct, aad)
	if err != nil {
		return nil, fmt.Errorf("%w: %s open", ErrDecrypt, k.name)
	}
	return pt, nil
}

// exportSender and exportReceiver rely on the caller having checked
// 0 <= length <= 255*Nh: circl panics beyond.
func (k *circlKEM) exportSender(rnd io.Reader, pub, info, exporterContext []byte, length int) (enc, secret []byte, err error) {
	enc, sealer, err := k.sender(rnd, pub, info)
	if err != nil {
		return nil, nil, err
	}
	return enc, sealer.Export(exporterContext, uint(length)), nil
}

func (k *circlKEM) exportReceiver(priv, enc, info, exporterContext []byte, length int) ([]byte, error) {
	o, err := k.receiver(priv, enc, info)
	if err != nil {
		return nil, err
	}
	return o.Export(exporterContext, uint(length)), nil
}
