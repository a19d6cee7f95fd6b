package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"hash/fnv"
	"slices"
	"time"

	"github.com/mlsengine/engine/delivery/store"
)

// Group commit: every durable transaction costs a disk flush (milliseconds),
// and appends to one group are serialized by its row lock, so one
// transaction per message caps a group at a few hundred messages per
// second. Appends that arrive while a transaction is running are therefore
// collected and run together in the next transaction, each with its own
// outcome, and answered once that transaction is durable.
//
// Each group's appends go to one worker (by a hash of the group id), so that
// a busy group's appends share transactions instead of contending for its
// row lock from several. A batch runs its requests ordered by group id, so
// that concurrent batches (of other processes) lock group rows in one order
// and cannot deadlock. Two requests of a batch with the same group and bytes run once,
// the second answered as a duplicate. If anything unusual happens in a batch
// (a database error, a retry whose original was logged concurrently), the
// batch is rolled back and each request runs in a transaction of its own,
// which is always correct: a request that had in fact been committed is then
// found as a duplicate.

// maxBatch bounds the requests of one transaction.
const maxBatch = 64

// batchTimeout bounds a batch's transaction.
const batchTimeout = 30 * time.Second

// errClosed is returned for appends submitted after Close.
var errClosed = errors.New("delivery: store closed")

// startBatching starts workers that run submitted appends in batches.
func (s *Store) startBatching(workers int) {
	s.closed = make(chan struct{})
	for range workers {
		ch := make(chan *appendReq) // unbuffered: a request is taken only by a running worker
		s.batches = append(s.batches, ch)
		s.workers.Add(1)
		go func() {
			defer s.workers.Done()
			s.batchWorker(ch)
		}()
	}
}

// stopBatching stops the workers once their current batches are done.
func (s *Store) stopBatching() {
	if s.closed != nil {
		close(s.closed)
		s.workers.Wait()
	}
}

// submit runs r, batched with concurrent appends if workers are running.
// Once a worker has taken r, submit waits for its outcome even if ctx is
// done, so that the caller never mistakes a committed append for a failed
// one.
func (s *Store) submit(ctx context.Context, r *appendReq) (store.Appended, error) {
	r.sum = store.Digest(r.m.Data)
	if len(s.batches) == 0 {
		return s.appendTx(ctx, r)
	}
	h := fnv.New32a()
	h.Write(r.groupID)
	r.done = make(chan struct{})
	select {
	case s.batches[h.Sum32()%uint32(len(s.batches))] <- r:
	case <-ctx.Done():
		return store.Appended{}, ctx.Err()
	case <-s.closed:
		return store.Appended{}, errClosed
	}
	<-r.done
	return r.out, r.err
}

func (s *Store) batchWorker(batch <-chan *appendReq) {
	for {
		var reqs []*appendReq
		select {
		case r := <-batch:
			reqs = append(reqs, r)
		case <-s.closed:
			return
		}
	collect:
		for len(reqs) < maxBatch {
			select {
			case r := <-batch:
				reqs = append(reqs, r)
			default:
				break collect
			}
		}
		s.batchCount.Add(1)
		s.batchedReqs.Add(uint64(len(reqs)))
		ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
		s.runBatch(ctx, reqs)
		cancel()
		for _, r := range reqs {
			close(r.done)
		}
	}
}

// BatchStats counts the transactions group commit ran and the appends they
// carried, since the Store was opened.
type BatchStats struct {
	Batches  uint64 // transactions (a batch that fell back to one transaction per append counts once)
	Requests uint64 // appends and commits
}

// BatchStats reports the group commit counters.
func (s *Store) BatchStats() BatchStats {
	return BatchStats{Batches: s.batchCount.Load(), Requests: s.batchedReqs.Load()}
}

// runBatch sets the outcome of every request.
func (s *Store) runBatch(ctx context.Context, reqs []*appendReq) {
	if len(reqs) == 1 {
		reqs[0].out, reqs[0].err = s.appendTx(ctx, reqs[0])
		return
	}
	slices.SortStableFunc(reqs, func(a, b *appendReq) int { return bytes.Compare(a.groupID, b.groupID) })
	first := make(map[string]*appendReq, len(reqs))
	for _, r := range reqs {
		key := string(r.groupID) + string(r.sum[:])
		if f := first[key]; f != nil {
			r.twin = f
		} else {
			first[key] = r
		}
	}
	err := s.inTx(ctx, "append batch", func(tx *sql.Tx) error {
		var appended [][]byte // groups are sorted: each once
		for _, r := range reqs {
			if r.twin != nil {
				continue
			}
			if err := s.apply(ctx, tx, r); err != nil {
				return err
			}
			if r.err == nil && !r.out.Duplicate && (len(appended) == 0 || !bytes.Equal(appended[len(appended)-1], r.groupID)) {
				appended = append(appended, r.groupID)
			}
		}
		if s.notify != nil && len(appended) > 0 {
			return s.notify(ctx, tx, appended)
		}
		return nil
	})
	if err != nil {
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
