package localds

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/mlsengine/engine/delivery"
	"github.com/mlsengine/engine/delivery/store"
	"github.com/mlsengine/engine/delivery/store/memstore"
	"github.com/mlsengine/engine/mls"
	"github.com/mlsengine/engine/mls/suite"
)

var bg = context.Background()

func newCA(t *testing.T, st store.Store) *CA {
	t.Helper()
	ca, err := OpenCA(bg, st, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// TestCertify checks that a CA's certificates are the same for the same
// name and key, and are X.509 credentials the service's Authentication
// Service accepts for that name.
func TestCertify(t *testing.T) {
	ca := newCA(t, memstore.New())
	for _, id := range []suite.ID{1, 2, 4, 5, 0xF10B} { // Ed25519, P-256, Ed448, P-521, ML-DSA-87
		cs, _ := suite.Lookup(id)
		signer, err := mls.NewSigner(id)
		if err != nil {
			t.Fatal(err)
		}
		a, err := ca.Certify("alice", cs, signer.Public())
		if err != nil {
			t.Fatal(err)
		}
		b, err := ca.Certify("alice", cs, signer.Public())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a[0], b[0]) {
			t.Errorf("suite %v: two certificates for the same name and key", id)
		}
		cred, err := mls.X509Credential(a, signer)
		if err != nil {
			t.Fatal(err)
		}
		as := &mls.X509Authentication{Roots: ca.Roots()}
		if err := as.Validate(&cred, signer.Public(), time.Now()); err != nil {
			t.Errorf("suite %v: %v", id, err)
		}
		if name, err := as.Identity(&cred); err != nil || string(name) != "alice" {
			t.Errorf("suite %v: identity %q, %v", id, name, err)
		}
	}
}

// TestOpenCA checks that a store keeps its CA for later services, and
// that a store whose CA key is not Ed25519 is refused.
func TestOpenCA(t *testing.T) {
	st := memstore.New()
	a, b := newCA(t, st), newCA(t, st)
	if !bytes.Equal(a.RootDER, b.RootDER) || !a.Key.Equal(b.Key) {
		t.Error("a store's CA changed")
	}
	other := memstore.New()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(key)
	if _, err := other.LoadOrStoreAuthority(bg, store.Authority{Key: pkcs8, Certificate: a.RootDER}); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenCA(bg, other, time.Now(), time.Now().Add(time.Hour)); !errors.Is(err, ErrStoreCA) {
		t.Errorf("an ECDSA CA key: %v, want ErrStoreCA", err)
	}
}

// TestService checks the service's clients: each is the name it was made
// for, what they send and read is counted, and a request without the
// service's secret is refused.
func TestService(t *testing.T) {
	st := memstore.New()
	s, err := Start(Config{Store: st, CA: newCA(t, st)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	signer, err := mls.NewSigner(1)
	if err != nil {
		t.Fatal(err)
	}
	cs, _ := suite.Lookup(1)
	chain, err := s.CA.Certify("alice", cs, signer.Public())
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := mls.NewX509Config(1, signer, chain, s.CA.Roots())
	if err != nil {
		t.Fatal(err)
	}
	kp, _, err := mls.NewKeyPackage(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	up0, down0 := s.Traffic()
	if _, err := s.Client("alice").UploadKeyPackage(bg, kp, false); err != nil {
		t.Fatal(err)
	}
	up1, down1 := s.Traffic()
	if up1-up0 != int64(len(kp)) || down1 <= down0 {
		t.Errorf("an upload of %d bytes counted %d up, %d down", len(kp), up1-up0, down1-down0)
	}
	// The KeyPackage is alice's: bob, uploading it, is refused.
	if _, err := s.Client("bob").UploadKeyPackage(bg, kp, false); !errors.Is(err, delivery.ErrForbidden) {
		t.Errorf("bob uploading alice's KeyPackage: %v, want ErrForbidden", err)
	}
	n, err := s.Client("alice").CountKeyPackages(bg, 0)
	if err != nil || n.OneTime != 1 {
		t.Errorf("alice's KeyPackages: %+v, %v", n, err)
	}
	outsider := &delivery.Client{BaseURL: s.URL, HTTPClient: &http.Client{Transport: http.DefaultTransport}}
	if _, err := outsider.CountKeyPackages(bg, 0); !errors.Is(err, delivery.ErrUnauthorized) {
		t.Errorf("a request without the secret: %v, want ErrUnauthorized", err)
	}
}
