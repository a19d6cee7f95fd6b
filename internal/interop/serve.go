package interop

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/mlsengine/engine/internal/interop/mlsclientpb"
)

// DefaultAddr is the address `mls interop serve` listens on by default.
const DefaultAddr = "127.0.0.1:50051"

// ServeConfig configures ListenAndServe.
type ServeConfig struct {
	// Addr is the TCP address to listen on; port 0 picks a free one.
	Addr string
	// Server configures the MLSClient server.
	Server Options
	// Logger, if set, receives one line per failed RPC.
	Logger *slog.Logger
	// Ready, if set, is called with the bound address once the server
	// accepts connections.
	Ready func(net.Addr)
}

// ListenAndServe serves the MLSClient service over gRPC (without TLS: the
// harness runs on one machine) until ctx is done, then stops gracefully:
// RPCs in flight finish.
func ListenAndServe(ctx context.Context, cfg ServeConfig) error {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	gs := NewGRPCServer(NewServer(cfg.Server), cfg.Logger)
	if cfg.Ready != nil {
		cfg.Ready(ln.Addr())
	}
	done := make(chan error, 1)
	go func() { done <- gs.Serve(ln) }()
	select {
	case <-ctx.Done():
		gs.GracefulStop()
		<-done
		return nil
	case err := <-done:
		return err
	}
}

// NewGRPCServer returns a gRPC server with srv registered as the MLSClient
// service. An RPC that panics (a bug: the library and this package return
// errors for every input) fails with codes.Internal instead of ending the
// process.
func NewGRPCServer(srv *Server, logger *slog.Logger) *grpc.Server {
	intercept := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if p := recover(); p != nil {
				resp, err = nil, status.Error(codes.Internal, fmt.Sprintf("interop: %s panicked: %v", info.FullMethod, p))
			}
			if err != nil && logger != nil {
				logger.Info("rpc failed", "method", info.FullMethod, "code", status.Code(err), "error", status.Convert(err).Message())
			}
		}()
		return handler(ctx, req)
	}
	gs := grpc.NewServer(grpc.UnaryInterceptor(intercept))
	mlsclientpb.RegisterMLSClientServer(gs, srv)
	return gs
}
