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
	"github.com/mlsengine/engine/delivery/store"
)

// startHTTP starts a delivery service over st on loopback and prepares the
// benchmark's load posted through its HTTP API (client and server in this
// process). stop stops the service.
func startHTTP(ctx context.Context, st store.Store, gids [][]byte, cfg Config) (m *measurement, stop func(), err error) {
	// One client posts the whole load: no per-client upload limit.
	srv, err := delivery.NewServer(delivery.Config{Store: st, Logger: slog.New(slog.DiscardHandler),
		Limits: delivery.Limits{Uploads: delivery.Rate{PerSecond: -1}}})
	if err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		return nil, nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sctx, ln) }()
	transport := &http.Transport{MaxIdleConns: cfg.Clients, MaxIdleConnsPerHost: cfg.Clients}
	stop = func() {
		transport.CloseIdleConnections()
		cancel()
		<-served
	}
	c := &delivery.Client{BaseURL: "http://" + ln.Addr().String(), HTTPClient: &http.Client{Transport: transport}}
	var suffix [6]byte
	rand.Read(suffix[:])
	if _, err := c.Register(ctx, "bench-"+hex.EncodeToString(suffix[:])); err != nil {
		stop()
		return nil, nil, err
	}
	var next atomic.Uint64
	m = newMeasurement("HTTP posts, client and server in one process", cfg, func(ctx context.Context, m *messages) (int, error) {
		gid := gids[next.Add(1)%uint64(len(gids))]
		_, err := c.Post(ctx, gid, m.next(gid))
		return 1, err
	})
	return m, stop, nil
}
