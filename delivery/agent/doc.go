// Package agent is one MLS client's whole life against a delivery service
// (package delivery): its identity, its KeyPackages, its groups and their
// synchronization, kept in a state directory. It is what `mls client` runs;
// use it to script or embed a client that talks to an `mls ds serve`. A
// chat backend that keeps its own storage embeds package mls instead.
//
// # State directory
//
// Init creates the identity: a signature key, registered with the delivery
// service under the client's NAME with a proof of possession, for which the
// service's CA issues an X.509 credential (its subject is NAME, the
// identity members see). Init pins the CA's root certificate (the one the
// service presents, or Options.CA given out of band) and the client
// validates every credential it meets (leaves, successors, external
// senders, joiners) against it (mls.X509Authentication); Summary shows the
// members' certificate fingerprints, CAFingerprint the root's, to compare
// out of band. Init then uploads KeyPackages; Open reopens the directory. The
// directory holds one file per group and per unused KeyPackage private key
// (see DirStorage, an mls.Storage), each replaced atomically, and is locked
// while an Agent has it open. A group's file holds its MLS state together
// with its cursor in the delivery service's log and its unread events, so
// the three always change together; it is saved after every message
// processed, before every post (see Write-ahead) and after every post the
// delivery service accepted.
//
// The last-resort KeyPackage (handed out by the delivery service once the
// one-time ones are exhausted) is replaced by a fresh one after a Welcome
// for it arrived or once it is old, its private part deleted by a Join
// after Options.LastResortGrace, and the client updates its leaf in a
// group it joined with it (RFC 9750 §5.1).
//
// # Groups and their names
//
// A group has a random MLS group id and a name chosen by its creator,
// carried in the group's GroupContext (ExtensionGroupName), so every member
// lists it under the same name, whoever added it; Join only adds a suffix
// when the client already has an active group of that name.
//
// # Synchronization
//
// Every operation on a group first catches up: it fetches the group's log
// after its cursor and processes each message, oldest first. What it
// learns (application messages, membership changes, warnings about skipped
// messages) is queued in the group's inbox until Receive reports it, so no
// message is lost by an operation that catches up on the way.
//
// Commits are two-phase (RFC 9420 §14, RFC 9750 §5.2.1): a commit is posted
// with its Welcome and GroupInfo and applied only once the delivery service
// accepted it. One that lost its epoch (409) is discarded; the client
// catches up (processing the winner) and builds it again once. Neither the
// Welcome nor the GroupInfo carries the ratchet tree: the delivery service
// tracks every group and serves its tree, which a joiner fetches for its
// Welcome's epoch and mls.Join checks against the Welcome's tree hash, so a
// commit uploads O(log n) bytes and a lying service is detected. A Welcome
// that cannot be used (not for a KeyPackage of the client, invalid, its
// tree not served) is deleted with a warning, so it never blocks later
// ones.
//
// # Write-ahead
//
// Everything the client posts (commits, proposals, application messages) is
// first written to the group's record with its digest, the delivery
// service's idempotency key; a commit is recorded with the bundle to post
// and the group's state in the epoch it starts. So whenever the process
// dies or the connection drops after that, the next operation on the group
// finishes the job while it catches up: its own commit found in the log is
// applied from the record (never skipped), a commit that another one beat
// to its epoch is discarded (its recorded secrets deleted), and a message
// whose fate is unknown is posted again, which the delivery service answers
// with the original position if it had accepted it. A message of the
// client's own in the log that it has no record of means that its state is
// older than the group (a state directory restored from a copy, or one used
// by two processes): following the group would reuse keys or skip its own
// commit, so the operation fails with ErrOutOfSync, saying to rejoin.
// Receive's events are deleted only after the caller has them (Deliver).
//
// # Leaving
//
// A member cannot commit its own removal (RFC 9420 §12.2), so Leave posts a
// Remove proposal for the client itself; from then on the group is
// inactive for every operation. Any member that ends a catch-up in Receive
// with proposals pending commits them (and Send does before encrypting, as
// §12.4 requires), so the request is carried out by the next member to
// receive. Until that commit, the leaving client keeps the group's state
// and its Receive follows the log silently: a proposal is valid only in its
// epoch (§12.4), so if a commit that does not cover it wins the epoch, the
// client finds itself still a member and proposes again in the new epoch;
// once a commit removes it, the state is deleted. A member removed by
// another's commit learns it in Receive (EventRemovedSelf); its state is
// deleted and it cannot decrypt anything sent afterwards.
//
// # Rejoining
//
// Every commit of the client is posted with the GroupInfo of the new epoch,
// and Create registers the group with that of epoch 0, so the delivery
// service (which checks each against its view of the group) always has the
// current one. Rejoin (and RejoinID, by group id) continues a group by
// external commit (RFC 9420 §12.4.3.2) from the GroupInfo and tree the
// service serves: for a client whose state cannot follow the group
// (ErrOutOfSync) or was lost, a resync that removes its old leaf. Members
// and the service admit a resync by default (delivery.Policy); a client
// that was removed or left comes back on its own only into a group created
// open or with it on the admission list (CreateOptions), otherwise a
// member adds it again. Rejoin continues only the group the client knew:
// the same group id, an epoch at least its own, and every member it knew
// still in the tree unless a Remove in the log since its cursor explains
// it; it refuses otherwise (the service is not trusted with the state) and
// needs the group's record. Its external commit is written ahead like any
// commit (groupRecord.Rejoin): if the answer is lost, the next command on
// the group posts it again and finishes it. Members report it as "NAME
// rejoined" (EventRejoined) or, without an old leaf, "NAME joined".
package agent
