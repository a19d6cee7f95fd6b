package treekem

import (
	"crypto/ed25519"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"
)

func TestX509Validator(t *testing.T) {
	rnd := newSeeded(9)
	caPub, caPriv, _ := ed25519.GenerateKey(rnd)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "ca"},
		NotBefore:             time.Unix(0, 0),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rnd, tmpl, tmpl, caPub, caPriv)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	eePub, _, _ := ed25519.GenerateKey(rnd)
	eeDER, err := x509.CreateCertificate(rnd, &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "alice"},
		NotBefore:    time.Unix(0, 0),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}, ca, eePub, caPriv)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	v := &X509Validator{Roots: roots}
	cred := &Credential{Type: CredentialX509, Certificates: [][]byte{eeDER}}
	if err := v.ValidateCredential(cred, eePub); err != nil {
		t.Fatalf("valid chain: %v", err)
	}
	other, _, _ := ed25519.GenerateKey(rnd)
	if err := v.ValidateCredential(cred, other); err == nil {
		t.Fatal("accepted a chain for another key")
	}
	if err := (&X509Validator{Roots: x509.NewCertPool()}).ValidateCredential(cred, eePub); err == nil {
		t.Fatal("accepted an untrusted chain")
	}
	if err := v.ValidateCredential(&Credential{Type: CredentialX509, Certificates: [][]byte{{1, 2}}}, eePub); err == nil {
		t.Fatal("accepted garbage")
	}
	if err := v.ValidateCredential(&Credential{Type: CredentialBasic, Identity: []byte("bob")}, eePub); err != nil {
		t.Fatal(err)
	}
}
