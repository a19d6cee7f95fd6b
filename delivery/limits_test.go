package delivery

import "testing"

// TestMaxConnections: the connection cap stays below the file limit.
func TestMaxConnections(t *testing.T) {
	for _, c := range []struct{ configured, files, want int }{
		{0, 0, DefaultMaxConnections},
		{0, 1 << 20, DefaultMaxConnections},
		{0, 1024, 1024 - fdReserve},
		{0, 100, 50},
		{100, 20000, 100},
		{50000, 20000, 20000 - fdReserve},
	} {
		if got := maxConnections(c.configured, c.files); got != c.want {
			t.Errorf("maxConnections(%d, %d) = %d, want %d", c.configured, c.files, got, c.want)
		}
	}
}

// TestLimiter: a bucket lets its burst through, then refuses; keys are
// apart; a negative rate never refuses.
func TestLimiter(t *testing.T) {
	l := newLimiter(Rate{PerSecond: 0.001, Burst: 3})
	for i := range 3 {
		if !l.allow("a") {
			t.Fatalf("request %d refused within the burst", i)
		}
	}
	if l.allow("a") {
		t.Fatal("a fourth request allowed")
	}
	if !l.allow("b") {
		t.Fatal("another key refused")
	}
	off := newLimiter(Rate{PerSecond: -1})
	for range 1000 {
		if !off.allow("a") {
			t.Fatal("an unlimited limiter refused")
		}
	}
	ls := newLimits(Limits{StreamsPerClient: 2})
	for i, want := range []bool{true, true, false} {
		if got := ls.acquireStream("a"); got != want {
			t.Fatalf("stream %d of a client: acquired %v, want %v", i+1, got, want)
		}
	}
	ls.releaseStream("a")
	if !ls.acquireStream("a") {
		t.Fatal("a stream released is not available again")
	}
}
