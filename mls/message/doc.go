// Package message holds every wire structure of RFC 9420 that is not part of
// the ratchet tree (those live in package treekem), and the framing that
// carries them: PublicMessage and PrivateMessage protection (§6), the
// transcript hashes and confirmation tag (§8.2), KeyPackages (§10),
// proposals and commits (§12), GroupInfo and Welcome (§12.4.3).
//
// Use it to encode and decode MLS messages and to protect or unprotect
// content for one epoch. It keeps no group state: the group state machine
// (package mls) passes in what each operation needs — the cipher suite, the
// serialized GroupContext of the epoch, the membership key, the secret tree,
// the sender-data secret and a way to find a sender's signature key.
//
// # Encoding
//
// Every structure implements wire.Marshaler and wire.Unmarshaler; decode a
// top-level structure with wire.Unmarshal, which is strict (minimal varints,
// no trailing bytes, presence bytes 0 or 1, known enum values). Decoded
// values alias the input. Structures whose encoding the RFC signs or hashes
// (FramedContent, KeyPackage, GroupInfo) keep the bytes they were decoded
// from in an exported Raw (or RawTBS) field, like crypto/x509; signatures,
// references and transcript hashes are computed over those bytes when they
// are set and over a fresh encoding otherwise, while MarshalMLS always
// encodes the fields. Clear Raw after modifying a decoded value.
//
// A Proposal of a type other than the seven of RFC 9420 (an application's
// type, §13.2, or a GREASE value, §13.5) decodes as a [CustomProposal],
// whose body is taken to be opaque data<V>: the Proposal struct has no
// length prefix, so an unknown body needs a known framing to be skipped.
// This package only decodes such proposals; whether their type is
// acceptable is the caller's policy (§12.2, and §13.5: an unsupported
// proposal type causes the enclosing message to be rejected).
//
// # Framing
//
// A sender builds a FramedContent, signs it with [SignContent] (giving an
// AuthenticatedContent), adds the confirmation tag if the content is a
// Commit ([ConfirmationTag] over the new confirmed transcript hash from
// [ConfirmedTranscriptHash]), and wraps it with [ProtectPublic] or
// [ProtectPrivate]. A receiver calls [UnprotectPublic] or
// [UnprotectPrivate], which check the group, the epoch, the membership tag
// or the AEAD, and the signature, and return the AuthenticatedContent; the
// confirmation tag of a Commit is checked by the caller once it has derived
// the new epoch's confirmation key ([VerifyConfirmationTag]). The key of a
// PrivateMessage's generation is consumed only once all of those checks
// pass; [OpenPrivate] leaves it in place until the caller has accepted the
// content ([OpenedPrivate.Consume]).
package message
