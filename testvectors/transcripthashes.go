package testvectors

import (
	"fmt"

	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/mls/wire"
)

// TranscriptHashes is a case of transcript-hashes.json: a commit's
// AuthenticatedContent and the transcript hashes it leads to (RFC 9420
// §8.2).
type TranscriptHashes struct {
	Suite uint16 `json:"cipher_suite"`

	ConfirmationKey             HexBytes `json:"confirmation_key"`
	AuthenticatedContent        HexBytes `json:"authenticated_content"`
	InterimTranscriptHashBefore HexBytes `json:"interim_transcript_hash_before"`

	ConfirmedTranscriptHashAfter HexBytes `json:"confirmed_transcript_hash_after"`
	InterimTranscriptHashAfter   HexBytes `json:"interim_transcript_hash_after"`
}

// CipherSuite returns the case's cipher suite.
func (c *TranscriptHashes) CipherSuite() uint16 { return c.Suite }

// Verify checks that the content is a commit whose confirmation tag is the
// MAC of confirmed_transcript_hash_after under confirmation_key, and that
// both transcript hashes follow from interim_transcript_hash_before and the
// content.
func (c *TranscriptHashes) Verify() error {
	s, err := suite.Lookup(suite.ID(c.Suite))
	if err != nil {
		return err
	}
	var ac message.AuthenticatedContent
	if err := wire.Unmarshal(c.AuthenticatedContent, &ac); err != nil {
		return err
	}
	if ac.Content.ContentType != message.ContentCommit {
		return fmt.Errorf("%w: authenticated_content holds %v, not a commit", ErrMismatch, ac.Content.ContentType)
	}
	if err := message.VerifyConfirmationTag(s, c.ConfirmationKey, c.ConfirmedTranscriptHashAfter, ac.Auth.ConfirmationTag); err != nil {
		return fmt.Errorf("%w: %w", ErrMismatch, err)
	}
	confirmed, err := message.ConfirmedTranscriptHash(s, c.InterimTranscriptHashBefore, &ac)
	if err != nil {
		return err
	}
	if err := expectEqual("confirmed_transcript_hash_after", confirmed, c.ConfirmedTranscriptHashAfter); err != nil {
		return err
	}
	interim, err := message.InterimTranscriptHash(s, confirmed, ac.Auth.ConfirmationTag)
	if err != nil {
		return err
	}
	return expectEqual("interim_transcript_hash_after", interim, c.InterimTranscriptHashAfter)
}
