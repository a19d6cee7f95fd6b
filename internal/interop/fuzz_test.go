package interop_test

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/mlsengine/engine/internal/interop"
	pb "github.com/mlsengine/engine/internal/interop/mlsclientpb"
)

// FuzzRequests sends arbitrary bytes, starting from real messages, in the
// fields of the RPCs that decode what the network sends (messages, trees,
// extensions, identities) to a server holding a group of two. No input
// may make an RPC panic or fail with a code other than those of bad input
// (Internal is a bug of the library, Unknown an error the server does not
// map).
func FuzzRequests(f *testing.F) {
	s := interop.NewServer(interop.Options{})
	p := newPair(f, s, 1, false)
	seeds := [][]byte{nil, {0}}
	gi, err := s.GroupInfo(f.Context(), &pb.GroupInfoRequest{StateId: p.alice, ExternalTree: true})
	if err != nil {
		f.Fatal(err)
	}
	kp, err := s.CreateKeyPackage(f.Context(), &pb.CreateKeyPackageRequest{CipherSuite: 1, Identity: []byte("carol")})
	if err != nil {
		f.Fatal(err)
	}
	other := newPair(f, interop.NewServer(interop.Options{}), 1, false)
	ct, err := other.s.Protect(f.Context(), &pb.ProtectRequest{StateId: other.alice, Plaintext: []byte("x")})
	if err != nil {
		f.Fatal(err)
	}
	update, err := other.s.UpdateProposal(f.Context(), &pb.UpdateProposalRequest{StateId: other.alice})
	if err != nil {
		f.Fatal(err)
	}
	seeds = append(seeds, gi.GroupInfo, gi.RatchetTree, kp.KeyPackage, update.Proposal, ct.Ciphertext)
	sg, err := s.CreateExternalSigner(f.Context(), &pb.CreateExternalSignerRequest{CipherSuite: 1, Identity: []byte("ds")})
	if err != nil {
		f.Fatal(err)
	}
	seeds = append(seeds, sg.ExternalSender)
	for rpc := range len(requests) {
		for _, seed := range seeds {
			f.Add(uint8(rpc), seed)
		}
	}
	f.Fuzz(func(t *testing.T, rpc uint8, data []byte) {
		r := &request{s: s, p: p, signer: sg.SignerId, data: data}
		err := requests[int(rpc)%len(requests)](r)
		switch code := status.Code(err); code {
		case codes.OK, codes.InvalidArgument, codes.FailedPrecondition, codes.NotFound, codes.Unimplemented, codes.PermissionDenied:
		default:
			t.Fatalf("rpc %d: %v", rpc, err)
		}
	})
}

// request is the context of one fuzzed RPC.
type request struct {
	s      *interop.Server
	p      *pair
	signer uint32
	data   []byte
}

var requests = []func(r *request) error{
	func(r *request) error {
		_, err := r.s.Unprotect(ctx, &pb.UnprotectRequest{StateId: r.p.bob, Ciphertext: r.data})
		return err
	},
	func(r *request) error {
		_, err := r.s.HandleCommit(ctx, &pb.HandleCommitRequest{StateId: r.p.bob, Commit: r.data})
		return err
	},
	func(r *request) error {
		_, err := r.s.HandleCommit(ctx, &pb.HandleCommitRequest{StateId: r.p.bob, Proposal: [][]byte{r.data}})
		return err
	},
	func(r *request) error {
		_, err := r.s.Commit(ctx, &pb.CommitRequest{StateId: r.p.alice, ByReference: [][]byte{r.data}})
		return err
	},
	func(r *request) error {
		kp, err := r.s.CreateKeyPackage(ctx, &pb.CreateKeyPackageRequest{CipherSuite: 1, Identity: []byte("dave")})
		if err != nil {
			return err
		}
		_, err = r.s.JoinGroup(ctx, &pb.JoinGroupRequest{TransactionId: kp.TransactionId, Welcome: r.data})
		return err
	},
	func(r *request) error {
		kp, err := r.s.CreateKeyPackage(ctx, &pb.CreateKeyPackageRequest{CipherSuite: 1, Identity: []byte("bob")})
		if err != nil {
			return err
		}
		_, err = r.s.HandleBranch(ctx, &pb.HandleBranchRequest{StateId: r.p.bob, TransactionId: kp.TransactionId, Welcome: r.data, RatchetTree: r.data})
		return err
	},
	func(r *request) error {
		_, err := r.s.ExternalJoin(ctx, &pb.ExternalJoinRequest{GroupInfo: r.data, Identity: []byte("alice"), RemovePrior: true})
		return err
	},
	func(r *request) error {
		gi, err := r.s.GroupInfo(ctx, &pb.GroupInfoRequest{StateId: r.p.alice, ExternalTree: true})
		if err != nil {
			return err
		}
		_, err = r.s.ExternalJoin(ctx, &pb.ExternalJoinRequest{GroupInfo: gi.GroupInfo, RatchetTree: r.data, Identity: []byte("erin")})
		return err
	},
	func(r *request) error {
		_, err := r.s.AddProposal(ctx, &pb.AddProposalRequest{StateId: r.p.alice, KeyPackage: r.data})
		return err
	},
	func(r *request) error {
		_, err := r.s.NewMemberAddProposal(ctx, &pb.NewMemberAddProposalRequest{GroupInfo: r.data, Identity: []byte("frank")})
		return err
	},
	func(r *request) error {
		_, err := r.s.AddExternalSigner(ctx, &pb.AddExternalSignerRequest{StateId: r.p.alice, ExternalSender: r.data})
		return err
	},
	func(r *request) error {
		_, err := r.s.ExternalSignerProposal(ctx, &pb.ExternalSignerProposalRequest{SignerId: r.signer, GroupInfo: r.data, RatchetTree: r.data,
			Description: &pb.ProposalDescription{ProposalType: []byte("remove"), RemovedId: []byte("bob")}})
		return err
	},
	func(r *request) error {
		ext := &pb.Extension{ExtensionType: 5, ExtensionData: r.data}
		_, err := r.s.GroupContextExtensionsProposal(ctx, &pb.GroupContextExtensionsProposalRequest{StateId: r.p.alice, Extensions: []*pb.Extension{ext}})
		return err
	},
	func(r *request) error {
		_, err := r.s.CreateBranch(ctx, &pb.CreateBranchRequest{StateId: r.p.alice, KeyPackages: [][]byte{r.data}})
		return err
	},
}
