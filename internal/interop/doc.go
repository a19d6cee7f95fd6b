// Package interop is this project's client for the MLS working group's
// interop harness (github.com/mlswg/mls-implementations, interop/): a gRPC
// server of the MLSClient service of mls_client.proto (generated code in
// mlsclientpb), which the harness's test runner drives through its
// scenarios together with other implementations' servers, moving real
// wire bytes between them and checking that every member agrees on each
// epoch's authenticator and on every plaintext. `mls interop serve` runs
// it.
//
// The server only adapts between the proto and package mls: every RPC is
// one or a few calls of the library's public API. Every message it returns
// is an MLSMessage (KeyPackage, Welcome, GroupInfo, PublicMessage or
// PrivateMessage), trees are ratchet_tree encodings (RFC 9420 §12.4.3.3)
// and private keys the encodings of the official test vectors.
//
// # Objects and ids
//
// A state id names one member's state of one group; a transaction id a
// KeyPackage waiting for its Welcome (CreateKeyPackage,
// NewMemberAddProposal); a reinit id a reinitialization between its
// commit and its Welcome; a signer id an external sender. The ids share one
// space, starting at 1. A state keeps its id across epochs: the state ids
// returned by HandleCommit and HandlePendingCommit are those of the request.
// Joining uses a transaction up, and finishing a reinitialization
// (ReInitWelcome, HandleReInitWelcome) releases its reinit id and the
// state id of the closed group (RFC 9420 §11.2). Free releases any id.
// At most Options.MaxHandles objects are kept: beyond that the least
// recently used one is dropped, since the runner never frees some of what
// it creates. RPCs may come concurrently: each object serializes the RPCs
// on it.
//
// # Members
//
// Every group, KeyPackage and external signer gets a fresh signature key
// in its suite and a basic credential with the request's identity. Remove
// proposals and resyncs name members by that identity (the harness's
// removed_id). Handshake messages are PrivateMessages when the state was
// made with encrypt_handshake. A commit carries a path when a proposal
// needs one or force_path asks for it (the library's default, a path on
// every commit, is not what the harness tests). External PSKs stored with
// StorePSK belong to the client: a state made from a transaction or
// another state (a join, a branch, a reinitialization) knows the PSKs of
// the one it came from. Every client that holds a GroupInfo may enter a
// group on its own, by external commit or new-member Add proposal
// (mls.AdmitAll): the harness's scenarios do both, and the library's
// default admits only a member's resync.
//
// # Errors
//
// Errors are gRPC status errors with the library's message: a request
// whose input is bad (does not decode, does not verify, breaks a rule of
// RFC 9420) fails with InvalidArgument, one that does not fit the state
// with FailedPrecondition, an unknown id with NotFound, something the
// library does not support with Unimplemented, and what its policy refuses
// with PermissionDenied. No input makes an RPC panic.
package interop
