package sqlstore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/mlsengine/engine/delivery/store"
	"github.com/mlsengine/engine/delivery/store/sqlstore"
	"github.com/mlsengine/engine/delivery/store/storetest"
)

func openSQLite(t *testing.T, path string) store.Store {
	t.Helper()
	s, err := sqlstore.OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func openPostgres(t testing.TB, url string) *sqlstore.PGStore {
	t.Helper()
	s, err := sqlstore.OpenPostgres(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSQLite(t *testing.T) {
	var path string
	storetest.Run(t, func(t *testing.T) store.Store {
		path = filepath.Join(t.TempDir(), "ds.db")
		return openSQLite(t, path)
	}, storetest.Options{
		Reopen: func(t *testing.T) store.Store { return openSQLite(t, path) },
	})
}

func TestPostgres(t *testing.T) {
	var url string
	storetest.Run(t, func(t *testing.T) store.Store {
		url = storetest.PostgresURL(t)
		return openPostgres(t, url)
	}, storetest.Options{
		Reopen: func(t *testing.T) store.Store { return openPostgres(t, url) },
	})
}

func BenchmarkSQLite(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) store.Store {
		s, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(b.TempDir(), "ds.db"))
		if err != nil {
			b.Fatal(err)
		}
		return s
	})
}

func BenchmarkPostgres(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) store.Store { return openPostgres(b, storetest.PostgresURL(b)) })
}

// TestPostgresListen: an append through one store (process) is announced to
// another's Listen, batched or not.
func TestPostgresListen(t *testing.T) {
	url := storetest.PostgresURL(t)
	a, b := openPostgres(t, url), openPostgres(t, url)
	defer a.Close()
	defer b.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	heard := make(chan []byte, 100)
	listening := make(chan error, 1)
	go func() { listening <- b.Listen(ctx, func(gid []byte) { heard <- gid }) }()
	if g := <-heard; g != nil {
		t.Fatalf("Listen began with a notification for %q, want nil (listening)", g)
	}
	// Listening: the next append is announced.
	gid := []byte("listened-to group")
	if _, err := a.Commit(ctx, store.Commit{GroupID: gid, Message: store.Message{
		ContentType: store.ContentCommit, WireFormat: 2, Data: []byte("commit"),
	}}); err != nil {
		t.Fatal(err)
	}
	// The channel is the database's, shared by every schema: tests of other
	// packages running at the same time append too, and their groups are
	// announced as well (a notification only wakes waiters up).
	for g := range heard {
		if string(g) == string(gid) {
			break
		}
	}
	cancel()
	if err := <-listening; err != context.Canceled {
		t.Fatalf("Listen returned %v", err)
	}
}
