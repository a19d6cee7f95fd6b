package localds

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/mlsengine/engine/delivery"
	"github.com/mlsengine/engine/delivery/store"
	"github.com/mlsengine/engine/mls/suite"
)

// CA is a delivery service's certificate authority (its store's
// Authority) whose key the caller holds: it issues the X.509 credentials
// the service's registration issues (subject common name the client name,
// the client's signature key, digital signature usage), but
// deterministically, so that a simulated member's credential is made again
// from its name and key whenever it is needed instead of being kept.
//
// Its key is Ed25519, whose signatures are deterministic; the certificates
// are valid when the root is, from NotBefore to NotAfter.
type CA struct {
	Key                 ed25519.PrivateKey
	Root                *x509.Certificate
	RootDER             []byte
	NotBefore, NotAfter time.Time
}

// rootName is the subject of a CA's root certificate.
const rootName = "mlsengine local delivery service CA"

// NewCA returns the CA of key whose root and certificates are valid from
// notBefore to notAfter. The same arguments make the same root.
func NewCA(key ed25519.PrivateKey, notBefore, notAfter time.Time) (*CA, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, errors.New("localds: the CA key is not an Ed25519 private key")
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: rootName},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(nil, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("localds: the CA's root: %w", err)
	}
	return caOf(key, der)
}

// caOf returns the CA of key and its root.
func caOf(key ed25519.PrivateKey, rootDER []byte) (*CA, error) {
	root, err := x509.ParseCertificate(rootDER)
	if err != nil {
		return nil, fmt.Errorf("localds: the CA's root: %w", err)
	}
	if !key.Public().(ed25519.PublicKey).Equal(root.PublicKey) {
		return nil, errors.New("localds: the CA's root is not for its key")
	}
	return &CA{Key: key, Root: root, RootDER: rootDER, NotBefore: root.NotBefore, NotAfter: root.NotAfter}, nil
}

// OpenCA returns the certificate authority of st, for Config.CA: the one
// st holds, or a new one stored in it (a random key, valid from notBefore
// to notAfter). A store whose CA key is not Ed25519 (which only `mls ds
// serve --ca-key` makes) fails with ErrStoreCA.
func OpenCA(ctx context.Context, st store.Store, notBefore, notAfter time.Time) (*CA, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	fresh, err := NewCA(key, notBefore, notAfter)
	if err != nil {
		return nil, err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	a, err := st.LoadOrStoreAuthority(ctx, store.Authority{Key: pkcs8, Certificate: fresh.RootDER})
	if err != nil {
		return nil, fmt.Errorf("localds: the store's certificate authority: %w", err)
	}
	stored, err := x509.ParsePKCS8PrivateKey(a.Key)
	if err != nil {
		return nil, fmt.Errorf("localds: the store's CA key: %w", err)
	}
	k, ok := stored.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: the store's CA key is a %T, not an Ed25519 key", ErrStoreCA, stored)
	}
	return caOf(k, a.Certificate)
}

// ErrStoreCA reports a store whose certificate authority cannot issue
// deterministic certificates.
var ErrStoreCA = errors.New("localds: unusable certificate authority")

// Roots returns a pool holding the CA's root, for the members'
// mls.X509Authentication.
func (ca *CA) Roots() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Root)
	return p
}

// Certify returns the certificate chain (one DER certificate) binding name
// to the SignaturePublicKey key of suite cs, as the service's registration
// issues it (delivery.ClientCertificate), with a serial number that is a
// hash of name and key: the same chain for the same arguments.
func (ca *CA) Certify(name string, cs *suite.Suite, key []byte) ([][]byte, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%d:%s:", len(name), name)
	h.Write(key)
	serial := h.Sum(nil)[:16]
	serial[0] = serial[0]&0x7f | 0x40 // positive, and always 16 bytes long
	tmpl := delivery.ClientCertificate(name, new(big.Int).SetBytes(serial), ca.NotBefore, ca.NotAfter)
	der, err := delivery.IssueCertificate(tmpl, ca.Root, ca.Key, cs, key)
	if err != nil {
		return nil, fmt.Errorf("localds: certifying %s: %w", name, err)
	}
	return [][]byte{der}, nil
}
