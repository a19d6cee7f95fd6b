// Package delivery is an MLS delivery service and authentication service
// (RFC 9750 §4, §5): a KeyPackage directory, a certificate authority for
// its clients' identities, and a strongly consistent message router that
// validates and orders each group's handshake messages, so that groups do
// not fork and only members speak for a group. Run it as `mls ds serve`
// ([ListenAndServe]), or embed its HTTP handler ([NewServer]) in a chat
// backend; [Client] calls it.
//
// # Trust model
//
// The service is trusted for availability and ordering, and as the
// certificate authority; it is never trusted with secrets or with
// anything clients act on without checking it.
//
//   - It cannot read messages: application messages are PrivateMessages
//     and it holds no group secret.
//   - It cannot make members accept a message or state that is not the
//     group's: clients verify every message, the tree it serves against the
//     tree hash of a GroupInfo they hold (mls.Join), and a rejoin continues
//     only the group the client knew (package agent).
//   - It can deny service: refuse, delay, drop or withhold messages, hand
//     out a stale KeyPackage, order commits as it likes. Members detect a
//     partition by comparing epoch authenticators out of band.
//   - As the CA it could certify a false key for a name (and so add a
//     ghost device or impersonate a client joining a group). Clients pin
//     its root at their first start (trust on first use, or a root given
//     out of band), and the fingerprints of members' certificates (`mls
//     client info`) and of the root reveal a false certificate to people
//     who compare them (RFC 9750 §8.4.3.1).
//   - An outsider registered at the service (registration is open) gets
//     nothing of a tracked group: it cannot read it, post to it, join it,
//     replace its GroupInfo, queue Welcomes but for KeyPackages it claimed,
//     or pose as a member. A member can still post a commit that passes
//     every check the service can make but that members cannot process (a
//     wrong confirmation tag, path secrets that do not decrypt: RFC 9750
//     §5.3, "Invalid Commits"); members then resync (agent's rejoin).
//
// # Identities
//
// A client registers its name with its signature public key and a proof
// of possession (a [KeyToCertify] signed with the key, see [ProveKey]); the
// service returns an X.509 credential: a certificate whose subject common
// name is the name, for the key, signed by the service's CA, whose key it
// creates on first start and keeps in its store (or Config.CAKey). A new
// key is certified the same way (key rotation). GET /v1/ca serves the root.
// The service validates every credential of its tracked groups and of the
// KeyPackages uploaded with the same Authentication Service its clients
// use (Config.Authentication, by default mls.X509Authentication against
// the root), so a KeyPackage in the directory is always its uploader's.
// Keys of every built-in suite are certified: Ed25519 and ECDSA keys as
// crypto/x509 writes them, Ed448 (RFC 8410) and ML-DSA keys (FIPS 204) as
// raw subjectPublicKeys (which needs an Ed25519 CA key, the default). A
// client may also register a bare name (no key, no certificate) for opaque
// groups.
//
// # Tracked groups
//
// A group is created with its initial state (PUT /v1/groups/{group} with a
// [GroupSetup]: the GroupInfo of epoch 0 and its tree) and the service
// follows it with the library's public group view (mls.PublicGroup, the
// code members run minus what needs the epoch's secrets):
//
//   - Every handshake message is validated before it is ordered: a commit
//     or proposal the view rejects gets 422 "rejected" with the reason, is
//     not stored, and does not end the epoch. Handshake messages must be
//     PublicMessages (a PrivateMessage handshake gets 422).
//   - The authenticated client must be the sender: the identity of the
//     member's leaf, of an external commit's joiner, of a new member's
//     KeyPackage, of an external sender (else 403 "forbidden").
//   - External commits and new-member proposals follow the group's policy
//     ([Policy], the same for members and the service): a member's resync
//     of its own leaf (same identity and signature key); anyone else only
//     if the group's [ExtensionAdmission] admits it (created "open", or
//     with an admission list).
//   - A commit comes with the GroupInfo of the new epoch, which must be the
//     view's (GroupContext, confirmation tag, tree if included) and signed
//     by the committer; a GroupInfo PUT alone must be the current epoch's,
//     signed by the caller's leaf. So the GroupInfo served for resyncs is
//     always the group's.
//   - A Welcome must be the commit's (mls.StagedCommit.CheckWelcome: one
//     entry per KeyPackage added). It is queued for the owners of the
//     KeyPackages it names (refs computed by the service at upload), and
//     for no one else.
//   - Reading a group's log, events, tree, GroupInfo and state requires
//     being a member: a joiner reads from the commit that added it on, a
//     removed member up to the commit that removed it (the latest 1,024
//     removals are remembered); clients the group admits also read its
//     GroupInfo and current tree.
//   - The service serves the tree (GET .../tree, of the current epoch or,
//     for a joiner, of its Welcome's epoch), so commit bundles and Welcomes
//     carry none: a commit uploads O(log n) bytes.
//
// How views are kept: each process holds the views of recently used
// groups in memory (Config.ViewCacheLeaves members in all), so a commit
// costs the view what it costs a member, O(log n), and writes the commit
// and nothing O(n) to the store. Every max(Config.SnapshotEpochs,
// members/16) epochs, and when a view is evicted, its snapshot
// ([store.View]: the PublicGroup snapshot and the membership index) is
// written, which keeps the snapshot bytes written per commit constant; the
// snapshots that pending Welcomes' epochs need are kept, older ones
// pruned. A view is rebuilt from the newest snapshot by replaying the log
// after it. Several processes may share one store (PostgreSQL): the
// store's epoch compare-and-set remains the arbiter of each epoch, and a
// process reads the log past its view before validating a handshake
// message (and before serving a read that reaches past it), so it never
// accepts a commit validated against a stale view.
//
// Groups created opaque (GroupSetup.Opaque: encrypted handshake messages)
// are only ordered, as before tracking existed: the service reads their
// framing only, cannot refuse an invalid commit (which then wins its epoch
// and stalls the group), checks no membership (any authenticated client
// may read and post; an embedder restricts them in Config.Authenticate or
// in front of the handler) and serves no tree. Welcomes are still queued
// only for owners of the KeyPackages they name.
//
// # What it guarantees
//
//   - Exactly one commit wins each epoch of a group (RFC 9420 §14). A commit
//     for a stale or future epoch is refused with the group's current epoch
//     and, for an ended epoch, the commit that won it. A commit's Welcome is
//     queued, and its GroupInfo published, only if the commit wins, in the
//     same transaction (RFC 9750 §5.2.3).
//   - Each group has one log: commits, proposals and application messages
//     numbered 1, 2, 3, ... without gaps, each message in the epoch it was
//     sent in (a message for another epoch is refused like a commit, so
//     members can forget an epoch's keys once its commit is processed).
//     Members fetch after a cursor, long-poll, or stream server-sent events
//     and resume from a cursor: no gaps, no duplicates.
//   - Retries are idempotent: the same bytes posted to a group again are
//     stored once, and the retry is answered with the original sequence
//     number, also for a winning commit after later epochs began.
//   - A one-time KeyPackage is handed to exactly one claimer, even when
//     claimers race and even if its upload is retried after the claim; then
//     the client's last-resort KeyPackage, never consumed, is handed out.
//     The owner sees who claimed its KeyPackages (GET .../claims).
//   - Bad input gets a 4xx and changes nothing; bodies are size-limited
//     before they are read; no client input causes a 5xx, and a request the
//     client gave up on is recorded as 499, logged at debug at most. Logs
//     name no group at ERROR level unless the error is the service's.
//   - One client cannot starve the others ([Limits]): per client at most
//     16 event streams and long polls at once (429 beyond, with the
//     connection closed), a cap on connections below the process's file
//     descriptor limit, and token buckets on registrations per source
//     address, group creations, KeyPackage claims (per claimer, per
//     claimer and target, per target) and uploads. All are configurable
//     (Config.Limits, `mls ds serve` flags).
//
// Stores ([store.Store]): "memory:" (tests, simulations), "sqlite:PATH"
// (embedded default; WAL, synchronous=FULL) and "postgres://..." (several
// service processes share one database); see [OpenStore].
//
// # HTTP API
//
// Group ids appear in URLs in unpadded base64url ([EncodeGroupID]). Request
// bodies are one MLSMessage (media type message/mls) unless stated; JSON
// responses are described by the Go types named. Every request but
// registration, /v1/ca, /metrics and /healthz needs "Authorization: Bearer
// TOKEN" (or the embedder's Config.Authenticate). Errors are JSON {"error":
// text, "code": code} with the status of the code: 400 malformed, 401
// unauthorized, 403 forbidden, 404 unknown_group / no_key_package /
// no_group_info / not_found, 409 wrong_epoch / client_exists /
// key_package_exists / group_exists, 413 too_large, 415
// unsupported_media_type, 422 rejected, 429 rate_limited; a 409 wrong_epoch
// also carries "epoch", "current_epoch", "winner": {"seq", "message"
// (base64)} and the header Mls-Epoch.
//
//	POST   /v1/clients                     CertificateRequest (JSON) → 201 Registration {name, token, certificates}
//	POST   /v1/clients/{name}/certificate  CertificateRequest (JSON) → 200 Certified {certificates}
//	GET    /v1/ca                                                 → 200 application/pkix-cert (DER); header Mls-Fingerprint
//	POST   /v1/keypackages[?last_resort=true]   KeyPackage        → 201 (200 if known) UploadedKeyPackage {ref, created}
//	GET    /v1/keypackages[?suite=N]                              → 200 KeyPackageCount {one_time, last_resort}
//	GET    /v1/keypackages/claims[?limit=N]                       → 200 [ClaimRecord {claimer, ref, last_resort, time}]
//	POST   /v1/clients/{name}/keypackage[?suite=N]   (claim)      → 200 message/mls; headers Mls-KeyPackage-Ref, Mls-Last-Resort
//	PUT    /v1/groups/{group}               GroupSetup            → 201 (200 if created so before) GroupState {epoch, last_seq}
//	GET    /v1/groups/{group}                                     → 200 GroupState
//	POST   /v1/groups/{group}/messages      message/mls or commit bundle → 201 (200 for a retry) Posted {seq, epoch, duplicate}
//	GET    /v1/groups/{group}/messages?after=SEQ[&limit=N][&wait=SECONDS]
//	                                                              → 200 application/vnd.mlsengine.messages; header Mls-Cursor
//	GET    /v1/groups/{group}/events[?after=SEQ]   (or Last-Event-ID) → text/event-stream
//	GET    /v1/groups/{group}/groupinfo                           → 200 message/mls
//	PUT    /v1/groups/{group}/groupinfo     GroupInfo             → 204
//	GET    /v1/groups/{group}/tree[?epoch=E]                      → 200 application/vnd.mlsengine.ratchet-tree; header Mls-Epoch
//	GET    /v1/welcomes/next                                      → 200 message/mls; headers Mls-Welcome-Id, Mls-Group-Id, Mls-Seq, Mls-Epoch; 204 if none
//	DELETE /v1/welcomes/{id}                                      → 204
//	GET    /metrics                         Prometheus text format
//	GET    /healthz                                               → 200 "ok"
//
// Client names are 1 to 64 of A-Z a-z 0-9 . _ - @ +; registration returns
// a random token that cannot be recovered (the service keeps its SHA-256
// hash), and, with a key, its certificate chain.
//
// KeyPackages are stored per uploading client with their KeyPackageRef
// (computed by the service, RFC 9420 §5.2), once validated (RFC 9420 §10.1,
// the credential with Config.Authentication) and found to present the
// uploader's identity. A claim (of any client's KeyPackages, by any
// authenticated client, within the claim limits) returns the oldest
// one-time KeyPackage of the cipher suite, else the newest last-resort
// one, else 404 no_key_package. Uploading a last-resort KeyPackage retires
// the previous one of the same cipher suite.
//
// POST /v1/groups/{group}/messages takes a PublicMessage or PrivateMessage
// whose group_id is the URL's, of a group created before (else 404): a
// proposal or application message (appended if its epoch is the group's
// current epoch) or a commit (appended, and the epoch advanced, if its
// epoch is the current one). A commit may instead be posted as a commit
// bundle (media type application/vnd.mlsengine.commit-bundle, see
// [CommitBundle]): the commit, an optional Welcome, an optional GroupInfo
// for the new epoch (required in a tracked group) and optionally the names
// of the Welcome's recipients, which must then be exactly the owners of
// the KeyPackages it names. Application data must be a PrivateMessage;
// a PublicMessage's sender type must allow its content (RFC 9420 §6). The
// same bytes posted again return the original Posted with duplicate true,
// also once the epoch has moved on. A commit that loses gets 409
// wrong_epoch with the winner.
//
// GET .../messages returns, after the cursor "after", up to "limit"
// (default 100, at most 1000, and about 4 MiB) messages the caller may read
// as a sequence of entries (see [Entry]); Mls-Cursor is the sequence
// number of the last message read or skipped (the next cursor). With
// "wait" (seconds, at most Config.MaxWait) and no message after the cursor
// it waits for one (long poll) and may answer empty. The event stream
// sends each message as an event with "id:" its sequence number and
// "data:" the MLSMessage in standard base64, and a comment every 15
// seconds while idle; a reconnecting EventSource resumes by Last-Event-ID.
// A removed member's fetch past its removal gets 403, and its stream ends.
//
// The GroupInfo of the current epoch (for resyncs and, where admitted,
// external joins, RFC 9420 §12.4.3.2) comes with a winning commit or a
// group's creation, or is published with PUT for the current epoch (409
// otherwise). In an opaque group a commit without one leaves none (404
// no_group_info) until one is published.
//
// A client's pending Welcomes are read one at a time, oldest first, with
// GET /v1/welcomes/next (Mls-Epoch is the epoch of the Welcome's GroupInfo,
// whose tree GET .../tree?epoch= serves) and deleted once processed.
//
// Not provided: message retention limits, and WebSocket streaming
// (server-sent events instead).
package delivery
