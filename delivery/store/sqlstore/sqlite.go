package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// OpenSQLite opens (creating if needed) the SQLite database at path, in WAL
// mode with synchronous=FULL: a write is on disk before it is acknowledged.
// Writes go through one connection, so concurrent writers queue in the
// process instead of contending for the file lock; reads use a small pool.
// Several processes may open the same file (a busy writer is waited for),
// but notifications of new messages stay within a process.
func OpenSQLite(ctx context.Context, path string) (*Store, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("delivery: sqlite store: invalid path %q (empty, or with ? or #)", path)
	}
	const busy = "_pragma=busy_timeout(10000)"
	w, err := sql.Open("sqlite", path+"?_txlock=immediate&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&"+busy)
	if err != nil {
		return nil, fmt.Errorf("delivery: sqlite store: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	if err := migrate(ctx, w, sqlite, nil); err != nil {
		w.Close()
		return nil, fmt.Errorf("delivery: sqlite store %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", path+"?_pragma=query_only(1)&"+busy)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("delivery: sqlite store: %w", err)
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	if err := r.PingContext(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("delivery: sqlite store %s: %w", path, err), w.Close(), r.Close())
	}
	s := &Store{d: sqlite, w: w, r: r, q: newQueries(sqlite)}
	s.batchTx = s.sqliteBatchTx
	s.stmts = &stmtCache{db: w}
	s.startBatching(1, sqliteMaxBatch) // one writer connection
	return s, nil
}
