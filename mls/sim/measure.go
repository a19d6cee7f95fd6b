package sim

import (
	"runtime"
	"time"
)

// span is the cost of a single-threaded call: its wall-clock time and the
// CPU time of the thread that ran it, which does not count the time the
// thread waited for a core on a busy machine. cpu is the wall-clock time
// where thread CPU time is unavailable.
type span struct {
	wall, cpu time.Duration
}

// measure runs f on one OS thread and returns its span.
func measure(f func() error) (span, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c0, ok := threadCPU()
	t0 := time.Now()
	err := f()
	s := span{wall: time.Since(t0)}
	if c1, ok1 := threadCPU(); ok && ok1 {
		s.cpu = c1 - c0
	} else {
		s.cpu = s.wall
	}
	return s, err
}
