package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"github.com/mlsengine/engine/delivery"
)

const dsUsage = `usage: mls ds serve [--listen ADDR] [--store URL]
       mls ds bench [--store URL] [--clients N] [--groups G] [--seconds S] [--http] [--json]

Runs a delivery service until SIGINT or SIGTERM, then stops cleanly (requests
in flight finish, the store is closed). ADDR defaults to 127.0.0.1:8080
(port 0 picks a free one); URL is sqlite:PATH (default sqlite:mls-ds.db),
postgres://... or memory:. Prints "mls: ds: listening on http://ADDR" once
it accepts connections. "mls ds bench --help" describes the load benchmark.
`

func runDS(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "bench" {
		return runDSBench(args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "serve" {
		if len(args) > 0 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
			fmt.Fprint(stdout, dsUsage)
			return exitOK
		}
		fmt.Fprint(stderr, "mls: ds: want the serve command\n\n"+dsUsage)
		return exitUsage
	}
	fs := newFlagSet("mls ds serve", stderr)
	listen := fs.String("listen", delivery.DefaultAddr, "")
	storeURL := fs.String("store", delivery.DefaultStoreURL, "")
	fs.Usage = func() { fmt.Fprint(stderr, dsUsage) }
	rest, err := parseInterleaved(fs, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "mls: ds: unexpected argument %q\n\n%s", rest[0], dsUsage)
		return exitUsage
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = delivery.ListenAndServe(ctx, delivery.ServeConfig{
		Addr:     *listen,
		StoreURL: *storeURL,
		Server:   delivery.Config{Logger: slog.New(slog.NewTextHandler(stderr, nil))},
		Ready: func(addr net.Addr) {
			fmt.Fprintf(stdout, "mls: ds: listening on http://%s (store %s)\n", addr, redactStoreURL(*storeURL))
		},
	})
	if err != nil {
		fmt.Fprintf(stderr, "mls: ds: %v\n", err)
		return exitFailed
	}
	fmt.Fprintln(stdout, "mls: ds: stopped")
	return exitOK
}

// redactStoreURL hides the password of a postgres:// URL.
func redactStoreURL(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		return u.Redacted()
	}
	return s
}
