package delivery

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"time"

	"github.com/mlsengine/engine/delivery/store"
	"github.com/mlsengine/engine/mls/suite"
)

// The delivery service is the Authentication Service of its clients (RFC
// 9750 §4): it certifies that a registered client name holds a signature
// key, with an X.509 certificate signed by a CA key that it creates on
// first start and keeps in its store (or that Config.CAKey provides).
// Clients pin its root certificate (GET /v1/ca) and validate every
// credential they meet against it.

// Defaults of the certificates the service issues.
const (
	DefaultCertificateLifetime = 365 * 24 * time.Hour
	rootLifetime               = 20 * 365 * 24 * time.Hour
	// clockSkew backdates certificates, for clients whose clocks are a
	// little behind.
	clockSkew = time.Hour
	// rootCommonName is the subject of the root certificate.
	rootCommonName = "mlsengine delivery service CA"
)

// ErrUnsupportedKey reports a signature key that an X.509 certificate
// cannot carry (crypto/x509 has Ed25519 and ECDSA, not Ed448).
var ErrUnsupportedKey = errors.New("delivery: signature key type not supported by X.509 certificates")

// authority is the service's CA.
type authority struct {
	key      crypto.Signer
	root     *x509.Certificate
	rootDER  []byte
	lifetime time.Duration
}

// loadAuthority returns the CA kept in st, storing a new one (with key, or
// a fresh Ed25519 key if nil) if st has none. A key given must be the
// stored CA's.
func loadAuthority(ctx context.Context, st store.Store, key crypto.Signer, lifetime time.Duration) (*authority, error) {
	given := key != nil
	if !given {
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		key = k
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("delivery: CA key: %w", err)
	}
	rootDER, err := newRoot(key)
	if err != nil {
		return nil, err
	}
	a, err := st.LoadOrStoreAuthority(ctx, store.Authority{Key: pkcs8, Certificate: rootDER})
	if err != nil {
		return nil, err
	}
	stored, err := x509.ParsePKCS8PrivateKey(a.Key)
	if err != nil {
		return nil, fmt.Errorf("delivery: the store's CA key: %w", err)
	}
	signer, ok := stored.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("delivery: the store's CA key is a %T", stored)
	}
	root, err := x509.ParseCertificate(a.Certificate)
	if err != nil {
		return nil, fmt.Errorf("delivery: the store's CA certificate: %w", err)
	}
	if given && !publicKeysEqual(signer.Public(), key.Public()) {
		return nil, errors.New("delivery: the store already has a CA with another key than the one given")
	}
	if lifetime <= 0 {
		lifetime = DefaultCertificateLifetime
	}
	return &authority{key: signer, root: root, rootDER: a.Certificate, lifetime: lifetime}, nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}

// newRoot returns a self-signed root certificate for key.
func newRoot(key crypto.Signer) ([]byte, error) {
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: rootCommonName},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(rootLifetime),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("delivery: creating the CA certificate: %w", err)
	}
	return der, nil
}

func randomSerial() *big.Int {
	var b [16]byte
	rand.Read(b[:])
	b[0] &= 0x7f
	return new(big.Int).SetBytes(b[:])
}

// certify returns the certificate chain (end-entity certificate first)
// binding name to the SignaturePublicKey key of cipher suite cs: the
// certificate's subject common name is name (the identity
// mls.X509Authentication reads) and its key is key.
func (a *authority) certify(name string, cs suite.ID, key []byte) ([][]byte, error) {
	pub, err := x509PublicKey(cs, key)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(a.lifetime),
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.root, pub, a.key)
	if err != nil {
		return nil, fmt.Errorf("delivery: issuing a certificate: %w", err)
	}
	return [][]byte{der}, nil
}

// x509PublicKey returns the SignaturePublicKey key of suite cs (RFC 9420
// §5.1.1: raw Ed25519 keys, uncompressed ECDSA points) as a crypto/x509
// public key.
func x509PublicKey(cs suite.ID, key []byte) (crypto.PublicKey, error) {
	var curve elliptic.Curve
	switch cs {
	case suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519, suite.MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519:
		if len(key) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: an Ed25519 key has %d bytes", ErrMalformed, ed25519.PublicKeySize)
		}
		return ed25519.PublicKey(key), nil
	case suite.MLS_128_DHKEMP256_AES128GCM_SHA256_P256:
		curve = elliptic.P256()
	case suite.MLS_256_DHKEMP384_AES256GCM_SHA384_P384:
		curve = elliptic.P384()
	case suite.MLS_256_DHKEMP521_AES256GCM_SHA512_P521:
		curve = elliptic.P521()
	default:
		return nil, fmt.Errorf("%w: cipher suite %v", ErrUnsupportedKey, cs)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(curve, key)
	if err != nil {
		return nil, &MalformedError{What: "signature key", Err: err}
	}
	return pub, nil
}

// Fingerprint returns the fingerprint of a certificate (DER) that people
// compare out of band: the SHA-256 of its encoding, in hex.
func Fingerprint(der []byte) string {
	h := sha256.Sum256(der)
	return hex.EncodeToString(h[:])
}

// ParseCertificateFile reads a certificate from a file in PEM (the first
// CERTIFICATE block) or DER, e.g. a CA root to pin.
func ParseCertificateFile(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if b, _ := pem.Decode(data); b != nil {
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("%s: a PEM %s block, want CERTIFICATE", path, b.Type)
		}
		data = b.Bytes
	}
	c, err := x509.ParseCertificate(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// ParseKeyFile reads a private key from a file in PEM ("PRIVATE KEY",
// PKCS #8) or DER, e.g. the CA key of `mls ds serve --ca-key`.
func ParseKeyFile(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if b, _ := pem.Decode(data); b != nil {
		data = b.Bytes
	}
	k, err := x509.ParsePKCS8PrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: want a PKCS #8 private key: %w", path, err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: a %T cannot sign", path, k)
	}
	return s, nil
}
