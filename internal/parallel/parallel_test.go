package parallel

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync/atomic"
	"testing"
)

func TestEachCallsEveryIndexOnce(t *testing.T) {
	for _, procs := range []int{1, 2, 4} {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		for _, n := range []int{0, 1, MinEach - 1, MinEach, 1000} {
			calls := make([]atomic.Int32, n)
			if err := Each(n, func(i int) error { calls[i].Add(1); return nil }); err != nil {
				t.Fatal(err)
			}
			for i := range calls {
				if c := calls[i].Load(); c != 1 {
					t.Fatalf("GOMAXPROCS %d, n %d: index %d called %d times", procs, n, i, c)
				}
			}
		}
	}
}

func TestLowestErrorWins(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	for range 20 {
		err := Each(100, func(i int) error {
			if i%7 == 3 {
				return fmt.Errorf("index %d", i)
			}
			return nil
		})
		if err == nil || err.Error() != "index 3" {
			t.Fatalf("got %v, want the error of index 3", err)
		}
		sentinel := errors.New("block")
		err = Blocks(10000, 512, func(lo, hi int) error {
			if lo >= 1024 {
				return fmt.Errorf("%w at %d", sentinel, lo)
			}
			return nil
		})
		if !errors.Is(err, sentinel) || err.Error() != "block at 1024" {
			t.Fatalf("got %v, want the error of block 1024", err)
		}
	}
}

func TestSplitRand(t *testing.T) {
	read := func(rs []io.Reader) [][]byte {
		var out [][]byte
		for _, r := range rs {
			b := make([]byte, 64)
			if _, err := io.ReadFull(r, b); err != nil {
				t.Fatal(err)
			}
			out = append(out, b)
		}
		return out
	}
	seed := bytes.Repeat([]byte{1, 2, 3}, 100)
	a, err := SplitRand(bytes.NewReader(seed), 3)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := SplitRand(bytes.NewReader(seed), 3)
	ra, rb := read(a), read(b)
	for i := range ra {
		if !bytes.Equal(ra[i], rb[i]) {
			t.Fatalf("source %d differs for the same seed", i)
		}
		for j := range i {
			if bytes.Equal(ra[i], ra[j]) {
				t.Fatalf("sources %d and %d are equal", i, j)
			}
		}
	}
	if _, err := SplitRand(bytes.NewReader(seed[:95]), 3); err == nil {
		t.Fatal("a short source of randomness was accepted")
	}
	if rs, err := SplitRand(nil, 2); err != nil || len(rs) != 2 {
		t.Fatalf("nil source: %v", err)
	}
}
