// Package localds runs a delivery service (package delivery) in this
// process, on a loopback listener, for simulations and benchmarks that
// drive large groups through its real HTTP API: the service frames,
// validates (its public group view and Authentication Service), orders,
// stores and serves everything as `mls ds serve` does, with its limits.
//
// Two things are the caller's, through hooks the service offers every
// embedder:
//
//   - Authentication (delivery.Config.Authenticate): a client of the
//     Service is the name it was made for (Service.Client), proven by a
//     secret of the Service, so that a simulated member needs no
//     registration round trip and no token.
//   - The certificate authority (the store's Authority, as
//     delivery.Config.CAKey): the caller gets its key (Service.CA) and
//     issues the members' X.509 credentials itself, deterministically,
//     without a registration request each. The service validates each of
//     them against the CA's root with its own Authentication Service, as
//     it validates those it issues.
package localds

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"

	"github.com/mlsengine/engine/delivery"
	"github.com/mlsengine/engine/delivery/store"
	"github.com/mlsengine/engine/internal/errlog"
)

// Config configures Start.
type Config struct {
	// Store is the service's store; required. The Service does not close
	// it.
	Store store.Store
	// CA is the store's certificate authority (OpenCA).
	CA *CA
	// Server holds the other settings of the service (Limits,
	// MaxBundleSize, ...); its Store, CAKey, Authenticate and Logger are
	// set by Start.
	Server delivery.Config
}

// Service is a delivery service serving on a loopback listener.
type Service struct {
	// URL is the service's base URL, http://127.0.0.1:PORT.
	URL string
	// CA is the service's certificate authority.
	CA *CA

	secret    string
	transport *http.Transport
	log       *errlog.Handler
	cancel    context.CancelFunc
	done      chan error

	up, down atomic.Int64 // body bytes of all clients' requests and responses
}

// Header fields of the Service's authentication.
const (
	headerName   = "Localds-Client"
	headerSecret = "Localds-Secret"
)

// Start starts the service on 127.0.0.1, on a free port.
func Start(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.CA == nil {
		return nil, errors.New("localds: Config.Store and Config.CA are required")
	}
	ca := cfg.CA
	var secret [16]byte
	rand.Read(secret[:])
	s := &Service{
		CA:        ca,
		secret:    hex.EncodeToString(secret[:]),
		transport: &http.Transport{MaxIdleConnsPerHost: 16, DisableCompression: true},
		log:       new(errlog.Handler),
		done:      make(chan error, 1),
	}
	sc := cfg.Server
	sc.Store, sc.CAKey, sc.Authenticate = cfg.Store, ca.Key, s.authenticate
	sc.Logger = slog.New(s.log)
	srv, err := delivery.NewServer(sc)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		return nil, err
	}
	s.URL = "http://" + ln.Addr().String()
	sctx, stop := context.WithCancel(context.Background())
	s.cancel = stop
	go func() { s.done <- srv.Serve(sctx, ln) }()
	return s, nil
}

// authenticate is the service's delivery.Config.Authenticate.
func (s *Service) authenticate(r *http.Request) (string, error) {
	if subtle.ConstantTimeCompare([]byte(r.Header.Get(headerSecret)), []byte(s.secret)) != 1 {
		return "", errors.New("not a client of this process")
	}
	return r.Header.Get(headerName), nil
}

// Client returns a client of the service authenticated as name.
func (s *Service) Client(name string) *delivery.Client {
	return &delivery.Client{BaseURL: s.URL, HTTPClient: &http.Client{Transport: &clientTransport{s: s, name: name}}}
}

// Traffic returns the bytes of the bodies of all the requests the
// Service's clients sent and of the responses they read so far (HTTP
// headers not counted): the difference across a call is what it
// uploaded and downloaded.
func (s *Service) Traffic() (up, down int64) { return s.up.Load(), s.down.Load() }

// LastError returns the last error the service logged (a request that got
// 500), or "".
func (s *Service) LastError() string { return s.log.Last() }

// Close stops the service and waits until it has shut down.
func (s *Service) Close() error {
	s.cancel()
	err := <-s.done
	s.transport.CloseIdleConnections()
	return err
}

// clientTransport authenticates a Client's requests as name and counts
// their bodies.
type clientTransport struct {
	s    *Service
	name string
}

func (t *clientTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(headerName, t.name)
	r.Header.Set(headerSecret, t.s.secret)
	if r.ContentLength > 0 {
		t.s.up.Add(r.ContentLength)
	}
	resp, err := t.s.transport.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = &countingBody{ReadCloser: resp.Body, n: &t.s.down}
	return resp, nil
}

// countingBody counts the bytes read from a response body.
type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}
