package message

import (
	"fmt"

	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/mls/wire"
	"github.com/mlsengine/engine/treekem"
)

const labelGroupInfoTBS = "GroupInfoTBS"

// GroupInfo describes a group to new members (§12.4.3):
//
//	struct {
//	    GroupContext group_context;
//	    Extension extensions<V>;
//	    MAC confirmation_tag;
//	    uint32 signer;
//	    opaque signature<V>;
//	} GroupInfo;
type GroupInfo struct {
	GroupContext    GroupContext
	Extensions      treekem.Extensions
	ConfirmationTag []byte
	Signer          treekem.LeafIndex
	Signature       []byte

	// RawTBS is the GroupInfoTBS part of the encoding the GroupInfo was
	// decoded from (set by UnmarshalMLS, nil for a constructed value). The
	// signature is verified over it when it is set.
	RawTBS []byte
}

func (gi *GroupInfo) marshalTBS(b *wire.Builder) {
	gi.GroupContext.MarshalMLS(b)
	gi.Extensions.MarshalMLS(b)
	b.AddVector(gi.ConfirmationTag)
	b.AddUint32(uint32(gi.Signer))
}

// MarshalMLS encodes the GroupInfo from its fields (ignoring RawTBS).
func (gi *GroupInfo) MarshalMLS(b *wire.Builder) {
	gi.marshalTBS(b)
	b.AddVector(gi.Signature)
}

// UnmarshalMLS decodes a GroupInfo and sets RawTBS.
func (gi *GroupInfo) UnmarshalMLS(r *wire.Reader) bool {
	*gi = GroupInfo{}
	var signer uint32
	if !r.ReadRaw(&gi.RawTBS, func(r *wire.Reader) bool {
		return gi.GroupContext.UnmarshalMLS(r) && gi.Extensions.UnmarshalMLS(r) &&
			r.ReadVector(&gi.ConfirmationTag) && r.ReadUint32(&signer)
	}) {
		return false
	}
	gi.Signer = treekem.LeafIndex(signer)
	return r.ReadVector(&gi.Signature)
}

// TBS returns the GroupInfoTBS encoding, every field but the signature
// (§12.4.3).
func (gi *GroupInfo) TBS() ([]byte, error) {
	if gi.RawTBS != nil {
		return gi.RawTBS, nil
	}
	b := wire.NewBuilder(nil)
	gi.marshalTBS(b)
	return b.Bytes()
}

// Sign sets Signer and the signature: SignWithLabel(., "GroupInfoTBS",
// GroupInfoTBS) (§12.4.3). It clears RawTBS.
func (gi *GroupInfo) Sign(s *suite.Suite, signer suite.Signer, leaf treekem.LeafIndex) error {
	gi.RawTBS = nil
	gi.Signer = leaf
	tbs, err := gi.TBS()
	if err != nil {
		return err
	}
	sig, err := s.SignWithLabel(signer, labelGroupInfoTBS, tbs)
	if err != nil {
		return fmt.Errorf("message: signing GroupInfo: %w", err)
	}
	gi.Signature = sig
	return nil
}

// VerifySignature checks the signature with pub, the signature key of the
// LeafNode at leaf Signer of the group's ratchet tree (§12.4.3.1: "If the
// node is blank or if signature verification fails, return an error").
func (gi *GroupInfo) VerifySignature(s *suite.Suite, pub []byte) error {
	tbs, err := gi.TBS()
	if err != nil {
		return err
	}
	if err := s.VerifyWithLabel(pub, labelGroupInfoTBS, tbs, gi.Signature); err != nil {
		return fmt.Errorf("%w: GroupInfo: %w", ErrSignature, err)
	}
	return nil
}

// ExternalPub returns the content of the GroupInfo's external_pub
// extension (§12.4.3.2), needed to join by external commit.
func (gi *GroupInfo) ExternalPub() (*ExternalPub, bool, error) {
	data, ok := gi.Extensions.Find(treekem.ExtensionExternalPub)
	if !ok {
		return nil, false, nil
	}
	ep := new(ExternalPub)
	if err := wire.Unmarshal(data, ep); err != nil {
		return nil, true, malformed("external_pub extension", err)
	}
	return ep, true, nil
}

// RatchetTree returns the content of the GroupInfo's ratchet_tree
// extension (§12.4.3.3), if present.
func (gi *GroupInfo) RatchetTree() (treekem.NodeList, bool, error) {
	data, ok := gi.Extensions.Find(treekem.ExtensionRatchetTree)
	if !ok {
		return nil, false, nil
	}
	var nl treekem.NodeList
	if err := wire.Unmarshal(data, &nl); err != nil {
		return nil, true, malformed("ratchet_tree extension", err)
	}
	return nl, true, nil
}
