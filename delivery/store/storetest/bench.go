package storetest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mlsengine/engine/delivery/store"
)

// Benchmark shape: messages of benchSize bytes; appends from
// benchParallelism goroutines per CPU; fetches of benchPage messages.
const (
	benchSize        = 256
	benchParallelism = 8
	benchPage        = 100
	// benchFetchLog is the number of messages in the log a fetch
	// benchmark reads, spread over its groups.
	benchFetchLog = 10000
)

// Bench runs the append and fetch benchmarks on one group and on 1,000
// groups against Stores open returns, reporting messages per second. open
// is called with b itself, once per benchmark that runs, so that a fetch
// benchmark fills its logs only once however often it is run.
func Bench(b *testing.B, open func(b *testing.B) store.Store) {
	for _, groups := range []int{1, 1000} {
		b.Run(fmt.Sprintf("Append/groups=%d", groups), func(sub *testing.B) {
			s := open(b)
			defer s.Close()
			benchAppend(sub, s, groups)
		})
		var s store.Store
		var gids [][]byte
		b.Run(fmt.Sprintf("Fetch/groups=%d", groups), func(sub *testing.B) {
			if s == nil {
				s = open(b)
				b.Cleanup(func() { s.Close() })
				gids = fillLogs(sub, s, groups)
			}
			benchFetch(sub, s, gids)
		})
	}
}

func createGroups(b *testing.B, s store.Store, n int) [][]byte {
	gids := make([][]byte, n)
	for i := range gids {
		gids[i] = groupID()
		if _, _, err := s.CreateGroup(ctx, gids[i]); err != nil {
			b.Fatal(err)
		}
	}
	return gids
}

// benchAppend appends application messages from concurrent writers, each
// to the next group in turn.
func benchAppend(b *testing.B, s store.Store, groups int) {
	gids := createGroups(b, s, groups)
	var next atomic.Uint64
	b.SetBytes(benchSize)
	b.SetParallelism(benchParallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			gid := gids[next.Add(1)%uint64(groups)]
			m := store.Message{ContentType: store.ContentApplication, WireFormat: 2, Data: random(benchSize)}
			if _, err := s.Append(ctx, gid, m); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// fillLogs creates groups and appends benchFetchLog messages to them, from
// concurrent writers.
func fillLogs(b *testing.B, s store.Store, groups int) [][]byte {
	gids := createGroups(b, s, groups)
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < benchFetchLog; i += 16 {
				m := store.Message{ContentType: store.ContentApplication, WireFormat: 2, Data: random(benchSize)}
				if _, err := s.Append(ctx, gids[i%groups], m); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return gids
}

// benchFetch reads pages of benchPage messages from concurrent readers,
// each from the next group in turn.
func benchFetch(b *testing.B, s store.Store, gids [][]byte) {
	groups := len(gids)
	perGroup := benchFetchLog / groups
	var next atomic.Uint64
	var fetched atomic.Int64
	b.SetParallelism(benchParallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1)
			gid := gids[i%uint64(groups)]
			after := (i / uint64(groups) * benchPage) % uint64(max(perGroup-benchPage, 1))
			ms, err := s.Messages(ctx, gid, after, benchPage)
			if err != nil || len(ms) == 0 {
				b.Errorf("Messages = %d messages, %v", len(ms), err)
				return
			}
			fetched.Add(int64(len(ms)))
		}
	})
	b.ReportMetric(float64(fetched.Load())/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(fetched.Load())/float64(b.N), "msgs/op")
}
