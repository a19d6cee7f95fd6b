package sqlstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
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

// batched is a Store with group commit counters.
type batched interface {
	store.Store
	BatchStats() sqlstore.BatchStats
}

// TestBatchesSetBased: concurrent appends, retries of them and racing
// commits are decided by the set-based batches, never by the fallback to
// one transaction per append, the batches carry several appends each, and
// the logs hold exactly what was acknowledged.
func TestBatchesSetBased(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		s, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "ds.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		checkSetBased(t, s)
	})
	t.Run("postgres", func(t *testing.T) {
		s := openPostgres(t, storetest.PostgresURL(t))
		defer s.Close()
		checkSetBased(t, s)
	})
}

func checkSetBased(t *testing.T, s batched) {
	const groups, appenders, each = 4, 6, 30
	ctx := context.Background()
	var mu sync.Mutex
	acked := make(map[string]map[uint64][]byte) // group -> seq -> data
	ack := func(gid []byte, a store.Appended, data []byte) error {
		mu.Lock()
		defer mu.Unlock()
		if old, ok := acked[string(gid)][a.Seq]; ok && !bytes.Equal(old, data) {
			return fmt.Errorf("seq %d acknowledged for two messages", a.Seq)
		}
		acked[string(gid)][a.Seq] = data
		return nil
	}
	var wg sync.WaitGroup
	errs := make(chan error, groups*(appenders+1))
	for g := range groups {
		gid := []byte(fmt.Sprintf("set-based group %d", g))
		acked[string(gid)] = make(map[uint64][]byte)
		for w := range appenders + 1 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- writeFollowingEpochs(ctx, s, gid, w == 0, each, ack)
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	st := s.BatchStats()
	if st.Fallbacks != 0 || st.Requests < 2*st.Batches {
		t.Fatalf("batch stats %+v: want no fallback and batches of 2 or more on average", st)
	}
	for gid, bySeq := range acked {
		g, err := s.Group(ctx, []byte(gid))
		if err != nil {
			t.Fatal(err)
		}
		log, err := s.Messages(ctx, []byte(gid), 0, int(g.LastSeq)+1)
		if err != nil || uint64(len(log)) != g.LastSeq || len(bySeq) != len(log) {
			t.Fatalf("group has %d messages (%v), last seq %d, %d acknowledged", len(log), err, g.LastSeq, len(bySeq))
		}
		var epoch uint64
		for i, m := range log {
			if m.Seq != uint64(i+1) || m.Epoch != epoch || !bytes.Equal(m.Data, bySeq[m.Seq]) {
				t.Fatalf("log entry %d: seq %d epoch %d (want epoch %d), acknowledged as %q", i, m.Seq, m.Epoch, epoch, bySeq[m.Seq])
			}
			if m.ContentType == store.ContentCommit {
				epoch++
			}
		}
		if g.Epoch != epoch {
			t.Fatalf("group at epoch %d, its log has %d commits", g.Epoch, epoch)
		}
	}
}

// writeFollowingEpochs posts n distinct messages to gid (commits if
// committer, else application messages), each at the epoch the group is
// known to be at, following the epoch errors, and retries each once,
// which must be answered as a duplicate at the same position.
func writeFollowingEpochs(ctx context.Context, s store.Store, gid []byte, committer bool, n int, ack func([]byte, store.Appended, []byte) error) error {
	var epoch uint64
	for i := 0; i < n; {
		data := make([]byte, 32)
		rand.Read(data)
		m := store.Message{Epoch: epoch, ContentType: store.ContentApplication, WireFormat: 2, Data: data}
		post := func() (store.Appended, error) { return s.Append(ctx, gid, m) }
		if committer {
			m.ContentType = store.ContentCommit
			post = func() (store.Appended, error) { return s.Commit(ctx, store.Commit{GroupID: gid, Message: m}) }
		}
		a, err := post()
		var ee *store.EpochError
		switch {
		case errors.As(err, &ee):
			epoch = ee.Current
			continue
		case errors.Is(err, store.ErrUnknownGroup): // before the first commit
			continue
		case err != nil:
			return err
		case a.Duplicate || a.Epoch != epoch:
			return fmt.Errorf("new message answered %+v", a)
		}
		if err := ack(gid, a, data); err != nil {
			return err
		}
		if r, err := post(); err != nil || !r.Duplicate || r.Seq != a.Seq {
			return fmt.Errorf("retry of seq %d answered %+v, %v", a.Seq, r, err)
		}
		if committer {
			epoch++
		}
		i++
	}
	return nil
}
