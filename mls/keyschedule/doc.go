// Package keyschedule implements the secret derivations of RFC 9420 §8 and
// §9: the epoch key schedule, pre-shared keys, the exporter, external
// initialization, and the secret tree with its per-sender hash ratchets.
//
// Use it from the group state machine: [Derive] advances the schedule when a
// Commit is created or processed, [Join] starts it from the joiner_secret of a
// Welcome, [ExternalInit] and [ExternalInitSecret] provide the init_secret of
// an external Commit (§8.3), and [PSKSecret] folds the pre-shared keys of a
// Commit into psk_secret (§8.4). The epoch's encryption_secret seeds a
// [SecretTree], which hands out the AEAD key and nonce for each message sent
// or received in the epoch (§9.1), deleting them as they are consumed (§9.2).
//
// The package does not know the GroupContext structure: callers pass its
// encoding. Secrets are plain byte slices so that the caller can persist
// them; consumed secrets are zeroed where this package owns them, and
// [Secrets.Wipe] and [SecretTree.Wipe] zero what remains when an epoch ends.
//
// No value of this package is safe for concurrent use.
package keyschedule
