package interop

import "testing"

// TestTableBound checks that a full table drops the least recently used
// object, that ids are never reused and that 0 is never an id.
func TestTableBound(t *testing.T) {
	tb := newTable(3)
	a, b, c := tb.add("a"), tb.add("b"), tb.add("c")
	if a == 0 || a == b || b == c || a == c {
		t.Fatalf("ids %d, %d, %d", a, b, c)
	}
	if _, ok := tb.get(a); !ok { // a is now the most recently used
		t.Fatal("a missing")
	}
	d := tb.add("d") // drops b
	if _, ok := tb.get(b); ok {
		t.Error("b survived, though least recently used")
	}
	for _, id := range []uint32{a, c, d} {
		if _, ok := tb.get(id); !ok {
			t.Errorf("id %d dropped", id)
		}
	}
	if tb.len() != 3 {
		t.Errorf("%d objects, want 3", tb.len())
	}
	if !tb.remove(c) || tb.remove(c) {
		t.Error("remove of c: want true once, then false")
	}
	if e := tb.add("e"); e == a || e == b || e == c || e == d {
		t.Errorf("id %d reused", e)
	}
}

// TestTableIDWraps checks that the id after 2^32-1 skips 0.
func TestTableIDWraps(t *testing.T) {
	tb := newTable(2)
	tb.next = 1<<32 - 1
	if id := tb.add("x"); id != 1 {
		t.Errorf("id after 2^32-1: %d, want 1", id)
	}
}
