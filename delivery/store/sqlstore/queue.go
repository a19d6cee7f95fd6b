package sqlstore

import (
	"context"
	"sync"

	"github.com/mlsengine/engine/delivery/store"
)

// queue hands appends to the workers of group commit.
//
// A worker takes everything pending (up to maxBatch) as its batch when no
// batch is running, or when at least parallelBatch appends wait: under
// light load one transaction runs at a time and carries every append that
// arrived while the previous one ran, which costs the least per append;
// under heavy load (or with a slow disk) large batches run side by side, up
// to one per worker.
type queue struct {
	mu       sync.Mutex
	ready    sync.Cond // signalled when a worker may take a batch
	pending  []*appendReq
	running  int  // batches being run
	closed   bool // no more batches are taken
	maxBatch int
}

// parallelBatch is the number of waiting appends for which a batch starts
// while others run.
const parallelBatch = 16

func newQueue(maxBatch int) *queue {
	q := &queue{maxBatch: maxBatch}
	q.ready.L = &q.mu
	return q
}

// put queues r for a batch.
func (q *queue) put(r *appendReq) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return errClosed
	}
	q.pending = append(q.pending, r)
	q.ready.Signal()
	return nil
}

// withdraw removes r if no worker has taken it yet, and reports whether it
// did.
func (q *queue) withdraw(r *appendReq) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, p := range q.pending {
		if p == r {
			q.pending = append(q.pending[:i], q.pending[i+1:]...)
			return true
		}
	}
	return false
}

// take waits for a batch and returns it, or nil once the queue is closed.
// The caller calls finished when the batch is done.
func (q *queue) take() []*appendReq {
	q.mu.Lock()
	defer q.mu.Unlock()
	for !q.closed && (len(q.pending) == 0 || (q.running > 0 && len(q.pending) < parallelBatch)) {
		q.ready.Wait()
	}
	if q.closed {
		return nil
	}
	n := min(len(q.pending), q.maxBatch)
	batch := make([]*appendReq, n)
	copy(batch, q.pending)
	q.pending = append(q.pending[:0], q.pending[n:]...)
	q.running++
	if len(q.pending) > 0 {
		q.ready.Signal() // a full batch may be waiting for another worker
	}
	return batch
}

// finished records the end of a batch taken from the queue.
func (q *queue) finished() {
	q.mu.Lock()
	q.running--
	q.mu.Unlock()
	q.ready.Signal()
}

// close makes take return nil and fails the pending appends with
// errClosed.
func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	pending := q.pending
	q.pending = nil
	q.mu.Unlock()
	q.ready.Broadcast()
	for _, r := range pending {
		r.out, r.err = store.Appended{}, errClosed
		close(r.done)
	}
}

// wait waits for r's outcome, which a worker sets. If ctx is done before a
// worker took r, r is withdrawn and ctx's error returned; once taken, r's
// outcome is waited for even if ctx is done, so that the caller never
// mistakes a committed append for a failed one.
func (q *queue) wait(ctx context.Context, r *appendReq) {
	select {
	case <-r.done:
		return
	case <-ctx.Done():
	}
	if q.withdraw(r) {
		r.out, r.err = store.Appended{}, ctx.Err()
		return
	}
	<-r.done
}
