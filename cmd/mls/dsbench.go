package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/mlsengine/engine/delivery/bench"
)

func dsBenchCommand() *command {
	c := &command{
		name:    "ds bench",
		args:    "[--store URL] [--clients N] [--groups G] [--seconds S] [--http] [--json]",
		summary: "measure a delivery service store under load, next to its floor",
		details: fmt.Sprintf(`N clients append %d-byte application messages to G groups in turn, and the
floor of that store is measured on the same database with the same
messages: for postgres://... plain single-row INSERTs from N clients, each
its own transaction; for sqlite:PATH one writer running transactions of
one multi-row INSERT of as many messages as the store's batches carried
(WAL, synchronous=FULL). --http also posts the load through the HTTP API
on loopback (client and server in this process). The measurements take
turns in one-second slices for S seconds each, so that each ratio compares
the same moments. Prints msgs/s, p50/p99 latency, messages per
transaction and the ratios; --json prints one object instead.

flags:
  --store URL     the store (default: an SQLite file in a temporary
                  directory); a PostgreSQL run works in a schema of its
                  own, dropped at the end; sqlite:PATH writes to PATH
  --clients N     concurrent clients (default %d)
  --groups G      groups appended to (default %d)
  --seconds S     length of each measurement (default %g)
  --http          also measure the HTTP API end to end
  --json          print one JSON object on stdout

Figures depend on the machine: compare the ratios of one run, and repeat.
Exit status: 0 after a run, 1 when it failed, 2 for a usage error, 130
when interrupted.
`, bench.DefaultPayloadSize, bench.DefaultClients, bench.DefaultGroups, bench.DefaultDuration.Seconds()),
	}
	c.run = func(e *env, args []string) int { return runDSBench(e, c, args) }
	return c
}

func runDSBench(e *env, c *command, args []string) int {
	fs := newFlagSet(c)
	storeURL := fs.String("store", "", "")
	clients := fs.Int("clients", bench.DefaultClients, "")
	groups := fs.Int("groups", bench.DefaultGroups, "")
	seconds := fs.Float64("seconds", bench.DefaultDuration.Seconds(), "")
	overHTTP := fs.Bool("http", false, "")
	asJSON := fs.Bool("json", false, "")
	rest, code, ok := parse(e, c, fs, args, nil)
	if !ok {
		return code
	}
	if len(rest) > 0 {
		return usageError(e, c, "unexpected argument %q", rest[0])
	}
	if *clients < 1 || *groups < 1 || *seconds <= 0 {
		return usageError(e, c, "want positive --clients, --groups and --seconds")
	}
	res, err := bench.Run(e.ctx, bench.Config{
		StoreURL: *storeURL, Clients: *clients, Groups: *groups,
		Duration: time.Duration(*seconds * float64(time.Second)), HTTP: *overHTTP,
	})
	switch {
	case e.ctx.Err() != nil:
		return interrupted(e, c)
	case errors.Is(err, bench.ErrConfig):
		return usageError(e, c, "%v", err)
	case err != nil:
		fmt.Fprintf(e.stderr, "mls %s: %v\n", c.name, err)
		return exitFailed
	}
	if *asJSON {
		out, err := json.Marshal(res)
		if err != nil {
			fmt.Fprintf(e.stderr, "mls %s: %v\n", c.name, err)
			return exitFailed
		}
		fmt.Fprintf(e.stdout, "%s\n", out)
		return exitOK
	}
	printBench(e.stdout, res)
	return exitOK
}

func printBench(w io.Writer, r *bench.Result) {
	store := r.Store
	if store == "sqlite:" {
		store = "sqlite: (a temporary file)"
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
