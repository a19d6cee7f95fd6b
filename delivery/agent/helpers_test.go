package agent

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mlsengine/engine/delivery"
	"github.com/mlsengine/engine/delivery/store/memstore"
)

var bg = context.Background()

// newDS starts a delivery service on an in-memory store and returns its URL.
func newDS(t testing.TB) string {
	t.Helper()
	srv, err := delivery.NewServer(delivery.Config{Store: memstore.New(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Limits: noRates})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	return hs.URL
}

// noRates lifts the delivery service's rate limits, for tests that
// register and claim much from one address.
var noRates = delivery.Limits{
	Registrations: delivery.Rate{PerSecond: -1}, GroupCreations: delivery.Rate{PerSecond: -1}, Claims: delivery.Rate{PerSecond: -1},
	ClaimsPerTarget: delivery.Rate{PerSecond: -1}, ClaimsOfTarget: delivery.Rate{PerSecond: -1}, Uploads: delivery.Rate{PerSecond: -1},
}

// testAgent initializes a client named name in a fresh directory.
func testAgent(t testing.TB, ds, name string, opts ...func(*Options)) *Agent {
	t.Helper()
	o := Options{Dir: t.TempDir(), DS: ds, KeyPackages: 2}
	for _, f := range opts {
		f(&o)
	}
	a, err := Init(bg, o, name, 0)
	if err != nil {
		t.Fatalf("init %s: %v", name, err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// lines returns the String form of events.
func lines(events []Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.String()
	}
	return out
}

func mustEvents(t testing.TB, what string, events []Event, err error) []string {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return lines(events)
}

// wantLines fails unless got equals want.
func wantLines(t testing.TB, what string, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s:\ngot  %q\nwant %q", what, got, want)
	}
}

func recv(t testing.TB, a *Agent, group string) []string {
	t.Helper()
	ev, err := a.Receive(bg, group)
	return mustEvents(t, a.Name()+" recv", ev, err)
}

func send(t testing.TB, a *Agent, group, text string) {
	t.Helper()
	if _, err := a.Send(bg, group, text); err != nil {
		t.Fatalf("%s send: %v", a.Name(), err)
	}
}

func join(t testing.TB, a *Agent, want ...string) {
	t.Helper()
	got, warnings, err := a.Join(bg)
	if err != nil || len(warnings) > 0 {
		t.Fatalf("%s join: %v %q", a.Name(), err, lines(warnings))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s joined %q, want %q", a.Name(), got, want)
	}
}

// makeTeam has creator create the group "team" and add the others, who
// then join it.
func makeTeam(t testing.TB, creator *Agent, others ...*Agent) {
	t.Helper()
	if err := creator.Create(bg, "team", nil); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range others {
		names = append(names, o.Name())
	}
	if _, err := creator.Add(bg, "team", names...); err != nil {
		t.Fatal(err)
	}
	for _, o := range others {
		join(t, o, "team")
	}
}

// hookTransport calls before once, just before the first request whose
// method and path match, then forwards every request.
type hookTransport struct {
	mu     sync.Mutex
	method string
	path   string // suffix of the URL path
	before func()
}

func (h *hookTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	h.mu.Lock()
	f := h.before
	if f != nil && req.Method == h.method && strings.HasSuffix(req.URL.Path, h.path) {
		h.before = nil
	} else {
		f = nil
	}
	h.mu.Unlock()
	if f != nil {
		f()
	}
	return http.DefaultTransport.RoundTrip(req)
}
