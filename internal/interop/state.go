package interop

import (
	"context"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/mlsengine/engine/internal/interop/mlsclientpb"
	"github.com/mlsengine/engine/mls"
	"github.com/mlsengine/engine/mls/message"
)

// state is one member's state of one group: what a state id names.
type state struct {
	mu     sync.Mutex
	member member // fixed when the state is made
	group  *mls.Group
	// pending is the commit made by Commit or ReInitCommit, until
	// HandlePendingCommit or HandlePendingReInitCommit applies it.
	pending *mls.PendingCommit
	// own maps the member's own proposals of the current epoch (the
	// MLSMessages it sent) to their references: a PrivateMessage the member
	// sent cannot be decrypted by it, so when the runner hands one back to
	// be committed by reference, it is found here.
	own map[string]message.ProposalRef
}

// addState stores a new state and returns its id.
func (s *Server) addState(m member, g *mls.Group) uint32 {
	return s.objects.add(&state{member: m, group: g})
}

// lockState returns the state under id, locked: the caller unlocks it.
func (s *Server) lockState(id uint32) (*state, error) {
	st, err := lookup[*state](s.objects, id, "state")
	if err != nil {
		return nil, err
	}
	st.mu.Lock()
	return st, nil
}

// propose sends a proposal of the member and remembers its reference.
func (st *state) propose(send func() ([]byte, error)) ([]byte, error) {
	msg, err := send()
	if err != nil {
		return nil, statusErr(err)
	}
	// Propose and ProposeUpdate append the proposal to the pending ones.
	pending := st.group.PendingProposals()
	if len(pending) == 0 {
		return nil, status.Error(codes.Internal, "interop: the proposal sent is not pending")
	}
	if st.own == nil {
		st.own = make(map[string]message.ProposalRef)
	}
	st.own[string(msg)] = pending[len(pending)-1].Ref
	return msg, nil
}

// receiveProposals processes proposals (MLSMessages) handed to the member
// to be committed by reference, and returns their references. The member's
// own proposals are already pending.
func (st *state) receiveProposals(msgs [][]byte) ([]message.ProposalRef, error) {
	var refs []message.ProposalRef
	for _, msg := range msgs {
		if ref, ok := st.own[string(msg)]; ok {
			refs = append(refs, ref)
			continue
		}
		r, err := st.group.Process(msg)
		if err != nil {
			return nil, statusErr(err)
		}
		if r.Proposal == nil {
			if r.Commit != nil {
				r.Commit.Discard()
			}
			return nil, invalid("a message given as a proposal carries " + r.ContentType.String())
		}
		refs = append(refs, r.Proposal.Ref)
	}
	return refs, nil
}

// apply applies a commit to the member's group: the epoch changes, so
// the own proposals are forgotten, and so is the pending commit, whose
// secrets are deleted if it was not the one applied (Discard is a no-op on
// an applied commit).
func (st *state) apply(c mls.Change) error {
	if err := st.group.Apply(c); err != nil {
		return statusErr(err)
	}
	st.pending.Discard()
	st.pending = nil
	st.own = nil
	return nil
}

// handleCommit processes a commit of another member, after the proposals
// it covers by reference, and applies it. With reinit, the commit must
// cover a ReInit.
func (st *state) handleCommit(proposals [][]byte, commit []byte, reinit bool) error {
	if _, err := st.receiveProposals(proposals); err != nil {
		return err
	}
	r, err := st.group.Process(commit)
	if err != nil {
		return statusErr(err)
	}
	if r.Commit == nil {
		return invalid("the commit message carries " + r.ContentType.String())
	}
	if reinit && r.Commit.ReInit == nil {
		r.Commit.Discard()
		return failedPrecondition("the commit covers no ReInit proposal")
	}
	return st.apply(r.Commit)
}

// applyPending applies the member's own pending commit. With reinit, the
// commit must cover a ReInit.
func (st *state) applyPending(reinit bool) error {
	if st.pending == nil {
		return failedPrecondition("no pending commit")
	}
	if reinit && !coversReInit(st.pending.Proposals) {
		return failedPrecondition("the pending commit covers no ReInit proposal")
	}
	return st.apply(st.pending)
}

// GroupInfo returns a signed GroupInfo of the current epoch, with the tree
// in it or, for external_tree, next to it.
func (s *Server) GroupInfo(_ context.Context, req *mlsclientpb.GroupInfoRequest) (*mlsclientpb.GroupInfoResponse, error) {
	st, err := s.lockState(req.StateId)
	if err != nil {
		return nil, err
	}
	defer st.mu.Unlock()
	gi, err := st.group.GroupInfo(&mls.GroupInfoOptions{RatchetTree: !req.ExternalTree})
	if err != nil {
		return nil, statusErr(err)
	}
	resp := &mlsclientpb.GroupInfoResponse{GroupInfo: gi}
	if req.ExternalTree {
		if resp.RatchetTree, err = st.group.RatchetTree(); err != nil {
			return nil, statusErr(err)
		}
	}
	return resp, nil
}

// StateAuth returns the epoch authenticator (RFC 9420 §8.7).
func (s *Server) StateAuth(_ context.Context, req *mlsclientpb.StateAuthRequest) (*mlsclientpb.StateAuthResponse, error) {
	st, err := s.lockState(req.StateId)
	if err != nil {
		return nil, err
	}
	defer st.mu.Unlock()
	return &mlsclientpb.StateAuthResponse{StateAuthSecret: st.group.EpochAuthenticator()}, nil
}

// Export returns MLS-Exporter(label, context, key_length) (§8.5).
func (s *Server) Export(_ context.Context, req *mlsclientpb.ExportRequest) (*mlsclientpb.ExportResponse, error) {
	st, err := s.lockState(req.StateId)
	if err != nil {
		return nil, err
	}
	defer st.mu.Unlock()
	out, err := st.group.Export(req.Label, req.Context, int(req.KeyLength))
	if err != nil {
		return nil, statusErr(err)
	}
	return &mlsclientpb.ExportResponse{ExportedSecret: out}, nil
}

// Protect encrypts application data as a PrivateMessage.
func (s *Server) Protect(_ context.Context, req *mlsclientpb.ProtectRequest) (*mlsclientpb.ProtectResponse, error) {
	st, err := s.lockState(req.StateId)
	if err != nil {
		return nil, err
	}
	defer st.mu.Unlock()
	ct, err := st.group.Encrypt(req.Plaintext, &mls.SendOptions{AuthenticatedData: req.AuthenticatedData})
	if err != nil {
		return nil, statusErr(err)
	}
	return &mlsclientpb.ProtectResponse{Ciphertext: ct}, nil
}

// Unprotect decrypts an application message.
func (s *Server) Unprotect(_ context.Context, req *mlsclientpb.UnprotectRequest) (*mlsclientpb.UnprotectResponse, error) {
	st, err := s.lockState(req.StateId)
	if err != nil {
		return nil, err
	}
	defer st.mu.Unlock()
	r, err := st.group.Process(req.Ciphertext)
	if err != nil {
		return nil, statusErr(err)
	}
	if r.ContentType != message.ContentApplication {
		if r.Commit != nil {
			r.Commit.Discard()
		}
		return nil, invalid("the ciphertext carries " + r.ContentType.String() + ", not application data")
	}
	return &mlsclientpb.UnprotectResponse{AuthenticatedData: r.AuthenticatedData, Plaintext: r.ApplicationData}, nil
}
