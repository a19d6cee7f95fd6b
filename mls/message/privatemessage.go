package message

import (
	cryptorand "crypto/rand"
	"errors"
	"fmt"
	"io"

	"github.com/mlsengine/engine/mls/keyschedule"
	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/mls/wire"
	"github.com/mlsengine/engine/treekem"
)

// PrivateMessage is signed content encrypted for the group (§6.3):
//
//	struct {
//	    opaque group_id<V>;
//	    uint64 epoch;
//	    ContentType content_type;
//	    opaque authenticated_data<V>;
//	    opaque encrypted_sender_data<V>;
//	    opaque ciphertext<V>;
//	} PrivateMessage;
type PrivateMessage struct {
	GroupID             []byte
	Epoch               uint64
	ContentType         ContentType
	AuthenticatedData   []byte
	EncryptedSenderData []byte
	Ciphertext          []byte
}

// MarshalMLS encodes the PrivateMessage.
func (pm *PrivateMessage) MarshalMLS(b *wire.Builder) {
	pm.marshalSenderDataAAD(b)
	b.AddVector(pm.AuthenticatedData)
	b.AddVector(pm.EncryptedSenderData)
	b.AddVector(pm.Ciphertext)
}

// UnmarshalMLS decodes a PrivateMessage, rejecting unknown content types.
func (pm *PrivateMessage) UnmarshalMLS(r *wire.Reader) bool {
	*pm = PrivateMessage{}
	var ct uint8
	if !r.ReadVector(&pm.GroupID) || !r.ReadUint64(&pm.Epoch) || !r.ReadUint8(&ct) {
		return false
	}
	pm.ContentType = ContentType(ct)
	if !pm.ContentType.valid() {
		return r.Fail("unknown content type")
	}
	return r.ReadVector(&pm.AuthenticatedData) && r.ReadVector(&pm.EncryptedSenderData) &&
		r.ReadVector(&pm.Ciphertext)
}

// marshalSenderDataAAD writes SenderDataAAD, the first three fields (§6.3.2).
func (pm *PrivateMessage) marshalSenderDataAAD(b *wire.Builder) {
	b.AddVector(pm.GroupID)
	b.AddUint64(pm.Epoch)
	b.AddUint8(uint8(pm.ContentType))
}

// senderDataAAD returns SenderDataAAD (§6.3.2).
func (pm *PrivateMessage) senderDataAAD() ([]byte, error) {
	b := wire.NewBuilder(nil)
	pm.marshalSenderDataAAD(b)
	return b.Bytes()
}

// contentAAD returns PrivateContentAAD (§6.3.1): group_id, epoch,
// content_type and authenticated_data.
func (pm *PrivateMessage) contentAAD() ([]byte, error) {
	b := wire.NewBuilder(nil)
	pm.marshalSenderDataAAD(b)
	b.AddVector(pm.AuthenticatedData)
	return b.Bytes()
}

// PrivateMessageContent is the plaintext of a PrivateMessage (§6.3.1):
//
//	struct {
//	    select (PrivateMessage.content_type) {
//	        case application: opaque application_data<V>;
//	        case proposal:    Proposal proposal;
//	        case commit:      Commit commit;
//	    };
//	    FramedContentAuthData auth;
//	    opaque padding[length_of_padding];
//	} PrivateMessageContent;
//
// ContentType is not encoded: it comes from the enclosing PrivateMessage
// and must be set before UnmarshalMLS is called. Padding is the number of
// zero bytes at the end.
type PrivateMessageContent struct {
	ContentType     ContentType
	ApplicationData []byte
	Proposal        *Proposal
	Commit          *Commit
	Auth            FramedContentAuthData
	Padding         int
}

// MarshalMLS encodes the content followed by Padding zero bytes.
func (c *PrivateMessageContent) MarshalMLS(b *wire.Builder) {
	marshalBody(b, c.ContentType, c.ApplicationData, c.Proposal, c.Commit)
	c.Auth.marshal(b, c.ContentType)
	if c.Padding < 0 {
		b.SetError(encodeError("negative padding"))
		return
	}
	b.AddFixed(make([]byte, c.Padding))
}

// UnmarshalMLS decodes the content of type c.ContentType and consumes the
// rest of the input as padding, which must be all zeros (§6.3.1: "A
// receiver MUST verify that there are no non-zero bytes in the padding
// field").
func (c *PrivateMessageContent) UnmarshalMLS(r *wire.Reader) bool {
	*c = PrivateMessageContent{ContentType: c.ContentType}
	if !unmarshalBody(r, c.ContentType, &c.ApplicationData, &c.Proposal, &c.Commit) ||
		!c.Auth.unmarshal(r, c.ContentType) {
		return false
	}
	var pad []byte
	n := r.Len()
	r.ReadFixed(n, &pad)
	var acc byte
	for _, v := range pad {
		acc |= v
	}
	if acc != 0 {
		return r.Fail("non-zero padding")
	}
	c.Padding = n
	return true
}

// DecodePrivateMessageContent decodes the plaintext of a PrivateMessage
// whose content_type is ct.
func DecodePrivateMessageContent(plaintext []byte, ct ContentType) (*PrivateMessageContent, error) {
	c := &PrivateMessageContent{ContentType: ct}
	if err := wire.Unmarshal(plaintext, c); err != nil {
		return nil, err
	}
	return c, nil
}

// SenderData identifies the sender and key generation of a PrivateMessage
// (§6.3.2).
type SenderData struct {
	Leaf       treekem.LeafIndex
	Generation uint32
	ReuseGuard [4]byte
}

// MarshalMLS encodes the SenderData.
func (sd *SenderData) MarshalMLS(b *wire.Builder) {
	b.AddUint32(uint32(sd.Leaf))
	b.AddUint32(sd.Generation)
	b.AddFixed(sd.ReuseGuard[:])
}

// UnmarshalMLS decodes a SenderData.
func (sd *SenderData) UnmarshalMLS(r *wire.Reader) bool {
	var leaf uint32
	var guard []byte
	if !r.ReadUint32(&leaf) || !r.ReadUint32(&sd.Generation) || !r.ReadFixed(4, &guard) {
		return false
	}
	sd.Leaf = treekem.LeafIndex(leaf)
	copy(sd.ReuseGuard[:], guard)
	return true
}

// Padding chooses how many zero bytes to append to a PrivateMessageContent
// whose encoding without padding is n bytes long (§6.3.1, §15.1). A nil
// Padding adds none.
type Padding func(n int) int

// PadToMultiple returns a Padding that pads the plaintext to a multiple of
// block bytes (no padding if block <= 1).
func PadToMultiple(block int) Padding {
	return func(n int) int {
		if block <= 1 {
			return 0
		}
		return (block - n%block) % block
	}
}

// contentKind returns the secret-tree ratchet for content of type ct
// (§9.1): application messages use the application ratchet, proposals and
// commits the handshake ratchet.
func contentKind(ct ContentType) keyschedule.Kind {
	if ct == ContentApplication {
		return keyschedule.Application
	}
	return keyschedule.Handshake
}

// applyGuard XORs the reuse guard into the first four bytes of nonce
// (§6.3.1).
func applyGuard(nonce []byte, guard [4]byte) {
	for i := range guard {
		nonce[i] ^= guard[i]
	}
}

// ProtectPrivate encrypts signed content into a PrivateMessage (§6.3). ac
// must have been signed for WireFormatPrivateMessage by a member and, for a
// commit, carry its confirmation tag. The key and nonce come from the next
// generation of the sender's handshake or application ratchet in tree
// (which is advanced), XORed with a fresh reuse guard read from rand
// (crypto/rand if nil); the sender data is encrypted under the key and
// nonce derived from senderDataSecret and the ciphertext sample (§6.3.2).
// padding chooses the number of zero bytes of padding (none if nil).
func ProtectPrivate(s *suite.Suite, ac *AuthenticatedContent, tree *keyschedule.SecretTree, senderDataSecret []byte, padding Padding, rand io.Reader) (*PrivateMessage, error) {
	if ac.WireFormat != WireFormatPrivateMessage {
		return nil, fmt.Errorf("%w: content signed for %v, not a PrivateMessage", ErrInvalidArgument, ac.WireFormat)
	}
	fc := &ac.Content
	if err := checkContent(ac.WireFormat, fc); err != nil {
		return nil, err
	}
	if fc.ContentType == ContentCommit && len(ac.Auth.ConfirmationTag) == 0 {
		return nil, fmt.Errorf("%w: commit without confirmation tag", ErrInvalidArgument)
	}
	if rand == nil {
		rand = cryptorand.Reader
	}
	pm := &PrivateMessage{
		GroupID:           fc.GroupID,
		Epoch:             fc.Epoch,
		ContentType:       fc.ContentType,
		AuthenticatedData: fc.AuthenticatedData,
	}

	// §6.3.1: the content, the auth data and the padding.
	content := &PrivateMessageContent{
		ContentType:     fc.ContentType,
		ApplicationData: fc.ApplicationData,
		Proposal:        fc.Proposal,
		Commit:          fc.Commit,
		Auth:            ac.Auth,
	}
	b := wire.NewBuilder(nil)
	content.MarshalMLS(b)
	if padding != nil {
		n := padding(b.Len())
		if n < 0 {
			return nil, fmt.Errorf("%w: padding of %d bytes", ErrInvalidArgument, n)
		}
		b.AddFixed(make([]byte, n))
	}
	plaintext, err := b.Bytes()
	if err != nil {
		return nil, err
	}
	defer clear(plaintext)
	if err := sealPrivate(s, pm, fc.Sender.Leaf, plaintext, tree, senderDataSecret, rand); err != nil {
		return nil, err
	}
	return pm, nil
}

// sealPrivate encrypts plaintext, an encoded PrivateMessageContent, into
// pm, whose header fields are set, for the member at leaf (§6.3.1, §6.3.2).
func sealPrivate(s *suite.Suite, pm *PrivateMessage, leaf treekem.LeafIndex, plaintext []byte, tree *keyschedule.SecretTree, senderDataSecret []byte, rand io.Reader) error {
	aad, err := pm.contentAAD()
	if err != nil {
		return err
	}
	sd := SenderData{Leaf: leaf}
	if _, err := io.ReadFull(rand, sd.ReuseGuard[:]); err != nil {
		return fmt.Errorf("message: reading reuse guard: %w", err)
	}
	gen, key, nonce, err := tree.SendKey(leaf, contentKind(pm.ContentType))
	if err != nil {
		return fmt.Errorf("message: content key: %w", err)
	}
	sd.Generation = gen
	applyGuard(nonce, sd.ReuseGuard)
	pm.Ciphertext, err = s.Seal(key, nonce, aad, plaintext)
	clear(key)
	clear(nonce)
	if err != nil {
		return internalError("content encryption", err)
	}

	// §6.3.2: sender data, keyed by a sample of the ciphertext.
	sdKey, sdNonce, err := keyschedule.SenderDataKeyNonce(s, senderDataSecret, pm.Ciphertext)
	if err != nil {
		return fmt.Errorf("message: sender data key: %w", err)
	}
	defer clear(sdKey)
	defer clear(sdNonce)
	sdAAD, err := pm.senderDataAAD()
	if err != nil {
		return err
	}
	sdBytes, err := wire.Marshal(&sd)
	if err != nil {
		return internalError("SenderData", err)
	}
	pm.EncryptedSenderData, err = s.Seal(sdKey, sdNonce, sdAAD, sdBytes)
	if err != nil {
		return internalError("sender data encryption", err)
	}
	return nil
}

// UnprotectPrivate decrypts and verifies a received PrivateMessage and
// returns its AuthenticatedContent (§6.3). groupContext is the serialized
// GroupContext of the epoch the message is for, tree and senderDataSecret
// that epoch's secret tree and sender_data_secret. It:
//   - checks the group_id and epoch against groupContext;
//   - decrypts the SenderData (§6.3.2) and calls lookup with the message's
//     header and sender (the content is not decrypted yet), which must fail
//     for a blank leaf ("the recipient MUST verify that the leaf index
//     indicated in the leaf_index field identifies a non-blank node");
//   - decrypts the content with the key and nonce of the sender's ratchet
//     at the given generation, XORed with the reuse guard;
//   - decodes the content, rejecting non-zero padding (§6.3.1);
//   - verifies the signature (§6.1).
//
// The generation's key is consumed (deleted, §9.2) only once all of these
// succeed: a message that fails any check, such as one that decrypts but
// carries a bad signature, leaves tree as it was, so that it cannot burn
// the generation of the genuine message. See [OpenPrivate] to consume the
// key later still.
//
// The confirmation tag of a commit is not checked here (see
// [VerifyConfirmationTag]).
func UnprotectPrivate(s *suite.Suite, pm *PrivateMessage, groupContext []byte, tree *keyschedule.SecretTree, senderDataSecret []byte, lookup KeyLookup) (*AuthenticatedContent, error) {
	o, err := openPrivate(s, pm, groupContext, tree, senderDataSecret, lookup, true)
	if err != nil {
		return nil, err
	}
	return o.Content, nil
}

// OpenPrivate decrypts and verifies a received PrivateMessage like
// [UnprotectPrivate], but leaves the key of its generation in tree: the
// caller calls [OpenedPrivate.Consume] once it has accepted the content
// (a group, for example, once it has applied a commit), so that content it
// rejects for reasons of its own leaves tree unchanged.
func OpenPrivate(s *suite.Suite, pm *PrivateMessage, groupContext []byte, tree *keyschedule.SecretTree, senderDataSecret []byte, lookup KeyLookup) (*OpenedPrivate, error) {
	return openPrivate(s, pm, groupContext, tree, senderDataSecret, lookup, false)
}

// OpenedPrivate is a PrivateMessage decrypted and verified by
// [OpenPrivate], whose key is not consumed yet.
type OpenedPrivate struct {
	// Content is the verified content (its confirmation tag, for a
	// commit, is not checked).
	Content *AuthenticatedContent
	// SenderData gives the sender's leaf and the generation of the key.
	SenderData SenderData

	tree *keyschedule.SecretTree
}

// Consume deletes the key of the message's generation from the secret tree
// it was opened with (§9.2). It fails, leaving the tree as it is, if the
// key is gone already (a keyschedule.GenerationError, for example when the
// same message was opened twice and consumed once).
func (o *OpenedPrivate) Consume() error {
	return o.tree.UseReceiveKey(o.SenderData.Leaf, contentKind(o.Content.Content.ContentType), o.SenderData.Generation,
		func(_, _ []byte) error { return nil })
}

// errKeep makes UseReceiveKey leave the key it handed out in place.
var errKeep = errors.New("message: keep the key")

// openPrivate implements UnprotectPrivate and OpenPrivate: the key is
// consumed if consume is set and the message is valid.
func openPrivate(s *suite.Suite, pm *PrivateMessage, groupContext []byte, tree *keyschedule.SecretTree, senderDataSecret []byte, lookup KeyLookup, consume bool) (*OpenedPrivate, error) {
	h, err := checkEpoch(pm.GroupID, pm.Epoch, groupContext)
	if err != nil {
		return nil, err
	}
	if h.suite != s.ID() {
		return nil, fmt.Errorf("%w: GroupContext of suite %v, not %v", ErrInvalidArgument, h.suite, s.ID())
	}
	if !pm.ContentType.valid() {
		return nil, malformed(fmt.Sprintf("content type %d", pm.ContentType), nil)
	}

	// §6.3.2: sender data.
	sdKey, sdNonce, err := keyschedule.SenderDataKeyNonce(s, senderDataSecret, pm.Ciphertext)
	if err != nil {
		return nil, fmt.Errorf("message: sender data key: %w", err)
	}
	defer clear(sdKey)
	defer clear(sdNonce)
	sdAAD, err := pm.senderDataAAD()
	if err != nil {
		return nil, err
	}
	sdBytes, err := s.Open(sdKey, sdNonce, sdAAD, pm.EncryptedSenderData)
	if err != nil {
		return nil, fmt.Errorf("%w: sender data", ErrDecrypt)
	}
	var sd SenderData
	if err := wire.Unmarshal(sdBytes, &sd); err != nil {
		return nil, malformed("SenderData", err)
	}

	fc := FramedContent{
		GroupID:           pm.GroupID,
		Epoch:             pm.Epoch,
		Sender:            MemberSender(sd.Leaf),
		AuthenticatedData: pm.AuthenticatedData,
		ContentType:       pm.ContentType,
	}
	pub, err := lookup(&fc)
	if err != nil {
		return nil, fmt.Errorf("%w: %v: %w", ErrInvalidSender, fc.Sender, err)
	}

	// §6.3.1: content. Everything that can reject the message happens
	// inside use, so that the key is consumed only if it is accepted.
	aad, err := pm.contentAAD()
	if err != nil {
		return nil, err
	}
	var ac *AuthenticatedContent
	var rejected error // the message's own fault, as opposed to the key's
	use := func(key, nonce []byte) error {
		n := append(make([]byte, 0, len(nonce)), nonce...)
		defer clear(n)
		applyGuard(n, sd.ReuseGuard)
		plaintext, err := s.Open(key, n, aad, pm.Ciphertext)
		if err != nil {
			rejected = fmt.Errorf("%w: content", ErrDecrypt)
			return rejected
		}
		if ac, rejected = verifyPrivateContent(s, fc, plaintext, pub, groupContext); rejected != nil {
			return rejected
		}
		if !consume {
			return errKeep
		}
		return nil
	}
	err = tree.UseReceiveKey(sd.Leaf, contentKind(pm.ContentType), sd.Generation, use)
	switch {
	case err == nil, err == errKeep:
		return &OpenedPrivate{Content: ac, SenderData: sd, tree: tree}, nil
	case rejected != nil:
		return nil, rejected
	}
	return nil, fmt.Errorf("message: content key of %v generation %d: %w", fc.Sender, sd.Generation, err)
}

// verifyPrivateContent decodes plaintext, the PrivateMessageContent of the
// content whose header is fc, and verifies its signature with pub (§6.1).
func verifyPrivateContent(s *suite.Suite, fc FramedContent, plaintext, pub, groupContext []byte) (*AuthenticatedContent, error) {
	content, err := DecodePrivateMessageContent(plaintext, fc.ContentType)
	if err != nil {
		return nil, malformed("PrivateMessageContent", err)
	}
	fc.ApplicationData, fc.Proposal, fc.Commit = content.ApplicationData, content.Proposal, content.Commit
	if err := checkContent(WireFormatPrivateMessage, &fc); err != nil {
		return nil, err
	}
	// Encode the content once for the signature, and later the proposal
	// reference or transcript hash.
	if fc.Raw, err = wire.Marshal(&fc); err != nil {
		return nil, malformed("FramedContent", err)
	}
	ac := &AuthenticatedContent{WireFormat: WireFormatPrivateMessage, Content: fc, Auth: content.Auth}
	if err := ac.VerifySignature(s, pub, groupContext); err != nil {
		return nil, err
	}
	return ac, nil
}
