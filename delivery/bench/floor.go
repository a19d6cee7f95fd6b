package bench

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"math"
	"net/url"
	"strings"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// floorTable is the copy of the message table the floors write to.
const floorTable = "ds_bench_floor"

// maxFloorConns bounds the connections of the PostgreSQL floor: its clients
// share a pool of min(clients, maxFloorConns) connections, which leaves
// room under PostgreSQL's default max_connections (100).
const maxFloorConns = 64

// postgresScratch makes a schema of its own for a benchmark on the
// PostgreSQL database at storeURL.
func postgresScratch(ctx context.Context, storeURL string) (*scratch, error) {
	u, err := url.Parse(storeURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	q := u.Query()
	poolMax := q.Get("pool_max_conns")
	q.Del("pool_max_conns") // the store's option, not a server parameter
	u.RawQuery = q.Encode()
	base := u.String()

	var suffix [6]byte
	rand.Read(suffix[:])
	schema := "mls_bench_" + hex.EncodeToString(suffix[:])
	if err := execOnce(ctx, base, "CREATE SCHEMA "+schema); err != nil {
		return nil, fmt.Errorf("delivery bench: creating a scratch schema: %w", err)
	}
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	connURL := u.String()
	if poolMax != "" {
		q.Set("pool_max_conns", poolMax)
		u.RawQuery = q.Encode()
	}
	return &scratch{
		url:    u.String(),
		schema: schema,
		floor: func(ctx context.Context, cfg Config, _ func() float64) (*measurement, func(), error) {
			return postgresFloor(ctx, connURL, cfg)
		},
		cleanup: func() {
			execOnce(context.WithoutCancel(ctx), base, "DROP SCHEMA "+schema+" CASCADE")
		},
	}, nil
}

// execOnce runs one statement on a connection of its own.
func execOnce(ctx context.Context, connURL, stmt string) error {
	conn, err := pgx.Connect(ctx, connURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, stmt)
	return err
}

// postgresFloor prepares plain single-row INSERTs (each its own
// transaction) of the benchmark's messages into a copy of the message table,
// from cfg.Clients goroutines through pgx.
func postgresFloor(ctx context.Context, connURL string, cfg Config) (*measurement, func(), error) {
	pc, err := pgxpool.ParseConfig(connURL)
	if err != nil {
		return nil, nil, err
	}
	conns := min(cfg.Clients, maxFloorConns)
	pc.MaxConns = int32(conns)
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, nil, err
	}
	if _, err := pool.Exec(ctx, "CREATE TABLE "+floorTable+" (LIKE ds_messages INCLUDING ALL)"); err != nil {
		pool.Close()
		return nil, nil, err
	}
	gids := floorGroups(cfg.Groups)
	var next, seq atomic.Uint64
	const insert = "INSERT INTO " + floorTable + " (gkey, seq, epoch, content_type, wire_format, digest, data) VALUES ($1, $2, 0, 1, 2, $3, $4)"
	what := fmt.Sprintf("plain single-row INSERTs through pgx, %d connections", conns)
	m := newMeasurement(what, cfg, func(ctx context.Context, m *messages) (int, error) {
		g := next.Add(1) % uint64(len(gids))
		data := m.next(gids[g])
		sum := sha256.Sum256(data)
		_, err := pool.Exec(ctx, insert, int64(g), int64(seq.Add(1)), sum[:], data)
		return 1, err
	})
	return m, pool.Close, nil
}

// sqliteFloor returns the floor of an SQLite store at path: one writer
// running transactions of one multi-row INSERT each, of as many messages as
// the store's batches carried so far, into a copy of the message table.
func sqliteFloor(path string) func(ctx context.Context, cfg Config, perBatch func() float64) (*measurement, func(), error) {
	return func(ctx context.Context, cfg Config, perBatch func() float64) (*measurement, func(), error) {
		db, err := sql.Open("sqlite", path+"?_txlock=immediate&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)")
		if err != nil {
			return nil, nil, err
		}
		db.SetMaxOpenConns(1)
		if err := copyMessageTable(ctx, db); err != nil {
			db.Close()
			return nil, nil, err
		}
		closeFloor := func() {
			db.ExecContext(context.WithoutCancel(ctx), "DROP TABLE "+floorTable)
			db.Close()
		}
		gids := floorGroups(cfg.Groups)
		inserts := make(map[int]*sql.Stmt) // by rows
		var next, seq uint64
		var args []any
		n := 1
		one := cfg
		one.Clients = 1
		m := newMeasurement("one writer, transactions of one multi-row INSERT, WAL, synchronous=FULL", one,
			func(ctx context.Context, m *messages) (int, error) {
				insert := inserts[n]
				if insert == nil {
					var err error
					if insert, err = db.PrepareContext(ctx, multiRowInsert(n)); err != nil {
						return 0, err
					}
					inserts[n] = insert
				}
				args = args[:0]
				for range n {
					next++
					seq++
					g := next % uint64(len(gids))
					data := m.next(gids[g])
					sum := sha256.Sum256(data)
					args = append(args, int64(g), int64(seq), sum[:], data)
				}
				tx, err := db.BeginTx(ctx, nil)
				if err != nil {
					return 0, err
				}
				if _, err := tx.StmtContext(ctx, insert).ExecContext(ctx, args...); err != nil {
					tx.Rollback()
					return 0, err
				}
				return n, tx.Commit()
			})
		// Each slice runs the store's mean batch so far.
		var rows float64
		m.fixedBatch = func() float64 { return rows }
		m.beforeSlice = func() {
			n = max(1, int(math.Round(perBatch())))
			rows = float64(n)
		}
		return m, closeFloor, nil
	}
}

// multiRowInsert returns the INSERT of n messages into floorTable.
func multiRowInsert(n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO " + floorTable + " (gkey, seq, epoch, content_type, wire_format, digest, data) VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, 0, 1, 2, ?, ?)")
	}
	return b.String()
}

// copyMessageTable creates floorTable with the columns and indexes of the
// store's message table.
func copyMessageTable(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, "SELECT sql FROM sqlite_master WHERE tbl_name = 'ds_messages' AND sql IS NOT NULL ORDER BY type DESC")
	if err != nil {
		return err
	}
	var ddl []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return err
		}
		ddl = append(ddl, strings.ReplaceAll(s, "ds_messages", floorTable))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(ddl) == 0 {
		return fmt.Errorf("no table ds_messages to copy")
	}
	for _, s := range ddl {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// floorGroups returns n random group ids for a floor's messages.
func floorGroups(n int) [][]byte {
	gids := make([][]byte, n)
	for i := range gids {
		gids[i] = make([]byte, 16)
		rand.Read(gids[i])
	}
	return gids
}
