package delivery

import (
	"crypto/x509"
	"errors"
	"fmt"
	"testing"

	"github.com/mlsengine/engine/mls"
	"github.com/mlsengine/engine/mls/suite"
)

// TestCertifyEverySuite: the service certifies a signature key of every
// built-in suite (Ed448 and ML-DSA keys in raw-key certificates), the
// certificate validates with mls.X509Authentication against the root and
// presents the client's name; a proof by another key is refused.
func TestCertifyEverySuite(t *testing.T) {
	srv, url := testServer(t, nil, Config{})
	for _, id := range suite.Default().IDs() {
		t.Run(id.String(), func(t *testing.T) {
			signer, err := mls.NewSigner(id)
			if err != nil {
				t.Fatal(err)
			}
			name := fmt.Sprintf("c%04x", uint16(id))
			c := &Client{BaseURL: url}
			reg, err := c.RegisterKey(bg, name, id, signer)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := mls.NewX509Config(id, signer, reg.Certificates, rootPool(t, c))
			if err != nil {
				t.Fatal(err)
			}
			got, err := cfg.Authentication.Identity(&cfg.Credential)
			if err != nil || string(got) != name {
				t.Fatalf("identity %q, %v", got, err)
			}
			// A proof signed by another key than the one to certify.
			other, _ := mls.NewSigner(id)
			req, err := ProveKey(id, other, name)
			if err != nil {
				t.Fatal(err)
			}
			req.SignatureKey = signer.Public()
			if _, err := srv.certify(name, &req); !errors.Is(err, ErrMalformed) {
				t.Fatalf("certifying without the key: %v", err)
			}
			leaf, err := x509.ParseCertificate(reg.Certificates[0])
			if err != nil || leaf.Subject.CommonName != name {
				t.Fatalf("certificate: %v", err)
			}
		})
	}
}
