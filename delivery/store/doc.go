// Package store defines what the delivery service persists, as one small
// [Store] interface that every backend implements, and the errors a backend
// reports.
//
// A Store keeps four things:
//
//   - registered clients and the hashes of their bearer tokens;
//   - the KeyPackage directory: each one-time KeyPackage is handed to exactly
//     one claimer, after which a client's last-resort KeyPackage (never
//     consumed) is handed out;
//   - one log per group: commits, proposals and application messages in a
//     gapless order numbered 1, 2, 3, ..., where exactly one commit ends each
//     epoch (a compare-and-set on the group's epoch) and the same bytes are
//     stored once;
//   - each client's queue of pending Welcomes, filled only by winning commits
//     in the same transaction, and each group's current GroupInfo.
//
// A Store does not parse MLS messages: the caller (package delivery) decodes
// the cleartext framing and passes the fields a Store needs next to the bytes.
//
// Backends: package memstore (in memory, for tests and simulations) and
// package sqlstore (SQLite, embedded; PostgreSQL, shared by several delivery
// service processes). Package storetest is the conformance suite every
// backend passes.
package store
