package message

import (
	"fmt"

	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/mls/wire"
)

// ConfirmedTranscriptHashInput returns the encoding of
// ConfirmedTranscriptHashInput for a commit (§8.2):
//
//	struct {
//	    WireFormat wire_format;
//	    FramedContent content; /* with content_type == commit */
//	    opaque signature<V>;
//	} ConfirmedTranscriptHashInput;
func ConfirmedTranscriptHashInput(ac *AuthenticatedContent) ([]byte, error) {
	if ac.Content.ContentType != ContentCommit {
		return nil, fmt.Errorf("%w: transcript hash of %v content", ErrInvalidArgument, ac.Content.ContentType)
	}
	return appendConfirmedInput(nil, ac)
}

// appendConfirmedInput appends the encoding of the
// ConfirmedTranscriptHashInput of commit content ac to prefix.
func appendConfirmedInput(prefix []byte, ac *AuthenticatedContent) ([]byte, error) {
	size := len(prefix) + 2 + len(ac.Content.Raw) + 4 + len(ac.Auth.Signature)
	b := wire.NewBuilder(append(make([]byte, 0, size), prefix...))
	b.AddUint16(uint16(ac.WireFormat))
	ac.Content.appendTo(b)
	b.AddVector(ac.Auth.Signature)
	return b.Bytes()
}

// InterimTranscriptHashInput returns the encoding of
// InterimTranscriptHashInput (§8.2): struct { MAC confirmation_tag; }.
func InterimTranscriptHashInput(confirmationTag []byte) ([]byte, error) {
	b := wire.NewBuilder(nil)
	b.AddVector(confirmationTag)
	return b.Bytes()
}

// ConfirmedTranscriptHash returns the confirmed transcript hash of the epoch
// that the commit in ac starts (§8.2):
//
//	confirmed_transcript_hash_[epoch] =
//	    Hash(interim_transcript_hash_[epoch - 1] || ConfirmedTranscriptHashInput_[epoch])
//
// interimBefore is the interim transcript hash of the commit's epoch (empty
// for epoch 0).
func ConfirmedTranscriptHash(s *suite.Suite, interimBefore []byte, ac *AuthenticatedContent) ([]byte, error) {
	if ac.Content.ContentType != ContentCommit {
		return nil, fmt.Errorf("%w: transcript hash of %v content", ErrInvalidArgument, ac.Content.ContentType)
	}
	if ac.Content.Raw == nil {
		in, err := appendConfirmedInput(interimBefore, ac)
		if err != nil {
			return nil, err
		}
		return s.Hash(in), nil
	}
	// A decoded commit's content is hashed where it lies, not copied
	// behind the interim hash first.
	tail := wire.NewBuilder(make([]byte, 0, 2+4+len(ac.Auth.Signature)))
	tail.AddUint16(uint16(ac.WireFormat))
	wf := tail.Len()
	tail.AddVector(ac.Auth.Signature)
	t, err := tail.Bytes()
	if err != nil {
		return nil, err
	}
	return s.HashParts(interimBefore, t[:wf], ac.Content.Raw, t[wf:]), nil
}

// InterimTranscriptHash returns the interim transcript hash (§8.2):
//
//	interim_transcript_hash_[epoch] =
//	    Hash(confirmed_transcript_hash_[epoch] || InterimTranscriptHashInput_[epoch])
//
// A new member computes it from the GroupInfo's confirmed transcript hash
// and confirmation tag (§12.4.3.1).
func InterimTranscriptHash(s *suite.Suite, confirmed, confirmationTag []byte) ([]byte, error) {
	in, err := InterimTranscriptHashInput(confirmationTag)
	if err != nil {
		return nil, err
	}
	return s.Hash(append(append(make([]byte, 0, len(confirmed)+len(in)), confirmed...), in...)), nil
}

// ConfirmationTag returns MAC(confirmation_key, confirmed_transcript_hash)
// (§6.1), with the confirmation key and confirmed transcript hash of the
// new epoch.
func ConfirmationTag(s *suite.Suite, confirmationKey, confirmed []byte) []byte {
	return s.MAC(confirmationKey, confirmed)
}

// VerifyConfirmationTag checks, in constant time, that tag is
// MAC(confirmation_key, confirmed_transcript_hash) (§6.1, §12.4.2: "Verify
// that the confirmation_tag ... is valid"; §12.4.3.1 for a GroupInfo).
func VerifyConfirmationTag(s *suite.Suite, confirmationKey, confirmed, tag []byte) error {
	if !s.VerifyMAC(confirmationKey, confirmed, tag) {
		return ErrConfirmationTag
	}
	return nil
}
