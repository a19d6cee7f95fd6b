package mls

import (
	"bytes"
	"io"

	"github.com/mlsengine/engine/mls/keyschedule"
	"github.com/mlsengine/engine/mls/wire"
)

// Pre-shared keys (§8.4). External PSKs come from Config.ExternalPSK;
// resumption PSKs (§8.6) from the group itself (its current epoch and the
// Config.ResumptionEpochs last ones) or from the other groups the caller
// passes (JoinOptions.Resumption, for reinitialization and branching).

// pskSource finds the secrets of pre-shared keys.
type pskSource struct {
	cf     *config
	self   *Group   // the group the PSKs are injected into, nil for a joiner
	others []*Group // other groups whose resumption PSKs may be used
}

// secret returns the PSK identified by id.
func (s *pskSource) secret(id *PreSharedKeyID) ([]byte, error) {
	switch id.Type {
	case keyschedule.PSKTypeExternal:
		if s.cf.ExternalPSK == nil {
			return nil, errorf(ErrPSKNotFound, "external PSK %x: no Config.ExternalPSK", id.ID)
		}
		psk, err := s.cf.ExternalPSK(bytes.Clone(id.ID))
		if err != nil {
			return nil, wrapErr(ErrPSKNotFound, "external PSK", err)
		}
		if psk == nil {
			return nil, errorf(ErrPSKNotFound, "external PSK %x", id.ID)
		}
		return psk, nil
	case keyschedule.PSKTypeResumption:
		groups := s.others
		if s.self != nil {
			groups = append([]*Group{s.self}, groups...)
		}
		for _, g := range groups {
			if g == nil || !bytes.Equal(g.ep.gc.GroupID, id.GroupID) {
				continue
			}
			if psk, ok := g.ResumptionPSK(id.Epoch); ok {
				return psk, nil
			}
		}
		if s.cf.ResumptionPSK != nil && (s.self == nil || !bytes.Equal(s.self.ep.gc.GroupID, id.GroupID)) {
			psk, err := s.cf.ResumptionPSK(bytes.Clone(id.GroupID), id.Epoch)
			if err != nil {
				return nil, wrapErr(ErrPSKNotFound, "resumption PSK", err)
			}
			if psk != nil {
				return psk, nil
			}
		}
		return nil, errorf(ErrPSKNotFound, "resumption PSK of group %x epoch %d", id.GroupID, id.Epoch)
	}
	return nil, errorf(ErrInvalidProposal, "PSK type %v", id.Type)
}

// pskSecret computes psk_secret for the PSKs, in order (§8.4); nil (the
// zero vector) when there are none.
func (s *pskSource) pskSecret(ids []PreSharedKeyID) ([]byte, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	psks := make([]keyschedule.PSK, len(ids))
	for i := range ids {
		secret, err := s.secret(&ids[i])
		if err != nil {
			return nil, err
		}
		psks[i] = keyschedule.PSK{ID: ids[i], Secret: secret}
	}
	out, err := keyschedule.PSKSecret(s.cf.cs, psks)
	if err != nil {
		return nil, wrapErr(ErrInvalidProposal, "psk_secret", err)
	}
	return out, nil
}

// pskNonce returns a fresh psk_nonce of length KDF.Nh (§8.4: "MUST be set
// to a fresh random value").
func (c *config) pskNonce() ([]byte, error) {
	n := make([]byte, c.cs.HashSize())
	if _, err := io.ReadFull(c.rand(), n); err != nil {
		return nil, wrapErr(ErrInvalidArgument, "reading randomness", err)
	}
	return n, nil
}

// NewExternalPSK returns a PreSharedKey proposal for the external PSK id,
// with a fresh nonce (§12.1.4). The secret must be known to every member
// (Config.ExternalPSK) when the proposal is committed.
func (g *Group) NewExternalPSK(id []byte) (*Proposal, error) {
	nonce, err := g.cf.pskNonce()
	if err != nil {
		return nil, err
	}
	return &Proposal{Body: &PreSharedKey{PSK: PreSharedKeyID{
		Type: keyschedule.PSKTypeExternal, ID: bytes.Clone(id), Nonce: nonce,
	}}}, nil
}

// NewResumptionPSK returns a PreSharedKey proposal for the resumption PSK
// of the given epoch of this group, usage application (§8.6, §12.1.4).
func (g *Group) NewResumptionPSK(epoch uint64) (*Proposal, error) {
	if _, ok := g.ResumptionPSK(epoch); !ok {
		return nil, errorf(ErrPSKNotFound, "resumption PSK of epoch %d not kept", epoch)
	}
	nonce, err := g.cf.pskNonce()
	if err != nil {
		return nil, err
	}
	return &Proposal{Body: &PreSharedKey{PSK: PreSharedKeyID{
		Type: keyschedule.PSKTypeResumption, Usage: keyschedule.UsageApplication,
		GroupID: bytes.Clone(g.ep.gc.GroupID), Epoch: epoch, Nonce: nonce,
	}}}, nil
}

// NewResumptionPSKOf returns a PreSharedKey proposal for this group that
// injects the resumption PSK of epoch `epoch` of another group, groupID,
// usage application (§8.6: "a resumption PSK from ... a different group"),
// with a fresh nonce. Every member must be able to produce that PSK
// (Config.ResumptionPSK, which is also consulted here) when the proposal is
// committed.
func (g *Group) NewResumptionPSKOf(groupID []byte, epoch uint64) (*Proposal, error) {
	if bytes.Equal(groupID, g.ep.gc.GroupID) {
		return g.NewResumptionPSK(epoch)
	}
	src := &pskSource{cf: g.cf}
	id := PreSharedKeyID{Type: keyschedule.PSKTypeResumption, Usage: keyschedule.UsageApplication,
		GroupID: bytes.Clone(groupID), Epoch: epoch}
	if _, err := src.secret(&id); err != nil {
		return nil, err
	}
	var err error
	if id.Nonce, err = g.cf.pskNonce(); err != nil {
		return nil, err
	}
	return &Proposal{Body: &PreSharedKey{PSK: id}}, nil
}

// pskIDKey returns a map key identifying a PreSharedKeyID (§12.2: "multiple
// PreSharedKey proposals that reference the same PreSharedKeyID").
func pskIDKey(id *PreSharedKeyID) string {
	b, err := wire.Marshal(id)
	if err != nil {
		return "invalid"
	}
	return string(b)
}
