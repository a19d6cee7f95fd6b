// Package sqlstore is the delivery service's [store.Store] over SQL: SQLite
// (through modernc.org/sqlite, pure Go) as the embedded default, and
// PostgreSQL (through github.com/jackc/pgx/v5) for several delivery service
// processes sharing one database.
//
// A message is appended in a transaction that first locks the group's row:
// the row holds the group's epoch and last sequence number, and the
// transaction takes the next sequence number, and for a commit advances the
// epoch only if the row is still at the commit's epoch. That decides which
// commit wins an epoch; the row lock orders appends to the group, so
// sequence numbers are gapless and a reader never sees a later message
// without the earlier ones. The message, and a winning commit's Welcome
// queue entries and GroupInfo, are written in the same transaction, and
// unique indexes on each group's message digests and commit epochs guard
// both rules a second time.
//
// Appends that arrive while another transaction is being made durable are
// run together in the next one (group commit), each with its own outcome,
// with a few set-based statements for the whole batch: the disk flush and
// the statements' overhead are paid once per batch rather than once per
// message. The outcome of every append is the one it would have had
// running alone.
package sqlstore
