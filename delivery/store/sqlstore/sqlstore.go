package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/mlsengine/engine/delivery/store"
)

// Store is a store.Store over an SQL database: SQLite ([OpenSQLite]) or
// PostgreSQL ([OpenPostgres]).
type Store struct {
	d dialect
	w *sql.DB // writes (SQLite: one connection, so writers queue in Go, not on a file lock)
	r *sql.DB // reads (may be w)
	q queries
	// tracked holds the statements of store.Tracker (tracked.go).
	tracked     *trackedQueries
	trackedOnce sync.Once
	// notifier, if set, announces committed appends to other processes.
	notifier *notifier

	// Group commit (see batch.go): appends are handed to workers, which
	// run them in batches with batchTx.
	batchTx batchTxFunc
	// appendFast, if set, appends the requests of a batch without
	// commits that are at their group's epoch in one statement, sets their
	// outcomes and returns the others (in order). Nothing is committed if
	// it fails.
	appendFast func(ctx context.Context, reqs []*appendReq) (rest []*appendReq, err error)
	queue      *queue
	workers    sync.WaitGroup
	stmts      *stmtCache // SQLite's batches' statements

	batchCount, batchedReqs, fallbacks atomic.Uint64 // BatchStats
}

var _ store.Store = (*Store)(nil)

// queries holds every statement, in the dialect's placeholder syntax.
type queries struct {
	register, clientByToken                       string
	putRef, refOwner, retireLastResort, putKP     string
	claimOneTime, lastResort, countKPs            string
	createGroup, group, groupKey                  string
	advance, advanceCommit, insertGroup           string
	insertMessage, duplicate, winner, messages    string
	putGroupInfo, groupInfo, welcomes, delWelcome string
}

func newQueries(d dialect) queries {
	q := queries{
		register:      `INSERT INTO ds_clients (name, token_hash) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
		clientByToken: `SELECT name FROM ds_clients WHERE token_hash = $1`,

		putRef:           `INSERT INTO ds_keypackage_refs (ref, client) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
		refOwner:         `SELECT client FROM ds_keypackage_refs WHERE ref = $1`,
		retireLastResort: `DELETE FROM ds_keypackages WHERE client = $1 AND cipher_suite = $2 AND last_resort`,
		putKP: `INSERT INTO ds_keypackages (ref, client, cipher_suite, last_resort, data)
			VALUES ($1, $2, $3, $4, $5)`,
		claimOneTime: `DELETE FROM ds_keypackages WHERE id = (
				SELECT id FROM ds_keypackages
				WHERE client = $1 AND NOT last_resort AND ($2 = 0 OR cipher_suite = $2)
				ORDER BY id LIMIT 1` + d.skipLocked + `)
			RETURNING ref, cipher_suite, data`,
		lastResort: `SELECT ref, cipher_suite, data FROM ds_keypackages
			WHERE client = $1 AND last_resort AND ($2 = 0 OR cipher_suite = $2)
			ORDER BY id DESC LIMIT 1`,
		countKPs: `SELECT COUNT(*) FILTER (WHERE NOT last_resort), COUNT(*) FILTER (WHERE last_resort)
			FROM ds_keypackages WHERE client = $1 AND ($2 = 0 OR cipher_suite = $2)`,

		createGroup: `INSERT INTO ds_groups (group_id, epoch, last_seq) VALUES ($1, 0, 0) ON CONFLICT DO NOTHING`,
		group:       `SELECT epoch, last_seq FROM ds_groups WHERE group_id = $1`,
		groupKey:    `SELECT id, epoch FROM ds_groups WHERE group_id = $1`,
		// The conditional updates that order a group: the row lock they take
		// serializes appends to the group, and for a commit the condition on
		// the epoch decides the winner.
		advance: `UPDATE ds_groups SET last_seq = last_seq + 1
			WHERE group_id = $1 AND epoch = $2 RETURNING id, last_seq`,
		advanceCommit: `UPDATE ds_groups SET epoch = epoch + 1, last_seq = last_seq + 1, group_info = $3
			WHERE group_id = $1 AND epoch = $2 RETURNING id, last_seq`,
		insertGroup: `INSERT INTO ds_groups (group_id, epoch, last_seq, group_info) VALUES ($1, 1, 1, $2)
			ON CONFLICT DO NOTHING RETURNING id`,
		insertMessage: `INSERT INTO ds_messages (gkey, seq, epoch, content_type, wire_format, digest, data, welcome)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
		duplicate: `SELECT m.seq, m.epoch FROM ds_messages m JOIN ds_groups g ON g.id = m.gkey
			WHERE g.group_id = $1 AND m.digest = $2`,
		winner: `SELECT seq, epoch, content_type, wire_format, data FROM ds_messages
			WHERE gkey = $1 AND epoch = $2 AND content_type = 3`,
		messages: `SELECT seq, epoch, content_type, wire_format, data FROM ds_messages
			WHERE gkey = (SELECT id FROM ds_groups WHERE group_id = $1) AND seq > $2
			ORDER BY seq LIMIT $3`,

		putGroupInfo: `UPDATE ds_groups SET group_info = $3 WHERE group_id = $1 AND epoch = $2`,
		groupInfo:    `SELECT group_info FROM ds_groups WHERE group_id = $1`,
		welcomes: `SELECT w.id, g.group_id, w.seq, m.welcome FROM ds_welcomes w
			JOIN ds_groups g ON g.id = w.gkey
			JOIN ds_messages m ON m.gkey = w.gkey AND m.seq = w.seq
			WHERE w.client = $1 ORDER BY w.id LIMIT $2`,
		delWelcome: `DELETE FROM ds_welcomes WHERE id = $1 AND client = $2`,
	}
	for _, p := range []*string{
		&q.register, &q.clientByToken, &q.putRef, &q.refOwner, &q.retireLastResort, &q.putKP,
		&q.claimOneTime, &q.lastResort, &q.countKPs, &q.createGroup, &q.group, &q.groupKey,
		&q.advance, &q.advanceCommit, &q.insertGroup, &q.insertMessage, &q.duplicate, &q.winner,
		&q.messages, &q.putGroupInfo, &q.groupInfo, &q.welcomes, &q.delWelcome,
	} {
		*p = d.placeholder(*p)
	}
	return q
}

// dbEpoch maps an epoch to the database's signed 64-bit integers. An epoch
// no group can have reached maps to -1, which matches no row.
func dbEpoch(epoch uint64) int64 {
	if epoch > math.MaxInt64 {
		return -1
	}
	return int64(epoch)
}

// wrap marks a database failure, which is never the client's fault.
func (s *Store) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("delivery: %s store: %s: %w", s.d.name, op, err)
}

// Close implements store.Store.
func (s *Store) Close() error {
	s.stopBatching()
	if s.notifier != nil {
		s.notifier.close()
	}
	if s.stmts != nil {
		s.stmts.close()
	}
	err := s.w.Close()
	if s.r != s.w {
		err = errors.Join(err, s.r.Close())
	}
	return err
}

// RegisterClient implements store.Store.
func (s *Store) RegisterClient(ctx context.Context, name string, tokenHash []byte) error {
	res, err := s.w.ExecContext(ctx, s.q.register, name, tokenHash)
	if err != nil {
		return s.wrap("register client", err)
	}
	n, err := res.RowsAffected()
	if err == nil && n == 0 {
		return store.ErrClientExists
	}
	return s.wrap("register client", err)
}

// ClientByToken implements store.Store.
func (s *Store) ClientByToken(ctx context.Context, tokenHash []byte) (string, error) {
	var name string
	err := s.r.QueryRowContext(ctx, s.q.clientByToken, tokenHash).Scan(&name)
	if err == sql.ErrNoRows {
		return "", store.ErrUnknownClient
	}
	return name, s.wrap("look up token", err)
}

// PutKeyPackage implements store.Store.
func (s *Store) PutKeyPackage(ctx context.Context, kp store.KeyPackage) (created bool, err error) {
	if len(kp.Ref) == 0 || len(kp.Data) == 0 || kp.Client == "" {
		return false, store.ErrInvalid
	}
	err = s.inTx(ctx, "put KeyPackage", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q.putRef, kp.Ref, kp.Client)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			var owner string
			if err := tx.QueryRowContext(ctx, s.q.refOwner, kp.Ref).Scan(&owner); err != nil {
				return err
			}
			if owner != kp.Client {
				return store.ErrKeyPackageExists
			}
			return nil // uploaded before (and maybe claimed since): nothing to do
		}
		if kp.LastResort {
			if _, err := tx.ExecContext(ctx, s.q.retireLastResort, kp.Client, kp.CipherSuite); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, s.q.putKP, kp.Ref, kp.Client, kp.CipherSuite, kp.LastResort, kp.Data)
		created = err == nil
		return err
	})
	return created, err
}

// ClaimKeyPackage implements store.Store.
func (s *Store) ClaimKeyPackage(ctx context.Context, client string, suite uint16) (store.KeyPackage, error) {
	kp := store.KeyPackage{Client: client}
	// One statement removes the oldest one-time KeyPackage and returns it:
	// two claimers cannot both remove the same row.
	err := s.w.QueryRowContext(ctx, s.q.claimOneTime, client, suite).Scan(&kp.Ref, &kp.CipherSuite, &kp.Data)
	if err == sql.ErrNoRows {
		kp.LastResort = true
		err = s.r.QueryRowContext(ctx, s.q.lastResort, client, suite).Scan(&kp.Ref, &kp.CipherSuite, &kp.Data)
		if err == sql.ErrNoRows {
			return store.KeyPackage{}, store.ErrNoKeyPackage
		}
	}
	if err != nil {
		return store.KeyPackage{}, s.wrap("claim KeyPackage", err)
	}
	return kp, nil
}

// CountKeyPackages implements store.Store.
func (s *Store) CountKeyPackages(ctx context.Context, client string, suite uint16) (store.KeyPackageCount, error) {
	var n store.KeyPackageCount
	err := s.r.QueryRowContext(ctx, s.q.countKPs, client, suite).Scan(&n.OneTime, &n.LastResort)
	return n, s.wrap("count KeyPackages", err)
}

// CreateGroup implements store.Store.
func (s *Store) CreateGroup(ctx context.Context, groupID []byte) (store.Group, bool, error) {
	if len(groupID) == 0 || len(groupID) > store.MaxGroupIDLen {
		return store.Group{}, false, store.ErrInvalid
	}
	res, err := s.w.ExecContext(ctx, s.q.createGroup, groupID)
	if err != nil {
		return store.Group{}, false, s.wrap("create group", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return store.Group{}, false, s.wrap("create group", err)
	}
	if n == 1 {
		return store.Group{}, true, nil
	}
	g, err := s.Group(ctx, groupID)
	return g, false, err
}

// Group implements store.Store.
func (s *Store) Group(ctx context.Context, groupID []byte) (store.Group, error) {
	var g store.Group
	err := s.r.QueryRowContext(ctx, s.q.group, groupID).Scan(&g.Epoch, &g.LastSeq)
	if err == sql.ErrNoRows {
		return store.Group{}, store.ErrUnknownGroup
	}
	return g, s.wrap("read group", err)
}

// Append implements store.Store.
func (s *Store) Append(ctx context.Context, groupID []byte, m store.Message) (store.Appended, error) {
	if err := store.CheckMessage(groupID, &m); err != nil || m.ContentType == store.ContentCommit {
		return store.Appended{}, store.ErrInvalid
	}
	return s.submit(ctx, &appendReq{groupID: groupID, m: m})
}

// Commit implements store.Store.
func (s *Store) Commit(ctx context.Context, c store.Commit) (store.Appended, error) {
	if err := store.CheckCommit(&c); err != nil {
		return store.Appended{}, err
	}
	return s.submit(ctx, &appendReq{groupID: c.GroupID, m: c.Message, c: &c})
}

// appendReq is one Append or Commit, and its result.
type appendReq struct {
	groupID []byte
	m       store.Message
	c       *store.Commit // nil for Append
	sum     [32]byte      // digest of m.Data

	out store.Appended
	err error // for the caller: ErrUnknownGroup, an *EpochError, or a database error

	twin *appendReq    // an earlier request of the same batch with the same group and digest
	done chan struct{} // closed when out and err are set (batched requests)
}

// appendTx runs r in a transaction of its own, and returns its result.
func (s *Store) appendTx(ctx context.Context, r *appendReq) (store.Appended, error) {
	err := s.inTx(ctx, "append", func(tx *sql.Tx) error {
		err := s.apply(ctx, tx, r)
		if err == errTaken {
			// A retry of a message that another transaction logged
			// after this one read the log: report the original.
			r.out, r.err, err = s.rejected(ctx, tx, r.groupID, r.m.Epoch, r.sum)
		}
		if err == nil && (r.err != nil || r.out.Duplicate) {
			err = errRollback // nothing to write
		}
		return err
	})
	if err != nil && err != errRollback {
		return store.Appended{}, err
	}
	if err == nil {
		s.announce([][]byte{r.groupID})
	}
	return r.out, r.err
}

// announce tells other processes, if any, of committed appends to groupIDs.
func (s *Store) announce(groupIDs [][]byte) {
	if s.notifier != nil {
		s.notifier.add(groupIDs)
	}
}

// apply runs r's statements in tx:
//
//  1. a conditional update of the group's row, which must be at r's epoch,
//     takes the next sequence number (and, for a commit, the next epoch);
//     the row lock it takes orders concurrent appends, and only one commit
//     per epoch can match the condition;
//  2. the message is inserted, unless its digest is already in the log;
//  3. a commit's Welcome is queued for its recipients.
//
// When the update matches no row, the message is either a retry of one in
// the log (r.out.Duplicate), for an unknown group, or for another epoch
// (r.err), and nothing was written. A commit for epoch 0 of an unknown
// group creates the group. apply returns errTaken if the digest was logged
// after step 1 (the transaction must then be rolled back), or a database
// error.
func (s *Store) apply(ctx context.Context, tx *sql.Tx, r *appendReq) error {
	gkey, seq, ok, err := s.advance(ctx, tx, r.groupID, r.m.Epoch, r.c)
	if err != nil {
		return err
	}
	if !ok {
		r.out, r.err, err = s.rejected(ctx, tx, r.groupID, r.m.Epoch, r.sum)
		return err
	}
	var welcome []byte
	if r.c != nil {
		welcome = r.c.Welcome
	}
	res, err := tx.ExecContext(ctx, s.q.insertMessage, gkey, seq, int64(r.m.Epoch),
		int(r.m.ContentType), int(r.m.WireFormat), r.sum[:], r.m.Data, welcome)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n != 1 {
		return errTaken
	}
	if r.c != nil && len(r.c.Recipients) > 0 {
		if err := s.queueWelcomes(ctx, tx, gkey, seq, r.c.Recipients); err != nil {
			return err
		}
	}
	r.out, r.err = store.Appended{Seq: uint64(seq), Epoch: r.m.Epoch}, nil
	return nil
}

var (
	// errRollback ends a transaction whose outcome is already decided.
	errRollback = errors.New("rollback")
	// errTaken reports a digest logged after the sequence number was taken.
	errTaken = errors.New("digest already logged")
)

// advance runs the conditional update of step 1 of apply. ok is false if
// it matched no row.
func (s *Store) advance(ctx context.Context, tx *sql.Tx, groupID []byte, epoch uint64, c *store.Commit) (gkey, seq int64, ok bool, err error) {
	if c == nil {
		err = tx.QueryRowContext(ctx, s.q.advance, groupID, dbEpoch(epoch)).Scan(&gkey, &seq)
	} else {
		err = tx.QueryRowContext(ctx, s.q.advanceCommit, groupID, dbEpoch(epoch), c.GroupInfo).Scan(&gkey, &seq)
		if err == sql.ErrNoRows && epoch == 0 {
			// The group may not exist yet: a commit for epoch 0 creates it.
			// If another process just created it, the update now sees it.
			err = tx.QueryRowContext(ctx, s.q.insertGroup, groupID, c.GroupInfo).Scan(&gkey)
			seq = 1
			if err == sql.ErrNoRows {
				err = tx.QueryRowContext(ctx, s.q.advanceCommit, groupID, 0, c.GroupInfo).Scan(&gkey, &seq)
			}
		}
	}
	if err == sql.ErrNoRows {
		return 0, 0, false, nil
	}
	return gkey, seq, err == nil, err
}

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// rejected explains why a message could not be appended at epoch: it is a
// duplicate (out), or failure is ErrUnknownGroup or an *EpochError.
func (s *Store) rejected(ctx context.Context, tx *sql.Tx, groupID []byte, epoch uint64, sum [32]byte) (out store.Appended, failure, err error) {
	err = tx.QueryRowContext(ctx, s.q.duplicate, groupID, sum[:]).Scan(&out.Seq, &out.Epoch)
	if err == nil {
		out.Duplicate = true
		return out, nil, nil
	}
	if err != sql.ErrNoRows {
		return out, nil, err
	}
	failure, err = s.epochFailure(ctx, tx, groupID, epoch)
	return out, failure, err
}

// epochFailure returns ErrUnknownGroup or the *EpochError for a message at
// epoch that matched no group row.
func (s *Store) epochFailure(ctx context.Context, q querier, groupID []byte, epoch uint64) (failure, err error) {
	var gkey int64
	var current uint64
	err = q.QueryRowContext(ctx, s.q.groupKey, groupID).Scan(&gkey, &current)
	if err == sql.ErrNoRows {
		return store.ErrUnknownGroup, nil
	}
	if err != nil {
		return nil, err
	}
	ee := &store.EpochError{Epoch: epoch, Current: current}
	if epoch < current {
		if ee.Winner, err = s.winner(ctx, q, gkey, epoch); err != nil {
			return nil, err
		}
	}
	return ee, nil
}

// winner reads the commit that ended an epoch of the group with key gkey.
func (s *Store) winner(ctx context.Context, q querier, gkey int64, epoch uint64) (*store.Message, error) {
	w := new(store.Message)
	err := q.QueryRowContext(ctx, s.q.winner, gkey, int64(epoch)).Scan(&w.Seq, &w.Epoch, &w.ContentType, &w.WireFormat, &w.Data)
	if err != nil {
		return nil, fmt.Errorf("finding the commit that ended epoch %d: %w", epoch, err)
	}
	return w, nil
}

// queueWelcomes inserts one queue entry per recipient, many rows per
// statement.
func (s *Store) queueWelcomes(ctx context.Context, tx *sql.Tx, gkey, seq int64, recipients []string) error {
	const perStatement = 200
	for len(recipients) > 0 {
		n := min(len(recipients), perStatement)
		var b strings.Builder
		b.WriteString("INSERT INTO ds_welcomes (client, gkey, seq) VALUES ")
		args := make([]any, 0, n+2)
		args = append(args, gkey, seq)
		for i, r := range recipients[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "($%d, $1, $2)", i+3)
			args = append(args, r)
		}
		if _, err := tx.ExecContext(ctx, s.d.placeholder(b.String()), args...); err != nil {
			return err
		}
		recipients = recipients[n:]
	}
	return nil
}

// Messages implements store.Store.
func (s *Store) Messages(ctx context.Context, groupID []byte, after uint64, limit int) ([]store.Message, error) {
	if limit <= 0 {
		if _, err := s.Group(ctx, groupID); err != nil {
			return nil, err
		}
		return nil, nil
	}
	rows, err := s.r.QueryContext(ctx, s.q.messages, groupID, int64(min(after, math.MaxInt64)), limit)
	if err != nil {
		return nil, s.wrap("read messages", err)
	}
	defer rows.Close()
	var out []store.Message
	for rows.Next() {
		var m store.Message
		if err := rows.Scan(&m.Seq, &m.Epoch, &m.ContentType, &m.WireFormat, &m.Data); err != nil {
			return nil, s.wrap("read messages", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("read messages", err)
	}
	if len(out) == 0 {
		// Nothing after the cursor, or no such group?
		if _, err := s.Group(ctx, groupID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// PutGroupInfo implements store.Store.
func (s *Store) PutGroupInfo(ctx context.Context, groupID []byte, epoch uint64, data []byte) error {
	if len(data) == 0 {
		return store.ErrInvalid
	}
	res, err := s.w.ExecContext(ctx, s.q.putGroupInfo, groupID, dbEpoch(epoch), data)
	if err != nil {
		return s.wrap("put GroupInfo", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return s.wrap("put GroupInfo", err)
	}
	failure, err := s.epochFailure(ctx, s.w, groupID, epoch)
	if err != nil {
		return s.wrap("put GroupInfo", err)
	}
	return failure
}

// GroupInfo implements store.Store.
func (s *Store) GroupInfo(ctx context.Context, groupID []byte) ([]byte, error) {
	var gi []byte
	err := s.r.QueryRowContext(ctx, s.q.groupInfo, groupID).Scan(&gi)
	switch {
	case err == sql.ErrNoRows:
		return nil, store.ErrUnknownGroup
	case err != nil:
		return nil, s.wrap("read GroupInfo", err)
	case gi == nil:
		return nil, store.ErrNoGroupInfo
	}
	return gi, nil
}

// Welcomes implements store.Store.
func (s *Store) Welcomes(ctx context.Context, client string, limit int) ([]store.Welcome, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.r.QueryContext(ctx, s.q.welcomes, client, limit)
	if err != nil {
		return nil, s.wrap("read Welcomes", err)
	}
	defer rows.Close()
	var out []store.Welcome
	for rows.Next() {
		var w store.Welcome
		if err := rows.Scan(&w.ID, &w.GroupID, &w.Seq, &w.Data); err != nil {
			return nil, s.wrap("read Welcomes", err)
		}
		out = append(out, w)
	}
	return out, s.wrap("read Welcomes", rows.Err())
}

// DeleteWelcome implements store.Store.
func (s *Store) DeleteWelcome(ctx context.Context, client string, id int64) error {
	res, err := s.w.ExecContext(ctx, s.q.delWelcome, id, client)
	if err != nil {
		return s.wrap("delete Welcome", err)
	}
	n, err := res.RowsAffected()
	if err == nil && n == 0 {
		return store.ErrNotFound
	}
	return s.wrap("delete Welcome", err)
}

// inTx runs fn in a write transaction and commits it if fn returns nil.
// Errors of the store package and errRollback are passed through; others
// are wrapped as database failures.
func (s *Store) inTx(ctx context.Context, op string, fn func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap(op, err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		if err == errRollback || isStoreError(err) {
			return err
		}
		return s.wrap(op, err)
	}
	return s.wrap(op, tx.Commit())
}

func isStoreError(err error) bool {
	for _, e := range []error{store.ErrKeyPackageExists, store.ErrUnknownGroup, store.ErrEpoch} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
