package sqlstore

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/mlsengine/engine/delivery/store"
)

// DefaultPostgresConns is the default size of a PostgreSQL store's
// connection pool (the URL parameter pool_max_conns overrides it).
const DefaultPostgresConns = 10

// notifyChannel is the PostgreSQL notification channel on which every
// append announces its group (hex-encoded group id).
const notifyChannel = "mls_ds_append"

// planSettings are the planner settings of a PostgreSQL store's sessions
// (a URL parameter of the same name overrides one). Every statement of the
// store reads or writes rows by index, on tables that grow fast and are
// often young (no statistics yet) or full of dead row versions between
// vacuums, where the planner would rather scan a table that looks small;
// and the batches' statements take arrays, whose custom plans cost more to
// make than to run. So sequential scans are ruled out and the prepared
// statements keep one generic plan.
var planSettings = map[string]string{
	"enable_seqscan":  "off",
	"plan_cache_mode": "force_generic_plan",
}

// PGStore is a Store over PostgreSQL that several delivery service
// processes can share. It implements store.Notifier with LISTEN/NOTIFY.
type PGStore struct {
	*Store
	config *pgx.ConnConfig
}

var _ store.Notifier = (*PGStore)(nil)

// OpenPostgres connects to the PostgreSQL database at connURL (a
// postgres:// URL or key=value string as libpq accepts; runtime parameters
// such as search_path are passed on) and creates the tables if needed. The
// URL parameter pool_max_conns sets the pool size (default
// DefaultPostgresConns).
func OpenPostgres(ctx context.Context, connURL string) (*PGStore, error) {
	connURL, conns, err := poolSize(connURL)
	if err != nil {
		return nil, err
	}
	config, err := pgx.ParseConfig(connURL)
	if err != nil {
		return nil, fmt.Errorf("delivery: postgres store: %w", err)
	}
	for k, v := range planSettings {
		if _, set := config.RuntimeParams[k]; !set {
			config.RuntimeParams[k] = v
		}
	}
	db := stdlib.OpenDB(*config)
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	lock := func(tx *sql.Tx) error {
		// Serializes schema creation between processes starting together.
		_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7242911420)`)
		return err
	}
	if err := migrate(ctx, db, postgres, lock); err != nil {
		db.Close()
		return nil, fmt.Errorf("delivery: postgres store: %w", err)
	}
	s := &Store{d: postgres, w: db, r: db, q: newQueries(postgres)}
	s.notifier = newNotifier(config)
	s.appendFast = s.postgresAppend
	s.batchTx = s.postgresBatchTx
	s.startBatching(max(conns/2, 1), pgMaxBatch)
	return &PGStore{Store: s, config: config}, nil
}

// poolSize removes pool_max_conns from a postgres:// URL and returns its
// value.
func poolSize(connURL string) (string, int, error) {
	u, err := url.Parse(connURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return connURL, DefaultPostgresConns, nil // a key=value string: pgx parses it
	}
	q := u.Query()
	v := q.Get("pool_max_conns")
	if v == "" {
		return connURL, DefaultPostgresConns, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return "", 0, fmt.Errorf("delivery: postgres store: invalid pool_max_conns %q", v)
	}
	q.Del("pool_max_conns")
	u.RawQuery = q.Encode()
	return u.String(), n, nil
}

// Listen implements store.Notifier: it LISTENs on a connection of its own
// and calls notify for every append any process commits, and notify(nil)
// once listening. When the connection breaks it reconnects. It returns when
// ctx is done.
func (s *PGStore) Listen(ctx context.Context, notify func(groupID []byte)) error {
	for {
		conn, err := pgx.ConnectConfig(ctx, s.config.Copy())
		if err == nil {
			_, err = conn.Exec(ctx, "LISTEN "+notifyChannel)
			if err == nil {
				notify(nil)
			}
			for err == nil {
				n, werr := conn.WaitForNotification(ctx)
				if err = werr; err != nil {
					break
				}
				if gid, err := hex.DecodeString(n.Payload); err == nil && len(gid) > 0 {
					notify(gid)
				}
			}
			conn.Close(context.WithoutCancel(ctx))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
