package suite

import (
	"crypto"
	"crypto/ecdh"
	"crypto/hpke"
	"crypto/mlkem"
	"fmt"
	"io"
)

// stdKEM is HPKE implemented by crypto/hpke: with DHKEM over a crypto/ecdh
// curve (X25519, P-256, P-384, P-521), or with one of the post-quantum
// KEMs of draft-ietf-hpke-pq (ML-KEM-768, ML-KEM-1024 and the hybrids
// MLKEM768-P256, MLKEM1024-P384 and MLKEM768-X25519). crypto/hpke draws
// its ephemeral keys from the system's secure source, so the rand
// arguments are unused.
type stdKEM struct {
	kemParams
	curve ecdh.Curve // nil for the post-quantum KEMs
	kem   hpke.KEM
	kdf   hpke.KDF
	aead  hpke.AEAD
}

// newStdDHKEM returns DHKEM(curve) with the given HPKE KDF and AEAD.
func newStdDHKEM(curve ecdh.Curve, kemHash crypto.Hash, kdf hpke.KDF, aead hpke.AEAD) *stdKEM {
	k := &stdKEM{curve: curve, kem: hpke.DHKEM(curve), kdf: kdf, aead: aead}
	k.kemParams = kemParams{id: k.kem.ID(), newHash: kemHash.New, nh: hashOfKDF(kdf).Size()}
	switch curve {
	case ecdh.X25519():
		k.nsk, k.npk = 32, 32
	case ecdh.P256():
		k.nsk, k.npk, k.bitmask = 32, 65, 0xff
	case ecdh.P384():
		k.nsk, k.npk, k.bitmask = 48, 97, 0xff
	case ecdh.P521():
		k.nsk, k.npk, k.bitmask = 66, 133, 0x01
	default:
		panic("suite: unsupported curve in the suite table")
	}
	k.name, k.nenc = KEM(k.id).String(), k.npk
	return k
}

// newStdPQKEM returns a post-quantum KEM of crypto/hpke with the given
// HPKE KDF and AEAD, or nil for another KEM. Private keys are seeds:
// of 64 bytes (d || z of FIPS 203) for ML-KEM, of 32 bytes for the
// hybrids (draft-ietf-hpke-pq).
func newStdPQKEM(id KEM, kdf hpke.KDF, aead hpke.AEAD) *stdKEM {
	var kem hpke.KEM
	var nsk, npk, nenc int
	switch id {
	case MLKEM768:
		kem, nsk, npk, nenc = hpke.MLKEM768(), mlkem.SeedSize, mlkem.EncapsulationKeySize768, mlkem.CiphertextSize768
	case MLKEM1024:
		kem, nsk, npk, nenc = hpke.MLKEM1024(), mlkem.SeedSize, mlkem.EncapsulationKeySize1024, mlkem.CiphertextSize1024
	case MLKEM768P256:
		kem, nsk, npk, nenc = hpke.MLKEM768P256(), 32, mlkem.EncapsulationKeySize768+65, mlkem.CiphertextSize768+65
	case MLKEM1024P384:
		kem, nsk, npk, nenc = hpke.MLKEM1024P384(), 32, mlkem.EncapsulationKeySize1024+97, mlkem.CiphertextSize1024+97
	case MLKEM768X25519:
		kem, nsk, npk, nenc = hpke.MLKEM768X25519(), 32, mlkem.EncapsulationKeySize768+32, mlkem.CiphertextSize768+32
	default:
		return nil
	}
	return &stdKEM{
		kemParams: kemParams{name: id.String(), id: uint16(id), nh: hashOfKDF(kdf).Size(), nsk: nsk, npk: npk, nenc: nenc},
		kem:       kem, kdf: kdf, aead: aead,
	}
}

// hashOfKDF returns the hash of one of the HKDFs.
func hashOfKDF(kdf hpke.KDF) crypto.Hash { return kdfHashes[KDF(kdf.ID())] }

func (k *stdKEM) params() *kemParams { return &k.kemParams }

func (k *stdKEM) publicKey(priv []byte) ([]byte, error) {
	if k.curve == nil {
		sk, err := k.privateKey(priv)
		if err != nil {
			return nil, err
		}
		return sk.PublicKey().Bytes(), nil
	}
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

// deriveKeyPair is RFC 9180 §7.1.3 for a DHKEM, and for a post-quantum KEM
// its own DeriveKeyPair of draft-ietf-hpke-pq (a SHAKE256 LabeledDerive of
// the seed that is the private key), which takes an ikm of any length.
func (k *stdKEM) deriveKeyPair(ikm []byte) (priv, pub []byte, err error) {
	if k.curve != nil {
		return deriveKeyPair(k, ikm)
	}
	sk, err := k.kem.DeriveKeyPair(ikm)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s DeriveKeyPair: %v", ErrInternal, k.name, err)
	}
	priv, err = sk.Bytes()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s private key: %v", ErrInternal, k.name, err)
	}
	return priv, sk.PublicKey().Bytes(), nil
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
	if len(enc) != k.nenc {
		return nil, fmt.Errorf("%w: %s KEM output of %d bytes, want %d", ErrDecrypt, k.name, len(enc), k.nenc)
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
		// An X25519 public key of low order is only detected here (also
		// within a hybrid KEM's).
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
