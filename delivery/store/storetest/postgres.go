package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// EnvPostgres names the environment variable with the URL of the PostgreSQL
// database the tests use.
const EnvPostgres = "MLS_TEST_POSTGRES"

// PostgresURL returns the URL of a fresh, empty schema in the test database
// ($MLS_TEST_POSTGRES), dropped when the test ends. It fails the test, never
// skips it, when the variable is unset or the server unreachable.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		t.Fatalf("%s is not set: the PostgreSQL tests need a server. As root on Debian 12 run\n"+
			"\texport %s=$(.ci/postgres.sh)\n"+
			"from the repository root (it installs and starts PostgreSQL and prints the URL), or point %s at a database of your own",
			EnvPostgres, EnvPostgres, EnvPostgres)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connecting to %s=%s: %v (is the server running? see .ci/postgres.sh)", EnvPostgres, base, err)
	}
	defer conn.Close(ctx)
	suffix := make([]byte, 8)
	rand.Read(suffix)
	schema := "t_" + hex.EncodeToString(suffix)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("creating schema: %v", err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s is not a URL: %v", EnvPostgres, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
