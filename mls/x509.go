package mls

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/mlsengine/engine/treekem"
)

// X509Authentication is the Authentication Service of X.509 credentials
// (§5.3): a credential's certificate chain (end-entity certificate first,
// then intermediates) must verify up to Roots at the time Validate is
// given (Config.Now, so that validity periods follow the configured
// clock), for one of KeyUsages, and the end-entity certificate's public
// key must be the signature key. Basic credentials are refused.
//
// The identity is the end-entity certificate's first URI, else email
// address, else DNS name of its subjectAltName, else its subject's common
// name; a successor must present the same identity, so a member renews its
// certificate with an Update but cannot take another member's name.
type X509Authentication struct {
	// Roots are the trusted certificate authorities.
	Roots *x509.CertPool
	// KeyUsages are the acceptable extended key usages; empty means any.
	KeyUsages []x509.ExtKeyUsage
}

// Validate implements AuthenticationService.
func (a *X509Authentication) Validate(cred *Credential, signatureKey []byte, now time.Time) error {
	certs, err := parseChain(cred)
	if err != nil {
		return err
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	usages := a.KeyUsages
	if len(usages) == 0 {
		usages = []x509.ExtKeyUsage{x509.ExtKeyUsageAny}
	}
	if _, err := certs[0].Verify(x509.VerifyOptions{
		Roots: a.Roots, Intermediates: inter, CurrentTime: now, KeyUsages: usages,
	}); err != nil {
		return err
	}
	// §5.3: the end-entity certificate's public key is the signature key.
	key, err := certificateKey(certs[0])
	if err != nil {
		return err
	}
	if !bytes.Equal(key, signatureKey) {
		return errors.New("the end-entity certificate's key is not the signature key")
	}
	_, err = certificateIdentity(certs[0])
	return err
}

// ValidSuccessor implements AuthenticationService: the same identity.
func (a *X509Authentication) ValidSuccessor(old, next *Credential) error {
	return sameIdentity(a, old, next)
}

// Identity implements AuthenticationService (see X509Authentication).
func (*X509Authentication) Identity(cred *Credential) ([]byte, error) {
	certs, err := parseChain(cred)
	if err != nil {
		return nil, err
	}
	return certificateIdentity(certs[0])
}

// parseChain parses an X.509 credential's certificates.
func parseChain(cred *Credential) ([]*x509.Certificate, error) {
	if cred.Type != treekem.CredentialX509 {
		return nil, fmt.Errorf("credential type %d: only X.509 credentials are accepted", cred.Type)
	}
	if len(cred.Certificates) == 0 {
		return nil, errors.New("empty certificate chain")
	}
	certs := make([]*x509.Certificate, len(cred.Certificates))
	for i, der := range cred.Certificates {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", i, err)
		}
		certs[i] = c
	}
	return certs, nil
}

// certificateKey returns a certificate's public key as a
// SignaturePublicKey: the raw key for Ed25519, the uncompressed point for
// ECDSA (§5.1.1), and for the algorithms crypto/x509 does not parse whose
// subjectPublicKey is the raw key (Ed448, RFC 8410; ML-DSA, FIPS 204) that
// key.
func certificateKey(c *x509.Certificate) ([]byte, error) {
	switch pub := c.PublicKey.(type) {
	case ed25519.PublicKey:
		return pub, nil
	case *ecdsa.PublicKey:
		ek, err := pub.ECDH()
		if err != nil {
			return nil, err
		}
		return ek.Bytes(), nil
	case nil:
		var spki struct {
			Algorithm pkix.AlgorithmIdentifier
			Key       asn1.BitString
		}
		if rest, err := asn1.Unmarshal(c.RawSubjectPublicKeyInfo, &spki); err != nil || len(rest) > 0 {
			return nil, errors.New("undecodable subjectPublicKeyInfo")
		}
		if !slices.ContainsFunc(rawKeyAlgorithms, spki.Algorithm.Algorithm.Equal) || spki.Key.BitLength%8 != 0 || spki.Algorithm.Parameters.FullBytes != nil {
			return nil, fmt.Errorf("unsupported certificate key algorithm %v", spki.Algorithm.Algorithm)
		}
		return spki.Key.Bytes, nil
	}
	return nil, fmt.Errorf("unsupported certificate key type %T", c.PublicKey)
}

// rawKeyAlgorithms are the key algorithms of certificates whose
// subjectPublicKey is the raw SignaturePublicKey: Ed448 (RFC 8410) and
// ML-DSA-44, -65 and -87 (draft-ietf-lamps-dilithium-certificates).
var rawKeyAlgorithms = []asn1.ObjectIdentifier{
	{1, 3, 101, 113},
	{2, 16, 840, 1, 101, 3, 4, 3, 17},
	{2, 16, 840, 1, 101, 3, 4, 3, 18},
	{2, 16, 840, 1, 101, 3, 4, 3, 19},
}

// certificateIdentity returns the identity an end-entity certificate
// presents (see X509Authentication).
func certificateIdentity(c *x509.Certificate) ([]byte, error) {
	switch {
	case len(c.URIs) > 0:
		return []byte(c.URIs[0].String()), nil
	case len(c.EmailAddresses) > 0:
		return []byte(c.EmailAddresses[0]), nil
	case len(c.DNSNames) > 0:
		return []byte(c.DNSNames[0]), nil
	case c.Subject.CommonName != "":
		return []byte(c.Subject.CommonName), nil
	}
	return nil, errors.New("the certificate names no identity (subjectAltName or common name)")
}

// X509Credential returns the X.509 credential of a certificate chain (DER,
// end-entity certificate first) issued for signer's key, checking that the
// end-entity certificate holds that key.
func X509Credential(chain [][]byte, signer Signer) (Credential, error) {
	cred := Credential{Type: treekem.CredentialX509, Certificates: chain}
	if signer == nil {
		return cred, errorf(ErrInvalidArgument, "nil signer")
	}
	certs, err := parseChain(&cred)
	if err != nil {
		return cred, wrapErr(ErrInvalidArgument, "certificate chain", err)
	}
	key, err := certificateKey(certs[0])
	if err != nil {
		return cred, wrapErr(ErrInvalidArgument, "certificate chain", err)
	}
	if !bytes.Equal(key, signer.Public()) {
		return cred, errorf(ErrInvalidArgument, "the end-entity certificate is not for the signer's key")
	}
	return cred, nil
}

// NewX509Config returns the Config of a client whose credential is the
// certificate chain (DER, end-entity certificate first) that a CA under
// roots issued for signer's key, for suite id, with every member's
// credential checked against roots (Config.Authentication is an
// *X509Authentication). The chain is validated now, so that a certificate
// that the other members would refuse fails here. Set Config.Now on the
// result to use another clock; its other fields keep their defaults.
func NewX509Config(id CipherSuite, signer Signer, chain [][]byte, roots *x509.CertPool) (Config, error) {
	cred, err := X509Credential(chain, signer)
	if err != nil {
		return Config{}, err
	}
	as := &X509Authentication{Roots: roots}
	if err := as.Validate(&cred, signer.Public(), time.Now()); err != nil {
		return Config{}, wrapErr(ErrInvalidArgument, "certificate chain", err)
	}
	return Config{Suite: id, Signer: signer, Credential: cred, Authentication: as}, nil
}
