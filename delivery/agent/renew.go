package agent

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"path/filepath"
	"time"

	"github.com/mlsengine/engine/mls"
	"github.com/mlsengine/engine/mls/suite"
)

// DefaultRenewBefore is the default of Options.RenewBefore: the lifetime of
// a KeyPackage and 30 days more, so that every KeyPackage made with the old
// certificate expires before the certificate does.
const DefaultRenewBefore = mls.DefaultKeyPackageLifetime + 30*24*time.Hour

// Certificate renewal (RFC 9420 §5.3.1, "Credential Expiry and
// Revocation": a member whose credential has expired, or soon will,
// replaces it with an Update or Commit, so that joiners never meet an
// expired credential in the tree). When Open finds the client's
// certificate within Options.RenewBefore of its end, it has the delivery
// service's CA certify the same signature key again and saves the new
// chain; every group the client is active in is then marked for an update
// of the client's leaf (groupRecord.RefreshLeaf), whose commit carries the
// new certificate (a valid successor: the same identity), and Open commits
// them. A group where that fails keeps the mark and gets another try at the
// next Join (or at an update). If the service cannot be reached, a
// certificate still valid is renewed at a later Open; an expired one makes
// Open fail, saying so.

// renewBefore returns how long before its end the certificate cert is
// renewed: Options.RenewBefore, or DefaultRenewBefore but at most half the
// certificate's validity.
func (a *Agent) renewBefore(cert *x509.Certificate) time.Duration {
	if a.opts.RenewBefore > 0 {
		return a.opts.RenewBefore
	}
	return min(DefaultRenewBefore, cert.NotAfter.Sub(cert.NotBefore)/2)
}

// renewIfDue renews the certificate of the identity id when it is due,
// and returns the identity to use: id, or the renewed one (saved).
func (a *Agent) renewIfDue(ctx context.Context, id *identityRecord) (*identityRecord, error) {
	if len(id.Certificates) == 0 {
		return nil, errorf(ErrState, "identity: no certificate")
	}
	cert, err := x509.ParseCertificate(id.Certificates[0])
	if err != nil {
		return nil, wrapErr(ErrState, "identity: the client's certificate", err)
	}
	now := a.now()
	if now.Before(cert.NotAfter.Add(-a.renewBefore(cert))) {
		return id, nil
	}
	next, err := a.renew(ctx, id)
	switch {
	case err == nil:
		return next, nil
	case now.After(cert.NotAfter):
		return nil, wrapErr(ErrDelivery, "the client's certificate expired on "+cert.NotAfter.UTC().Format(time.DateOnly)+
			" and could not be renewed (the delivery service must be reachable)", err)
	default:
		return id, nil // still valid: renewed at a later Open
	}
}

// renew has the delivery service certify the client's signature key again,
// marks the client's active groups for a leaf update, and saves the
// identity with the new chain. The groups are marked first: a crash before
// the identity is saved costs an update with the old certificate, and the
// renewal is made again at the next Open.
func (a *Agent) renew(ctx context.Context, id *identityRecord) (*identityRecord, error) {
	s, err := suite.Lookup(suite.ID(id.Suite))
	if err != nil {
		return nil, wrapErr(ErrState, "identity", err)
	}
	signer, err := s.NewSigner(id.SignatureKey)
	if err != nil {
		return nil, wrapErr(ErrState, "identity: signature key", err)
	}
	a.ds.Token = id.Token
	chain, err := a.ds.Certify(ctx, id.Name, s.ID(), signer)
	if err != nil {
		return nil, dsErr("renewing the client's certificate", err)
	}
	next := *id
	next.Certificates = chain
	if err := a.setIdentity(&next); err != nil {
		return nil, wrapErr(ErrDelivery, "the certificate the delivery service issued", err)
	}
	if err := a.markLeavesForRefresh(); err != nil {
		return nil, err
	}
	data, err := json.MarshalIndent(&next, "", "  ")
	if err != nil {
		return nil, wrapErr(ErrState, "encoding the identity", err)
	}
	if err := writeFileAtomic(filepath.Join(a.opts.Dir, identityFile), append(data, '\n')); err != nil {
		return nil, err
	}
	return &next, nil
}

// markLeavesForRefresh sets RefreshLeaf on the record of every group the
// client is active in.
func (a *Agent) markLeavesForRefresh() error {
	recs, err := a.st.records()
	if err != nil {
		return err
	}
	for _, r := range recs {
		if r.Status != StatusActive || r.RefreshLeaf {
			continue
		}
		r.RefreshLeaf = true
		if err := a.st.saveRecord(r); err != nil {
			return err
		}
	}
	return nil
}
