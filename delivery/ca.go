package delivery

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
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

// ErrUnsupportedKey reports a signature key the service cannot certify.
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
func (a *authority) certify(name string, cs *suite.Suite, key []byte) ([][]byte, error) {
	now := time.Now()
	der, err := IssueCertificate(ClientCertificate(name, randomSerial(), now.Add(-clockSkew), now.Add(a.lifetime)), a.root, a.key, cs, key)
	if err != nil {
		return nil, err
	}
	return [][]byte{der}, nil
}

// ClientCertificate returns the template of the certificates the service
// issues to its clients: subject common name name (the identity
// mls.X509Authentication reads), for digital signatures, valid from
// notBefore to notAfter. The service's own have a random serial number
// and are valid from an hour before they are issued for
// Config.CertificateLifetime.
func ClientCertificate(name string, serial *big.Int, notBefore, notAfter time.Time) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature,
	}
}

// IssueCertificate returns the certificate (DER) of template tmpl for the
// SignaturePublicKey key of cipher suite cs, signed by caKey, the key of
// the CA certificate parent, as the service's CA issues them (see
// ClientCertificate for its template): Ed25519 and ECDSA keys as
// crypto/x509 writes them, Ed448 and ML-DSA keys as raw subjectPublicKeys,
// which needs an Ed25519 caKey (else ErrUnsupportedKey). With an Ed25519
// caKey, whose signatures are deterministic, the same arguments make the
// same certificate: for simulators, which make a member's credential
// again from its key instead of keeping it.
func IssueCertificate(tmpl, parent *x509.Certificate, caKey crypto.Signer, cs *suite.Suite, key []byte) ([]byte, error) {
	pub, err := x509PublicKey(cs.Composition().Signature, key)
	var der []byte
	switch {
	case errors.Is(err, errRawKey):
		der, err = certifyRaw(tmpl, parent, caKey, rawKeyAlgorithms[cs.Composition().Signature], key)
	case err == nil:
		der, err = x509.CreateCertificate(rand.Reader, tmpl, parent, pub, caKey)
	}
	if err != nil {
		return nil, fmt.Errorf("delivery: issuing a certificate: %w", err)
	}
	return der, nil
}

// errRawKey marks a key that crypto/x509 cannot carry, which certifyRaw
// puts in the certificate as it is.
var errRawKey = errors.New("a key crypto/x509 does not know")

// rawKeyAlgorithms are the subjectPublicKeyInfo algorithms of the signature
// schemes crypto/x509 does not know, whose keys go in certificates as they
// are: Ed448 (RFC 8410) and ML-DSA (FIPS 204, draft-ietf-lamps-dilithium-
// certificates).
var rawKeyAlgorithms = map[suite.SignatureScheme]asn1.ObjectIdentifier{
	suite.Ed448:   {1, 3, 101, 113},
	suite.MLDSA44: {2, 16, 840, 1, 101, 3, 4, 3, 17},
	suite.MLDSA65: {2, 16, 840, 1, 101, 3, 4, 3, 18},
	suite.MLDSA87: {2, 16, 840, 1, 101, 3, 4, 3, 19},
}

// x509PublicKey returns the SignaturePublicKey key of a signature scheme
// (RFC 9420 §5.1.1: raw Ed25519 keys, uncompressed ECDSA points) as a
// crypto/x509 public key, or errRawKey for a scheme of rawKeyAlgorithms.
func x509PublicKey(scheme suite.SignatureScheme, key []byte) (crypto.PublicKey, error) {
	var curve elliptic.Curve
	switch scheme {
	case suite.Ed25519:
		if len(key) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: an Ed25519 key has %d bytes", ErrMalformed, ed25519.PublicKeySize)
		}
		return ed25519.PublicKey(key), nil
	case suite.ECDSAWithP256AndSHA256:
		curve = elliptic.P256()
	case suite.ECDSAWithP384AndSHA384:
		curve = elliptic.P384()
	case suite.ECDSAWithP521AndSHA512:
		curve = elliptic.P521()
	default:
		if _, ok := rawKeyAlgorithms[scheme]; ok {
			return nil, errRawKey
		}
		return nil, fmt.Errorf("%w: signature scheme %v", ErrUnsupportedKey, scheme)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(curve, key)
	if err != nil {
		return nil, &MalformedError{What: "signature key", Err: err}
	}
	return pub, nil
}

// certifyRaw issues the certificate of tmpl, signed by caKey (parent's
// key), for a key of an algorithm crypto/x509 does not know: the
// certificate crypto/x509 makes for a placeholder key, with the
// subjectPublicKeyInfo {algorithm, key} put in its place and the
// TBSCertificate signed again. Only an Ed25519 CA key, which signs the
// TBSCertificate itself (RFC 8410), does this.
func certifyRaw(tmpl, parent *x509.Certificate, caKey crypto.Signer, algorithm asn1.ObjectIdentifier, key []byte) ([]byte, error) {
	if _, ok := caKey.Public().(ed25519.PublicKey); !ok {
		return nil, fmt.Errorf("%w: a certificate for this key needs an Ed25519 CA key", ErrUnsupportedKey)
	}
	placeholder, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, placeholder, caKey)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	spki, err := asn1.Marshal(subjectPublicKeyInfo{Algorithm: pkix.AlgorithmIdentifier{Algorithm: algorithm}, Key: asn1.BitString{Bytes: key, BitLength: 8 * len(key)}})
	if err != nil {
		return nil, err
	}
	fields, err := derSequence(cert.RawTBSCertificate)
	if err != nil {
		return nil, err
	}
	var tbs []byte
	for _, f := range fields {
		if bytes.Equal(f.FullBytes, cert.RawSubjectPublicKeyInfo) {
			tbs = append(tbs, spki...)
		} else {
			tbs = append(tbs, f.FullBytes...)
		}
	}
	tbsDER, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: tbs})
	if err != nil {
		return nil, err
	}
	outer, err := derSequence(der) // tbsCertificate, signatureAlgorithm, signatureValue
	if err != nil || len(outer) != 3 {
		return nil, fmt.Errorf("a certificate of %d fields", len(outer))
	}
	sig, err := caKey.Sign(rand.Reader, tbsDER, crypto.Hash(0))
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(struct {
		TBS       asn1.RawValue
		Algorithm asn1.RawValue
		Signature asn1.BitString
	}{asn1.RawValue{FullBytes: tbsDER}, asn1.RawValue{FullBytes: outer[1].FullBytes}, asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)}})
}

type subjectPublicKeyInfo struct {
	Algorithm pkix.AlgorithmIdentifier
	Key       asn1.BitString
}

// derSequence returns the elements of a DER SEQUENCE.
func derSequence(der []byte) ([]asn1.RawValue, error) {
	var seq asn1.RawValue
	if rest, err := asn1.Unmarshal(der, &seq); err != nil || len(rest) > 0 || seq.Tag != asn1.TagSequence {
		return nil, errors.New("not a DER SEQUENCE")
	}
	var out []asn1.RawValue
	for b := seq.Bytes; len(b) > 0; {
		var v asn1.RawValue
		var err error
		if b, err = asn1.Unmarshal(b, &v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
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
