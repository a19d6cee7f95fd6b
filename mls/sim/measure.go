package sim

import "time"

// span is the cost of a call: its wall-clock time and the CPU time the
// process spent meanwhile on all its threads, which does not count the
// time spent waiting for a core on a busy machine. cpu is the wall-clock
// time where process CPU time is unavailable.
//
// The simulator runs nothing else while it measures a call, so the CPU
// time is the call's, the garbage collector's share included.
type span struct {
	wall, cpu time.Duration
}

// measure runs f and returns its span.
func measure(f func() error) (span, error) {
	c0, ok := processCPU()
	t0 := time.Now()
	err := f()
	s := span{wall: time.Since(t0)}
	if c1, ok1 := processCPU(); ok && ok1 {
		s.cpu = c1 - c0
	} else {
		s.cpu = s.wall
	}
	return s, err
}
