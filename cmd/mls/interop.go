package main

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/mlsengine/engine/internal/interop"
)

func interopCommand() *command {
	serve := &command{
		name:    "interop serve",
		args:    "[--listen ADDR] [--name NAME]",
		summary: "run an MLSClient server for the MLS working group's interop test runner",
		details: `Runs a gRPC server of the MLSClient service of the MLS working group's interop
harness (interop/proto/mls_client.proto of github.com/mlswg/mls-implementations),
which the harness's test runner drives, until SIGINT or SIGTERM; then it stops
cleanly (RPCs in flight finish) and exits 0. ADDR defaults to
` + interop.DefaultAddr + ` (port 0 picks a free one). NAME (default
` + interop.DefaultName + `) is what the Name RPC answers: the runner labels its
results with it. Prints "mls: interop: listening on ADDR" once it accepts
connections, and "mls: interop: stopped" when it stopped; failed RPCs are
logged to stderr. How the proto maps to the library: go doc
github.com/mlsengine/engine/internal/interop.

Exit status: 0 after a clean stop, 1 when the server could not start or
failed, 2 for a usage error.
`,
	}
	serve.run = func(e *env, args []string) int { return runInteropServe(e, serve, args) }
	return &command{name: "interop", summary: "the interop harness of the MLS working group", subs: []*command{serve}}
}

func runInteropServe(e *env, c *command, args []string) int {
	fs := newFlagSet(c)
	listen := fs.String("listen", interop.DefaultAddr, "")
	name := fs.String("name", interop.DefaultName, "")
	rest, code, ok := parse(e, c, fs, args, nil)
	if !ok {
		return code
	}
	if len(rest) > 0 {
		return usageError(e, c, "unexpected argument %q", rest[0])
	}

	ctx, stop := signal.NotifyContext(e.ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := interop.ListenAndServe(ctx, interop.ServeConfig{
		Addr:   *listen,
		Server: interop.Options{Name: *name},
		Logger: slog.New(slog.NewTextHandler(e.stderr, nil)),
		Ready:  func(addr net.Addr) { fmt.Fprintf(e.stdout, "mls: interop: listening on %s\n", addr) },
	})
	if err != nil {
		fmt.Fprintf(e.stderr, "mls: interop: %v\n", err)
		return exitFailed
	}
	fmt.Fprintln(e.stdout, "mls: interop: stopped")
	return exitOK
}
