// Package bench is the delivery service's load benchmark, run by
// `mls ds bench`: concurrent clients append application messages to a
// store (and, if asked, post them through the HTTP API on loopback), and the
// benchmark reports messages per second, latency percentiles and messages
// per group commit transaction next to the floor it measured in the same
// run on the same database:
//
//   - PostgreSQL: plain single-row INSERTs of the same messages into a copy
//     of the message table (same columns and indexes), from the same number
//     of clients, each INSERT its own transaction;
//   - SQLite: one writer running the store's batches bare, in a loop: a
//     transaction with one multi-row INSERT of as many messages as the
//     store's batches carried on average, WAL, synchronous=FULL.
//
// The figures depend on the machine (disk flush latency, cores, what else
// runs): compare ratios within one run, and repeat runs.
//
// A benchmark writes only to scratch space: a PostgreSQL benchmark works in
// a schema of its own that it drops at the end, and an SQLite benchmark
// without a path in a temporary directory.
package bench

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mlsengine/engine/delivery"
	"github.com/mlsengine/engine/delivery/store"
	"github.com/mlsengine/engine/delivery/store/sqlstore"
	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/mls/wire"
)

// Defaults of Config.
const (
	DefaultClients     = 16
	DefaultGroups      = 1000
	DefaultDuration    = 5 * time.Second
	DefaultPayloadSize = 256
)

// Config describes a benchmark run.
type Config struct {
	// StoreURL is the store to measure, as delivery.OpenStore takes it;
	// empty means an SQLite file in a temporary directory.
	StoreURL    string
	Clients     int           // concurrent appenders (default DefaultClients)
	Groups      int           // groups they append to, in turn (default DefaultGroups)
	Duration    time.Duration // length of each measurement (default DefaultDuration)
	PayloadSize int           // bytes per message (default DefaultPayloadSize)
	// HTTP adds an end-to-end measurement: the same load posted through
	// the delivery service's HTTP API (client and server in this process,
	// on loopback) over the same store.
	HTTP bool
}

// Figures are the outcome of one measurement.
type Figures struct {
	What     string  `json:"what"`     // what was measured
	Messages int     `json:"messages"` // messages written
	MsgsPerS float64 `json:"msgs_per_s"`
	P50Ms    float64 `json:"p50_ms"` // latency of one operation (a message; the SQLite floor: a transaction)
	P99Ms    float64 `json:"p99_ms"`
	// MsgsPerBatch is the mean number of messages per transaction, where
	// the writer batches.
	MsgsPerBatch float64 `json:"msgs_per_batch,omitempty"`
}

// Result is a benchmark run's report.
type Result struct {
	Store        string  `json:"store"` // the store URL, password removed ("sqlite:" for a temporary file)
	Clients      int     `json:"clients"`
	Groups       int     `json:"groups"`
	Seconds      float64 `json:"seconds"` // length of each measurement
	PayloadBytes int     `json:"payload_bytes"`

	Append Figures  `json:"append"`          // store.Store.Append from Clients goroutines
	Floor  *Figures `json:"floor,omitempty"` // the floor (none for memory:)
	// FloorRatio is the store's rate over the floor's: the median of
	// their ratios in the turns of the run (each one second).
	FloorRatio float64 `json:"floor_ratio,omitempty"`

	HTTP *Figures `json:"http,omitempty"` // POST /v1/groups/{group}/messages, if Config.HTTP
	// HTTPRatio is the HTTP API's rate over the store's, likewise.
	HTTPRatio float64 `json:"http_ratio,omitempty"`

	schema string // the PostgreSQL scratch schema, dropped by Run
}

// ErrConfig reports an unusable Config.
var ErrConfig = errors.New("delivery bench: invalid configuration")

// Run runs the benchmark: the store's appends, its floor, and (if
// cfg.HTTP) the HTTP API, each for cfg.Duration in all. They take turns in
// slices of a second, so that each ratio compares figures of the same
// moments of a machine whose load changes; a ratio is the median of the
// turns' ratios.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg = withDefaults(cfg)
	if cfg.Clients < 1 || cfg.Groups < 1 || cfg.Duration <= 0 || cfg.PayloadSize < 64 {
		return nil, fmt.Errorf("%w: want at least 1 client, 1 group, a positive duration and payloads of 64 bytes or more", ErrConfig)
	}
	sc, err := openScratch(ctx, cfg.StoreURL)
	if err != nil {
		return nil, err
	}
	defer sc.cleanup()
	st, err := delivery.OpenStore(ctx, sc.url)
	if err != nil {
		return nil, err
	}
	res, err := run(ctx, cfg, sc, st)
	if cerr := st.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("delivery bench: %w", cerr)
	}
	if res != nil {
		res.schema = sc.schema
	}
	return res, err
}

// run measures st, the floor and the HTTP API in turns.
func run(ctx context.Context, cfg Config, sc *scratch, st store.Store) (*Result, error) {
	gids, err := createGroups(ctx, st, cfg.Groups)
	if err != nil {
		return nil, err
	}
	appends := newMeasurement("store appends", cfg, storeOp(st, gids))
	var floor *measurement
	if sc.floor != nil {
		var closeFloor func()
		floor, closeFloor, err = sc.floor(ctx, cfg, appends.perBatch)
		if err != nil {
			return nil, fmt.Errorf("delivery bench: floor: %w", err)
		}
		defer closeFloor()
	}
	var web *measurement
	if cfg.HTTP {
		var stop func()
		web, stop, err = startHTTP(ctx, st, gids, cfg)
		if err != nil {
			return nil, fmt.Errorf("delivery bench: http: %w", err)
		}
		defer stop()
	}

	stats, _ := st.(interface{ BatchStats() sqlstore.BatchStats })
	turns := max(1, int(cfg.Duration/time.Second))
	slice := cfg.Duration / time.Duration(turns)
	for range turns {
		for _, m := range []*measurement{appends, floor, web} {
			if m == nil {
				continue
			}
			if err := m.run(ctx, slice, stats); err != nil {
				return nil, fmt.Errorf("delivery bench: %s: %w", m.what, err)
			}
		}
	}

	res := &Result{
		Store: cmp.Or(redact(cfg.StoreURL), "sqlite:"), Clients: cfg.Clients, Groups: cfg.Groups,
		Seconds: cfg.Duration.Seconds(), PayloadBytes: cfg.PayloadSize,
		Append: appends.figures(),
	}
	if floor != nil {
		f := floor.figures()
		res.Floor, res.FloorRatio = &f, medianRatio(appends.rates, floor.rates)
	}
	if web != nil {
		f := web.figures()
		res.HTTP, res.HTTPRatio = &f, medianRatio(web.rates, appends.rates)
	}
	return res, nil
}

// medianRatio returns the median of a[i]/b[i]: the ratio of two
// measurements' rates in the same turns, which a turn disturbed by other
// work on the machine moves less than the ratio of the totals.
func medianRatio(a, b []float64) float64 {
	r := make([]float64, 0, len(a))
	for i := range min(len(a), len(b)) {
		if b[i] > 0 {
			r = append(r, a[i]/b[i])
		}
	}
	if len(r) == 0 {
		return 0
	}
	slices.Sort(r)
	if n := len(r); n%2 == 0 {
		return (r[n/2-1] + r[n/2]) / 2
	}
	return r[len(r)/2]
}

func withDefaults(cfg Config) Config {
	if cfg.Clients == 0 {
		cfg.Clients = DefaultClients
	}
	if cfg.Groups == 0 {
		cfg.Groups = DefaultGroups
	}
	if cfg.Duration == 0 {
		cfg.Duration = DefaultDuration
	}
	if cfg.PayloadSize == 0 {
		cfg.PayloadSize = DefaultPayloadSize
	}
	return cfg
}

// scratch is where a benchmark writes: the store URL to open, the floor
// of that kind of store, and what removes it all.
type scratch struct {
	url    string
	schema string // PostgreSQL only
	// floor prepares the floor's measurement; perBatch tells the store's
	// mean batch so far.
	floor   func(ctx context.Context, cfg Config, perBatch func() float64) (m *measurement, close func(), err error)
	cleanup func()
}

func openScratch(ctx context.Context, storeURL string) (*scratch, error) {
	switch {
	case storeURL == "" || storeURL == "sqlite:":
		dir, err := os.MkdirTemp("", "mls-ds-bench-")
		if err != nil {
			return nil, fmt.Errorf("delivery bench: %w", err)
		}
		path := filepath.Join(dir, "ds.db")
		return &scratch{url: "sqlite:" + path, floor: sqliteFloor(path), cleanup: func() { os.RemoveAll(dir) }}, nil
	case strings.HasPrefix(storeURL, "sqlite:"):
		path := strings.TrimPrefix(storeURL, "sqlite:")
		return &scratch{url: storeURL, floor: sqliteFloor(path), cleanup: func() {}}, nil
	case strings.HasPrefix(storeURL, "postgres://"), strings.HasPrefix(storeURL, "postgresql://"):
		return postgresScratch(ctx, storeURL)
	}
	return &scratch{url: storeURL, cleanup: func() {}}, nil // memory:, or an error from OpenStore
}

// redact hides the password of a URL.
func redact(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		return u.Redacted()
	}
	return s
}

func createGroups(ctx context.Context, st store.Store, n int) ([][]byte, error) {
	gids := make([][]byte, n)
	for i := range gids {
		gids[i] = make([]byte, 16)
		rand.Read(gids[i])
		if _, _, err := st.CreateGroup(ctx, gids[i]); err != nil {
			return nil, err
		}
	}
	return gids, nil
}

// messages makes a client's stream of distinct application messages for a
// group at epoch 0, framed as an MLS PrivateMessage (the only parts the
// delivery service reads) of about size bytes.
type messages struct {
	client uint64
	n      uint64
	size   int
}

func (m *messages) next(gid []byte) []byte {
	m.n++
	ct := make([]byte, max(m.size-len(gid)-40, 16))
	binary.BigEndian.PutUint64(ct, m.client)
	binary.BigEndian.PutUint64(ct[8:], m.n)
	data, err := wire.Marshal(message.NewMLSMessage(&message.PrivateMessage{
		GroupID: gid, ContentType: message.ContentApplication,
		EncryptedSenderData: make([]byte, 24), Ciphertext: ct,
	}))
	if err != nil {
		panic(err) // a fixed, valid structure: cannot fail
	}
	return data
}

// op is one operation of a client: it writes one or more messages made by
// m and returns how many.
type op func(ctx context.Context, m *messages) (int, error)

// measurement accumulates the slices of one kind of load.
type measurement struct {
	what    string
	op      op
	clients []*messages // one per client, kept across slices so messages stay distinct
	// fixedBatch, if set, is the number of messages per transaction.
	fixedBatch func() float64
	// beforeSlice, if set, runs before each slice.
	beforeSlice func()

	msgs      int64
	rates     []float64 // msgs/s of each slice
	elapsed   time.Duration
	latencies []time.Duration
	batches   sqlstore.BatchStats // of the store, during the slices
}

func newMeasurement(what string, cfg Config, o op) *measurement {
	m := &measurement{what: what, op: o}
	for c := range cfg.Clients {
		m.clients = append(m.clients, &messages{client: uint64(c), size: cfg.PayloadSize})
	}
	return m
}

// run runs the load from every client for d, reading stats (if not nil)
// before and after.
func (m *measurement) run(ctx context.Context, d time.Duration, stats interface{ BatchStats() sqlstore.BatchStats }) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	if m.beforeSlice != nil {
		m.beforeSlice()
	}
	var before sqlstore.BatchStats
	if stats != nil {
		before = stats.BatchStats()
	}
	start := time.Now()
	deadline := start.Add(d)
	for _, gen := range m.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			var n int64
			for t := time.Now(); t.Before(deadline) && ctx.Err() == nil; {
				k, err := m.op(ctx, gen)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					cancel()
					break
				}
				now := time.Now()
				lat = append(lat, now.Sub(t))
				n += int64(k)
				t = now
			}
			mu.Lock()
			m.msgs += n
			m.latencies = append(m.latencies, lat...)
			mu.Unlock()
		}()
	}
	msgs := m.msgs
	wg.Wait()
	elapsed := time.Since(start)
	m.elapsed += elapsed
	m.rates = append(m.rates, float64(m.msgs-msgs)/elapsed.Seconds())
	if stats != nil {
		after := stats.BatchStats()
		m.batches.Batches += after.Batches - before.Batches
		m.batches.Requests += after.Requests - before.Requests
	}
	return firstErr
}

// perBatch is the mean number of appends per store transaction so far.
func (m *measurement) perBatch() float64 {
	if m.batches.Batches == 0 {
		return 0
	}
	return float64(m.batches.Requests) / float64(m.batches.Batches)
}

func (m *measurement) figures() Figures {
	slices.Sort(m.latencies)
	f := Figures{
		What:         m.what,
		Messages:     int(m.msgs),
		MsgsPerS:     float64(m.msgs) / m.elapsed.Seconds(),
		P50Ms:        percentile(m.latencies, 0.50),
		P99Ms:        percentile(m.latencies, 0.99),
		MsgsPerBatch: m.perBatch(),
	}
	if m.fixedBatch != nil {
		f.MsgsPerBatch = m.fixedBatch()
	}
	return f
}

// percentile returns the p-quantile of sorted latencies, in milliseconds.
func percentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := min(int(p*float64(len(sorted))), len(sorted)-1)
	return float64(sorted[i].Microseconds()) / 1000
}

// storeOp appends a message to the next group.
func storeOp(st store.Store, gids [][]byte) op {
	var next atomic.Uint64
	return func(ctx context.Context, m *messages) (int, error) {
		gid := gids[next.Add(1)%uint64(len(gids))]
		_, err := st.Append(ctx, gid, store.Message{ContentType: store.ContentApplication, WireFormat: 2, Data: m.next(gid)})
		return 1, err
	}
}
