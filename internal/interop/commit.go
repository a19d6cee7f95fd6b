package interop

import (
	"context"

	"github.com/mlsengine/engine/internal/interop/mlsclientpb"
	"github.com/mlsengine/engine/mls"
	"github.com/mlsengine/engine/mls/message"
)

// Commit creates a commit of the proposals by_reference (MLSMessages,
// processed first unless they are the member's own) and of those
// described by_value. It carries a path only if a proposal needs one or
// force_path asks for it; with external_tree the Welcome carries no tree
// and the response does. The commit waits for HandlePendingCommit.
func (s *Server) Commit(_ context.Context, req *mlsclientpb.CommitRequest) (*mlsclientpb.CommitResponse, error) {
	st, err := s.lockState(req.StateId)
	if err != nil {
		return nil, err
	}
	defer st.mu.Unlock()
	return st.commit(req, false)
}

// ReInitCommit is Commit for a commit that covers a ReInit proposal.
func (s *Server) ReInitCommit(_ context.Context, req *mlsclientpb.CommitRequest) (*mlsclientpb.CommitResponse, error) {
	st, err := s.lockState(req.StateId)
	if err != nil {
		return nil, err
	}
	defer st.mu.Unlock()
	return st.commit(req, true)
}

func (st *state) commit(req *mlsclientpb.CommitRequest, reinit bool) (*mlsclientpb.CommitResponse, error) {
	refs, err := st.receiveProposals(req.ByReference)
	if err != nil {
		return nil, err
	}
	var byValue []*mls.Proposal
	for _, d := range req.ByValue {
		p, err := describedProposal(memberProposer{st.group}, d)
		if err != nil {
			return nil, statusErr(err)
		}
		byValue = append(byValue, p)
	}
	pc, err := st.group.Commit(&mls.CommitOptions{
		Proposals:     byValue,
		References:    refs,
		NoPending:     len(refs) == 0,
		OmitPath:      !req.ForcePath,
		OutOfBandTree: req.ExternalTree,
	})
	if err != nil {
		return nil, statusErr(err)
	}
	if reinit && !coversReInit(pc.Proposals) {
		pc.Discard()
		return nil, failedPrecondition("the commit covers no ReInit proposal")
	}
	resp := &mlsclientpb.CommitResponse{Commit: pc.Commit, Welcome: pc.Welcome}
	if req.ExternalTree {
		if resp.RatchetTree, err = pc.RatchetTree(); err != nil {
			pc.Discard()
			return nil, statusErr(err)
		}
	}
	st.pending.Discard() // an earlier commit of the epoch, never applied
	st.pending = pc
	return resp, nil
}

func coversReInit(ps []*mls.Proposal) bool {
	for _, p := range ps {
		if p.Type() == message.ProposalReInit {
			return true
		}
	}
	return false
}

// HandleCommit processes and applies another member's commit.
func (s *Server) HandleCommit(_ context.Context, req *mlsclientpb.HandleCommitRequest) (*mlsclientpb.HandleCommitResponse, error) {
	st, err := s.lockState(req.StateId)
	if err != nil {
		return nil, err
	}
	defer st.mu.Unlock()
	if err := st.handleCommit(req.Proposal, req.Commit, false); err != nil {
		return nil, err
	}
	return &mlsclientpb.HandleCommitResponse{StateId: req.StateId, EpochAuthenticator: st.group.EpochAuthenticator()}, nil
}

// HandlePendingCommit applies the member's own commit made by Commit.
func (s *Server) HandlePendingCommit(_ context.Context, req *mlsclientpb.HandlePendingCommitRequest) (*mlsclientpb.HandleCommitResponse, error) {
	st, err := s.lockState(req.StateId)
	if err != nil {
		return nil, err
	}
	defer st.mu.Unlock()
	if err := st.applyPending(false); err != nil {
		return nil, err
	}
	return &mlsclientpb.HandleCommitResponse{StateId: req.StateId, EpochAuthenticator: st.group.EpochAuthenticator()}, nil
}

// HandleReInitCommit processes and applies another member's commit of a
// ReInit, and starts the reinitialization: see startReInit.
func (s *Server) HandleReInitCommit(_ context.Context, req *mlsclientpb.HandleCommitRequest) (*mlsclientpb.HandleReInitCommitResponse, error) {
	st, err := s.lockState(req.StateId)
	if err != nil {
		return nil, err
	}
	defer st.mu.Unlock()
	if err := st.handleCommit(req.Proposal, req.Commit, true); err != nil {
		return nil, err
	}
	return s.startReInit(st, req.StateId)
}

// HandlePendingReInitCommit applies the member's own commit of a ReInit,
// made by ReInitCommit (or Commit), and starts the reinitialization: see
// startReInit.
func (s *Server) HandlePendingReInitCommit(_ context.Context, req *mlsclientpb.HandlePendingCommitRequest) (*mlsclientpb.HandleReInitCommitResponse, error) {
	st, err := s.lockState(req.StateId)
	if err != nil {
		return nil, err
	}
	defer st.mu.Unlock()
	if err := st.applyPending(true); err != nil {
		return nil, err
	}
	return s.startReInit(st, req.StateId)
}
