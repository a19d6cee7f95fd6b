package treekem

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// X509Validator is a CredentialValidator for X.509 credentials (§5.3): it
// verifies the chain (certificates[0] is the end-entity certificate, the
// others intermediates) up to Roots, and checks that the end-entity
// certificate's public key is the LeafNode's signature key. Applications
// with further rules (which identities are acceptable) wrap it.
type X509Validator struct {
	// Roots are the trusted certificate authorities.
	Roots *x509.CertPool
	// Now returns the time at which the chain must be valid; nil means
	// time.Now.
	Now func() time.Time
	// KeyUsages are the acceptable extended key usages; empty means any.
	KeyUsages []x509.ExtKeyUsage
	// Basic validates basic credentials; nil accepts them.
	Basic func(identity, signatureKey []byte) error
}

// ValidateCredential implements CredentialValidator.
func (v *X509Validator) ValidateCredential(cred *Credential, signatureKey []byte) error {
	switch cred.Type {
	case CredentialBasic:
		if v.Basic == nil {
			return nil
		}
		return v.Basic(cred.Identity, signatureKey)
	case CredentialX509:
	default:
		return fmt.Errorf("unsupported credential type %d", cred.Type)
	}
	if len(cred.Certificates) == 0 {
		return errors.New("empty certificate chain")
	}
	certs := make([]*x509.Certificate, len(cred.Certificates))
	for i, der := range cred.Certificates {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return fmt.Errorf("certificate %d: %w", i, err)
		}
		certs[i] = c
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	usages := v.KeyUsages
	if len(usages) == 0 {
		usages = []x509.ExtKeyUsage{x509.ExtKeyUsageAny}
	}
	if _, err := certs[0].Verify(x509.VerifyOptions{
		Roots: v.Roots, Intermediates: inter, CurrentTime: now(), KeyUsages: usages,
	}); err != nil {
		return err
	}
	// §5.3: the end-entity certificate's public key is the signature key.
	var key []byte
	switch pub := certs[0].PublicKey.(type) {
	case ed25519.PublicKey:
		key = pub
	case *ecdsa.PublicKey:
		ek, err := pub.ECDH()
		if err != nil {
			return err
		}
		key = ek.Bytes() // the uncompressed point, as SignaturePublicKey
	default:
		return fmt.Errorf("unsupported certificate key type %T", pub)
	}
	if !bytes.Equal(key, signatureKey) {
		return errors.New("end-entity certificate key is not the leaf's signature key")
	}
	return nil
}
