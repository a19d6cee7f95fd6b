// Package sqlstore is the delivery service's [store.Store] over SQL: SQLite
// (through modernc.org/sqlite, pure Go) as the embedded default, and
// PostgreSQL (through github.com/jackc/pgx/v5) for several delivery service
// processes sharing one database.
//
// Both run the same statements. A message is appended in one transaction
// whose first statement is a conditional update of the group's row: it
// takes the next sequence number, and for a commit advances the epoch only
// if the row is still at the commit's epoch. That update decides which
// commit wins an epoch; its row lock orders appends to the group, so
// sequence numbers are gapless and a reader never sees a later message
// without the earlier ones. The message, and a winning commit's Welcome
// queue entries and GroupInfo, are written in the same transaction.
//
// Appends that arrive while another transaction is being made durable are
// run together in the next one (group commit), each with its own outcome:
// the disk flush, which costs milliseconds, is paid once per batch rather
// than once per message.
package sqlstore
