// Package benchutil holds what the benchmarks of several packages share:
// the group sizes they run at and the process's CPU time.
package benchutil

import (
	"os"
	"strconv"
	"syscall"
	"time"
)

// Sizes returns the group sizes of a benchmark: 10^3 to 10^6 members,
// the environment variable env (if set to a number) lowering the largest.
func Sizes(env string) []int {
	largest := 1_000_000
	if v, err := strconv.Atoi(os.Getenv(env)); err == nil {
		largest = v
	}
	var out []int
	for n := 1000; n <= largest; n *= 10 {
		out = append(out, n)
	}
	return out
}

// CPUTime returns the CPU time the process used, user and system, all
// threads (and so the garbage collector's) included: on a shared machine
// it measures an operation's cost independently of the load, where wall
// time (ns/op) does not.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
