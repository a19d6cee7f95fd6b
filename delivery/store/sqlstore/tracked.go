package sqlstore

import (
	"context"
	"database/sql"
	"math"
	"strings"
	"time"

	"github.com/mlsengine/engine/delivery/store"
)

// The tables of store.Tracker: the certificate authority (one row), the
// Views of tracked groups (keyed by group and epoch; PutView prunes old
// ones) and the newest KeyPackage claims per owner. ds_welcomes gets an
// index by group, for OldestWelcome.
func (d dialect) trackedSchema() []string {
	r := strings.NewReplacer("BLOB", d.blob, "SERIAL", d.serial)
	stmts := []string{
		`CREATE TABLE IF NOT EXISTS ds_authority (
			id INTEGER PRIMARY KEY CHECK (id = 1),
			private_key BLOB NOT NULL,
			certificate BLOB NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS ds_views (
			gkey BIGINT NOT NULL,
			epoch BIGINT NOT NULL,
			seq BIGINT NOT NULL,
			data BLOB NOT NULL,
			PRIMARY KEY (gkey, epoch))`,
		`CREATE TABLE IF NOT EXISTS ds_claims (
			id SERIAL,
			owner TEXT NOT NULL,
			claimer TEXT NOT NULL,
			ref BLOB NOT NULL,
			last_resort BOOLEAN NOT NULL,
			claimed_at BIGINT NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS ds_claims_owner ON ds_claims (owner, id)`,
		`CREATE INDEX IF NOT EXISTS ds_welcomes_group ON ds_welcomes (gkey, seq)`,
	}
	for i, s := range stmts {
		stmts[i] = r.Replace(s)
	}
	return stmts
}

// trackedQueries are the statements of store.Tracker.
type trackedQueries struct {
	putAuthority, authority                   string
	createGroup, insertView, groupKey         string
	pruneViews, view, oldestWelcome           string
	insertClaim, pruneClaims, claims, kpOwner string
}

func newTrackedQueries(d dialect) *trackedQueries {
	q := &trackedQueries{
		putAuthority: `INSERT INTO ds_authority (id, private_key, certificate) VALUES (1, $1, $2) ON CONFLICT DO NOTHING`,
		authority:    `SELECT private_key, certificate FROM ds_authority WHERE id = 1`,
		createGroup: `INSERT INTO ds_groups (group_id, epoch, last_seq, group_info) VALUES ($1, 0, 0, $2)
			ON CONFLICT DO NOTHING RETURNING id`,
		insertView: `INSERT INTO ds_views (gkey, epoch, seq, data) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
		groupKey:   `SELECT id FROM ds_groups WHERE group_id = $1`,
		pruneViews: `DELETE FROM ds_views WHERE gkey = $1 AND epoch <
			(SELECT MAX(epoch) FROM ds_views WHERE gkey = $1 AND epoch <= $2)`,
		view: `SELECT v.epoch, v.seq, v.data FROM ds_views v JOIN ds_groups g ON g.id = v.gkey
			WHERE g.group_id = $1 AND v.epoch <= $2 ORDER BY v.epoch DESC LIMIT 1`,
		oldestWelcome: `SELECT MIN(w.seq) FROM ds_welcomes w JOIN ds_groups g ON g.id = w.gkey WHERE g.group_id = $1`,
		insertClaim:   `INSERT INTO ds_claims (owner, claimer, ref, last_resort, claimed_at) VALUES ($1, $2, $3, $4, $5)`,
		pruneClaims: `DELETE FROM ds_claims WHERE owner = $1 AND id <=
			(SELECT id FROM ds_claims WHERE owner = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)`,
		claims: `SELECT claimer, ref, last_resort, claimed_at FROM ds_claims WHERE owner = $1
			ORDER BY id DESC LIMIT $2`,
		kpOwner: `SELECT client FROM ds_keypackage_refs WHERE ref = $1`,
	}
	for _, p := range []*string{
		&q.putAuthority, &q.authority, &q.createGroup, &q.insertView, &q.groupKey, &q.pruneViews,
		&q.view, &q.oldestWelcome, &q.insertClaim, &q.pruneClaims, &q.claims, &q.kpOwner,
	} {
		*p = d.placeholder(*p)
	}
	return q
}

// tq returns the statements of store.Tracker, prepared once.
func (s *Store) tq() *trackedQueries {
	s.trackedOnce.Do(func() { s.tracked = newTrackedQueries(s.d) })
	return s.tracked
}

// LoadOrStoreAuthority implements store.Tracker.
func (s *Store) LoadOrStoreAuthority(ctx context.Context, a store.Authority) (store.Authority, error) {
	if len(a.Key) == 0 || len(a.Certificate) == 0 {
		return store.Authority{}, store.ErrInvalid
	}
	if _, err := s.w.ExecContext(ctx, s.tq().putAuthority, a.Key, a.Certificate); err != nil {
		return store.Authority{}, s.wrap("store authority", err)
	}
	var out store.Authority
	err := s.w.QueryRowContext(ctx, s.tq().authority).Scan(&out.Key, &out.Certificate)
	return out, s.wrap("load authority", err)
}

// CreateTrackedGroup implements store.Tracker.
func (s *Store) CreateTrackedGroup(ctx context.Context, groupID []byte, v store.View, groupInfo []byte) (bool, error) {
	if len(groupID) == 0 || len(groupID) > store.MaxGroupIDLen || v.Epoch != 0 || v.Seq != 0 || len(v.Data) == 0 || len(groupInfo) == 0 {
		return false, store.ErrInvalid
	}
	created := false
	err := s.inTx(ctx, "create tracked group", func(tx *sql.Tx) error {
		var gkey int64
		err := tx.QueryRowContext(ctx, s.tq().createGroup, groupID, groupInfo).Scan(&gkey)
		if err == sql.ErrNoRows {
			return nil // the group exists
		}
		if err != nil {
			return err
		}
		created = true
		_, err = tx.ExecContext(ctx, s.tq().insertView, gkey, 0, 0, v.Data)
		return err
	})
	return created, err
}

// PutView implements store.Tracker.
func (s *Store) PutView(ctx context.Context, groupID []byte, v store.View, keepFrom uint64) error {
	if len(v.Data) == 0 || v.Epoch > math.MaxInt64 || v.Seq > math.MaxInt64 {
		return store.ErrInvalid
	}
	return s.inTx(ctx, "put view", func(tx *sql.Tx) error {
		var gkey int64
		err := tx.QueryRowContext(ctx, s.tq().groupKey, groupID).Scan(&gkey)
		if err == sql.ErrNoRows {
			return store.ErrUnknownGroup
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.tq().insertView, gkey, int64(v.Epoch), int64(v.Seq), v.Data); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.tq().pruneViews, gkey, clampInt64(keepFrom))
		return err
	})
}

// clampInt64 maps an epoch bound to the database's signed integers.
func clampInt64(v uint64) int64 { return int64(min(v, math.MaxInt64)) }

// View implements store.Tracker.
func (s *Store) View(ctx context.Context, groupID []byte, maxEpoch uint64) (store.View, error) {
	var v store.View
	var epoch, seq int64
	err := s.r.QueryRowContext(ctx, s.tq().view, groupID, clampInt64(maxEpoch)).Scan(&epoch, &seq, &v.Data)
	if err == sql.ErrNoRows {
		return store.View{}, store.ErrNotFound
	}
	if err != nil {
		return store.View{}, s.wrap("view", err)
	}
	v.Epoch, v.Seq = uint64(epoch), uint64(seq)
	return v, nil
}

// OldestWelcome implements store.Tracker.
func (s *Store) OldestWelcome(ctx context.Context, groupID []byte) (uint64, bool, error) {
	var seq sql.NullInt64
	if err := s.r.QueryRowContext(ctx, s.tq().oldestWelcome, groupID).Scan(&seq); err != nil {
		return 0, false, s.wrap("oldest Welcome", err)
	}
	return uint64(seq.Int64), seq.Valid, nil
}

// KeyPackageOwner implements store.Tracker.
func (s *Store) KeyPackageOwner(ctx context.Context, ref []byte) (string, error) {
	var owner string
	err := s.r.QueryRowContext(ctx, s.tq().kpOwner, ref).Scan(&owner)
	if err == sql.ErrNoRows {
		return "", store.ErrNotFound
	}
	return owner, s.wrap("KeyPackage owner", err)
}

// RecordClaim implements store.Tracker.
func (s *Store) RecordClaim(ctx context.Context, c store.Claim) error {
	if c.Owner == "" || c.Claimer == "" {
		return store.ErrInvalid
	}
	return s.inTx(ctx, "record claim", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.tq().insertClaim, c.Owner, c.Claimer, c.Ref, c.LastResort, c.Time.UnixNano()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.tq().pruneClaims, c.Owner, store.MaxClaims)
		return err
	})
}

// Claims implements store.Tracker.
func (s *Store) Claims(ctx context.Context, owner string, limit int) ([]store.Claim, error) {
	rows, err := s.r.QueryContext(ctx, s.tq().claims, owner, limit)
	if err != nil {
		return nil, s.wrap("claims", err)
	}
	defer rows.Close()
	var out []store.Claim
	for rows.Next() {
		c := store.Claim{Owner: owner}
		var at int64
		if err := rows.Scan(&c.Claimer, &c.Ref, &c.LastResort, &at); err != nil {
			return nil, s.wrap("claims", err)
		}
		c.Time = time.Unix(0, at)
		out = append(out, c)
	}
	return out, s.wrap("claims", rows.Err())
}
