package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// schemaVersion is the version of the tables below, recorded in ds_meta so
// that an older DS refuses a database a newer one has changed.
// Version 2 added the tables of store.Tracker (tracked.go); a version 1
// database is upgraded in place.
const schemaVersion = 2

// dialect is what differs between the SQL databases: column types, the
// placeholder syntax and row locking. Queries are written once, with $N
// placeholders.
type dialect struct {
	name   string
	blob   string // type of byte strings
	serial string // an auto-incrementing, never reused primary key
	// skipLocked is appended to the SELECT that picks a KeyPackage to claim
	// so that concurrent claimers skip each other's rows; SQLite needs none
	// because it has one writer at a time.
	skipLocked string
	// placeholder rewrites $N placeholders, if the database wants others.
	placeholder func(query string) string
}

var sqlite = dialect{
	name:        "sqlite",
	blob:        "BLOB",
	serial:      "INTEGER PRIMARY KEY AUTOINCREMENT",
	placeholder: func(q string) string { return strings.ReplaceAll(q, "$", "?") },
}

var postgres = dialect{
	name:        "postgres",
	blob:        "BYTEA",
	serial:      "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
	skipLocked:  " FOR UPDATE SKIP LOCKED",
	placeholder: func(q string) string { return q },
}

// schema returns the statements that create the tables.
//
// Groups get a small integer key (gkey) so that the log does not repeat
// group ids. A message's digest is unique per group (idempotent retries),
// and so is the epoch of a commit: a second guard, besides the conditional
// update of ds_groups.epoch, that no epoch has two commits. A commit's
// Welcome is stored once, next to the commit, and ds_welcomes queues it per
// recipient. ds_keypackage_refs remembers every KeyPackageRef ever
// uploaded, so a retried upload of a claimed one-time KeyPackage cannot put
// it back.
func (d dialect) schema() []string {
	r := strings.NewReplacer("BLOB", d.blob, "SERIAL", d.serial)
	stmts := []string{
		`CREATE TABLE IF NOT EXISTS ds_meta (
			key TEXT PRIMARY KEY,
			value BIGINT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS ds_clients (
			name TEXT PRIMARY KEY,
			token_hash BLOB NOT NULL UNIQUE)`,
		`CREATE TABLE IF NOT EXISTS ds_groups (
			id SERIAL,
			group_id BLOB NOT NULL UNIQUE,
			epoch BIGINT NOT NULL,
			last_seq BIGINT NOT NULL,
			group_info BLOB)`,
		`CREATE TABLE IF NOT EXISTS ds_messages (
			gkey BIGINT NOT NULL,
			seq BIGINT NOT NULL,
			epoch BIGINT NOT NULL,
			content_type SMALLINT NOT NULL,
			wire_format INTEGER NOT NULL,
			digest BLOB NOT NULL,
			data BLOB NOT NULL,
			welcome BLOB,
			PRIMARY KEY (gkey, seq))`,
		`CREATE UNIQUE INDEX IF NOT EXISTS ds_messages_digest ON ds_messages (gkey, digest)`,
		`CREATE UNIQUE INDEX IF NOT EXISTS ds_messages_commit ON ds_messages (gkey, epoch) WHERE content_type = 3`,
		`CREATE TABLE IF NOT EXISTS ds_keypackage_refs (
			ref BLOB PRIMARY KEY,
			client TEXT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS ds_keypackages (
			id SERIAL,
			ref BLOB NOT NULL UNIQUE,
			client TEXT NOT NULL,
			cipher_suite INTEGER NOT NULL,
			last_resort BOOLEAN NOT NULL,
			data BLOB NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS ds_keypackages_client ON ds_keypackages (client, last_resort, cipher_suite, id)`,
		`CREATE TABLE IF NOT EXISTS ds_welcomes (
			id SERIAL,
			client TEXT NOT NULL,
			gkey BIGINT NOT NULL,
			seq BIGINT NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS ds_welcomes_client ON ds_welcomes (client, id)`,
	}
	for i, s := range stmts {
		stmts[i] = r.Replace(s)
	}
	return append(stmts, d.trackedSchema()...)
}

// migrate creates the tables in one transaction (with lock held, if the
// database needs one to serialize concurrent DS processes) and checks the
// schema version.
func migrate(ctx context.Context, db *sql.DB, d dialect, lock func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if lock != nil {
		if err := lock(tx); err != nil {
			return err
		}
	}
	for _, stmt := range d.schema() {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("creating tables: %w", err)
		}
	}
	var version int64
	err = tx.QueryRowContext(ctx, d.placeholder(`SELECT value FROM ds_meta WHERE key = 'schema_version'`)).Scan(&version)
	switch {
	case err == sql.ErrNoRows:
		_, err = tx.ExecContext(ctx, d.placeholder(`INSERT INTO ds_meta (key, value) VALUES ('schema_version', $1)`), schemaVersion)
		if err != nil {
			return err
		}
	case err != nil:
		return err
	case version == 1:
		_, err = tx.ExecContext(ctx, d.placeholder(`UPDATE ds_meta SET value = $1 WHERE key = 'schema_version'`), schemaVersion)
		if err != nil {
			return err
		}
	case version != schemaVersion:
		return fmt.Errorf("database has schema version %d, this delivery service knows version %d", version, schemaVersion)
	}
	return tx.Commit()
}
