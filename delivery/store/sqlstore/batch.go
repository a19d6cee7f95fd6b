package sqlstore

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/mlsengine/engine/delivery/store"
)

// Group commit: every durable transaction costs a disk flush, and appends
// to one group are serialized by its row lock, so one transaction per
// message caps a group at a few thousand messages per second and spends
// most of the database's work on transaction overhead. Appends that arrive
// while a transaction is running are therefore collected (see queue.go) and
// run together in the next transaction, each with its own outcome, and
// answered once that transaction is durable.
//
// A batch is set-based: a few statements for the whole batch, not a few per
// append (see plan.go, and pgbatch.go and sqlitebatch.go for the SQL). A
// batch runs its requests ordered by group id, so that concurrent batches
// (of this or other processes) lock group rows in one order. Two requests
// of a batch with the same group and bytes run once, the second answered as
// a duplicate. If anything unusual happens in a batch (a database error, a
// deadlock, a retry whose original was logged concurrently), the batch is
// rolled back and each request runs in a transaction of its own, which is
// always correct: a request that had in fact been committed is then found
// as a duplicate.

// Bounds of the requests of one batch. SQLite's one writer runs one batch
// at a time, which larger batches serve better (measured with
// delivery/bench).
const (
	pgMaxBatch     = 64
	sqliteMaxBatch = 128
)

// batchTimeout bounds a batch's transaction.
const batchTimeout = 30 * time.Second

// errClosed is returned for appends submitted after Close.
var errClosed = errors.New("delivery: store closed")

// startBatching starts workers that run submitted appends in batches of up
// to maxBatch.
func (s *Store) startBatching(workers, maxBatch int) {
	s.queue = newQueue(maxBatch)
	for range workers {
		s.workers.Add(1)
		go func() {
			defer s.workers.Done()
			s.batchWorker()
		}()
	}
}

// stopBatching stops the workers once their current batches are done.
func (s *Store) stopBatching() {
	if s.queue != nil {
		s.queue.close()
		s.workers.Wait()
	}
}

// submit runs r, batched with concurrent appends if workers are running.
func (s *Store) submit(ctx context.Context, r *appendReq) (store.Appended, error) {
	r.sum = store.Digest(r.m.Data)
	if s.queue == nil {
		return s.appendTx(ctx, r)
	}
	r.done = make(chan struct{})
	if err := s.queue.put(r); err != nil {
		return store.Appended{}, err
	}
	s.queue.wait(ctx, r)
	return r.out, r.err
}

func (s *Store) batchWorker() {
	for {
		reqs := s.queue.take()
		if reqs == nil {
			return
		}
		s.batchCount.Add(1)
		s.batchedReqs.Add(uint64(len(reqs)))
		ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
		s.runBatch(ctx, reqs)
		cancel()
		s.queue.finished()
		for _, r := range reqs {
			close(r.done)
		}
	}
}

// BatchStats counts the transactions group commit ran and the appends they
// carried, since the Store was opened.
type BatchStats struct {
	Batches  uint64 // batches taken by the workers
	Requests uint64 // appends and commits in them
	// Fallbacks counts the batches whose transaction failed, after which
	// each of their appends ran in a transaction of its own.
	Fallbacks uint64
}

// BatchStats reports the group commit counters.
func (s *Store) BatchStats() BatchStats {
	return BatchStats{Batches: s.batchCount.Load(), Requests: s.batchedReqs.Load(), Fallbacks: s.fallbacks.Load()}
}

// runBatch sets the outcome of every request.
func (s *Store) runBatch(ctx context.Context, reqs []*appendReq) {
	slices.SortStableFunc(reqs, func(a, b *appendReq) int { return bytes.Compare(a.groupID, b.groupID) })
	first := make(map[string]*appendReq, len(reqs))
	firsts := make([]*appendReq, 0, len(reqs))
	for _, r := range reqs {
		key := string(r.groupID) + string(r.sum[:])
		if f := first[key]; f != nil {
			r.twin = f
			continue
		}
		first[key] = r
		firsts = append(firsts, r)
	}
	failed := false
	if s.appendFast != nil && !slices.ContainsFunc(firsts, func(r *appendReq) bool { return r.c != nil }) {
		// Appends only: one statement appends those at their group's
		// epoch; the others (if any) are decided below.
		rest, err := s.appendFast(ctx, firsts)
		if err == nil {
			firsts = rest
		}
		failed = err != nil // most likely for a retry of a logged message
	}
	if len(firsts) > 0 && !s.runPlanned(ctx, firsts, failed) {
		s.fallbacks.Add(1)
		for _, r := range reqs {
			r.out, r.err = s.appendTx(ctx, r)
		}
		return
	}
	for _, r := range reqs {
		if r.twin != nil {
			r.out, r.err = r.twin.out, r.twin.err
			if r.err == nil {
				r.out.Duplicate = true
			}
		}
	}
}

// runPlanned runs reqs (sorted by group id, without twins) in a transaction
// that reads their groups (and, if withDups, the duplicates among them) and
// plans the batch (plan.go), and sets their outcomes. It returns false if
// the transaction failed: nothing of it was committed.
func (s *Store) runPlanned(ctx context.Context, reqs []*appendReq, withDups bool) bool {
	var gids [][]byte // sorted, each once
	for _, r := range reqs {
		if len(gids) == 0 || !bytes.Equal(gids[len(gids)-1], r.groupID) {
			gids = append(gids, r.groupID)
		}
	}
	var p *batchPlan
	decide := func(read batchRead) *batchWrite {
		if p = plan(reqs, read); p == nil {
			return nil
		}
		return &p.write
	}
	// Retries of logged messages are rare: unless a message is refused
	// for its epoch (it may be a retry), a batch does not read the
	// duplicates but has the unique index on digests refuse the batch if
	// there is one. It then runs again with the duplicates read.
	err := s.batchTx(ctx, gids, reqs, withDups, decide)
	if err != nil && !withDups {
		err = s.batchTx(ctx, gids, reqs, true, decide)
	}
	if err != nil {
		return false
	}
	s.announce(p.write.notify)
	for _, r := range p.alone {
		r.out, r.err = s.appendTx(ctx, r)
	}
	s.tellWinners(ctx, p.stale)
	return true
}

// batchTxFunc runs a batch's transaction: it locks the rows of the groups
// gids (sorted) in order, reads them and, if withDups, the duplicates among
// reqs, has decide plan the batch, and writes and commits what it returns.
// If decide returns nil, wanting the duplicates, it reads them and asks
// again. It returns nil, committing nothing, if there is nothing to write;
// an error if a message it writes is already logged.
type batchTxFunc func(ctx context.Context, gids [][]byte, reqs []*appendReq, withDups bool, decide func(batchRead) *batchWrite) error

// tellWinners tells the *EpochError of each stale request the commit that
// ended its epoch. A commit that ended an epoch never changes, so it is
// read after the batch is durable (it may be one of the batch's own).
func (s *Store) tellWinners(ctx context.Context, stale []staleReq) {
	type epochKey struct {
		gkey  int64
		epoch uint64
	}
	found := make(map[epochKey]*store.Message)
	for _, st := range stale {
		k := epochKey{st.gkey, st.r.m.Epoch}
		w := found[k]
		if w == nil {
			var err error
			if w, err = s.winner(ctx, s.r, st.gkey, k.epoch); err != nil {
				st.r.out, st.r.err = store.Appended{}, s.wrap("append batch", err)
				continue
			}
			found[k] = w
		}
		st.r.err.(*store.EpochError).Winner = w
	}
}
