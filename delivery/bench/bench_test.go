package bench_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mlsengine/engine/delivery/bench"
	"github.com/mlsengine/engine/delivery/store/storetest"
)

// short is a run just long enough to check the figures are measured.
func short(storeURL string) bench.Config {
	return bench.Config{StoreURL: storeURL, Clients: 4, Groups: 10, Duration: 300 * time.Millisecond, HTTP: true}
}

func checkFigures(t *testing.T, name string, f *bench.Figures, batched bool) {
	t.Helper()
	if f == nil {
		t.Fatalf("%s: no figures", name)
	}
	if f.Messages <= 0 || f.MsgsPerS <= 0 || f.P50Ms <= 0 || f.P99Ms < f.P50Ms || f.What == "" {
		t.Errorf("%s: %+v", name, f)
	}
	if batched && f.MsgsPerBatch < 1 {
		t.Errorf("%s: %.2f messages per transaction", name, f.MsgsPerBatch)
	}
}

// TestRunSQLite: a run on an SQLite file measures the store, its floor and
// the HTTP API, and leaves no floor table behind.
func TestRunSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bench.db")
	r, err := bench.Run(context.Background(), short("sqlite:"+path))
	if err != nil {
		t.Fatal(err)
	}
	checkFigures(t, "append", &r.Append, true)
	checkFigures(t, "floor", r.Floor, true)
	checkFigures(t, "http", r.HTTP, true)
	if r.FloorRatio <= 0 || r.HTTPRatio <= 0 || r.Clients != 4 || r.Groups != 10 || r.PayloadBytes != bench.DefaultPayloadSize {
		t.Errorf("result %+v", r)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name LIKE 'ds_bench_floor%'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d floor tables or indexes left (%v)", n, err)
	}
}

// TestRunPostgres: a run on PostgreSQL measures the store, its floor and
// the HTTP API, in a schema of its own that it drops.
func TestRunPostgres(t *testing.T) {
	url := storetest.PostgresURL(t)
	r, err := bench.Run(context.Background(), short(url))
	if err != nil {
		t.Fatal(err)
	}
	checkFigures(t, "append", &r.Append, true)
	checkFigures(t, "floor", r.Floor, false)
	checkFigures(t, "http", r.HTTP, true)
	if r.FloorRatio <= 0 || r.HTTPRatio <= 0 {
		t.Errorf("result %+v", r)
	}
	conn, err := pgx.Connect(context.Background(), os.Getenv(storetest.EnvPostgres))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	// Its own schema: other benchmarks may run on the database meanwhile.
	schema := bench.ScratchSchema(r)
	if !strings.HasPrefix(schema, "mls_bench_") {
		t.Fatalf("scratch schema %q", schema)
	}
	var n int
	if err := conn.QueryRow(context.Background(),
		`SELECT count(*) FROM information_schema.schemata WHERE schema_name = $1`, schema).Scan(&n); err != nil || n != 0 {
		t.Fatalf("the benchmark's schema %s left (%d, %v)", schema, n, err)
	}
}

// TestRunMemory: the memory store has no floor.
func TestRunMemory(t *testing.T) {
	cfg := short("memory:")
	cfg.HTTP = false
	r, err := bench.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkFigures(t, "append", &r.Append, false)
	if r.Floor != nil || r.FloorRatio != 0 || r.HTTP != nil {
		t.Errorf("result %+v", r)
	}
}

func TestRunInvalid(t *testing.T) {
	for _, cfg := range []bench.Config{{Clients: -1}, {Groups: -1}, {Duration: -time.Second}, {PayloadSize: 10}} {
		if _, err := bench.Run(context.Background(), cfg); err == nil {
			t.Errorf("Run(%+v) succeeded", cfg)
		}
	}
	if _, err := bench.Run(context.Background(), bench.Config{StoreURL: "nosuch:", Duration: time.Millisecond}); err == nil {
		t.Error("Run on an unknown store URL succeeded")
	}
}
