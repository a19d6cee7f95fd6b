package bench_test

import (
	"context"
	"os"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/mlsengine/engine/delivery/bench"
)

func TestZZProfile(t *testing.T) {
	url := os.Getenv("PROF_URL")
	if url == "" {
		t.Skip()
	}
	f, _ := os.Create("/tmp/sb/cpu.prof")
	pprof.StartCPUProfile(f)
	r, err := bench.Run(context.Background(), bench.Config{StoreURL: url, Clients: 64, Groups: 1000, Duration: 6 * time.Second})
	pprof.StopCPUProfile()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v %+v %.2f", r.Append, r.Floor, r.FloorRatio)
}
