package agent

import (
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mlsengine/engine/delivery"
	"github.com/mlsengine/engine/delivery/store/memstore"
)

// fingerprintOf returns the certificate fingerprint of member in a's view
// of group.
func fingerprintOf(t *testing.T, a *Agent, group, member string) string {
	t.Helper()
	s, err := a.Info(bg, group)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.Index(s.Members, member)
	if i < 0 {
		t.Fatalf("%s is not in %s's view %q", member, a.Name(), s.Members)
	}
	return s.Fingerprints[i]
}

// TestRenewCertificate: a certificate due for renewal is certified again by
// Open, and the client's leaf in its groups is updated to carry it (RFC 9420
// §5.3.1), which the other members accept as a valid successor.
func TestRenewCertificate(t *testing.T) {
	ds := newDS(t)
	alice, bob := testAgent(t, ds, "alice"), testAgent(t, ds, "bob")
	makeTeam(t, alice, bob)
	old := fingerprintOf(t, bob, "team", "alice")
	if old != delivery.Fingerprint(alice.id.Certificates[0]) {
		t.Fatal("bob sees another certificate of alice than hers")
	}
	opts := alice.opts
	alice.Close()

	opts.RenewBefore = 2 * delivery.DefaultCertificateLifetime // due at once
	renewed, err := Open(bg, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer renewed.Close()
	now := delivery.Fingerprint(renewed.id.Certificates[0])
	if now == old {
		t.Fatal("Open did not renew the certificate")
	}
	wantLines(t, "bob", recv(t, bob, "team"), "team: alice updated")
	if got := fingerprintOf(t, bob, "team", "alice"); got != now {
		t.Fatalf("bob sees alice's certificate %s, want the renewed %s", got, now)
	}
	sameView(t, "team", renewed, bob)
	send(t, renewed, "team", "renewed")
	wantLines(t, "bob", recv(t, bob, "team"), "team alice: renewed")
	rec, err := renewed.st.findRecord("team")
	if err != nil || rec.RefreshLeaf {
		t.Fatalf("the group is still marked for a leaf update (%v)", err)
	}

	// Not due: Open leaves the certificate alone.
	renewed.Close()
	opts.RenewBefore = 0
	again, err := Open(bg, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if delivery.Fingerprint(again.id.Certificates[0]) != now {
		t.Fatal("Open renewed a certificate that was not due")
	}
}

// TestExpiredCertificate: an expired certificate is renewed by Open when the
// delivery service can be reached, and Open says what is wrong when it
// cannot.
func TestExpiredCertificate(t *testing.T) {
	const lifetime = 1500 * time.Millisecond
	srv, err := delivery.NewServer(delivery.Config{Store: memstore.New(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Limits: noRates, CertificateLifetime: lifetime})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv)
	defer hs.Close()
	alice := testAgent(t, hs.URL, "alice")
	opts := alice.opts
	first := delivery.Fingerprint(alice.id.Certificates[0])
	alice.Close()
	time.Sleep(lifetime + 500*time.Millisecond)

	renewed, err := Open(bg, opts)
	if err != nil {
		t.Fatalf("opening with an expired certificate, the service up: %v", err)
	}
	if delivery.Fingerprint(renewed.id.Certificates[0]) == first {
		t.Fatal("the expired certificate was not renewed")
	}
	renewed.Close()
	time.Sleep(lifetime + 500*time.Millisecond)

	hs.Close()
	_, err = Open(bg, opts)
	if !errors.Is(err, ErrDelivery) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("opening with an expired certificate, the service down: %v; want ErrDelivery saying it expired", err)
	}
}
