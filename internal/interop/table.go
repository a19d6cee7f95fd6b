package interop

import (
	"container/list"
	"fmt"
	"sync"
)

// DefaultMaxHandles is the default of Options.MaxHandles.
const DefaultMaxHandles = 4096

// A table holds the server's live objects under the uint32 ids the proto
// hands out: group states, transactions (a KeyPackage waiting for its
// Welcome), reinitializations in progress and external signers. The ids
// share one space, so that StorePSK's state_or_transaction_id is never
// ambiguous, and start at 1 (the proto's 0 means "none").
//
// The table is bounded: when it holds max objects, adding one drops the
// least recently used. The official runner never frees some of what it
// creates (the states a reinitialization or a resync replaces, external
// signers), so an unbounded table would grow with every test case; an
// object untouched while max others were used is one the runner forgot.
//
// A table is safe for concurrent use. It only finds objects; each object
// serializes its own use.
type table struct {
	mu    sync.Mutex
	max   int
	next  uint32
	byID  map[uint32]*list.Element
	order *list.List // of *slot, most recently used first
}

type slot struct {
	id  uint32
	obj any
}

func newTable(max int) *table {
	return &table{max: max, byID: make(map[uint32]*list.Element), order: list.New()}
}

// add stores obj under a fresh id and returns the id.
func (t *table) add(obj any) uint32 {
	t.mu.Lock()
	defer t.mu.Unlock()
	for t.order.Len() >= t.max {
		oldest := t.order.Back()
		delete(t.byID, oldest.Value.(*slot).id)
		t.order.Remove(oldest)
	}
	t.next++
	if t.next == 0 { // 2^32 ids later: skip 0, which means "none"
		t.next = 1
	}
	t.byID[t.next] = t.order.PushFront(&slot{id: t.next, obj: obj})
	return t.next
}

// get returns the object under id, marking it used.
func (t *table) get(id uint32) (any, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.byID[id]
	if !ok {
		return nil, false
	}
	t.order.MoveToFront(e)
	return e.Value.(*slot).obj, true
}

// remove drops the object under id and reports whether there was one.
func (t *table) remove(id uint32) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.byID[id]
	if !ok {
		return false
	}
	delete(t.byID, id)
	t.order.Remove(e)
	return true
}

// len returns the number of live objects.
func (t *table) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.order.Len()
}

// lookup returns the object of type T under id, or a NotFound error that
// names what was looked for.
func lookup[T any](t *table, id uint32, what string) (T, error) {
	obj, ok := t.get(id)
	v, isT := obj.(T)
	if !ok || !isT {
		var zero T
		return zero, notFound(fmt.Sprintf("no %s with id %d", what, id))
	}
	return v, nil
}
