package interop

import (
	"context"
	"fmt"
	"sync"

	"github.com/mlsengine/engine/internal/interop/mlsclientpb"
	"github.com/mlsengine/engine/mls"
)

// Reinitialization (RFC 9420 §11.2) and branching (§11.3): groups linked to
// an existing one by a resumption PSK.

// reinit is a member's reinitialization in progress, from the commit of the
// ReInit to its Welcome: what a reinit id names. It holds the closed group
// and the member's KeyPackage for the new group.
type reinit struct {
	mu     sync.Mutex
	oldID  uint32
	old    *state
	member member // of the new group: a fresh signature key in its suite
	kp     *mls.KeyPackagePrivate
	used   bool
}

// startReInit starts the reinitialization of st's group, which a ReInit
// commit just closed: a KeyPackage for the new group, in the ReInit's suite,
// under a new reinit id. st is locked.
func (s *Server) startReInit(st *state, stateID uint32) (*mlsclientpb.HandleReInitCommitResponse, error) {
	ri, ok := st.group.ReInit()
	if !ok {
		return nil, failedPrecondition("the group was not reinitialized")
	}
	m, sigPriv, err := newMember(ri.CipherSuite, st.member.identity, st.member.psks)
	if err != nil {
		return nil, err
	}
	clear(sigPriv)
	m.encrypt = st.member.encrypt
	kp, priv, err := mls.NewKeyPackage(config(m), nil)
	if err != nil {
		return nil, statusErr(err)
	}
	id := s.objects.add(&reinit{oldID: stateID, old: st, member: m, kp: priv})
	return &mlsclientpb.HandleReInitCommitResponse{ReinitId: id, KeyPackage: kp, EpochAuthenticator: st.group.EpochAuthenticator()}, nil
}

// withReInit runs f on the reinitialization under id, with the old state
// locked. If f succeeds, the reinitialization is finished: its id and the
// old group's state id are released, since the old group is closed (§11.2:
// it "MUST NOT" be used to send anymore) and the runner holds only the new
// state id from then on.
func (s *Server) withReInit(id uint32, f func(ri *reinit) error) error {
	ri, err := lookup[*reinit](s.objects, id, "reinit")
	if err != nil {
		return err
	}
	ri.mu.Lock()
	defer ri.mu.Unlock()
	if ri.used {
		return failedPrecondition(fmt.Sprintf("reinit %d is finished", id))
	}
	ri.old.mu.Lock()
	err = f(ri)
	ri.old.mu.Unlock()
	if err != nil {
		return err
	}
	ri.used = true
	ri.kp.Wipe()
	s.objects.remove(id)
	s.objects.remove(ri.oldID)
	return nil
}

// ReInitWelcome creates the new group of a reinitialization, adding the
// other members with their KeyPackages, applies its first commit and
// returns the Welcome.
func (s *Server) ReInitWelcome(_ context.Context, req *mlsclientpb.ReInitWelcomeRequest) (*mlsclientpb.CreateSubgroupResponse, error) {
	var resp *mlsclientpb.CreateSubgroupResponse
	err := s.withReInit(req.ReinitId, func(ri *reinit) error {
		opts := &mls.CommitOptions{OmitPath: !req.ForcePath, OutOfBandTree: req.ExternalTree}
		g, pc, err := ri.old.group.Reinitialize(config(ri.member), req.KeyPackage, opts)
		if err != nil {
			return statusErr(err)
		}
		resp, err = s.startSubgroup(ri.member, g, pc, req.ExternalTree)
		return err
	})
	return resp, err
}

// HandleReInitWelcome joins the new group of a reinitialization.
func (s *Server) HandleReInitWelcome(_ context.Context, req *mlsclientpb.HandleReInitWelcomeRequest) (*mlsclientpb.JoinGroupResponse, error) {
	var resp *mlsclientpb.JoinGroupResponse
	err := s.withReInit(req.ReinitId, func(ri *reinit) error {
		opts := &mls.JoinOptions{RatchetTree: req.RatchetTree, Resumption: []*mls.Group{ri.old.group}}
		g, err := mls.Join(config(ri.member), req.Welcome, ri.kp, opts)
		if err != nil {
			return statusErr(err)
		}
		resp = &mlsclientpb.JoinGroupResponse{StateId: s.addState(ri.member, g), EpochAuthenticator: g.EpochAuthenticator()}
		return nil
	})
	return resp, err
}

// startSubgroup applies the first commit of a new group (of a
// reinitialization or a branch) and stores the group as a new state.
func (s *Server) startSubgroup(m member, g *mls.Group, pc *mls.PendingCommit, externalTree bool) (*mlsclientpb.CreateSubgroupResponse, error) {
	if err := g.Apply(pc); err != nil {
		return nil, statusErr(err)
	}
	resp := &mlsclientpb.CreateSubgroupResponse{Welcome: pc.Welcome, EpochAuthenticator: g.EpochAuthenticator()}
	if externalTree {
		var err error
		if resp.RatchetTree, err = g.RatchetTree(); err != nil {
			return nil, statusErr(err)
		}
	}
	resp.StateId = s.addState(m, g)
	return resp, nil
}

// CreateBranch creates a subgroup of the state's group with the members of
// the KeyPackages, applies its first commit and returns the Welcome. The
// subgroup has exactly the extensions of the request.
func (s *Server) CreateBranch(_ context.Context, req *mlsclientpb.CreateBranchRequest) (*mlsclientpb.CreateSubgroupResponse, error) {
	st, err := s.lockState(req.StateId)
	if err != nil {
		return nil, err
	}
	defer st.mu.Unlock()
	exts, err := extensions(req.Extensions)
	if err != nil {
		return nil, err
	}
	opts := &mls.BranchOptions{
		GroupID:       req.GroupId,
		Extensions:    exts,
		CommitOptions: mls.CommitOptions{OmitPath: !req.ForcePath, OutOfBandTree: req.ExternalTree},
	}
	g, pc, err := st.group.Branch(config(st.member), req.KeyPackages, opts)
	if err != nil {
		return nil, statusErr(err)
	}
	return s.startSubgroup(st.member, g, pc, req.ExternalTree)
}

// HandleBranch joins a subgroup of the state's group with the Welcome for
// the transaction's KeyPackage.
func (s *Server) HandleBranch(_ context.Context, req *mlsclientpb.HandleBranchRequest) (*mlsclientpb.HandleBranchResponse, error) {
	st, err := s.lockState(req.StateId)
	if err != nil {
		return nil, err
	}
	defer st.mu.Unlock()
	asParent := func(m member) member {
		m.encrypt = st.member.encrypt
		m.psks = st.member.psks
		return m
	}
	id, g, err := s.join(req.TransactionId, req.Welcome, req.RatchetTree, asParent, st.group)
	if err != nil {
		return nil, err
	}
	return &mlsclientpb.HandleBranchResponse{StateId: id, EpochAuthenticator: g.EpochAuthenticator()}, nil
}
