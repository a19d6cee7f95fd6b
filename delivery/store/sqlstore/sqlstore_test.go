package sqlstore_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

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
	heard := make(chan string, 100)
	listening := make(chan error, 1)
	go func() { listening <- b.Listen(ctx, func(gid []byte) { heard <- string(gid) }) }()
	gid := []byte("listened-to group")
	// Notifications sent before LISTEN ran are lost: post until one is heard.
	for i := uint64(0); ; i++ {
		if _, err := a.Commit(ctx, store.Commit{GroupID: gid, Message: store.Message{
			Epoch: i, ContentType: store.ContentCommit, WireFormat: 2, Data: []byte{byte(i), byte(i >> 8)},
		}}); err != nil {
			t.Fatal(err)
		}
		select {
		case g := <-heard:
			if g != string(gid) {
				t.Fatalf("heard of group %q", g)
			}
			cancel()
			if err := <-listening; err != context.Canceled {
				t.Fatalf("Listen returned %v", err)
			}
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}
