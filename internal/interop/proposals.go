package interop

import (
	"context"
	"crypto/rand"
	"fmt"

	"github.com/mlsengine/engine/internal/interop/mlsclientpb"
	"github.com/mlsengine/engine/mls"
	"github.com/mlsengine/engine/mls/keyschedule"
	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/treekem"
)

// proposeWith sends, from the state under id, the proposal that build
// returns for its group.
func (s *Server) proposeWith(id uint32, build func(g *mls.Group) (*mls.Proposal, error)) (*mlsclientpb.ProposalResponse, error) {
	st, err := s.lockState(id)
	if err != nil {
		return nil, err
	}
	defer st.mu.Unlock()
	msg, err := st.propose(func() ([]byte, error) {
		p, err := build(st.group)
		if err != nil {
			return nil, err
		}
		return st.group.Propose(p, nil)
	})
	if err != nil {
		return nil, err
	}
	return &mlsclientpb.ProposalResponse{Proposal: msg}, nil
}

// AddProposal proposes to add the client of a KeyPackage (RFC 9420 §12.1.1).
func (s *Server) AddProposal(_ context.Context, req *mlsclientpb.AddProposalRequest) (*mlsclientpb.ProposalResponse, error) {
	return s.proposeWith(req.StateId, func(*mls.Group) (*mls.Proposal, error) { return mls.NewAdd(req.KeyPackage) })
}

// UpdateProposal proposes a fresh leaf for the member (§12.1.2).
func (s *Server) UpdateProposal(_ context.Context, req *mlsclientpb.UpdateProposalRequest) (*mlsclientpb.ProposalResponse, error) {
	st, err := s.lockState(req.StateId)
	if err != nil {
		return nil, err
	}
	defer st.mu.Unlock()
	msg, err := st.propose(func() ([]byte, error) { return st.group.ProposeUpdate(nil) })
	if err != nil {
		return nil, err
	}
	return &mlsclientpb.ProposalResponse{Proposal: msg}, nil
}

// RemoveProposal proposes to remove the member whose identity is
// removed_id (§12.1.3).
func (s *Server) RemoveProposal(_ context.Context, req *mlsclientpb.RemoveProposalRequest) (*mlsclientpb.ProposalResponse, error) {
	return s.proposeWith(req.StateId, func(g *mls.Group) (*mls.Proposal, error) {
		return memberProposer{g}.remove(req.RemovedId)
	})
}

// ExternalPSKProposal proposes to inject an external PSK (§12.1.4).
func (s *Server) ExternalPSKProposal(_ context.Context, req *mlsclientpb.ExternalPSKProposalRequest) (*mlsclientpb.ProposalResponse, error) {
	return s.proposeWith(req.StateId, func(g *mls.Group) (*mls.Proposal, error) { return g.NewExternalPSK(req.PskId) })
}

// ResumptionPSKProposal proposes to inject the resumption PSK of an epoch
// of the group (§12.1.4, §8.6).
func (s *Server) ResumptionPSKProposal(_ context.Context, req *mlsclientpb.ResumptionPSKProposalRequest) (*mlsclientpb.ProposalResponse, error) {
	return s.proposeWith(req.StateId, func(g *mls.Group) (*mls.Proposal, error) { return g.NewResumptionPSK(req.EpochId) })
}

// GroupContextExtensionsProposal proposes new GroupContext extensions
// (§12.1.7).
func (s *Server) GroupContextExtensionsProposal(_ context.Context, req *mlsclientpb.GroupContextExtensionsProposalRequest) (*mlsclientpb.ProposalResponse, error) {
	return s.proposeWith(req.StateId, func(*mls.Group) (*mls.Proposal, error) {
		exts, err := extensions(req.Extensions)
		if err != nil {
			return nil, err
		}
		return mls.NewGroupContextExtensions(exts), nil
	})
}

// ReInitProposal proposes to reinitialize the group (§12.1.5).
func (s *Server) ReInitProposal(_ context.Context, req *mlsclientpb.ReInitProposalRequest) (*mlsclientpb.ProposalResponse, error) {
	return s.proposeWith(req.StateId, func(*mls.Group) (*mls.Proposal, error) {
		return reinitProposal(req.GroupId, req.CipherSuite, req.Extensions)
	})
}

// extensions converts the extensions of a request. The result is never
// nil: an empty list means no extensions.
func extensions(in []*mlsclientpb.Extension) (treekem.Extensions, error) {
	out := make(treekem.Extensions, 0, len(in))
	for _, e := range in {
		if e.ExtensionType > 0xFFFF {
			return nil, invalid(fmt.Sprintf("extension type %d is not a uint16", e.ExtensionType))
		}
		out = append(out, treekem.Extension{Type: treekem.ExtensionType(e.ExtensionType), Data: e.ExtensionData})
	}
	return out, nil
}

func reinitProposal(groupID []byte, cipherSuite uint32, exts []*mlsclientpb.Extension) (*mls.Proposal, error) {
	cs, err := suiteID(cipherSuite)
	if err != nil {
		return nil, err
	}
	es, err := extensions(exts)
	if err != nil {
		return nil, err
	}
	return &mls.Proposal{Body: &message.ReInit{GroupID: groupID, Version: message.MLS10, CipherSuite: cs, Extensions: es}}, nil
}

// A proposer makes the proposals of a ProposalDescription that depend on
// who proposes: a member, from its group, or an external sender, from the
// group's GroupInfo and tree.
type proposer interface {
	remove(identity []byte) (*mls.Proposal, error)
	externalPSK(id []byte) (*mls.Proposal, error)
	resumptionPSK(epoch uint64) (*mls.Proposal, error)
}

// describedProposal returns the proposal a ProposalDescription describes.
func describedProposal(p proposer, d *mlsclientpb.ProposalDescription) (*mls.Proposal, error) {
	switch t := string(d.ProposalType); t {
	case "add":
		return mls.NewAdd(d.KeyPackage)
	case "remove":
		return p.remove(d.RemovedId)
	case "externalPSK":
		return p.externalPSK(d.PskId)
	case "resumptionPSK":
		return p.resumptionPSK(d.EpochId)
	case "groupContextExtensions":
		exts, err := extensions(d.Extensions)
		if err != nil {
			return nil, err
		}
		return mls.NewGroupContextExtensions(exts), nil
	case "reinit":
		return reinitProposal(d.GroupId, d.CipherSuite, d.Extensions)
	default:
		return nil, invalid(fmt.Sprintf("unknown proposal type %q", t))
	}
}

// memberProposer makes the proposals of a member of g.
type memberProposer struct{ g *mls.Group }

func (m memberProposer) remove(identity []byte) (*mls.Proposal, error) {
	leaf, err := memberByIdentity(m.g, identity)
	if err != nil {
		return nil, err
	}
	return mls.NewRemove(leaf), nil
}

func (m memberProposer) externalPSK(id []byte) (*mls.Proposal, error) {
	return m.g.NewExternalPSK(id)
}

func (m memberProposer) resumptionPSK(epoch uint64) (*mls.Proposal, error) {
	return m.g.NewResumptionPSK(epoch)
}

// outsideProposer makes the proposals of an external sender of the group
// a GroupInfo describes. The group's tree (ratchetTree, or else the
// GroupInfo's ratchet_tree extension) is needed only for a Remove.
type outsideProposer struct {
	gc          *message.GroupContext
	groupInfo   []byte
	ratchetTree []byte
}

func (o outsideProposer) remove(identity []byte) (*mls.Proposal, error) {
	nodes, err := groupInfoTree(o.groupInfo, o.ratchetTree)
	if err != nil {
		return nil, err
	}
	leaf, ok := leafByIdentity(nodes, identity)
	if !ok {
		return nil, invalid(fmt.Sprintf("no member %q in the group", identity))
	}
	return mls.NewRemove(leaf), nil
}

func (o outsideProposer) externalPSK(id []byte) (*mls.Proposal, error) {
	return o.psk(keyschedule.PreSharedKeyID{Type: keyschedule.PSKTypeExternal, ID: id})
}

func (o outsideProposer) resumptionPSK(epoch uint64) (*mls.Proposal, error) {
	return o.psk(keyschedule.PreSharedKeyID{
		Type: keyschedule.PSKTypeResumption, Usage: keyschedule.UsageApplication,
		GroupID: o.gc.GroupID, Epoch: epoch,
	})
}

// psk returns a PreSharedKey proposal for id with a fresh nonce of KDF.Nh
// bytes (§8.4).
func (o outsideProposer) psk(id keyschedule.PreSharedKeyID) (*mls.Proposal, error) {
	cs, err := suite.Lookup(o.gc.CipherSuite)
	if err != nil {
		return nil, statusErr(err)
	}
	id.Nonce = make([]byte, cs.HashSize())
	rand.Read(id.Nonce)
	return &mls.Proposal{Body: &message.PreSharedKey{PSK: id}}, nil
}
