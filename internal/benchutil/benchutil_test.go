package benchutil

import (
	"slices"
	"testing"
)

func TestSizes(t *testing.T) {
	t.Setenv("BENCHUTIL_TEST_MAX", "")
	if got := Sizes("BENCHUTIL_TEST_MAX"); !slices.Equal(got, []int{1000, 10_000, 100_000, 1_000_000}) {
		t.Errorf("Sizes = %v", got)
	}
	t.Setenv("BENCHUTIL_TEST_MAX", "20000")
	if got := Sizes("BENCHUTIL_TEST_MAX"); !slices.Equal(got, []int{1000, 10_000}) {
		t.Errorf("Sizes with a largest of 20000 = %v", got)
	}
}

// sink keeps the busy loop of TestCPUTime from being optimized away.
var sink int

func TestCPUTime(t *testing.T) {
	t0 := CPUTime()
	for i := range 50_000_000 {
		sink ^= i * i
	}
	if CPUTime() <= t0 {
		t.Error("CPUTime did not advance over a busy loop")
	}
}
