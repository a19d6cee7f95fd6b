package mls

import (
	"github.com/mlsengine/engine/mls/keyschedule"
	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/treekem"
)

// The types and constants of the lower layers that an application handles,
// so that the common flow imports this package only. They are aliases:
// values of mls/suite, mls/message and treekem mix freely with them.
type (
	// CipherSuite identifies a cipher suite (§5.1).
	CipherSuite = suite.ID
	// Signer signs with a client's signature key; see NewSigner.
	Signer = suite.Signer

	// Credential binds an identity to a signature key (§5.3); see
	// BasicCredential and X509Credential.
	Credential     = treekem.Credential
	CredentialType = treekem.CredentialType
	// Capabilities are what a client supports (§7.2); see
	// DefaultCapabilities.
	Capabilities = treekem.Capabilities
	// LeafNode describes a member in the tree (§7.2), LeafIndex its place.
	LeafNode  = treekem.LeafNode
	LeafIndex = treekem.LeafIndex
	// Extension, Extensions and ExtensionType are the extensions of
	// GroupContexts, LeafNodes, KeyPackages and GroupInfos (§13).
	Extension     = treekem.Extension
	Extensions    = treekem.Extensions
	ExtensionType = treekem.ExtensionType
	// RequiredCapabilities is the required_capabilities extension (§11.1).
	RequiredCapabilities = treekem.RequiredCapabilities

	// KeyPackage is a parsed KeyPackage (§10); see ParseKeyPackage.
	KeyPackage = message.KeyPackage
	// GroupContext is an epoch's context (§8.1).
	GroupContext = message.GroupContext
	// Sender is a message's sender (§6), of a SenderType.
	Sender     = message.Sender
	SenderType = message.SenderType
	// ContentType and WireFormat describe a received message (§6).
	ContentType = message.ContentType
	WireFormat  = message.WireFormat
	// ProposalType is a proposal's type and ProposalRef its reference.
	ProposalType = message.ProposalType
	ProposalRef  = message.ProposalRef
	// ExternalSender is an entry of the external_senders extension
	// (§12.1.8.1); ExternalSenders.Extension makes the extension.
	ExternalSender  = message.ExternalSender
	ExternalSenders = message.ExternalSenders
	// PreSharedKeyID identifies a pre-shared key (§8.4).
	PreSharedKeyID = keyschedule.PreSharedKeyID

	// The bodies of Proposal (§12.1).
	Add                    = message.Add
	Update                 = message.Update
	Remove                 = message.Remove
	PreSharedKey           = message.PreSharedKey
	ReInit                 = message.ReInit
	ExternalInit           = message.ExternalInit
	GroupContextExtensions = message.GroupContextExtensions
)

// The cipher suites of RFC 9420 §17.1, named as in the IANA registry.
const (
	MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519        = suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	MLS_128_DHKEMP256_AES128GCM_SHA256_P256             = suite.MLS_128_DHKEMP256_AES128GCM_SHA256_P256
	MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519 = suite.MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519
	MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448            = suite.MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448
	MLS_256_DHKEMP521_AES256GCM_SHA512_P521             = suite.MLS_256_DHKEMP521_AES256GCM_SHA512_P521
	MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448     = suite.MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448
	MLS_256_DHKEMP384_AES256GCM_SHA384_P384             = suite.MLS_256_DHKEMP384_AES256GCM_SHA384_P384
)

// The cipher suites of draft-ietf-mls-pq-ciphersuites-06 at their
// provisional code points (see package suite).
const (
	MLS_128_MLKEM768X25519_AES128GCM_SHA256_Ed25519        = suite.MLS_128_MLKEM768X25519_AES128GCM_SHA256_Ed25519
	MLS_128_MLKEM768X25519_AES256GCM_SHA384_Ed25519        = suite.MLS_128_MLKEM768X25519_AES256GCM_SHA384_Ed25519
	MLS_128_MLKEM768P256_AES128GCM_SHA256_P256             = suite.MLS_128_MLKEM768P256_AES128GCM_SHA256_P256
	MLS_128_MLKEM768P256_AES256GCM_SHA384_P256             = suite.MLS_128_MLKEM768P256_AES256GCM_SHA384_P256
	MLS_192_MLKEM1024P384_AES256GCM_SHA384_P384            = suite.MLS_192_MLKEM1024P384_AES256GCM_SHA384_P384
	MLS_128_MLKEM768_AES256GCM_SHA384_Ed25519              = suite.MLS_128_MLKEM768_AES256GCM_SHA384_Ed25519
	MLS_128_MLKEM768_AES256GCM_SHA384_P256                 = suite.MLS_128_MLKEM768_AES256GCM_SHA384_P256
	MLS_192_MLKEM1024_AES256GCM_SHA384_P384                = suite.MLS_192_MLKEM1024_AES256GCM_SHA384_P384
	MLS_128_MLKEM768X25519_CHACHA20POLY1305_SHA384_MLDSA44 = suite.MLS_128_MLKEM768X25519_CHACHA20POLY1305_SHA384_MLDSA44
	MLS_192_MLKEM768_AES256GCM_SHA384_MLDSA65              = suite.MLS_192_MLKEM768_AES256GCM_SHA384_MLDSA65
	MLS_256_MLKEM1024_AES256GCM_SHA384_MLDSA87             = suite.MLS_256_MLKEM1024_AES256GCM_SHA384_MLDSA87
)

// Credential types (§5.3), wire formats and content types (§6), and sender
// types (§6.1).
const (
	CredentialBasic = treekem.CredentialBasic
	CredentialX509  = treekem.CredentialX509

	WireFormatPublicMessage  = message.WireFormatPublicMessage
	WireFormatPrivateMessage = message.WireFormatPrivateMessage

	ContentApplication = message.ContentApplication
	ContentProposal    = message.ContentProposal
	ContentCommit      = message.ContentCommit

	SenderMember            = message.SenderMember
	SenderExternal          = message.SenderExternal
	SenderNewMemberProposal = message.SenderNewMemberProposal
	SenderNewMemberCommit   = message.SenderNewMemberCommit
)

// BasicCredential returns a basic credential for identity (§5.3).
func BasicCredential(identity []byte) Credential { return treekem.BasicCredential(identity) }
