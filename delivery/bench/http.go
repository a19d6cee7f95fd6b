package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"

	"github.com/mlsengine/engine/delivery"
	"github.com/mlsengine/engine/delivery/store/sqlstore"
)

// benchHTTP measures the benchmark's load posted through the HTTP API of a
// delivery service over the store at storeURL, client and server in this
// process, on loopback.
func benchHTTP(ctx context.Context, storeURL string, cfg Config) (Figures, error) {
	st, err := delivery.OpenStore(ctx, storeURL)
	if err != nil {
		return Figures{}, err
	}
	defer st.Close()
	srv, err := delivery.NewServer(delivery.Config{Store: st, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return Figures{}, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		return Figures{}, err
	}
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sctx, ln) }()
	defer func() {
		stop()
		<-served
	}()

	transport := &http.Transport{MaxIdleConns: cfg.Clients, MaxIdleConnsPerHost: cfg.Clients}
	defer transport.CloseIdleConnections()
	c := &delivery.Client{BaseURL: "http://" + ln.Addr().String(), HTTPClient: &http.Client{Transport: transport}}
	var suffix [6]byte
	rand.Read(suffix[:])
	if _, err := c.Register(ctx, "bench-"+hex.EncodeToString(suffix[:])); err != nil {
		return Figures{}, err
	}
	gids, err := createGroups(ctx, st, cfg.Groups)
	if err != nil {
		return Figures{}, err
	}
	stats, _ := st.(interface{ BatchStats() sqlstore.BatchStats })
	var before sqlstore.BatchStats
	if stats != nil {
		before = stats.BatchStats()
	}
	var next atomic.Uint64
	f, err := load(ctx, "HTTP posts, client and server in one process", cfg.Clients, cfg, func(ctx context.Context, _ int, m *messages) (int, error) {
		gid := gids[next.Add(1)%uint64(len(gids))]
		_, err := c.Post(ctx, gid, m.next(gid))
		return 1, err
	})
	if stats != nil {
		f.MsgsPerBatch = perBatch(before, stats.BatchStats())
	}
	return f, err
}
