package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"sync"

	"github.com/mlsengine/engine/delivery/store"
)

// maxRowsPerStatement bounds the rows of one multi-row SQLite statement
// (and so its parameters, which SQLite limits).
const maxRowsPerStatement = 500

// sqliteBatchTx is the batchTxFunc of SQLite. Its one writer connection
// makes the transaction the only writer, so the reads see everything
// committed.
func (s *Store) sqliteBatchTx(ctx context.Context, gids [][]byte, reqs []*appendReq, withDups bool, decide func(batchRead) *batchWrite) error {
	err := s.inTx(ctx, "append batch", func(tx *sql.Tx) error {
		read := batchRead{groups: make(map[string]*groupRow, len(gids))}
		if err := sqliteReadGroups(ctx, s.stmts, tx, gids, read.groups); err != nil {
			return err
		}
		var w *batchWrite
		if !withDups {
			w = decide(read)
		}
		if w == nil {
			var err error
			if read.dups, err = sqliteReadDups(ctx, s.stmts, tx, reqs, read.groups); err != nil {
				return err
			}
			w = decide(read)
		}
		if w.empty() {
			return errRollback
		}
		return sqliteWrite(ctx, s.stmts, tx, w)
	})
	s.stmts.prepareMissing(ctx)
	if err == errRollback {
		return nil
	}
	return err
}

// sqliteReadGroups reads the rows of the groups gids that exist into groups.
func sqliteReadGroups(ctx context.Context, stmts *stmtCache, tx *sql.Tx, gids [][]byte, groups map[string]*groupRow) error {
	return chunked(len(gids), func(lo, hi int) error {
		args := make([]any, 0, hi-lo)
		for _, gid := range gids[lo:hi] {
			args = append(args, gid)
		}
		rows, err := stmts.query(ctx, tx, `SELECT id, group_id, epoch, last_seq FROM ds_groups WHERE group_id IN (`+
			strings.TrimSuffix(strings.Repeat("?, ", hi-lo), ", ")+`)`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			g := new(groupRow)
			var gid []byte
			if err := rows.Scan(&g.key, &gid, &g.epoch, &g.lastSeq); err != nil {
				return err
			}
			groups[string(gid)] = g
		}
		return rows.Err()
	})
}

// sqliteReadDups reads the logged positions of the requests whose bytes are
// in their (existing) group's log, by request index.
func sqliteReadDups(ctx context.Context, stmts *stmtCache, tx *sql.Tx, reqs []*appendReq, groups map[string]*groupRow) (map[int]store.Appended, error) {
	dups := make(map[int]store.Appended)
	var idx []int // the requests for existing groups
	for i, r := range reqs {
		if groups[string(r.groupID)] != nil {
			idx = append(idx, i)
		}
	}
	err := chunked(len(idx), func(lo, hi int) error {
		args := make([]any, 0, 3*(hi-lo))
		for _, i := range idx[lo:hi] {
			args = append(args, i, groups[string(reqs[i].groupID)].key, reqs[i].sum[:])
		}
		rows, err := stmts.query(ctx, tx, `SELECT v.column1, m.seq, m.epoch FROM (VALUES `+values(hi-lo, 3)+`) AS v
			JOIN ds_messages m ON m.gkey = v.column2 AND m.digest = v.column3`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var i int
			var a store.Appended
			if err := rows.Scan(&i, &a.Seq, &a.Epoch); err != nil {
				return err
			}
			dups[i] = a
		}
		return rows.Err()
	})
	return dups, err
}

// sqliteWrite writes a batch: its messages, its groups' rows and its
// Welcome queue entries, one statement each (per maxRowsPerStatement).
func sqliteWrite(ctx context.Context, stmts *stmtCache, tx *sql.Tx, w *batchWrite) error {
	err := chunked(len(w.messages), func(lo, hi int) error {
		args := make([]any, 0, 8*(hi-lo))
		for _, m := range w.messages[lo:hi] {
			r := m.r
			args = append(args, m.gkey, m.seq, int64(r.m.Epoch), int(r.m.ContentType), int(r.m.WireFormat), r.sum[:], r.m.Data, m.welcomeData)
		}
		_, err := stmts.exec(ctx, tx, `INSERT INTO ds_messages (gkey, seq, epoch, content_type, wire_format, digest, data, welcome)
			VALUES `+values(hi-lo, 8), args...)
		return err
	})
	if err != nil {
		return err
	}
	err = chunked(len(w.groups), func(lo, hi int) error {
		args := make([]any, 0, 5*(hi-lo))
		for _, g := range w.groups[lo:hi] {
			args = append(args, g.key, int64(g.epoch), int64(g.lastSeq), g.setInfo, g.info)
		}
		_, err := stmts.exec(ctx, tx, `UPDATE ds_groups SET epoch = v.column2, last_seq = v.column3,
				group_info = CASE WHEN v.column4 THEN v.column5 ELSE ds_groups.group_info END
			FROM (VALUES `+values(hi-lo, 5)+`) AS v WHERE ds_groups.id = v.column1`, args...)
		return err
	})
	if err != nil {
		return err
	}
	return chunked(len(w.welcomes), func(lo, hi int) error {
		args := make([]any, 0, 3*(hi-lo))
		for _, q := range w.welcomes[lo:hi] {
			args = append(args, q.client, q.gkey, q.seq)
		}
		_, err := stmts.exec(ctx, tx, `INSERT INTO ds_welcomes (client, gkey, seq) VALUES `+values(hi-lo, 3), args...)
		return err
	})
}

// chunked calls fn for consecutive ranges [lo, hi) of at most
// maxRowsPerStatement of n rows.
func chunked(n int, fn func(lo, hi int) error) error {
	for lo := 0; lo < n; lo += maxRowsPerStatement {
		if err := fn(lo, min(lo+maxRowsPerStatement, n)); err != nil {
			return err
		}
	}
	return nil
}

// values returns rows tuples of cols ? placeholders: "(?, ?), (?, ?)".
func values(rows, cols int) string {
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	return strings.TrimSuffix(strings.Repeat(tuple+", ", rows), ", ")
}

// stmtCache keeps the prepared statements of the batches: the multi-row
// statements differ only in their number of rows, and preparing one costs
// about as much as running it. A statement is prepared once a transaction
// that ran it unprepared has ended, since the one connection of the
// database is the transaction's until then.
type stmtCache struct {
	db *sql.DB

	mu      sync.Mutex
	stmts   map[string]*sql.Stmt
	missing map[string]bool // run unprepared, to prepare
}

// maxCachedStmts bounds a stmtCache; a full cache is emptied.
const maxCachedStmts = 512

// prepared returns query prepared for tx, or nil if it is not prepared yet.
func (c *stmtCache) prepared(ctx context.Context, tx *sql.Tx, query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.stmts[query]; st != nil {
		return tx.StmtContext(ctx, st)
	}
	if c.missing == nil {
		c.missing = make(map[string]bool)
	}
	c.missing[query] = true
	return nil
}

func (c *stmtCache) exec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	if st := c.prepared(ctx, tx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, query, args...)
}

func (c *stmtCache) query(ctx context.Context, tx *sql.Tx, query string, args ...any) (*sql.Rows, error) {
	if st := c.prepared(ctx, tx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return tx.QueryContext(ctx, query, args...)
}

// prepareMissing prepares the statements that ran unprepared. It must not
// be called inside a transaction.
func (c *stmtCache) prepareMissing(ctx context.Context) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for query := range c.missing {
		if len(c.stmts) >= maxCachedStmts {
			c.closeLocked()
		}
		st, err := c.db.PrepareContext(ctx, query)
		if err != nil {
			continue // run unprepared next time too
		}
		if c.stmts == nil {
			c.stmts = make(map[string]*sql.Stmt)
		}
		c.stmts[query] = st
	}
	clear(c.missing)
}

// close closes the cached statements.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closeLocked()
}

func (c *stmtCache) closeLocked() {
	for _, st := range c.stmts {
		st.Close()
	}
	clear(c.stmts)
}
