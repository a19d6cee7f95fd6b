package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"golang.org/x/net/netutil"

	"github.com/mlsengine/engine/delivery/store"
	"github.com/mlsengine/engine/delivery/store/memstore"
	"github.com/mlsengine/engine/delivery/store/sqlstore"
)

// Defaults of `mls ds serve`.
const (
	DefaultAddr     = "127.0.0.1:8080"
	DefaultStoreURL = "sqlite:mls-ds.db"
)

// OpenStore opens the store a URL names:
//
//	memory:                 in memory, lost at exit (package memstore)
//	sqlite:PATH             an SQLite file, created if missing (package sqlstore)
//	postgres://...          a PostgreSQL database (also postgresql://), shared
//	                        by any number of delivery service processes
func OpenStore(ctx context.Context, url string) (store.Store, error) {
	switch {
	case url == "memory:":
		return memstore.New(), nil
	case strings.HasPrefix(url, "sqlite:"):
		return sqlstore.OpenSQLite(ctx, strings.TrimPrefix(url, "sqlite:"))
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return sqlstore.OpenPostgres(ctx, url)
	}
	return nil, fmt.Errorf("%w %q: want memory:, sqlite:PATH or postgres://USER@HOST/DB", ErrStoreURL, url)
}

// ServeConfig configures ListenAndServe.
type ServeConfig struct {
	Addr     string // listen address; default DefaultAddr ("127.0.0.1:0" picks a port)
	StoreURL string // see OpenStore; default DefaultStoreURL

	// Server configures the HTTP API; its Store is set from StoreURL.
	Server Config

	// Ready, if set, is called with the listening address and the
	// fingerprint of the CA's root certificate once the server accepts
	// connections.
	Ready func(addr net.Addr, caFingerprint string)
}

// ListenAndServe runs a delivery service, as `mls ds serve` does: it opens
// the store, listens on the address and serves the HTTP API until ctx is
// done, then shuts down gracefully (open streams end, requests in flight
// finish) and closes the store.
func ListenAndServe(ctx context.Context, cfg ServeConfig) error {
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.StoreURL == "" {
		cfg.StoreURL = DefaultStoreURL
	}
	st, err := OpenStore(ctx, cfg.StoreURL)
	if err != nil {
		return err
	}
	defer st.Close()
	cfg.Server.Store = st
	srv, err := NewServer(cfg.Server)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		srv.Close()
		return fmt.Errorf("delivery: %w", err)
	}
	if cfg.Ready != nil {
		cfg.Ready(ln.Addr(), srv.CAFingerprint())
	}
	return srv.Serve(ctx, ln)
}

// CAFingerprint returns the fingerprint of the CA's root certificate,
// which clients pin (compare it out of band).
func (s *Server) CAFingerprint() string { return Fingerprint(s.ca.rootDER) }

// fdReserve are the file descriptors kept free of client connections: the
// store's, the listener's, logs.
const fdReserve = 64

// maxConnections returns the connection cap: the configured one, or
// DefaultMaxConnections, less if the file limit files needs it so that
// connections never exhaust the process's file descriptors (a client
// holding many connections then delays others, but cannot lock them out
// of the store or make accept fail).
func maxConnections(configured, files int) int {
	n := configured
	if n <= 0 {
		n = DefaultMaxConnections
	}
	if files > 0 {
		n = min(n, max(files-fdReserve, files/2))
	}
	return max(n, 1)
}

// Serve serves the HTTP API on ln until ctx is done, then shuts down
// gracefully and closes s. It returns nil after a shutdown caused by ctx.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	hs.RegisterOnShutdown(func() { s.Close() })
	ln = netutil.LimitListener(ln, maxConnections(s.cfg.Limits.MaxConnections, fileLimit()))
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		s.Close()
		return fmt.Errorf("delivery: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := hs.Shutdown(sctx)
	if e := <-errc; !errors.Is(e, http.ErrServerClosed) {
		err = errors.Join(err, e)
	}
	s.Close()
	if err != nil {
		return fmt.Errorf("delivery: shutting down: %w", err)
	}
	return nil
}
