package interop

import (
	"bytes"
	"context"
	"fmt"
	"sync"

	"github.com/mlsengine/engine/internal/interop/mlsclientpb"
	"github.com/mlsengine/engine/mls"
	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/treekem"
)

// DefaultName is what the Name RPC answers by default.
const DefaultName = "mlsengine"

// Options configure a Server.
type Options struct {
	// Name is what the Name RPC answers (the runner labels results with
	// it); "" means DefaultName.
	Name string
	// MaxHandles bounds the live objects (states, transactions,
	// reinitializations, signers) the server keeps; when it is reached,
	// the least recently used one is dropped. 0 means DefaultMaxHandles.
	MaxHandles int
}

// Server implements the MLSClient service on top of package mls. It is
// safe for concurrent use: the table of objects is locked, and each object
// serializes the RPCs on it.
type Server struct {
	name    string
	objects *table
}

// Every RPC is implemented: the generated code is made without the
// embedded "unimplemented" server, so a missing method does not compile.
var _ mlsclientpb.MLSClientServer = (*Server)(nil)

// NewServer returns a Server with no objects.
func NewServer(opts Options) *Server {
	if opts.MaxHandles <= 0 {
		opts.MaxHandles = DefaultMaxHandles
	}
	if opts.Name == "" {
		opts.Name = DefaultName
	}
	return &Server{name: opts.Name, objects: newTable(opts.MaxHandles)}
}

// member is one client identity as the harness sees it: the identity,
// its signature key in one suite, whether it sends handshake messages
// encrypted, and the external PSKs it knows. States, transactions and
// reinitializations each hold one; objects derived from one another (a
// transaction and the state it joins, a group and its branch) share the
// PSK store, as one client's would.
type member struct {
	suite    suite.ID
	identity []byte
	signer   suite.Signer
	encrypt  bool
	psks     *pskStore
}

// newMember returns a member of the given identity with a fresh signature
// key in cs, and the private key (for the RPCs that return it; a secret).
func newMember(cs suite.ID, identity []byte, psks *pskStore) (member, []byte, error) {
	s, err := suite.Lookup(cs)
	if err != nil {
		return member{}, nil, statusErr(err)
	}
	priv, _, err := s.GenerateSignatureKey(nil)
	if err != nil {
		return member{}, nil, statusErr(err)
	}
	signer, err := s.NewSigner(priv)
	if err != nil {
		clear(priv)
		return member{}, nil, statusErr(err)
	}
	if psks == nil {
		psks = newPSKStore()
	}
	return member{suite: cs, identity: bytes.Clone(identity), signer: signer, psks: psks}, priv, nil
}

// requestMember returns a member of the identity with a fresh signature
// key in the request's suite v.
func requestMember(v uint32, identity []byte) (member, error) {
	cs, err := suiteID(v)
	if err != nil {
		return member{}, err
	}
	m, sigPriv, err := newMember(cs, identity, nil)
	clear(sigPriv)
	return m, err
}

// config is the one place the server builds an mls.Config: every group,
// KeyPackage and proposal of the server uses the Config of its member.
//
// Authorization: the harness's scenarios have clients enter groups on their
// own, which the library's default Policy refuses (it admits only a
// member's resync with its own key): external joins of new clients
// (external_join), resyncs of an identity with a new signature key
// (removing_prior) and Add proposals of new_member_proposal senders
// (joiner_signed_add). The runner hands out every GroupInfo, so the server
// admits every client that has one: Policy.Admit is mls.AdmitAll, here
// and nowhere else. Proposals of external senders need nothing: the
// library accepts those listed in the group's external_senders extension,
// whose credentials its Authentication Service validated.
func config(m member) mls.Config {
	return mls.Config{
		Suite:            m.suite,
		Signer:           m.signer,
		Credential:       treekem.BasicCredential(m.identity),
		EncryptHandshake: m.encrypt,
		ExternalPSK:      m.psks.secret,
		Policy:           mls.Policy{Admit: mls.AdmitAll},
	}
}

// pskStore holds the external PSKs a client knows (StorePSK).
type pskStore struct {
	mu   sync.Mutex
	keys map[string][]byte
}

func newPSKStore() *pskStore { return &pskStore{keys: make(map[string][]byte)} }

func (p *pskStore) put(id, secret []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys[string(id)] = bytes.Clone(secret)
}

// secret implements mls.Config.ExternalPSK.
func (p *pskStore) secret(id []byte) ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	k, ok := p.keys[string(id)]
	if !ok {
		return nil, mls.ErrPSKNotFound
	}
	return bytes.Clone(k), nil
}

// Name implements the Name RPC.
func (s *Server) Name(context.Context, *mlsclientpb.NameRequest) (*mlsclientpb.NameResponse, error) {
	return &mlsclientpb.NameResponse{Name: s.name}, nil
}

// SupportedCiphersuites lists every suite of package suite.
func (s *Server) SupportedCiphersuites(context.Context, *mlsclientpb.SupportedCiphersuitesRequest) (*mlsclientpb.SupportedCiphersuitesResponse, error) {
	var ids []uint32
	for _, id := range suite.IDs() {
		ids = append(ids, uint32(id))
	}
	return &mlsclientpb.SupportedCiphersuitesResponse{Ciphersuites: ids}, nil
}

// Free releases the object under the id: a state, or any other id the
// server handed out.
func (s *Server) Free(_ context.Context, req *mlsclientpb.FreeRequest) (*mlsclientpb.FreeResponse, error) {
	if !s.objects.remove(req.StateId) {
		return nil, notFound(fmt.Sprintf("no object with id %d", req.StateId))
	}
	return &mlsclientpb.FreeResponse{}, nil
}

// StorePSK stores an external PSK with the state or transaction.
func (s *Server) StorePSK(_ context.Context, req *mlsclientpb.StorePSKRequest) (*mlsclientpb.StorePSKResponse, error) {
	obj, ok := s.objects.get(req.StateOrTransactionId)
	var psks *pskStore
	switch o := obj.(type) {
	case *state:
		psks = o.member.psks
	case *transaction:
		psks = o.member.psks
	}
	if !ok || psks == nil {
		return nil, notFound(fmt.Sprintf("no state or transaction with id %d", req.StateOrTransactionId))
	}
	psks.put(req.PskId, req.PskSecret)
	return &mlsclientpb.StorePSKResponse{}, nil
}
