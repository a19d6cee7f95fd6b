package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/mlsengine/engine/delivery/bench"
)

const dsBenchUsage = `usage: mls ds bench [--store URL] [--clients N] [--groups G] [--seconds S] [--http] [--json]

Measures a delivery service store under load: N clients (default 16) append
256-byte application messages to G groups (default 1000) in turn for S
seconds (default 5), then the floor of that store is measured on the same
database for as long: for postgres://... plain single-row INSERTs of the same
messages from N clients; for sqlite:PATH one writer running the same batched
transactions bare (WAL, synchronous=FULL). --http also posts the load through
the HTTP API on loopback. Prints msgs/s, p50/p99 latency, messages per
transaction and the ratios; --json prints one JSON object instead.

URL defaults to an SQLite file in a temporary directory. A PostgreSQL run
works in a schema of its own, dropped at the end; sqlite:PATH writes to PATH.
Figures depend on the machine: compare the ratios of one run, and repeat.
`

func runDSBench(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("mls ds bench", stderr)
	storeURL := fs.String("store", "", "")
	clients := fs.Int("clients", bench.DefaultClients, "")
	groups := fs.Int("groups", bench.DefaultGroups, "")
	seconds := fs.Float64("seconds", bench.DefaultDuration.Seconds(), "")
	overHTTP := fs.Bool("http", false, "")
	asJSON := fs.Bool("json", false, "")
	fs.Usage = func() { fmt.Fprint(stderr, dsBenchUsage) }
	rest, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	if len(rest) > 0 || *clients < 1 || *groups < 1 || *seconds <= 0 {
		fmt.Fprint(stderr, "mls: ds bench: want no arguments and positive --clients, --groups and --seconds\n\n"+dsBenchUsage)
		return exitUsage
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := bench.Run(ctx, bench.Config{
		StoreURL: *storeURL, Clients: *clients, Groups: *groups,
		Duration: time.Duration(*seconds * float64(time.Second)), HTTP: *overHTTP,
	})
	if err != nil {
		fmt.Fprintf(stderr, "mls: ds bench: %v\n", err)
		return exitFailed
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(res)
		return exitOK
	}
	printBench(stdout, res)
	return exitOK
}

func printBench(w io.Writer, r *bench.Result) {
	store := r.Store
	if store == "" {
		store = "sqlite: (temporary file)"
	}
	fmt.Fprintf(w, "store %s: %d clients, %d groups, %d-byte messages, %g s per measurement\n",
		store, r.Clients, r.Groups, r.PayloadBytes, r.Seconds)
	line := func(name string, f *bench.Figures) {
		fmt.Fprintf(w, "  %-7s %9.0f msgs/s  p50 %7.3f ms  p99 %7.3f ms", name, f.MsgsPerS, f.P50Ms, f.P99Ms)
		if f.MsgsPerBatch > 0 {
			fmt.Fprintf(w, "  %5.1f msgs/transaction", f.MsgsPerBatch)
		}
		fmt.Fprintf(w, "  (%s)\n", f.What)
	}
	line("append", &r.Append)
	if r.Floor != nil {
		line("floor", r.Floor)
		fmt.Fprintf(w, "  store ÷ floor: %.2f×\n", r.FloorRatio)
	}
	if r.HTTP != nil {
		line("http", r.HTTP)
		fmt.Fprintf(w, "  http ÷ store: %.2f×\n", r.HTTPRatio)
	}
}
