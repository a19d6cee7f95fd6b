package interop_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/mlsengine/engine/internal/interop"
	pb "github.com/mlsengine/engine/internal/interop/mlsclientpb"
	"github.com/mlsengine/engine/mls/suite"
)

var ctx = context.Background()

// pair is a group of two members, alice and bob, on one server.
type pair struct {
	s          *interop.Server
	alice, bob uint32
	suite      uint32
}

// newPair has alice create a group and add bob by a commit of an Add by
// value, which bob joins with the Welcome.
func newPair(t testing.TB, s *interop.Server, cs uint32, encrypt bool) *pair {
	t.Helper()
	g, err := s.CreateGroup(ctx, &pb.CreateGroupRequest{GroupId: []byte("group"), CipherSuite: cs, EncryptHandshake: encrypt, Identity: []byte("alice")})
	if err != nil {
		t.Fatal(err)
	}
	kp, err := s.CreateKeyPackage(ctx, &pb.CreateKeyPackageRequest{CipherSuite: cs, Identity: []byte("bob")})
	if err != nil {
		t.Fatal(err)
	}
	add := &pb.ProposalDescription{ProposalType: []byte("add"), KeyPackage: kp.KeyPackage}
	commit, err := s.Commit(ctx, &pb.CommitRequest{StateId: g.StateId, ByValue: []*pb.ProposalDescription{add}})
	if err != nil {
		t.Fatal(err)
	}
	applied, err := s.HandlePendingCommit(ctx, &pb.HandlePendingCommitRequest{StateId: g.StateId})
	if err != nil {
		t.Fatal(err)
	}
	joined, err := s.JoinGroup(ctx, &pb.JoinGroupRequest{TransactionId: kp.TransactionId, Welcome: commit.Welcome, EncryptHandshake: encrypt, Identity: []byte("bob")})
	if err != nil {
		t.Fatal(err)
	}
	if applied.StateId != g.StateId || !bytes.Equal(applied.EpochAuthenticator, joined.EpochAuthenticator) {
		t.Fatal("alice and bob disagree after the join")
	}
	return &pair{s: s, alice: g.StateId, bob: joined.StateId, suite: cs}
}

// TestExportAndStateAuth checks the RPCs the runner never calls: both
// members export the same secret and report the same epoch authenticator.
func TestExportAndStateAuth(t *testing.T) {
	p := newPair(t, interop.NewServer(interop.Options{}), 1, false)
	var exports, auths [][]byte
	for _, id := range []uint32{p.alice, p.bob} {
		e, err := p.s.Export(ctx, &pb.ExportRequest{StateId: id, Label: "test", Context: []byte("ctx"), KeyLength: 42})
		if err != nil {
			t.Fatal(err)
		}
		a, err := p.s.StateAuth(ctx, &pb.StateAuthRequest{StateId: id})
		if err != nil {
			t.Fatal(err)
		}
		exports, auths = append(exports, e.ExportedSecret), append(auths, a.StateAuthSecret)
	}
	if len(exports[0]) != 42 || !bytes.Equal(exports[0], exports[1]) {
		t.Errorf("exports %x, %x", exports[0], exports[1])
	}
	if len(auths[0]) == 0 || !bytes.Equal(auths[0], auths[1]) {
		t.Errorf("epoch authenticators %x, %x", auths[0], auths[1])
	}
}

// TestSupportedCiphersuites checks that every suite of the library is
// listed.
func TestSupportedCiphersuites(t *testing.T) {
	r, err := interop.NewServer(interop.Options{}).SupportedCiphersuites(ctx, &pb.SupportedCiphersuitesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var want []uint32
	for _, id := range suite.IDs() {
		want = append(want, uint32(id))
	}
	if !slices.Equal(r.Ciphersuites, want) {
		t.Errorf("suites %v, want %v", r.Ciphersuites, want)
	}
}

// TestFree checks that Free releases a state, and that a freed or unknown
// id is NotFound.
func TestFree(t *testing.T) {
	p := newPair(t, interop.NewServer(interop.Options{}), 1, false)
	if _, err := p.s.Free(ctx, &pb.FreeRequest{StateId: p.bob}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "Free again", codes.NotFound, func() error {
		_, err := p.s.Free(ctx, &pb.FreeRequest{StateId: p.bob})
		return err
	})
	wantCode(t, "Protect on a freed state", codes.NotFound, func() error {
		_, err := p.s.Protect(ctx, &pb.ProtectRequest{StateId: p.bob, Plaintext: []byte("x")})
		return err
	})
	wantCode(t, "Free of id 0", codes.NotFound, func() error {
		_, err := p.s.Free(ctx, &pb.FreeRequest{})
		return err
	})
	if _, err := p.s.Protect(ctx, &pb.ProtectRequest{StateId: p.alice, Plaintext: []byte("x")}); err != nil {
		t.Errorf("alice's state after bob's was freed: %v", err)
	}
}

// TestMaxHandles checks that the server keeps at most MaxHandles objects,
// dropping the least recently used.
func TestMaxHandles(t *testing.T) {
	s := interop.NewServer(interop.Options{MaxHandles: 2})
	var ids []uint32
	for range 3 {
		g, err := s.CreateGroup(ctx, &pb.CreateGroupRequest{CipherSuite: 1, Identity: []byte("alice")})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, g.StateId)
	}
	wantCode(t, "the oldest state", codes.NotFound, func() error {
		_, err := s.StateAuth(ctx, &pb.StateAuthRequest{StateId: ids[0]})
		return err
	})
	for _, id := range ids[1:] {
		if _, err := s.StateAuth(ctx, &pb.StateAuthRequest{StateId: id}); err != nil {
			t.Errorf("state %d: %v", id, err)
		}
	}
}

// TestTransactionUsedOnce checks that a KeyPackage joins once (RFC 9420
// §16.8).
func TestTransactionUsedOnce(t *testing.T) {
	s := interop.NewServer(interop.Options{})
	g, _ := s.CreateGroup(ctx, &pb.CreateGroupRequest{CipherSuite: 1, Identity: []byte("alice")})
	kp, _ := s.CreateKeyPackage(ctx, &pb.CreateKeyPackageRequest{CipherSuite: 1, Identity: []byte("bob")})
	add := &pb.ProposalDescription{ProposalType: []byte("add"), KeyPackage: kp.KeyPackage}
	commit, err := s.Commit(ctx, &pb.CommitRequest{StateId: g.StateId, ByValue: []*pb.ProposalDescription{add}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.HandlePendingCommit(ctx, &pb.HandlePendingCommitRequest{StateId: g.StateId}); err != nil {
		t.Fatal(err)
	}
	join := &pb.JoinGroupRequest{TransactionId: kp.TransactionId, Welcome: commit.Welcome}
	if _, err := s.JoinGroup(ctx, join); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "second join", codes.NotFound, func() error {
		_, err := s.JoinGroup(ctx, join)
		return err
	})
}

// TestErrorCodes checks the status codes of requests that cannot succeed.
func TestErrorCodes(t *testing.T) {
	p := newPair(t, interop.NewServer(interop.Options{}), 1, true)
	s := p.s
	ct, err := s.Protect(ctx, &pb.ProtectRequest{StateId: p.alice, Plaintext: []byte("hi")})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		code codes.Code
		call func() error
	}{
		{"unknown suite", codes.Unimplemented, func() error {
			_, err := s.CreateGroup(ctx, &pb.CreateGroupRequest{CipherSuite: 0xfffe})
			return err
		}},
		{"suite beyond uint16", codes.InvalidArgument, func() error {
			_, err := s.CreateKeyPackage(ctx, &pb.CreateKeyPackageRequest{CipherSuite: 1 << 16})
			return err
		}},
		{"own ciphertext", codes.FailedPrecondition, func() error {
			_, err := s.Unprotect(ctx, &pb.UnprotectRequest{StateId: p.alice, Ciphertext: ct.Ciphertext})
			return err
		}},
		{"garbage ciphertext", codes.InvalidArgument, func() error {
			_, err := s.Unprotect(ctx, &pb.UnprotectRequest{StateId: p.bob, Ciphertext: []byte{1, 2, 3}})
			return err
		}},
		{"no pending commit", codes.FailedPrecondition, func() error {
			_, err := s.HandlePendingCommit(ctx, &pb.HandlePendingCommitRequest{StateId: p.bob})
			return err
		}},
		{"unknown proposal type", codes.InvalidArgument, func() error {
			_, err := s.Commit(ctx, &pb.CommitRequest{StateId: p.alice, ByValue: []*pb.ProposalDescription{{ProposalType: []byte("frobnicate")}}})
			return err
		}},
		{"remove of a stranger", codes.InvalidArgument, func() error {
			_, err := s.RemoveProposal(ctx, &pb.RemoveProposalRequest{StateId: p.alice, RemovedId: []byte("mallory")})
			return err
		}},
		{"unknown external PSK", codes.FailedPrecondition, func() error {
			_, err := s.Commit(ctx, &pb.CommitRequest{StateId: p.alice, ByValue: []*pb.ProposalDescription{{ProposalType: []byte("externalPSK"), PskId: []byte("nope")}}})
			return err
		}},
		{"ReInitCommit without a ReInit", codes.FailedPrecondition, func() error {
			_, err := s.ReInitCommit(ctx, &pb.CommitRequest{StateId: p.alice})
			return err
		}},
		{"external signer not in the group", codes.FailedPrecondition, func() error {
			sg, err := s.CreateExternalSigner(ctx, &pb.CreateExternalSignerRequest{CipherSuite: 1, Identity: []byte("ds")})
			if err != nil {
				return err
			}
			gi, err := s.GroupInfo(ctx, &pb.GroupInfoRequest{StateId: p.alice})
			if err != nil {
				return err
			}
			_, err = s.ExternalSignerProposal(ctx, &pb.ExternalSignerProposalRequest{SignerId: sg.SignerId, GroupInfo: gi.GroupInfo,
				Description: &pb.ProposalDescription{ProposalType: []byte("remove"), RemovedId: []byte("bob")}})
			return err
		}},
		{"unknown state", codes.NotFound, func() error {
			_, err := s.GroupInfo(ctx, &pb.GroupInfoRequest{StateId: 1 << 30})
			return err
		}},
		{"transaction as a state", codes.NotFound, func() error {
			kp, err := s.CreateKeyPackage(ctx, &pb.CreateKeyPackageRequest{CipherSuite: 1, Identity: []byte("carol")})
			if err != nil {
				return err
			}
			_, err = s.StateAuth(ctx, &pb.StateAuthRequest{StateId: kp.TransactionId})
			return err
		}},
	} {
		wantCode(t, c.name, c.code, c.call)
	}
	// The group still works.
	ct, err = s.Protect(ctx, &pb.ProtectRequest{StateId: p.alice, Plaintext: []byte("still here")})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := s.Unprotect(ctx, &pb.UnprotectRequest{StateId: p.bob, Ciphertext: ct.Ciphertext}); err != nil || string(r.Plaintext) != "still here" {
		t.Fatalf("after the failed requests: %v", err)
	}
}

func wantCode(t *testing.T, what string, want codes.Code, call func() error) {
	t.Helper()
	err := call()
	if got := status.Code(err); got != want {
		t.Errorf("%s: %v (%v), want %v", what, got, err, want)
	}
}

// TestConcurrentRPCs runs RPCs on the same states from many goroutines
// (run with -race): each member encrypts for the other, which decrypts
// every message once, in any order.
func TestConcurrentRPCs(t *testing.T) {
	p := newPair(t, interop.NewServer(interop.Options{}), 1, false)
	const n = 50
	cts := make(chan []byte, 2*n)
	var wg sync.WaitGroup
	for _, from := range []uint32{p.alice, p.bob} {
		for range n {
			wg.Go(func() {
				r, err := p.s.Protect(ctx, &pb.ProtectRequest{StateId: from, Plaintext: []byte{byte(from)}})
				if err != nil {
					t.Error(err)
					return
				}
				cts <- r.Ciphertext
				if _, err := p.s.StateAuth(ctx, &pb.StateAuthRequest{StateId: from}); err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
	close(cts)
	got := map[byte]int{}
	var mu sync.Mutex
	for ct := range cts {
		wg.Go(func() {
			// Each member decrypts the other's messages.
			to := p.bob
			r, err := p.s.Unprotect(ctx, &pb.UnprotectRequest{StateId: to, Ciphertext: ct})
			if status.Code(err) == codes.FailedPrecondition { // bob's own
				r, err = p.s.Unprotect(ctx, &pb.UnprotectRequest{StateId: p.alice, Ciphertext: ct})
			}
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			got[r.Plaintext[0]]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if got[byte(p.alice)] != n || got[byte(p.bob)] != n {
		t.Errorf("decrypted %v, want %d from each", got, n)
	}
}

// TestListenAndServe checks the gRPC server: the service answers over the
// network with the library's errors as status codes, and cancelling the
// context stops it.
func TestListenAndServe(t *testing.T) {
	ready := make(chan net.Addr, 1)
	stop, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- interop.ListenAndServe(stop, interop.ServeConfig{Addr: "127.0.0.1:0", Server: interop.Options{Name: "test"}, Ready: func(a net.Addr) { ready <- a }})
	}()
	addr := <-ready
	conn, err := grpc.NewClient(addr.String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := pb.NewMLSClientClient(conn)
	if r, err := c.Name(ctx, &pb.NameRequest{}); err != nil || r.Name != "test" {
		t.Fatalf("Name: %v, %v", r, err)
	}
	wantCode(t, "CreateGroup of an unknown suite over gRPC", codes.Unimplemented, func() error {
		_, err := c.CreateGroup(ctx, &pb.CreateGroupRequest{CipherSuite: 0xfffe})
		return err
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestAdmissions checks what the server's policy admits, which the
// library's default refuses: an external join of a new client, a resync
// with a new signature key, and a new member's Add proposal, each
// committed and processed by the other members.
func TestAdmissions(t *testing.T) {
	p := newPair(t, interop.NewServer(interop.Options{}), 1, false)
	s := p.s
	groupInfo := func() []byte {
		gi, err := s.GroupInfo(ctx, &pb.GroupInfoRequest{StateId: p.alice})
		if err != nil {
			t.Fatal(err)
		}
		return gi.GroupInfo
	}
	agree := func(what string, ids []uint32, want []byte) {
		for _, id := range ids {
			a, err := s.StateAuth(ctx, &pb.StateAuthRequest{StateId: id})
			if err != nil || !bytes.Equal(a.StateAuthSecret, want) {
				t.Fatalf("%s: state %d disagrees (%v)", what, id, err)
			}
		}
	}
	members := []uint32{p.alice, p.bob}
	for _, resync := range []bool{false, true} {
		j, err := s.ExternalJoin(ctx, &pb.ExternalJoinRequest{GroupInfo: groupInfo(), Identity: []byte("carol"), RemovePrior: resync})
		if err != nil {
			t.Fatalf("external join (resync %v): %v", resync, err)
		}
		if resync {
			members = members[:2] // the old carol, removed by the commit
		}
		for _, id := range members {
			if _, err := s.HandleCommit(ctx, &pb.HandleCommitRequest{StateId: id, Commit: j.Commit}); err != nil {
				t.Fatalf("external join (resync %v) at state %d: %v", resync, id, err)
			}
		}
		members = append(members, j.StateId)
		agree("external join", members, j.EpochAuthenticator)
	}

	add, err := s.NewMemberAddProposal(ctx, &pb.NewMemberAddProposalRequest{GroupInfo: groupInfo(), Identity: []byte("dave")})
	if err != nil {
		t.Fatal(err)
	}
	commit, err := s.Commit(ctx, &pb.CommitRequest{StateId: p.alice, ByReference: [][]byte{add.Proposal}})
	if err != nil {
		t.Fatalf("committing a new member's Add: %v", err)
	}
	applied, err := s.HandlePendingCommit(ctx, &pb.HandlePendingCommitRequest{StateId: p.alice})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range members[1:] {
		if _, err := s.HandleCommit(ctx, &pb.HandleCommitRequest{StateId: id, Proposal: [][]byte{add.Proposal}, Commit: commit.Commit}); err != nil {
			t.Fatalf("new member's Add at state %d: %v", id, err)
		}
	}
	dave, err := s.JoinGroup(ctx, &pb.JoinGroupRequest{TransactionId: add.TransactionId, Welcome: commit.Welcome})
	if err != nil {
		t.Fatal(err)
	}
	agree("new member's Add", append(members, dave.StateId), applied.EpochAuthenticator)
}

// TestBranchOptions checks CreateBranch's external_tree and force_path,
// which the harness's branch config means to test but does not reach (its
// steps spell them externalTree and forcePath, and the runner reads
// external_tree and force_path): the Welcome comes without the tree, which
// the response carries, and the member joins the branch with it.
func TestBranchOptions(t *testing.T) {
	p := newPair(t, interop.NewServer(interop.Options{}), 1, false)
	s := p.s
	for _, forcePath := range []bool{false, true} {
		kp, err := s.CreateKeyPackage(ctx, &pb.CreateKeyPackageRequest{CipherSuite: 1, Identity: []byte("bob")})
		if err != nil {
			t.Fatal(err)
		}
		br, err := s.CreateBranch(ctx, &pb.CreateBranchRequest{StateId: p.alice, GroupId: []byte(fmt.Sprint("branch-", forcePath)),
			KeyPackages: [][]byte{kp.KeyPackage}, ForcePath: forcePath, ExternalTree: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(br.RatchetTree) == 0 {
			t.Fatal("no ratchet_tree with external_tree")
		}
		wantCode(t, "joining the branch without the tree", codes.InvalidArgument, func() error {
			_, err := s.HandleBranch(ctx, &pb.HandleBranchRequest{StateId: p.bob, TransactionId: kp.TransactionId, Welcome: br.Welcome})
			return err
		})
		j, err := s.HandleBranch(ctx, &pb.HandleBranchRequest{StateId: p.bob, TransactionId: kp.TransactionId, Welcome: br.Welcome, RatchetTree: br.RatchetTree})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(j.EpochAuthenticator, br.EpochAuthenticator) {
			t.Errorf("force_path %v: the branch's members disagree", forcePath)
		}
	}
}
