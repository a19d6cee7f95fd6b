package suite

import (
	"crypto"
	"crypto/rand"
	"errors"
	"fmt"
	"io"

	"github.com/cloudflare/circl/dh/x448"
	circlhpke "github.com/cloudflare/circl/hpke"
	"github.com/cloudflare/circl/kem"
)

// x448KEM is HPKE with DHKEM(X448, HKDF-SHA512), implemented by circl (the
// standard library has no X448). circl's DeriveKeyPair panics unless the
// seed has exactly 56 bytes, so it is never called with MLS input: key
// derivation uses deriveKeyPair, and circl only derives ephemeral keys from
// seeds it reads itself.
type x448KEM struct {
	kemParams
	scheme kem.Scheme
	suite  circlhpke.Suite
}

func newX448KEM(kdf circlhpke.KDF, aead circlhpke.AEAD) *x448KEM {
	k := &x448KEM{
		scheme: circlhpke.KEM_X448_HKDF_SHA512.Scheme(),
		suite:  circlhpke.NewSuite(circlhpke.KEM_X448_HKDF_SHA512, kdf, aead),
	}
	k.kemParams = kemParams{name: "DHKEM(X448)", id: uint16(circlhpke.KEM_X448_HKDF_SHA512),
		newHash: crypto.SHA512.New, nh: crypto.SHA512.Size(), nsk: x448.Size, npk: x448.Size}
	return k
}

func (k *x448KEM) params() *kemParams { return &k.kemParams }

func (k *x448KEM) publicKey(priv []byte) ([]byte, error) {
	// RFC 7748 §5: every 56-byte string is an X448 scalar.
	if len(priv) != x448.Size {
		return nil, fmt.Errorf("%w: %s private key of %d bytes, want %d", ErrInvalidKey, k.name, len(priv), x448.Size)
	}
	var sk, pk x448.Key
	copy(sk[:], priv)
	x448.KeyGen(&pk, &sk)
	return pk[:], nil
}

func (k *x448KEM) privateKey(priv []byte) (kem.PrivateKey, error) {
	if len(priv) != x448.Size {
		return nil, fmt.Errorf("%w: %s private key of %d bytes, want %d", ErrInvalidKey, k.name, len(priv), x448.Size)
	}
	sk, err := k.scheme.UnmarshalBinaryPrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("%w: %s private key: %v", ErrInvalidKey, k.name, err)
	}
	return sk, nil
}

func (k *x448KEM) parsePublicKey(pub []byte) (kem.PublicKey, error) {
	// Low-order points are rejected by the DH computation (x448.Shared),
	// as RFC 9180 §7.1.4 requires.
	if len(pub) != x448.Size {
		return nil, fmt.Errorf("%w: %s public key of %d bytes, want %d", ErrInvalidKey, k.name, len(pub), x448.Size)
	}
	pk, err := k.scheme.UnmarshalBinaryPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %s public key: %v", ErrInvalidKey, k.name, err)
	}
	return pk, nil
}

func (k *x448KEM) checkPublicKey(pub []byte) error {
	_, err := k.parsePublicKey(pub)
	return err
}

func (k *x448KEM) sender(rnd io.Reader, pub, info []byte) ([]byte, circlhpke.Sealer, error) {
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
func (k *x448KEM) receiver(priv, enc, info []byte) (circlhpke.Opener, error) {
	sk, err := k.privateKey(priv)
	if err != nil {
		return nil, err
	}
	if len(enc) != x448.Size {
		return nil, fmt.Errorf("%w: %s KEM output of %d bytes, want %d", ErrDecrypt, k.name, len(enc), x448.Size)
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

func (k *x448KEM) seal(rnd io.Reader, pub, info, aad, plaintext []byte) (enc, ct []byte, err error) {
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

func (k *x448KEM) open(priv, enc, info, aad, ct []byte) ([]byte, error) {
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
func (k *x448KEM) exportSender(rnd io.Reader, pub, info, exporterContext []byte, length int) (enc, secret []byte, err error) {
	enc, sealer, err := k.sender(rnd, pub, info)
	if err != nil {
		return nil, nil, err
	}
	return enc, sealer.Export(exporterContext, uint(length)), nil
}

func (k *x448KEM) exportReceiver(priv, enc, info, exporterContext []byte, length int) ([]byte, error) {
	o, err := k.receiver(priv, enc, info)
	if err != nil {
		return nil, err
	}
	return o.Export(exporterContext, uint(length)), nil
}
