package sqlstore

import (
	"bytes"
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/mlsengine/engine/delivery/store"
)

// A PostgreSQL batch of appends (no commits) is one statement, pgAppend, in
// one round trip. Any other batch, and the appends pgAppend leaves (those
// not at their group's epoch), take two round trips, each a pipeline of
// statements sent at once: BEGIN and the locking read of the groups in
// group id order (and the read of the duplicates, if asked); then one
// statement that writes everything, and COMMIT. The read of the duplicates
// runs after the locks are held, so (each statement of a READ COMMITTED
// transaction seeing what was committed before it began) it sees every
// message another process appended to these groups.
const (
	pgLockGroups = `SELECT id, group_id, epoch, last_seq FROM ds_groups
		WHERE group_id = ANY($1::bytea[]) ORDER BY group_id FOR UPDATE`
	pgDuplicates = `SELECT r.i - 1, m.seq, m.epoch
		FROM unnest($1::bytea[], $2::bytea[]) WITH ORDINALITY AS r(group_id, digest, i)
		JOIN ds_groups g ON g.group_id = r.group_id
		JOIN ds_messages m ON m.gkey = g.id AND m.digest = r.digest`
	pgWrite = `WITH g AS (
			UPDATE ds_groups SET epoch = u.epoch, last_seq = u.last_seq,
				group_info = CASE WHEN u.set_info THEN u.info ELSE ds_groups.group_info END
			FROM unnest($9::bigint[], $10::bigint[], $11::bigint[], $12::boolean[], $13::bytea[])
				AS u(id, epoch, last_seq, set_info, info)
			WHERE ds_groups.id = u.id
		), w AS (
			INSERT INTO ds_welcomes (client, gkey, seq)
			SELECT * FROM unnest($14::text[], $15::bigint[], $16::bigint[])
		)
		INSERT INTO ds_messages (gkey, seq, epoch, content_type, wire_format, digest, data, welcome)
		SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::smallint[], $5::integer[],
			$6::bytea[], $7::bytea[], $8::bytea[])`
	// pgAppend appends messages that are at their group's epoch, in one
	// statement. It takes (group_id, epoch, n) for each group and epoch
	// the batch's requests carry, and each request's group, epoch and rank
	// (1, 2, ...) among the requests with that group and epoch. The update
	// of a group's row takes its lock and, if the group is at that epoch, n
	// sequence numbers, base+1 to base+n; the requests get them by rank.
	// It returns group_id, epoch and base of every group appended to. A
	// message already logged violates the unique index on digests. The
	// update locks the rows in the order of its plan (an index scan by
	// group id, the same for every batch); should two batches still
	// deadlock, PostgreSQL fails one, which then takes the fallback.
	pgAppend = `WITH g AS (
			UPDATE ds_groups SET last_seq = ds_groups.last_seq + u.n
			FROM unnest($1::bytea[], $2::bigint[], $3::bigint[]) AS u(group_id, epoch, n)
			WHERE ds_groups.group_id = u.group_id AND ds_groups.epoch = u.epoch
			RETURNING ds_groups.id, ds_groups.group_id, ds_groups.epoch, ds_groups.last_seq - u.n AS base
		), m AS (
			INSERT INTO ds_messages (gkey, seq, epoch, content_type, wire_format, digest, data)
			SELECT g.id, g.base + r.rank, g.epoch, r.content_type, r.wire_format, r.digest, r.data
			FROM unnest($4::bytea[], $5::bigint[], $6::bigint[], $7::smallint[], $8::integer[], $9::bytea[], $10::bytea[])
				AS r(group_id, epoch, rank, content_type, wire_format, digest, data)
			JOIN g ON g.group_id = r.group_id AND g.epoch = r.epoch
		)
		SELECT group_id, epoch, base FROM g`
)

// postgresAppend is the appendFast of PostgreSQL: pgAppend, in one round
// trip.
func (s *Store) postgresAppend(ctx context.Context, reqs []*appendReq) ([]*appendReq, error) {
	type run struct {
		gid   []byte
		epoch int64
		reqs  []*appendReq
	}
	// reqs are sorted by group: the runs of each group and epoch.
	var runs []*run
	byEpoch := make(map[int64]*run) // of the current group
	n := len(reqs)
	var (
		gid, digest, data = make([][]byte, n), make([][]byte, n), make([][]byte, n)
		epoch, rank       = make([]int64, n), make([]int64, n)
		contentType       = make([]int16, n)
		wireFormat        = make([]int32, n)
	)
	for i, r := range reqs {
		if i > 0 && !bytes.Equal(r.groupID, reqs[i-1].groupID) {
			clear(byEpoch)
		}
		e := dbEpoch(r.m.Epoch)
		ru := byEpoch[e]
		if ru == nil {
			ru = &run{gid: r.groupID, epoch: e}
			byEpoch[e] = ru
			runs = append(runs, ru)
		}
		ru.reqs = append(ru.reqs, r)
		gid[i], digest[i], data[i] = r.groupID, r.sum[:], r.m.Data
		epoch[i], rank[i] = e, int64(len(ru.reqs))
		contentType[i], wireFormat[i] = int16(r.m.ContentType), int32(r.m.WireFormat)
	}
	runGroups, runEpochs, runCounts := make([][]byte, len(runs)), make([]int64, len(runs)), make([]int64, len(runs))
	for i, ru := range runs {
		runGroups[i], runEpochs[i], runCounts[i] = ru.gid, ru.epoch, int64(len(ru.reqs))
	}

	type key struct {
		gid   string
		epoch int64
	}
	bases := make(map[key]uint64)
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		rows, err := dc.(*stdlib.Conn).Conn().Query(ctx, pgAppend, runGroups, runEpochs, runCounts,
			gid, epoch, rank, contentType, wireFormat, digest, data)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var g []byte
			var e int64
			var base uint64
			if err := rows.Scan(&g, &e, &base); err != nil {
				return err
			}
			bases[key{string(g), e}] = base
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	var rest []*appendReq
	var appended [][]byte // each once: runs are sorted by group
	for _, ru := range runs {
		base, ok := bases[key{string(ru.gid), ru.epoch}]
		if !ok {
			rest = append(rest, ru.reqs...)
			continue
		}
		for k, r := range ru.reqs {
			r.out, r.err = store.Appended{Seq: base + uint64(k) + 1, Epoch: r.m.Epoch}, nil
		}
		if len(appended) == 0 || !bytes.Equal(appended[len(appended)-1], ru.gid) {
			appended = append(appended, ru.gid)
		}
	}
	s.announce(appended)
	return rest, nil
}

// postgresBatchTx is the batchTxFunc of PostgreSQL: it runs the batch on
// one of the pool's connections, through pgx directly so that statements
// can be pipelined.
func (s *Store) postgresBatchTx(ctx context.Context, gids [][]byte, reqs []*appendReq, withDups bool, decide func(batchRead) *batchWrite) error {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return s.wrap("append batch", err)
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		err := pgBatch(ctx, pc, gids, reqs, withDups, decide)
		if err != nil && pc.PgConn().TxStatus() != 'I' {
			if _, rerr := pc.Exec(ctx, "ROLLBACK"); rerr != nil {
				pc.Close(ctx) // the pool discards a closed connection
			}
		}
		return err
	})
	return s.wrap("append batch", err)
}

func pgBatch(ctx context.Context, pc *pgx.Conn, gids [][]byte, reqs []*appendReq, withDups bool, decide func(batchRead) *batchWrite) error {
	read := batchRead{groups: make(map[string]*groupRow, len(gids))}
	b := new(pgx.Batch)
	b.Queue("BEGIN")
	b.Queue(pgLockGroups, gids).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			g := new(groupRow)
			var gid []byte
			if err := rows.Scan(&g.key, &gid, &g.epoch, &g.lastSeq); err != nil {
				return err
			}
			read.groups[string(gid)] = g
		}
		return nil
	})
	if withDups {
		queueDups(b, reqs, &read)
	}
	if err := pc.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	w := decide(read)
	if w == nil {
		b = new(pgx.Batch)
		queueDups(b, reqs, &read)
		if err := pc.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		w = decide(read)
	}
	if w.empty() {
		_, err := pc.Exec(ctx, "ROLLBACK") // nothing to write
		return err
	}
	b = new(pgx.Batch)
	b.Queue(pgWrite, pgWriteArgs(w)...)
	b.Queue("COMMIT").Exec(func(tag pgconn.CommandTag) error {
		if tag.String() != "COMMIT" {
			// COMMIT of a failed transaction rolls it back without an error.
			return fmt.Errorf("COMMIT answered %q", tag)
		}
		return nil
	})
	return pc.SendBatch(ctx, b).Close()
}

// queueDups queues the read of the duplicates among reqs into read.dups.
func queueDups(b *pgx.Batch, reqs []*appendReq, read *batchRead) {
	reqGroups, digests := make([][]byte, len(reqs)), make([][]byte, len(reqs))
	for i, r := range reqs {
		reqGroups[i], digests[i] = r.groupID, r.sum[:]
	}
	read.dups = make(map[int]store.Appended)
	b.Queue(pgDuplicates, reqGroups, digests).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var i int
			var a store.Appended
			if err := rows.Scan(&i, &a.Seq, &a.Epoch); err != nil {
				return err
			}
			read.dups[i] = a
		}
		return nil
	})
}

// pgWriteArgs returns the arrays pgWrite takes.
func pgWriteArgs(w *batchWrite) []any {
	n := len(w.messages)
	var (
		gkey, seq, epoch     = make([]int64, n), make([]int64, n), make([]int64, n)
		contentType          = make([]int16, n)
		wireFormat           = make([]int32, n)
		digest, data, welcom = make([][]byte, n), make([][]byte, n), make([][]byte, n)
	)
	for i, m := range w.messages {
		r := m.r
		gkey[i], seq[i], epoch[i] = m.gkey, m.seq, int64(r.m.Epoch)
		contentType[i], wireFormat[i] = int16(r.m.ContentType), int32(r.m.WireFormat)
		digest[i], data[i], welcom[i] = r.sum[:], r.m.Data, m.welcomeData
	}
	g := len(w.groups)
	var (
		gid, gEpoch, gLast = make([]int64, g), make([]int64, g), make([]int64, g)
		setInfo            = make([]bool, g)
		info               = make([][]byte, g)
	)
	for i, row := range w.groups {
		gid[i], gEpoch[i], gLast[i], setInfo[i], info[i] = row.key, int64(row.epoch), int64(row.lastSeq), row.setInfo, row.info
	}
	q := len(w.welcomes)
	var (
		client      = make([]string, q)
		wGkey, wSeq = make([]int64, q), make([]int64, q)
	)
	for i, row := range w.welcomes {
		client[i], wGkey[i], wSeq[i] = row.client, row.gkey, row.seq
	}
	return []any{gkey, seq, epoch, contentType, wireFormat, digest, data, welcom,
		gid, gEpoch, gLast, setInfo, info, client, wGkey, wSeq}
}
