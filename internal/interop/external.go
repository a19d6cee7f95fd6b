package interop

import (
	"bytes"
	"context"
	"fmt"

	"github.com/mlsengine/engine/internal/interop/mlsclientpb"
	"github.com/mlsengine/engine/mls"
	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/mls/wire"
	"github.com/mlsengine/engine/treekem"
)

// External senders (RFC 9420 §12.1.8): parties outside the group, listed
// in its external_senders extension, that send proposals to it.

// externalSigner is an external sender: what a signer id names.
type externalSigner struct {
	member member
}

// CreateExternalSigner makes a signature key for an external sender of
// the identity and returns its ExternalSender entry (§12.1.8.1).
func (s *Server) CreateExternalSigner(_ context.Context, req *mlsclientpb.CreateExternalSignerRequest) (*mlsclientpb.CreateExternalSignerResponse, error) {
	m, err := requestMember(req.CipherSuite, req.Identity)
	if err != nil {
		return nil, err
	}
	es := message.ExternalSender{SignatureKey: m.signer.Public(), Credential: treekem.BasicCredential(req.Identity)}
	data, err := wire.Marshal(&es)
	if err != nil {
		return nil, statusErr(err)
	}
	return &mlsclientpb.CreateExternalSignerResponse{SignerId: s.objects.add(&externalSigner{member: m}), ExternalSender: data}, nil
}

// AddExternalSigner proposes GroupContext extensions that add the
// ExternalSender to the group's external_senders extension (§12.1.7,
// §12.1.8.1), keeping the other extensions.
func (s *Server) AddExternalSigner(_ context.Context, req *mlsclientpb.AddExternalSignerRequest) (*mlsclientpb.ProposalResponse, error) {
	var es message.ExternalSender
	if err := wire.Unmarshal(req.ExternalSender, &es); err != nil {
		return nil, invalid("external_sender: " + err.Error())
	}
	return s.proposeWith(req.StateId, func(g *mls.Group) (*mls.Proposal, error) {
		exts := g.Extensions()
		senders, _, err := message.ParseExternalSenders(exts)
		if err != nil {
			return nil, err
		}
		ext, err := append(senders, es).Extension()
		if err != nil {
			return nil, err
		}
		return mls.NewGroupContextExtensions(withExtension(exts, ext)), nil
	})
}

// withExtension returns exts with ext in place of the extension of its
// type, or added at the end.
func withExtension(exts treekem.Extensions, ext treekem.Extension) treekem.Extensions {
	for i := range exts {
		if exts[i].Type == ext.Type {
			exts[i] = ext
			return exts
		}
	}
	return append(exts, ext)
}

// ExternalSignerProposal makes the proposal the description asks for, sent
// by the external signer to the group of the GroupInfo (and tree, needed
// for a Remove when the GroupInfo does not carry it). The sender index is
// that of the signer's key in the group's external_senders extension;
// signer_index is not used, since the key determines it.
func (s *Server) ExternalSignerProposal(_ context.Context, req *mlsclientpb.ExternalSignerProposalRequest) (*mlsclientpb.ProposalResponse, error) {
	sg, err := lookup[*externalSigner](s.objects, req.SignerId, "external signer")
	if err != nil {
		return nil, err
	}
	if req.Description == nil {
		return nil, invalid("no proposal description")
	}
	gi, err := mls.ParseGroupInfo(req.GroupInfo)
	if err != nil {
		return nil, statusErr(err)
	}
	gc := &gi.GroupContext
	index, err := senderIndex(gc, sg.member.signer.Public())
	if err != nil {
		return nil, err
	}
	p, err := describedProposal(outsideProposer{gc: gc, groupInfo: req.GroupInfo, ratchetTree: req.RatchetTree}, req.Description)
	if err != nil {
		return nil, statusErr(err)
	}
	msg, err := mls.ExternalProposal(config(sg.member), gc.GroupID, gc.Epoch, index, p, nil)
	if err != nil {
		return nil, statusErr(err)
	}
	return &mlsclientpb.ProposalResponse{Proposal: msg}, nil
}

// senderIndex returns the index of the signature key in the group's
// external_senders extension.
func senderIndex(gc *message.GroupContext, key []byte) (uint32, error) {
	senders, _, err := message.ParseExternalSenders(gc.Extensions)
	if err != nil {
		return 0, statusErr(err)
	}
	for i, es := range senders {
		if bytes.Equal(es.SignatureKey, key) {
			return uint32(i), nil
		}
	}
	return 0, failedPrecondition(fmt.Sprintf("the signer is not among the group's %d external senders", len(senders)))
}
