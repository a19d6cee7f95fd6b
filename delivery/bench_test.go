package delivery

import (
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mlsengine/engine/delivery/store"
	"github.com/mlsengine/engine/mls/message"
)

// BenchmarkServer measures the HTTP API end to end (client, server, store
// in one process) with concurrent clients: application messages appended
// and fetched per second, on one group and on 1,000 groups, over SQLite and
// PostgreSQL. The stores alone are measured by storetest.Bench.
func BenchmarkServer(b *testing.B) {
	for _, st := range []struct {
		name string
		url  func(testing.TB) string
	}{{"sqlite", sqliteURL}, {"postgres", postgresURL}} {
		for _, groups := range []int{1, 1000} {
			b.Run(fmt.Sprintf("%s/Append/groups=%d", st.name, groups), func(sub *testing.B) {
				c, s := benchServer(sub, st.url(sub))
				benchPost(sub, c, benchGroups(sub, s, groups))
			})
			var c *Client
			var gids [][]byte
			b.Run(fmt.Sprintf("%s/Fetch/groups=%d", st.name, groups), func(sub *testing.B) {
				if c == nil {
					var s store.Store
					c, s = benchServer(b, st.url(b))
					gids = benchGroups(b, s, groups)
					fillGroups(b, s, gids)
				}
				benchGet(sub, c, gids)
			})
		}
	}
}

// benchServer starts a server over the store at url and returns a client.
// The test's end stops both.
func benchServer(b *testing.B, url string) (*Client, store.Store) {
	st, err := OpenStore(bg, url)
	if err != nil {
		b.Fatal(err)
	}
	srv, err := NewServer(Config{Store: st, Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))})
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	b.Cleanup(func() {
		hs.Close()
		srv.Close()
		st.Close()
	})
	c := &Client{BaseURL: hs.URL, HTTPClient: testHTTP}
	if _, err := c.Register(bg, "bench"); err != nil {
		b.Fatal(err)
	}
	return c, st
}

func benchGroups(b *testing.B, s store.Store, n int) [][]byte {
	gids := make([][]byte, n)
	for i := range gids {
		gids[i] = groupID()
		if _, _, err := s.CreateGroup(bg, gids[i]); err != nil {
			b.Fatal(err)
		}
	}
	return gids
}

// fillGroups appends 10,000 messages to the groups, from concurrent writers.
func fillGroups(b *testing.B, s store.Store, gids [][]byte) {
	const total, writers = 10000, 16
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < total; i += writers {
				gid := gids[i%len(gids)]
				_, m, _ := parseGroupMessage("message", privateMsg(gid, 0, message.ContentApplication), gid)
				if _, err := s.Append(bg, gid, m); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func benchPost(b *testing.B, c *Client, gids [][]byte) {
	var next atomic.Uint64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			gid := gids[next.Add(1)%uint64(len(gids))]
			if _, err := c.Post(bg, gid, privateMsg(gid, 0, message.ContentApplication)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

func benchGet(b *testing.B, c *Client, gids [][]byte) {
	var next atomic.Uint64
	var fetched atomic.Int64
	perGroup := uint64(10000 / len(gids))
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1)
			after := (i / uint64(len(gids)) * 100) % max(perGroup, 100)
			es, err := c.Fetch(bg, gids[i%uint64(len(gids))], min(after, perGroup-1), 100, 0)
			if err != nil || len(es) == 0 {
				b.Errorf("Fetch = %d entries, %v", len(es), err)
				return
			}
			fetched.Add(int64(len(es)))
		}
	})
	b.ReportMetric(float64(fetched.Load())/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(fetched.Load())/float64(b.N), "msgs/op")
}
