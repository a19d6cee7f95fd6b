package bench_test

import (
	"context"
	"fmt"
	"time"

	"github.com/mlsengine/engine/delivery/bench"
)

// Run measures an SQLite store in a temporary directory with 16 clients
// appending to 1,000 groups, next to the floor measured in the same run.
func ExampleRun() {
	r, err := bench.Run(context.Background(), bench.Config{Clients: 16, Groups: 1000, Duration: 5 * time.Second})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%.0f msgs/s, p99 %.1f ms, %.2f× the floor\n", r.Append.MsgsPerS, r.Append.P99Ms, r.FloorRatio)
}
