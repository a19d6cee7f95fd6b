package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/mlsengine/engine/delivery"
)

func dsCommand() *command {
	serve := &command{
		name:    "ds serve",
		args:    "[--listen ADDR] [--store URL] [--ca-key FILE] [LIMIT FLAGS]",
		summary: "run a delivery service",
		details: `Runs a delivery service until SIGINT or SIGTERM, then stops cleanly (requests
in flight finish, the store is closed) and exits 0. ADDR defaults to
` + delivery.DefaultAddr + ` (port 0 picks a free one); URL is sqlite:PATH (default
` + delivery.DefaultStoreURL + `), postgres://... or memory:. Prints
"mls: ds: listening on http://ADDR (store URL)" and "mls: ds: CA fingerprint
HEX" once it accepts connections, and "mls: ds: stopped" when it stopped. The
HTTP API and the trust model are documented in package delivery
(go doc github.com/mlsengine/engine/delivery).

The service is the clients' certificate authority: it creates a CA key on
first start and keeps it in the store, or uses the PKCS#8 PEM key of
--ca-key FILE. Clients pin its root (mls client init prints the same
fingerprint).

Limits (0 or unset means the default):
  --streams N          event streams and long polls per client (default ` + strconv.Itoa(delivery.DefaultStreamsPerClient) + `)
  --max-conns N        connections at once (default ` + strconv.Itoa(delivery.DefaultMaxConnections) + `, below the fd limit)
  --max-message BYTES  a posted message or KeyPackage (default ` + strconv.Itoa(delivery.DefaultMaxMessageSize) + `)
  --max-bundle BYTES   a commit bundle, GroupInfo or group setup (default ` + strconv.Itoa(delivery.DefaultMaxBundleSize) + `)
  --registrations R, --group-creations R, --claims R, --claims-per-target R,
  --claims-of-target R, --uploads R
                       token buckets, R = PER_SECOND/BURST (e.g. 0.5/20) or off

Exit status: 0 after a clean stop, 1 when the service could not start or
failed, 2 for a usage error.
`,
	}
	serve.run = func(e *env, args []string) int { return runDSServe(e, serve, args) }
	return &command{name: "ds", summary: "the delivery service", subs: []*command{serve, dsBenchCommand()}}
}

func runDSServe(e *env, c *command, args []string) int {
	fs := newFlagSet(c)
	listen := fs.String("listen", delivery.DefaultAddr, "")
	storeURL := fs.String("store", delivery.DefaultStoreURL, "")
	caKey := fs.String("ca-key", "", "")
	var limits delivery.Limits
	fs.IntVar(&limits.StreamsPerClient, "streams", 0, "")
	fs.IntVar(&limits.MaxConnections, "max-conns", 0, "")
	var cfg delivery.Config
	fs.Int64Var(&cfg.MaxMessageSize, "max-message", 0, "")
	fs.Int64Var(&cfg.MaxBundleSize, "max-bundle", 0, "")
	for name, r := range map[string]*delivery.Rate{
		"registrations": &limits.Registrations, "group-creations": &limits.GroupCreations, "claims": &limits.Claims,
		"claims-per-target": &limits.ClaimsPerTarget, "claims-of-target": &limits.ClaimsOfTarget, "uploads": &limits.Uploads,
	} {
		fs.Var((*rateFlag)(r), name, "")
	}
	rest, code, ok := parse(e, c, fs, args, nil)
	if !ok {
		return code
	}
	if len(rest) > 0 {
		return usageError(e, c, "unexpected argument %q", rest[0])
	}
	cfg.Logger, cfg.Limits = slog.New(slog.NewTextHandler(e.stderr, nil)), limits
	if *caKey != "" {
		key, err := delivery.ParseKeyFile(*caKey)
		if err != nil {
			return usageError(e, c, "--ca-key: %v", err)
		}
		cfg.CAKey = key
	}

	ctx, stop := signal.NotifyContext(e.ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := delivery.ListenAndServe(ctx, delivery.ServeConfig{
		Addr:     *listen,
		StoreURL: *storeURL,
		Server:   cfg,
		Ready: func(addr net.Addr, fingerprint string) {
			fmt.Fprintf(e.stdout, "mls: ds: listening on http://%s (store %s)\nmls: ds: CA fingerprint %s\n", addr, redactStoreURL(*storeURL), fingerprint)
		},
	})
	if err != nil {
		fmt.Fprintf(e.stderr, "mls: ds: %v\n", err)
		return exitFailed
	}
	fmt.Fprintln(e.stdout, "mls: ds: stopped")
	return exitOK
}

// redactStoreURL hides the password of a postgres:// URL.
func redactStoreURL(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		return u.Redacted()
	}
	return s
}

// rateFlag is a delivery.Rate given as PER_SECOND/BURST (e.g. 0.5/20), or
// "off" for no limit.
type rateFlag delivery.Rate

func (r *rateFlag) String() string { return "" }

func (r *rateFlag) Set(s string) error {
	if s == "off" {
		*r = rateFlag{PerSecond: -1}
		return nil
	}
	perSecond, burst, ok := strings.Cut(s, "/")
	p, err1 := strconv.ParseFloat(perSecond, 64)
	b, err2 := strconv.Atoi(burst)
	if !ok || err1 != nil || err2 != nil || p <= 0 || b < 1 {
		return errors.New(`want PER_SECOND/BURST (e.g. 0.5/20) or "off"`)
	}
	*r = rateFlag{PerSecond: p, Burst: b}
	return nil
}
