package sqlstore

import (
	"context"
	"database/sql"
	"strings"

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
		if err := sqliteReadGroups(ctx, tx, gids, read.groups); err != nil {
			return err
		}
		var w *batchWrite
		if !withDups {
			w = decide(read)
		}
		if w == nil {
			var err error
			if read.dups, err = sqliteReadDups(ctx, tx, reqs, read.groups); err != nil {
				return err
			}
			w = decide(read)
		}
		if w.empty() {
			return errRollback
		}
		return sqliteWrite(ctx, tx, w)
	})
	if err == errRollback {
		return nil
	}
	return err
}

// sqliteReadGroups reads the rows of the groups gids that exist into groups.
func sqliteReadGroups(ctx context.Context, tx *sql.Tx, gids [][]byte, groups map[string]*groupRow) error {
	return chunked(len(gids), func(lo, hi int) error {
		args := make([]any, 0, hi-lo)
		for _, gid := range gids[lo:hi] {
			args = append(args, gid)
		}
		rows, err := tx.QueryContext(ctx, `SELECT id, group_id, epoch, last_seq FROM ds_groups WHERE group_id IN (`+
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
func sqliteReadDups(ctx context.Context, tx *sql.Tx, reqs []*appendReq, groups map[string]*groupRow) (map[int]store.Appended, error) {
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
		rows, err := tx.QueryContext(ctx, `SELECT v.column1, m.seq, m.epoch FROM (VALUES `+values(hi-lo, 3)+`) AS v
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
func sqliteWrite(ctx context.Context, tx *sql.Tx, w *batchWrite) error {
	err := chunked(len(w.messages), func(lo, hi int) error {
		args := make([]any, 0, 8*(hi-lo))
		for _, m := range w.messages[lo:hi] {
			r := m.r
			args = append(args, m.gkey, m.seq, int64(r.m.Epoch), int(r.m.ContentType), int(r.m.WireFormat), r.sum[:], r.m.Data, m.welcomeData)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO ds_messages (gkey, seq, epoch, content_type, wire_format, digest, data, welcome)
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
		_, err := tx.ExecContext(ctx, `UPDATE ds_groups SET epoch = v.column2, last_seq = v.column3,
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
		_, err := tx.ExecContext(ctx, `INSERT INTO ds_welcomes (client, gkey, seq) VALUES `+values(hi-lo, 3), args...)
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
