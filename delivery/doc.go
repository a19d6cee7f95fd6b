// Package delivery is an MLS delivery service (RFC 9750 §5): a KeyPackage
// directory and a strongly consistent message router that orders each
// group's commits, so that groups do not fork. Run it as `mls ds serve`
// ([ListenAndServe]), or embed its HTTP handler ([NewServer]) in a chat
// backend; [Client] calls it.
//
// # What it guarantees
//
//   - Exactly one commit wins each epoch of a group (RFC 9420 §14). A commit
//     for a stale or future epoch is refused with the group's current epoch
//     and, for an ended epoch, the commit that won it. A commit's Welcome is
//     queued for its recipients, and its GroupInfo published, only if the
//     commit wins, in the same transaction (RFC 9750 §5.2.3).
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
//   - The service reads only cleartext framing (group_id, epoch, content
//     type, sender type, wire format), decoded strictly by package
//     mls/message. Bad input gets a 4xx and changes nothing; bodies are
//     size-limited before they are read; no client input causes a 5xx.
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
// registration, /metrics and /healthz needs "Authorization: Bearer TOKEN"
// (or the embedder's Config.Authenticate). Errors are JSON {"error": text,
// "code": code} with the status of the code: 400 malformed, 401
// unauthorized, 404 unknown_group / no_key_package / no_group_info /
// not_found, 409 wrong_epoch / client_exists / key_package_exists, 413
// too_large, 415 unsupported_media_type; a 409 wrong_epoch also carries
// "epoch", "current_epoch", "winner": {"seq", "message" (base64)} and the
// header Mls-Epoch.
//
//	POST   /v1/clients                     {"name": NAME} (JSON)  → 201 Registration {name, token}
//	POST   /v1/keypackages[?last_resort=true]   KeyPackage        → 201 (200 if known) UploadedKeyPackage {ref, created}
//	GET    /v1/keypackages[?suite=N]                              → 200 KeyPackageCount {one_time, last_resort}
//	POST   /v1/clients/{name}/keypackage[?suite=N]   (claim)      → 200 message/mls; headers Mls-KeyPackage-Ref, Mls-Last-Resort
//	PUT    /v1/groups/{group}               (create, idempotent)  → 201 (200 if it exists) GroupState {epoch, last_seq}
//	GET    /v1/groups/{group}                                     → 200 GroupState
//	POST   /v1/groups/{group}/messages      message/mls or commit bundle → 201 (200 for a retry) Posted {seq, epoch, duplicate}
//	GET    /v1/groups/{group}/messages?after=SEQ[&limit=N][&wait=SECONDS]
//	                                                              → 200 application/vnd.mlsengine.messages; header Mls-Cursor
//	GET    /v1/groups/{group}/events[?after=SEQ]   (or Last-Event-ID) → text/event-stream
//	GET    /v1/groups/{group}/groupinfo                           → 200 message/mls
//	PUT    /v1/groups/{group}/groupinfo     GroupInfo             → 204
//	GET    /v1/welcomes/next                                      → 200 message/mls; headers Mls-Welcome-Id, Mls-Group-Id, Mls-Seq; 204 if none
//	DELETE /v1/welcomes/{id}                                      → 204
//	GET    /metrics                         Prometheus text format
//	GET    /healthz                                               → 200 "ok"
//
// Client names are 1 to 64 of A-Z a-z 0-9 . _ - @ +; registration is open
// and returns a random token that cannot be recovered (the service keeps
// its SHA-256 hash).
//
// KeyPackages are stored per uploading client with their KeyPackageRef
// (computed by the service, RFC 9420 §5.2). A claim (of any client's
// KeyPackages, by any authenticated client) returns the oldest one-time
// KeyPackage of the cipher suite, else the newest last-resort one, else 404
// no_key_package. Uploading a last-resort KeyPackage retires the previous
// one of the same cipher suite.
//
// A group exists once created with PUT /v1/groups/{group} (at epoch 0), or
// by its first commit, which must then be for epoch 0: a commit for epoch 0
// of an unknown group creates it in the same transaction. Any other message
// for an unknown group gets 404.
//
// POST /v1/groups/{group}/messages takes a PublicMessage or PrivateMessage
// whose group_id is the URL's: a proposal or application message (appended
// if its epoch is the group's current epoch) or a commit (appended, and the
// epoch advanced, if its epoch is the current one). A commit may instead be
// posted as a commit bundle (media type
// application/vnd.mlsengine.commit-bundle, see [CommitBundle]): the commit,
// an optional Welcome with the registered names of the clients it adds, and
// an optional GroupInfo for the new epoch (its group_id the group's, its
// epoch the commit's plus one). Application data must be a PrivateMessage;
// a PublicMessage's sender type must allow its content (RFC 9420 §6). The
// same bytes posted again return the original Posted with duplicate true,
// also once the epoch has moved on. A commit that loses gets 409
// wrong_epoch with the winner.
//
// GET .../messages returns, after the cursor "after", up to "limit"
// (default 100, at most 1000, and about 4 MiB) messages as a sequence of
// entries (see [Entry]); Mls-Cursor is the sequence number of the last one
// (the next cursor). With "wait" (seconds, at most Config.MaxWait) and no
// message after the cursor it waits for one (long poll) and may answer
// empty. The event stream sends each message as an event with "id:" its
// sequence number and "data:" the MLSMessage in standard base64, and a
// comment every 15 seconds while idle; a reconnecting EventSource resumes
// by Last-Event-ID.
//
// The GroupInfo of the current epoch (for external joins, RFC 9420
// §12.4.3.2) comes with a winning commit, or is published with PUT for the
// current epoch (409 otherwise). A commit without one leaves none (404
// no_group_info) until one is published.
//
// A client's pending Welcomes are read one at a time, oldest first, with
// GET /v1/welcomes/next and deleted once processed.
//
// Not provided: access control to groups (any authenticated client may
// read or post to any group it knows the id of; an embedder enforces
// membership in Config.Authenticate or in front of the handler), message
// retention limits, and WebSocket streaming (server-sent events instead).
package delivery
