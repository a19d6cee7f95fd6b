package interop

import (
	"bytes"
	"context"
	"fmt"
	"sync"

	"github.com/mlsengine/engine/internal/interop/mlsclientpb"
	"github.com/mlsengine/engine/mls"
	"github.com/mlsengine/engine/mls/keyschedule"
	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/mls/wire"
	"github.com/mlsengine/engine/treekem"
)

// transaction is a KeyPackage waiting for its Welcome: what a transaction
// id names. Joining uses it up (RFC 9420 §16.8: a KeyPackage is used once).
type transaction struct {
	mu     sync.Mutex
	member member
	kp     *mls.KeyPackagePrivate
	used   bool
}

// suiteID checks a cipher suite of a request.
func suiteID(v uint32) (suite.ID, error) {
	if v > 0xFFFF {
		return 0, invalid(fmt.Sprintf("cipher suite %d is not a uint16", v))
	}
	return suite.ID(v), nil
}

// CreateGroup creates a group whose only member has a fresh signature key
// and a basic credential with the identity.
func (s *Server) CreateGroup(_ context.Context, req *mlsclientpb.CreateGroupRequest) (*mlsclientpb.CreateGroupResponse, error) {
	m, err := requestMember(req.CipherSuite, req.Identity)
	if err != nil {
		return nil, err
	}
	m.encrypt = req.EncryptHandshake
	g, err := mls.NewGroup(config(m), &mls.GroupOptions{GroupID: req.GroupId})
	if err != nil {
		return nil, statusErr(err)
	}
	return &mlsclientpb.CreateGroupResponse{StateId: s.addState(m, g)}, nil
}

// CreateKeyPackage creates a KeyPackage for a new client of the identity,
// kept under a transaction id until JoinGroup or HandleBranch uses it.
func (s *Server) CreateKeyPackage(_ context.Context, req *mlsclientpb.CreateKeyPackageRequest) (*mlsclientpb.CreateKeyPackageResponse, error) {
	cs, err := suiteID(req.CipherSuite)
	if err != nil {
		return nil, err
	}
	tx, err := s.newTransaction(cs, req.Identity)
	if err != nil {
		return nil, err
	}
	return &mlsclientpb.CreateKeyPackageResponse{
		TransactionId:  tx.id,
		KeyPackage:     tx.keyPackage,
		InitPriv:       tx.initPriv,
		EncryptionPriv: tx.encryptionPriv,
		SignaturePriv:  tx.signaturePriv,
	}, nil
}

// newTx is a new transaction, with what the RPCs that make one return.
type newTx struct {
	id                                      uint32
	member                                  member
	keyPackage                              []byte // an MLSMessage
	initPriv, encryptionPriv, signaturePriv []byte
}

// newTransaction creates a KeyPackage in cs for a new client of the
// identity and keeps it under a new transaction id.
func (s *Server) newTransaction(cs suite.ID, identity []byte) (*newTx, error) {
	m, sigPriv, err := newMember(cs, identity, nil)
	if err != nil {
		return nil, err
	}
	kp, priv, err := mls.NewKeyPackage(config(m), nil)
	if err != nil {
		return nil, statusErr(err)
	}
	return &newTx{
		id:             s.objects.add(&transaction{member: m, kp: priv}),
		member:         m,
		keyPackage:     kp,
		initPriv:       bytes.Clone(priv.InitKey),
		encryptionPriv: bytes.Clone(priv.EncryptionKey),
		signaturePriv:  sigPriv,
	}, nil
}

// join joins a group with the transaction's KeyPackage and uses the
// transaction up. The new state's member is the transaction's as
// withMember adjusts it (the wire format, the PSKs); resumption, if set,
// is the group whose resumption PSK the Welcome may use (a branch's
// parent).
func (s *Server) join(txID uint32, welcome []byte, ratchetTree []byte, withMember func(member) member, resumption *mls.Group) (uint32, *mls.Group, error) {
	tx, err := lookup[*transaction](s.objects, txID, "transaction")
	if err != nil {
		return 0, nil, err
	}
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.used {
		return 0, nil, failedPrecondition(fmt.Sprintf("transaction %d was used", txID))
	}
	m := withMember(tx.member)
	opts := &mls.JoinOptions{RatchetTree: ratchetTree}
	if resumption != nil {
		opts.Resumption = []*mls.Group{resumption}
	}
	g, err := mls.Join(config(m), welcome, tx.kp, opts)
	if err != nil {
		return 0, nil, statusErr(err)
	}
	tx.used = true
	tx.kp.Wipe()
	s.objects.remove(txID)
	return s.addState(m, g), g, nil
}

// JoinGroup joins a group with a Welcome for the transaction's KeyPackage.
func (s *Server) JoinGroup(_ context.Context, req *mlsclientpb.JoinGroupRequest) (*mlsclientpb.JoinGroupResponse, error) {
	withOptions := func(m member) member {
		m.encrypt = req.EncryptHandshake
		return m
	}
	id, g, err := s.join(req.TransactionId, req.Welcome, req.RatchetTree, withOptions, nil)
	if err != nil {
		return nil, err
	}
	return &mlsclientpb.JoinGroupResponse{StateId: id, EpochAuthenticator: g.EpochAuthenticator()}, nil
}

// ExternalJoin joins a group by external commit (RFC 9420 §12.4.3.2) as a
// new client of the identity; with remove_prior, the commit also removes
// the identity's earlier leaf (a resync).
func (s *Server) ExternalJoin(_ context.Context, req *mlsclientpb.ExternalJoinRequest) (*mlsclientpb.ExternalJoinResponse, error) {
	gi, err := mls.ParseGroupInfo(req.GroupInfo)
	if err != nil {
		return nil, statusErr(err)
	}
	m, sigPriv, err := newMember(gi.GroupContext.CipherSuite, req.Identity, nil)
	if err != nil {
		return nil, err
	}
	clear(sigPriv)
	m.encrypt = req.EncryptHandshake
	opts := &mls.ExternalJoinOptions{JoinOptions: mls.JoinOptions{RatchetTree: req.RatchetTree}}
	for _, psk := range req.Psks {
		m.psks.put(psk.PskId, psk.PskSecret)
		opts.PSKs = append(opts.PSKs, keyschedule.PreSharedKeyID{Type: keyschedule.PSKTypeExternal, ID: psk.PskId})
	}
	if req.RemovePrior {
		nodes, err := groupInfoTree(req.GroupInfo, req.RatchetTree)
		if err != nil {
			return nil, err
		}
		leaf, ok := leafByIdentity(nodes, req.Identity)
		if !ok {
			return nil, invalid(fmt.Sprintf("remove_prior: no member %q in the group", req.Identity))
		}
		opts.Remove = &leaf
	}
	g, commit, err := mls.JoinExternal(config(m), req.GroupInfo, opts)
	if err != nil {
		return nil, statusErr(err)
	}
	return &mlsclientpb.ExternalJoinResponse{
		StateId:            s.addState(m, g),
		Commit:             commit,
		EpochAuthenticator: g.EpochAuthenticator(),
	}, nil
}

// NewMemberAddProposal creates a KeyPackage for a new client of the
// identity and the client's proposal to add itself (RFC 9420 §12.1.8,
// new_member_proposal); the KeyPackage waits for its Welcome under the
// transaction id.
func (s *Server) NewMemberAddProposal(_ context.Context, req *mlsclientpb.NewMemberAddProposalRequest) (*mlsclientpb.NewMemberAddProposalResponse, error) {
	gi, err := mls.ParseGroupInfo(req.GroupInfo)
	if err != nil {
		return nil, statusErr(err)
	}
	tx, err := s.newTransaction(gi.GroupContext.CipherSuite, req.Identity)
	if err != nil {
		return nil, err
	}
	proposal, err := mls.NewMemberProposal(config(tx.member), req.GroupInfo, tx.keyPackage, nil)
	if err != nil {
		s.objects.remove(tx.id)
		return nil, statusErr(err)
	}
	return &mlsclientpb.NewMemberAddProposalResponse{
		TransactionId:  tx.id,
		Proposal:       proposal,
		InitPriv:       tx.initPriv,
		EncryptionPriv: tx.encryptionPriv,
		SignaturePriv:  tx.signaturePriv,
	}, nil
}

// groupInfoTree returns the ratchet tree of a group: ratchetTree if it is
// given, else the one in the GroupInfo's ratchet_tree extension.
func groupInfoTree(groupInfo, ratchetTree []byte) (treekem.NodeList, error) {
	var nodes treekem.NodeList
	if len(ratchetTree) > 0 {
		if err := wire.Unmarshal(ratchetTree, &nodes); err != nil {
			return nil, invalid("ratchet_tree: " + err.Error())
		}
		return nodes, nil
	}
	gi, err := mls.ParseGroupInfo(groupInfo)
	if err != nil {
		return nil, statusErr(err)
	}
	nodes, ok, err := gi.RatchetTree()
	if err != nil {
		return nil, invalid("the GroupInfo's ratchet_tree extension: " + err.Error())
	}
	if !ok {
		return nil, invalid("no ratchet tree: neither ratchet_tree nor a ratchet_tree extension in the GroupInfo")
	}
	return nodes, nil
}

// leafByIdentity returns the first leaf of the tree whose basic credential
// carries the identity.
func leafByIdentity(nodes treekem.NodeList, identity []byte) (treekem.LeafIndex, bool) {
	for i := 0; i < len(nodes); i += 2 { // leaves are the even nodes (§4.1)
		if n := nodes[i]; n != nil && n.Leaf != nil && hasIdentity(&n.Leaf.Credential, identity) {
			return treekem.LeafIndex(i / 2), true
		}
	}
	return 0, false
}

// memberByIdentity returns the first member of the group whose credential
// presents the identity.
func memberByIdentity(g *mls.Group, identity []byte) (treekem.LeafIndex, error) {
	leaves := g.FindIdentity(identity)
	if len(leaves) == 0 {
		return 0, invalid(fmt.Sprintf("no member %q in the group", identity))
	}
	return leaves[0], nil
}

// hasIdentity reports whether c is a basic credential of the identity: the
// credentials this server makes, and those the harness's identities name
// (what mls.BasicAuthentication takes as the identity).
func hasIdentity(c *treekem.Credential, identity []byte) bool {
	return c.Type == treekem.CredentialBasic && bytes.Equal(c.Identity, identity)
}
