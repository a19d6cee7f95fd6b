// Package mls is the group state machine of RFC 9420 (Messaging Layer
// Security): the API a chat backend embeds to create groups, add and remove
// members, and exchange messages with forward secrecy and post-compromise
// security. It builds on the lower layers of this module: the wire codec
// (mls/wire), the cipher suites (mls/suite), the key schedule
// (mls/keyschedule), the wire structures and message protection
// (mls/message) and the ratchet tree (treekem). The types of those layers
// an application handles are aliased here (CipherSuite, Credential,
// KeyPackage, LeafIndex, Extensions, the proposal bodies...), so that the
// common flow imports this package only (see Example).
//
// # Clients and groups
//
// A client is described by a Config: its cipher suite, a Signer (a
// one-method interface, so the signature key may live in an HSM; NewSigner
// makes one in memory), its credential, its Authentication Service and
// authorization Policy. NewKeyPackage makes a KeyPackage to publish (§10)
// and its private part to keep. A group is created with NewGroup (§11),
// joined with Join from a Welcome (§12.4.3.1, ParseWelcome says for which
// KeyPackage) or with JoinExternal from a GroupInfo (§12.4.3.2), and
// restored with UnmarshalGroup from a snapshot or Load from a Storage. A
// *Group is not safe for concurrent use: the application serializes the
// work on each group.
//
// # Authentication and authorization
//
// Config.Authentication is the Authentication Service (§5.3.1): it
// validates every credential introduced in the group (KeyPackages, Updates,
// UpdatePaths, the trees and external senders of groups joined), decides
// whether a member's new credential is a valid successor of its old one,
// and names the identity a credential presents, which the group compares
// instead of credential bytes. BasicAuthentication (the default) and
// X509Authentication implement it; NewX509Config wires a CA-issued chain.
//
// Config.Policy is the authorization policy, applied identically by
// committers, receivers and PublicGroup: by default an external commit is
// admitted only as a resync of a member by itself (DefaultAdmit), a
// new_member_proposal Add is refused, and proposals of external senders
// are accepted only from the validated senders of the external_senders
// extension. Refusals match ErrRejected (*AdmissionError,
// *CredentialError, ProposalError with RulePolicy).
//
// # Two-phase commits
//
// Commit (and its shortcuts Add, Remove and Update) returns a
// PendingCommit with the Commit, Welcome and GroupInfo to send, and leaves
// the group unchanged (§14: "The generation of Commit messages MUST NOT
// modify a client's state"); the application calls Group.Apply once the
// delivery service accepted the commit, or drops it with
// PendingCommit.Discard (a commit that lost its epoch), which deletes the
// secrets of the epoch it would have started (§9.2).
// Process verifies a received message: application data is returned,
// proposals are cached for the epoch, and a commit is staged as a
// StagedCommit whose changes (adds, updates, removes, the joiner of an
// external commit, PSKs, ReInit) the application inspects before applying
// it with Group.Apply (or dropping it with StagedCommit.Discard). Every
// change is staged on copies — the tree copy-on-write, the key schedule,
// transcript hashes and proposal cache fresh — and swapped in only on
// success: on any error the group is unchanged. (A received PrivateMessage
// may make the secret tree derive a sender's ratchet on first use; that
// derivation is lazy and has no visible effect.)
//
// # Proposals
//
// Proposals (§12.1) are made with NewAdd, NewRemove, NewGroupContextExtensions,
// Group.NewExternalPSK, Group.NewResumptionPSK, Group.NewReInit and NewCustom,
// and either sent on their own with Group.Propose (Group.ProposeUpdate for an
// Update) to be committed by reference, or committed by value in
// CommitOptions.Proposals. External parties propose with ExternalProposal
// (senders listed in the external_senders extension, §12.1.8) and
// NewMemberProposal. Every list of proposals is validated against every rule
// of §12.2 by both the committer and the receivers (see the Rule constants
// reported in ProposalError); Config.Policy.Proposal adds the application's
// own rules, and is where custom proposal types are accepted.
//
// # Messages
//
// Encrypt protects application data as a PrivateMessage (§6.3), padded by
// Config.Padding. Handshake messages are PublicMessages, or PrivateMessages
// with Config.EncryptHandshake, CommitOptions.WireFormat or
// ProposeOptions.WireFormat. Out-of-order messages are accepted within a
// bounded window (Config.MaxForwardDistance, Config.MaxRetainedKeys, §15.3),
// and late application messages of the last Config.PastEpochs epochs are
// decrypted with the keys kept for them; every message key is deleted once
// used (§9.2), so a replay fails with ErrReplay. Export and
// EpochAuthenticator expose the exporter (§8.5) and epoch authenticator
// (§8.7). GREASE values (§13.5) are always accepted and, with
// Config.GREASE, sent.
//
// # Servers
//
// A PublicGroup tracks a group without any secret, as a delivery service
// does: built from a GroupInfo (NewPublicGroup) or a member's group
// (Group.PublicGroup), it processes PublicMessage proposals and commits
// through the code members run, minus what needs the epoch's secrets
// (membership tags, confirmation tags, path secrets; see PublicGroup).
//
// # State
//
// Group.MarshalBinary returns a versioned CBOR snapshot of the whole state,
// which UnmarshalGroup restores so that the group continues exactly where
// it stood. The Storage interface (load, atomically save, delete and list
// groups; put and take KeyPackage private parts) and Group.Save, Load and
// JoinWithStorage tie this to an application's database; MemoryStorage and
// FileStorage implement it. Join consumes a one-time KeyPackage's private
// part (§16.8).
//
// # Reinitialization and branching
//
// A commit covering a ReInit closes the group (§11.2); Group.Reinitialize
// then creates its successor, whose Welcome carries a resumption PSK with
// usage reinit. Group.Branch creates a subgroup (§11.3). Joiners pass the
// old group in JoinOptions.Resumption so that the link is verified.
//
// # Scale
//
// Nothing a commit does is O(n) in the group size apart from what is so by
// nature (a Welcome's ratchet_tree, the validation of a tree on join, a
// snapshot): tree and parent hashes are cached by treekem and recomputed
// along changed paths, the tree is staged copy-on-write, and a past epoch
// keeps no tree — only its message keys and the signature keys of the
// leaves that changed since. A received tree is bounded by what it costs
// to decode and hash (Config.MaxTreeLeaves). For simulations and tests
// only, GroupFromTree, ViewAs and LeafPrivateKey (which need an Access of
// package mls/internal/simulation, so they are not part of the API) start a
// group on a tree built directly and give any member's view of a group.
//
// # Errors
//
// Errors wrap the sentinels of errors.go (errors.Is) and carry typed
// details (ProposalError, EpochError, CredentialError, AdmissionError;
// errors.As). ErrInternal marks a bug of this package; a recovered panic
// is a *PanicError with its stack. No input from the network makes a
// function of this package panic.
package mls
