package message

import (
	"fmt"

	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/mls/wire"
)

// PublicMessage is content that is signed but not encrypted (§6.2):
//
//	struct {
//	    FramedContent content;
//	    FramedContentAuthData auth;
//	    select (PublicMessage.content.sender.sender_type) {
//	        case member: MAC membership_tag;
//	        case external:
//	        case new_member_commit:
//	        case new_member_proposal: struct{};
//	    };
//	} PublicMessage;
//
// MembershipTag is encoded for member senders only.
type PublicMessage struct {
	Content       FramedContent
	Auth          FramedContentAuthData
	MembershipTag []byte
}

// MarshalMLS encodes the PublicMessage.
func (pm *PublicMessage) MarshalMLS(b *wire.Builder) {
	pm.Content.appendTo(b)
	pm.Auth.marshal(b, pm.Content.ContentType)
	if pm.Content.Sender.Type == SenderMember {
		b.AddVector(pm.MembershipTag)
	}
}

// UnmarshalMLS decodes a PublicMessage.
func (pm *PublicMessage) UnmarshalMLS(r *wire.Reader) bool {
	*pm = PublicMessage{}
	if !pm.Content.UnmarshalMLS(r) || !pm.Auth.unmarshal(r, pm.Content.ContentType) {
		return false
	}
	if pm.Content.Sender.Type == SenderMember {
		return r.ReadVector(&pm.MembershipTag)
	}
	return true
}

// authenticatedContentTBM returns the input of the membership tag (§6.2):
//
//	struct {
//	  FramedContentTBS content_tbs;
//	  FramedContentAuthData auth;
//	} AuthenticatedContentTBM;
func authenticatedContentTBM(fc *FramedContent, auth *FramedContentAuthData, groupContext []byte) ([]byte, error) {
	var head [4]byte
	parts, err := framedContentTBS(&head, WireFormatPublicMessage, fc, groupContext)
	if err != nil {
		return nil, err
	}
	n := len(head) + len(parts[1]) + len(parts[2]) + 8 + len(auth.Signature) + len(auth.ConfirmationTag)
	b := wire.NewBuilder(make([]byte, 0, n))
	for _, p := range parts {
		b.AddFixed(p)
	}
	auth.marshal(b, fc.ContentType)
	return b.Bytes()
}

// ProtectPublic wraps signed content in a PublicMessage (§6.2). ac must
// have been signed for WireFormatPublicMessage and, for a commit, carry its
// confirmation tag. For a member sender, the membership tag is
// MAC(membership_key, AuthenticatedContentTBM) with membershipKey the
// membership_key of the content's epoch and groupContext its serialized
// GroupContext; for other senders both are ignored.
func ProtectPublic(s *suite.Suite, ac *AuthenticatedContent, membershipKey, groupContext []byte) (*PublicMessage, error) {
	if ac.WireFormat != WireFormatPublicMessage {
		return nil, fmt.Errorf("%w: content signed for %v, not a PublicMessage", ErrInvalidArgument, ac.WireFormat)
	}
	if err := checkContent(ac.WireFormat, &ac.Content); err != nil {
		return nil, err
	}
	if ac.Content.ContentType == ContentCommit && len(ac.Auth.ConfirmationTag) == 0 {
		return nil, fmt.Errorf("%w: commit without confirmation tag", ErrInvalidArgument)
	}
	pm := &PublicMessage{Content: ac.Content, Auth: ac.Auth}
	if ac.Content.Sender.Type == SenderMember {
		if len(membershipKey) != s.HashSize() {
			return nil, fmt.Errorf("%w: membership key of %d bytes", ErrInvalidArgument, len(membershipKey))
		}
		tbm, err := authenticatedContentTBM(&ac.Content, &ac.Auth, groupContext)
		if err != nil {
			return nil, err
		}
		pm.MembershipTag = s.MAC(membershipKey, tbm)
	}
	return pm, nil
}

// UnprotectPublic verifies a received PublicMessage and returns its
// AuthenticatedContent (§6.2). groupContext is the serialized GroupContext
// of the receiver's epoch, membershipKey its membership_key, and lookup
// finds the sender's signature key. It checks, in order:
//   - the group_id and epoch match groupContext (§6, §12.1);
//   - the sender may send this content as a PublicMessage (§6, §6.1); in
//     particular application data is refused (ErrApplicationPublic);
//   - for a member sender, the membership tag (§6.2);
//   - the signature (§6.1).
//
// The confirmation tag of a commit is not checked here: it needs the next
// epoch's confirmation key (see [VerifyConfirmationTag]).
func UnprotectPublic(s *suite.Suite, pm *PublicMessage, groupContext, membershipKey []byte, lookup KeyLookup) (*AuthenticatedContent, error) {
	return unprotectPublic(s, pm, groupContext, membershipKey, lookup, true)
}

// VerifyPublic is UnprotectPublic for a party that tracks a group without
// its secrets (a delivery service): it checks everything UnprotectPublic
// does except the membership tag of a member's message, which needs the
// membership_key (§6.2). Members use UnprotectPublic.
func VerifyPublic(s *suite.Suite, pm *PublicMessage, groupContext []byte, lookup KeyLookup) (*AuthenticatedContent, error) {
	return unprotectPublic(s, pm, groupContext, nil, lookup, false)
}

func unprotectPublic(s *suite.Suite, pm *PublicMessage, groupContext, membershipKey []byte, lookup KeyLookup, checkTag bool) (*AuthenticatedContent, error) {
	h, err := checkEpoch(pm.Content.GroupID, pm.Content.Epoch, groupContext)
	if err != nil {
		return nil, err
	}
	if h.suite != s.ID() {
		return nil, fmt.Errorf("%w: GroupContext of suite %v, not %v", ErrInvalidArgument, h.suite, s.ID())
	}
	if err := checkContent(WireFormatPublicMessage, &pm.Content); err != nil {
		return nil, err
	}
	if checkTag && pm.Content.Sender.Type == SenderMember {
		// §6.2: "the application MUST check membership_tag".
		tbm, err := authenticatedContentTBM(&pm.Content, &pm.Auth, groupContext)
		if err != nil {
			return nil, err
		}
		if !s.VerifyMAC(membershipKey, tbm, pm.MembershipTag) {
			return nil, ErrMembershipTag
		}
	}
	ac := &AuthenticatedContent{WireFormat: WireFormatPublicMessage, Content: pm.Content, Auth: pm.Auth}
	pub, err := lookup(&ac.Content)
	if err != nil {
		return nil, fmt.Errorf("%w: %v: %w", ErrInvalidSender, ac.Content.Sender, err)
	}
	if err := ac.VerifySignature(s, pub, groupContext); err != nil {
		return nil, err
	}
	return ac, nil
}
