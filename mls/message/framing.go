package message

import (
	"fmt"

	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/mls/wire"
)

const labelFramedContentTBS = "FramedContentTBS"

// FramedContent is the content of a handshake or application message with
// its routing information (§6):
//
//	struct {
//	    opaque group_id<V>;
//	    uint64 epoch;
//	    Sender sender;
//	    opaque authenticated_data<V>;
//	    ContentType content_type;
//	    select (FramedContent.content_type) {
//	        case application: opaque application_data<V>;
//	        case proposal:    Proposal proposal;
//	        case commit:      Commit commit;
//	    };
//	} FramedContent;
//
// Of ApplicationData, Proposal and Commit, only the one selected by
// ContentType is encoded; the selected Proposal or Commit must not be nil.
type FramedContent struct {
	GroupID           []byte
	Epoch             uint64
	Sender            Sender
	AuthenticatedData []byte
	ContentType       ContentType
	ApplicationData   []byte
	Proposal          *Proposal
	Commit            *Commit

	// Raw is the encoding of the FramedContent: the one it was decoded
	// from (set by UnmarshalMLS), or the one SignContent signed (in the
	// AuthenticatedContent it returns); nil for a constructed value.
	// Signatures, proposal references, transcript hashes and a
	// PublicMessage's encoding use it when it is set, so a value with Raw
	// set is not to be changed.
	Raw []byte
}

// marshalBody writes the content_type-selected body shared by FramedContent
// and PrivateMessageContent.
func marshalBody(b *wire.Builder, ct ContentType, app []byte, p *Proposal, c *Commit) {
	switch ct {
	case ContentApplication:
		b.AddVector(app)
	case ContentProposal:
		if p == nil {
			b.SetError(encodeError("proposal content without proposal"))
			return
		}
		p.MarshalMLS(b)
	case ContentCommit:
		if c == nil {
			b.SetError(encodeError("commit content without commit"))
			return
		}
		c.MarshalMLS(b)
	default:
		b.SetError(encodeError("unknown content type %d", ct))
	}
}

// unmarshalBody reads the body selected by ct.
func unmarshalBody(r *wire.Reader, ct ContentType, app *[]byte, p **Proposal, c **Commit) bool {
	switch ct {
	case ContentApplication:
		return r.ReadVector(app)
	case ContentProposal:
		*p = new(Proposal)
		return (*p).UnmarshalMLS(r)
	case ContentCommit:
		*c = new(Commit)
		return (*c).UnmarshalMLS(r)
	}
	return r.Fail("unknown content type")
}

// MarshalMLS encodes the FramedContent from its fields (ignoring Raw).
func (fc *FramedContent) MarshalMLS(b *wire.Builder) {
	b.AddVector(fc.GroupID)
	b.AddUint64(fc.Epoch)
	fc.Sender.MarshalMLS(b)
	b.AddVector(fc.AuthenticatedData)
	b.AddUint8(uint8(fc.ContentType))
	marshalBody(b, fc.ContentType, fc.ApplicationData, fc.Proposal, fc.Commit)
}

// UnmarshalMLS decodes a FramedContent and sets Raw.
func (fc *FramedContent) UnmarshalMLS(r *wire.Reader) bool {
	*fc = FramedContent{}
	return r.ReadRaw(&fc.Raw, func(r *wire.Reader) bool {
		var ct uint8
		if !r.ReadVector(&fc.GroupID) || !r.ReadUint64(&fc.Epoch) || !fc.Sender.UnmarshalMLS(r) ||
			!r.ReadVector(&fc.AuthenticatedData) || !r.ReadUint8(&ct) {
			return false
		}
		fc.ContentType = ContentType(ct)
		return unmarshalBody(r, fc.ContentType, &fc.ApplicationData, &fc.Proposal, &fc.Commit)
	})
}

// appendTo appends the encoding of fc: Raw if set, else a fresh encoding.
func (fc *FramedContent) appendTo(b *wire.Builder) {
	if fc.Raw != nil {
		b.AddFixed(fc.Raw)
		return
	}
	fc.MarshalMLS(b)
}

// FramedContentAuthData authenticates a FramedContent (§6.1): the
// signature over FramedContentTBS and, for a commit, the confirmation tag.
// ConfirmationTag is encoded only for commit content.
type FramedContentAuthData struct {
	Signature       []byte
	ConfirmationTag []byte // MAC(confirmation_key, confirmed_transcript_hash)
}

// marshal encodes the auth data of content of type ct.
func (a *FramedContentAuthData) marshal(b *wire.Builder, ct ContentType) {
	b.AddVector(a.Signature)
	if ct == ContentCommit {
		b.AddVector(a.ConfirmationTag)
	}
}

// unmarshal decodes the auth data of content of type ct.
func (a *FramedContentAuthData) unmarshal(r *wire.Reader, ct ContentType) bool {
	*a = FramedContentAuthData{}
	if !r.ReadVector(&a.Signature) {
		return false
	}
	if ct == ContentCommit {
		return r.ReadVector(&a.ConfirmationTag)
	}
	return true
}

// AuthenticatedContent is a FramedContent with its authentication, as
// carried by a PublicMessage or PrivateMessage (§6):
//
//	struct {
//	    WireFormat wire_format;
//	    FramedContent content;
//	    FramedContentAuthData auth;
//	} AuthenticatedContent;
type AuthenticatedContent struct {
	WireFormat WireFormat
	Content    FramedContent
	Auth       FramedContentAuthData
}

// MarshalMLS encodes the AuthenticatedContent from its fields (ignoring
// the content's Raw).
func (ac *AuthenticatedContent) MarshalMLS(b *wire.Builder) {
	b.AddUint16(uint16(ac.WireFormat))
	ac.Content.MarshalMLS(b)
	ac.Auth.marshal(b, ac.Content.ContentType)
}

// UnmarshalMLS decodes an AuthenticatedContent; the wire format must be
// mls_public_message or mls_private_message.
func (ac *AuthenticatedContent) UnmarshalMLS(r *wire.Reader) bool {
	*ac = AuthenticatedContent{}
	var wf uint16
	if !r.ReadUint16(&wf) {
		return false
	}
	ac.WireFormat = WireFormat(wf)
	if !ac.WireFormat.isFraming() {
		return r.Fail("wire format does not carry content")
	}
	return ac.Content.UnmarshalMLS(r) && ac.Auth.unmarshal(r, ac.Content.ContentType)
}

// Bytes returns the encoding of the AuthenticatedContent, with the
// content's Raw bytes when set. It is the input of a ProposalRef (§5.2).
func (ac *AuthenticatedContent) Bytes() ([]byte, error) {
	b := wire.NewBuilder(nil)
	b.AddUint16(uint16(ac.WireFormat))
	ac.Content.appendTo(b)
	ac.Auth.marshal(b, ac.Content.ContentType)
	return b.Bytes()
}

// framedContentTBS returns the FramedContentTBS encoding (§6.1):
//
//	struct {
//	    ProtocolVersion version = mls10;
//	    WireFormat wire_format;
//	    FramedContent content;
//	    select (FramedContentTBS.content.sender.sender_type) {
//	        case member:
//	        case new_member_commit: GroupContext context;
//	        case external:
//	        case new_member_proposal: struct{};
//	    };
//	} FramedContentTBS;
//
// It returns the encoding in three parts to concatenate: the version and
// wire format (in head), the content's encoding (Raw if set), and the
// GroupContext, nil for the senders that do not sign one.
func framedContentTBS(head *[4]byte, wf WireFormat, fc *FramedContent, groupContext []byte) (parts [3][]byte, err error) {
	*head = [4]byte{byte(MLS10 >> 8), byte(MLS10), byte(wf >> 8), byte(wf)}
	content := fc.Raw
	if content == nil {
		if content, err = wire.Marshal(fc); err != nil {
			return parts, err
		}
	}
	var ctx []byte
	switch fc.Sender.Type {
	case SenderMember, SenderNewMemberCommit:
		ctx = groupContext
	}
	return [3][]byte{head[:], content, ctx}, nil
}

// checkContent enforces the rules of §6 and §6.1 that tie the sender type,
// the content type and the wire format together:
//   - application data is never sent as a PublicMessage (§6);
//   - a PrivateMessage is sent by a member (§6.3.2: "the sender MUST
//     verify Sender.sender_type is member");
//   - an external sender sends a proposal of a type allowed for external
//     senders (§6.1, §12.1.8);
//   - a new_member_commit sender sends a commit, and a
//     new_member_proposal sender an Add proposal (§6.1).
func checkContent(wf WireFormat, fc *FramedContent) error {
	if !fc.ContentType.valid() {
		return malformed(fmt.Sprintf("content type %d", fc.ContentType), nil)
	}
	if wf == WireFormatPublicMessage && fc.ContentType == ContentApplication {
		return ErrApplicationPublic
	}
	s := fc.Sender
	switch s.Type {
	case SenderMember:
		return nil
	case SenderExternal:
		if fc.ContentType != ContentProposal {
			return &SenderError{s, "external senders send proposals only"}
		}
		if fc.Proposal != nil && !fc.Proposal.Type().AllowedExternal() {
			return &SenderError{s, fmt.Sprintf("proposal type %v not allowed for external senders", fc.Proposal.Type())}
		}
	case SenderNewMemberCommit:
		if fc.ContentType != ContentCommit {
			return &SenderError{s, "new_member_commit senders send commits only"}
		}
	case SenderNewMemberProposal:
		if fc.ContentType != ContentProposal || (fc.Proposal != nil && fc.Proposal.Type() != ProposalAdd) {
			return &SenderError{s, "new_member_proposal senders send Add proposals only"}
		}
	default:
		return &SenderError{s, "unknown sender type"}
	}
	if wf == WireFormatPrivateMessage {
		// §6.3.2 and §12.1.8: only members can encrypt; external
		// content is sent as a PublicMessage.
		return &SenderError{s, "only members send PrivateMessages"}
	}
	return nil
}

// SignContent signs content for sending with wire format wf and returns
// the AuthenticatedContent (§6.1): signature = SignWithLabel(.,
// "FramedContentTBS", FramedContentTBS). groupContext is the serialized
// GroupContext of the content's epoch; it is signed for member and
// new_member_commit senders.
//
// For a commit, the caller then sets Auth.ConfirmationTag (see
// [ConfirmedTranscriptHash] and [ConfirmationTag]) before protecting it.
func SignContent(s *suite.Suite, signer suite.Signer, wf WireFormat, content *FramedContent, groupContext []byte) (*AuthenticatedContent, error) {
	if !wf.isFraming() {
		return nil, fmt.Errorf("%w: wire format %v carries no content", ErrInvalidArgument, wf)
	}
	if err := checkContent(wf, content); err != nil {
		return nil, err
	}
	var head [4]byte
	parts, err := framedContentTBS(&head, wf, content, groupContext)
	if err != nil {
		return nil, err
	}
	sig, err := s.SignWithLabelParts(signer, labelFramedContentTBS, parts[:]...)
	if err != nil {
		return nil, fmt.Errorf("message: signing FramedContentTBS: %w", err)
	}
	ac := &AuthenticatedContent{
		WireFormat: wf,
		Content:    *content,
		Auth:       FramedContentAuthData{Signature: sig},
	}
	// The content is encoded once: the signed encoding is the one the
	// transcript hash and the message carry.
	ac.Content.Raw = parts[1]
	return ac, nil
}

// VerifySignature checks the signature of ac with the sender's signature
// public key pub (§6.1). groupContext is the serialized GroupContext of the
// content's epoch.
func (ac *AuthenticatedContent) VerifySignature(s *suite.Suite, pub, groupContext []byte) error {
	var head [4]byte
	parts, err := framedContentTBS(&head, ac.WireFormat, &ac.Content, groupContext)
	if err != nil {
		return err
	}
	if err := s.VerifyWithLabelParts(pub, labelFramedContentTBS, ac.Auth.Signature, parts[:]...); err != nil {
		return fmt.Errorf("%w: FramedContentTBS from %v: %w", ErrSignature, ac.Content.Sender, err)
	}
	return nil
}

// KeyLookup returns the signature public key with which the content's
// signature must verify (§6.1):
//   - member: the signature_key of the LeafNode at Sender.Leaf (an error if
//     that leaf is blank or beyond the tree);
//   - external: the signature_key of entry Sender.ExternalIndex of the
//     external_senders extension;
//   - new_member_commit and new_member_proposal: the key in the content
//     itself; see [NewMemberSignatureKey].
type KeyLookup func(content *FramedContent) ([]byte, error)

// NewMemberSignatureKey returns the signature key that a new_member_commit
// or new_member_proposal content is signed with (§6.1): the key of the
// LeafNode in the Commit's path, or of the LeafNode in the KeyPackage of
// the Add proposal.
func NewMemberSignatureKey(content *FramedContent) ([]byte, error) {
	switch content.Sender.Type {
	case SenderNewMemberCommit:
		if content.Commit == nil || content.Commit.Path == nil {
			return nil, &SenderError{content.Sender, "external commit without path"}
		}
		return content.Commit.Path.LeafNode.SignatureKey, nil
	case SenderNewMemberProposal:
		if content.Proposal != nil {
			if add, ok := content.Proposal.Body.(*Add); ok {
				return add.KeyPackage.LeafNode.SignatureKey, nil
			}
		}
		return nil, &SenderError{content.Sender, "new member proposal is not an Add"}
	}
	return nil, &SenderError{content.Sender, "not a new member"}
}

// checkEpoch checks that content is for the group and epoch of the
// serialized GroupContext and returns its header.
func checkEpoch(groupID []byte, epoch uint64, groupContext []byte) (*contextHeader, error) {
	h, err := parseContextHeader(groupContext)
	if err != nil {
		return nil, err
	}
	if string(groupID) != string(h.groupID) {
		return nil, ErrWrongGroup
	}
	if epoch != h.epoch {
		return nil, &EpochError{Got: epoch, Want: h.epoch}
	}
	return h, nil
}
