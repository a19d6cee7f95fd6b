package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/mlsengine/engine/internal/interop"
)

const interopUsage = `usage: mls interop serve [--listen ADDR] [--name NAME]

Runs an MLSClient gRPC server for the MLS working group's interop test
runner (mls_client.proto of github.com/mlswg/mls-implementations) until
SIGINT or SIGTERM. ADDR defaults to 127.0.0.1:50051 (port 0 picks a free
one). NAME (default mlsengine) is what the Name RPC answers: the runner
labels its results with it. Prints "mls: interop: listening on ADDR" once it
accepts connections; failed RPCs are logged to stderr.
`

func runInterop(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "serve" {
		if len(args) > 0 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
			fmt.Fprint(stdout, interopUsage)
			return exitOK
		}
		fmt.Fprint(stderr, "mls: interop: want the serve command\n\n"+interopUsage)
		return exitUsage
	}
	fs := newFlagSet("mls interop serve", stderr)
	listen := fs.String("listen", interop.DefaultAddr, "")
	name := fs.String("name", interop.DefaultName, "")
	fs.Usage = func() { fmt.Fprint(stderr, interopUsage) }
	rest, err := parseInterleaved(fs, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "mls: interop: unexpected argument %q\n\n%s", rest[0], interopUsage)
		return exitUsage
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = interop.ListenAndServe(ctx, interop.ServeConfig{
		Addr:   *listen,
		Server: interop.Options{Name: *name},
		Logger: slog.New(slog.NewTextHandler(stderr, nil)),
		Ready:  func(addr net.Addr) { fmt.Fprintf(stdout, "mls: interop: listening on %s\n", addr) },
	})
	if err != nil {
		fmt.Fprintf(stderr, "mls: interop: %v\n", err)
		return exitFailed
	}
	fmt.Fprintln(stdout, "mls: interop: stopped")
	return exitOK
}
