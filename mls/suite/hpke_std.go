package suite

import (
	"crypto"
	"crypto/ecdh"
	"crypto/hpke"
	"fmt"
	"io"
)

// stdKEM is HPKE with DHKEM over a crypto/ecdh curve (X25519, P-256, P-384,
// P-521), implemented by crypto/hpke. crypto/hpke draws its ephemeral keys
// from the system's secure source, so the rand arguments are unused.
type stdKEM struct {
	kemParams
	curve ecdh.Curve
	kem   hpke.KEM
	kdf   hpke.KDF
	aead  hpke.AEAD
}

func newStdKEM(curve ecdh.Curve, kemHash crypto.Hash, kdf hpke.KDF, aead hpke.AEAD) *stdKEM {
	k := &stdKEM{curve: curve, kem: hpke.DHKEM(curve), kdf: kdf, aead: aead}
	k.kemParams = kemParams{id: k.kem.ID(), newHash: kemHash.New, nh: kemHash.Size()}
	switch curve {
	case ecdh.X25519():
		k.name, k.nsk, k.npk = "DHKEM(X25519)", 32, 32
	case ecdh.P256():
		k.name, k.nsk, k.npk, k.bitmask = "DHKEM(P-256)", 32, 65, 0xff
	case ecdh.P384():
		k.name, k.nsk, k.npk, k.bitmask = "DHKEM(P-384)", 48, 97, 0xff
	case ecdh.P521():
		k.name, k.nsk, k.npk, k.bitmask = "DHKEM(P-521)", 66, 133, 0x01
	default:
		panic("suite: unsupported curve in the suite table")
	}
	return k
}

func (k *stdKEM) params() *kemParams { return &k.kemParams }

func (k *stdKEM) publicKey(priv []byte) ([]byte, error) {
	priv, err := k.privateKeyBytes(priv)
	if err != nil {
		return nil, err
	}
	sk, err := k.curve.NewPrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("%w: %s private key: %v", ErrInvalidKey, k.name, err)
	}
	return sk.PublicKey().Bytes(), nil
}

func (k *stdKEM) privateKey(priv []byte) (hpke.PrivateKey, error) {
	priv, err := k.privateKeyBytes(priv)
	if err != nil {
		return nil, err
	}
	sk, err := k.kem.NewPrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("%w: %s private key: %v", ErrInvalidKey, k.name, err)
	}
	return sk, nil
}

func (k *stdKEM) parsePublicKey(pub []byte) (hpke.PublicKey, error) {
	if len(pub) != k.npk {
		return nil, fmt.Errorf("%w: %s public key of %d bytes, want %d", ErrInvalidKey, k.name, len(pub), k.npk)
	}
	pk, err := k.kem.NewPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %s public key: %v", ErrInvalidKey, k.name, err)
	}
	return pk, nil
}

func (k *stdKEM) checkPublicKey(pub []byte) error {
	_, err := k.parsePublicKey(pub)
	return err
}

// recipient sets up a receiving context; a malformed enc wraps ErrDecrypt.
func (k *stdKEM) recipient(priv, enc, info []byte) (*hpke.Recipient, error) {
	sk, err := k.privateKey(priv)
	if err != nil {
		return nil, err
	}
	if len(enc) != k.npk {
		return nil, fmt.Errorf("%w: %s KEM output of %d bytes, want %d", ErrDecrypt, k.name, len(enc), k.npk)
	}
	r, err := hpke.NewRecipient(enc, sk, k.kdf, k.aead, info)
	if err != nil {
		return nil, fmt.Errorf("%w: %s decapsulation", ErrDecrypt, k.name)
	}
	return r, nil
}

// sender sets up a sending context to pub.
func (k *stdKEM) sender(pub, info []byte) ([]byte, *hpke.Sender, error) {
	pk, err := k.parsePublicKey(pub)
	if err != nil {
		return nil, nil, err
	}
	enc, sender, err := hpke.NewSender(pk, k.kdf, k.aead, info)
	if err != nil {
		// An X25519 public key of low order is only detected here.
		return nil, nil, fmt.Errorf("%w: %s encapsulation: %v", ErrInvalidKey, k.name, err)
	}
	return enc, sender, nil
}

func (k *stdKEM) seal(_ io.Reader, pub, info, aad, plaintext []byte) (enc, ct []byte, err error) {
	enc, sender, err := k.sender(pub, info)
	if err != nil {
		return nil, nil, err
	}
	ct, err = sender.Seal(aad, plaintext)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s seal: %v", ErrInternal, k.name, err)
	}
	return enc, ct, nil
}

func (k *stdKEM) open(priv, enc, info, aad, ct []byte) ([]byte, error) {
	r, err := k.recipient(priv, enc, info)
	if err != nil {
		return nil, err
	}
	pt, err := r.Open(aad, ct)
	if err != nil {
		return nil, fmt.Errorf("%w: %s open", ErrDecrypt, k.name)
	}
	return pt, nil
}

func (k *stdKEM) exportSender(_ io.Reader, pub, info, exporterContext []byte, length int) (enc, secret []byte, err error) {
	enc, sender, err := k.sender(pub, info)
	if err != nil {
		return nil, nil, err
	}
	secret, err = sender.Export(string(exporterContext), length)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s export: %v", ErrInternal, k.name, err)
	}
	return enc, secret, nil
}

func (k *stdKEM) exportReceiver(priv, enc, info, exporterContext []byte, length int) ([]byte, error) {
	r, err := k.recipient(priv, enc, info)
	if err != nil {
		return nil, err
	}
	secret, err := r.Export(string(exporterContext), length)
	if err != nil {
		return nil, fmt.Errorf("%w: %s export: %v", ErrInternal, k.name, err)
	}
	return secret, nil
}
