package delivery

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/mlsengine/engine/delivery/store"
	"github.com/mlsengine/engine/mls"
	"github.com/mlsengine/engine/mls/suite"
)

// Defaults of Config. A commit bundle carries no ratchet tree (joiners
// fetch it with GET .../tree), so DefaultMaxBundleSize bounds a Commit, its
// Welcome and its GroupInfo: room for a commit adding about 1,500 clients
// at once in the largest built-in suite (ML-KEM-1024 with ML-DSA-87, whose
// KeyPackages are about 20 kB) and tens of thousands in suite 0x0001. Each
// body is read into memory, so the bound is also what one request may make
// the service allocate; raise it (Config.MaxBundleSize, mls ds serve
// --max-bundle) for larger additions or for groups set up with a large tree.
const (
	DefaultMaxMessageSize = 1 << 20  // 1 MiB
	DefaultMaxBundleSize  = 32 << 20 // 32 MiB
	DefaultMaxWait        = 60 * time.Second
	DefaultPollInterval   = 2 * time.Second
)

// Config configures a Server.
type Config struct {
	// Store keeps everything; required. The Server does not close it.
	Store store.Store

	// Authenticate, if set, returns the client name of a request (a name
	// validClientName accepts: 1-64 of A-Z a-z 0-9 . _ - @ +), replacing
	// the server's own bearer tokens: an embedding backend passes its own
	// caller identity. Registration (POST /v1/clients) is then disabled.
	Authenticate func(*http.Request) (string, error)

	// MaxMessageSize bounds a posted MLSMessage or KeyPackage (default
	// DefaultMaxMessageSize); MaxBundleSize bounds a commit bundle and a
	// GroupInfo (default DefaultMaxBundleSize). Larger bodies get 413
	// before they are read.
	MaxMessageSize int64
	MaxBundleSize  int64

	// Suites are the cipher suites of the KeyPackages the directory takes;
	// nil means suite.Default().
	Suites *suite.Registry

	// MaxWait bounds how long a long poll waits (default DefaultMaxWait).
	MaxWait time.Duration
	// PollInterval is how often waiting requests re-read the store, to see
	// appends made by other processes whose notifications were lost
	// (default DefaultPollInterval).
	PollInterval time.Duration

	// Logger receives server errors (default: slog.Default()).
	Logger *slog.Logger

	// CAKey is the key of the service's certificate authority; nil uses
	// the CA kept in the store, created on first start. A key given must
	// be the stored CA's, if the store has one.
	CAKey crypto.Signer
	// CertificateLifetime is the validity of the certificates the service
	// issues (default DefaultCertificateLifetime).
	CertificateLifetime time.Duration
	// Authentication validates the credentials of tracked groups and of
	// uploaded KeyPackages (RFC 9420 §5.3.1). Nil selects X.509
	// certificates issued by the service's CA; an embedder with its own
	// Authentication Service sets it (its clients must use the same).
	Authentication mls.AuthenticationService

	// SnapshotEpochs is the least number of epochs between two snapshots
	// of a tracked group's view (default DefaultSnapshotEpochs).
	SnapshotEpochs int
	// ViewCacheLeaves bounds the members of the views a process keeps in
	// memory, all groups together (default DefaultViewCacheLeaves).
	ViewCacheLeaves int

	// Limits bound what one client may use (see Limits).
	Limits Limits
}

// storeTimeout bounds the store operations of a request.
const storeTimeout = 30 * time.Second

// Server is the delivery service's HTTP handler. See the package
// documentation for its API.
type Server struct {
	cfg     Config
	st      store.Store
	mux     *http.ServeMux
	hub     *hub
	metrics *metrics
	tokens  tokenCache
	log     *slog.Logger
	ca      *authority
	as      mls.AuthenticationService
	views   viewCache
	limits  *limits

	// done is closed by Close; streams and long polls end.
	done      chan struct{}
	closeOnce sync.Once
	cancel    context.CancelFunc // stops the store's Listen
	listening sync.WaitGroup
}

// NewServer returns a Server for cfg. If the store implements
// store.Notifier, the Server listens to it until Close, so that waiting
// requests learn at once of messages appended by other processes.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("delivery: Config.Store is nil")
	}
	if cfg.MaxMessageSize <= 0 {
		cfg.MaxMessageSize = DefaultMaxMessageSize
	}
	if cfg.MaxBundleSize <= 0 {
		cfg.MaxBundleSize = DefaultMaxBundleSize
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = DefaultMaxWait
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.SnapshotEpochs <= 0 {
		cfg.SnapshotEpochs = DefaultSnapshotEpochs
	}
	if cfg.ViewCacheLeaves <= 0 {
		cfg.ViewCacheLeaves = DefaultViewCacheLeaves
	}
	actx, acancel := context.WithTimeout(context.Background(), storeTimeout)
	ca, err := loadAuthority(actx, cfg.Store, cfg.CAKey, cfg.CertificateLifetime)
	acancel()
	if err != nil {
		return nil, err
	}
	as := cfg.Authentication
	if as == nil {
		roots := x509.NewCertPool()
		roots.AddCert(ca.root)
		as = &mls.X509Authentication{Roots: roots}
	}
	s := &Server{
		cfg:     cfg,
		st:      cfg.Store,
		mux:     http.NewServeMux(),
		hub:     newHub(),
		metrics: newMetrics(),
		log:     cfg.Logger,
		ca:      ca,
		as:      as,
		limits:  newLimits(cfg.Limits),
		done:    make(chan struct{}),
	}
	s.views = viewCache{groups: make(map[string]*trackedGroup), maxLeaves: cfg.ViewCacheLeaves, evicted: s.evicted}
	s.routes()
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	if n, ok := cfg.Store.(store.Notifier); ok {
		s.listening.Add(1)
		go func() {
			defer s.listening.Done()
			err := n.Listen(ctx, func(groupID []byte) {
				if groupID == nil {
					s.metrics.listens.Add(1)
				} else {
					s.metrics.notifications.Add(1)
				}
				s.hub.notify(groupID)
			})
			if err != nil && ctx.Err() == nil {
				s.log.Error("delivery: listening for other processes' appends", "err", err)
			}
		}()
	}
	return s, nil
}

func (s *Server) routes() {
	if s.cfg.Authenticate == nil {
		s.mux.HandleFunc("POST /v1/clients", s.handleRegister)
	}
	s.mux.HandleFunc("POST /v1/keypackages", s.authenticated(s.handleUploadKeyPackage))
	s.mux.HandleFunc("GET /v1/keypackages", s.authenticated(s.handleCountKeyPackages))
	s.mux.HandleFunc("GET /v1/ca", s.handleCA)
	s.mux.HandleFunc("POST /v1/clients/{client}/certificate", s.authenticated(s.handleCertify))
	s.mux.HandleFunc("POST /v1/clients/{client}/keypackage", s.authenticated(s.handleClaimKeyPackage))
	s.mux.HandleFunc("GET /v1/keypackages/claims", s.authenticated(s.handleClaims))
	s.mux.HandleFunc("PUT /v1/groups/{group}", s.authenticated(s.handleCreateGroup))
	s.mux.HandleFunc("GET /v1/groups/{group}", s.authenticated(s.handleGroup))
	s.mux.HandleFunc("POST /v1/groups/{group}/messages", s.authenticated(s.handlePost))
	s.mux.HandleFunc("GET /v1/groups/{group}/messages", s.authenticated(s.handleFetch))
	s.mux.HandleFunc("GET /v1/groups/{group}/events", s.authenticated(s.handleEvents))
	s.mux.HandleFunc("GET /v1/groups/{group}/groupinfo", s.authenticated(s.handleGetGroupInfo))
	s.mux.HandleFunc("GET /v1/groups/{group}/tree", s.authenticated(s.handleTree))
	s.mux.HandleFunc("PUT /v1/groups/{group}/groupinfo", s.authenticated(s.handlePutGroupInfo))
	s.mux.HandleFunc("GET /v1/welcomes/next", s.authenticated(s.handleNextWelcome))
	s.mux.HandleFunc("DELETE /v1/welcomes/{id}", s.authenticated(s.handleDeleteWelcome))
	s.mux.HandleFunc("GET /metrics", s.handleMetrics)
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	defer func() {
		// A panic is a bug of ours; the client gets a 500, not a reset.
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.log.Error("delivery: panic serving request", "method", r.Method, "path", r.URL.Path, "panic", p)
			if sw.status == 0 {
				s.writeError(sw, r, errors.New("internal error"))
			}
		}
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		s.metrics.observe(r.Pattern, sw.status, time.Since(start))
	}()
	s.mux.ServeHTTP(sw, r)
}

// Close ends open streams and long polls and stops listening to the store.
// It does not close the store.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		s.cancel()
		s.listening.Wait()
	})
	return nil
}

// statusWriter records the status of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer (Flush,
// SetWriteDeadline).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// errorBody is the JSON body of every error response.
type errorBody struct {
	Error string `json:"error"`
	Code  string `json:"code,omitempty"`
	// For code "wrong_epoch": the message's epoch, the group's current
	// epoch and, for an epoch that has ended, the commit that ended it.
	Epoch        *uint64     `json:"epoch,omitempty"`
	CurrentEpoch *uint64     `json:"current_epoch,omitempty"`
	Winner       *winnerBody `json:"winner,omitempty"`
}

type winnerBody struct {
	Seq     uint64 `json:"seq"`
	Message []byte `json:"message"` // base64
}

// writeError answers with the status and JSON body for err. Errors that are
// not the client's are logged and answered with 500 and no detail.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil && !errors.Is(err, ErrMalformed) {
		// The client went away: whatever failed, it will not read why.
		err = fmt.Errorf("%w: %w", ErrCanceled, err)
	}
	status, body := http.StatusInternalServerError, errorBody{Error: "delivery: internal server error"}
	for _, c := range errorCodes {
		if errors.Is(err, c.err) {
			status, body = c.status, errorBody{Error: err.Error(), Code: c.code}
			break
		}
	}
	s.metrics.refused(status)
	var ee *store.EpochError
	if errors.As(err, &ee) {
		body.Epoch, body.CurrentEpoch = &ee.Epoch, &ee.Current
		if ee.Winner != nil {
			body.Winner = &winnerBody{Seq: ee.Winner.Seq, Message: ee.Winner.Data}
		}
		w.Header().Set("Mls-Epoch", strconv.FormatUint(ee.Current, 10))
	}
	switch status {
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="mls-ds"`)
	case http.StatusTooManyRequests:
		// A refused client does not keep a connection either.
		w.Header().Set("Connection", "close")
		w.Header().Set("Retry-After", "1")
	case statusClientClosed:
		s.log.Debug("delivery: request canceled by the client", "method", r.Method, "route", r.Pattern)
	case http.StatusInternalServerError:
		s.log.Error("delivery: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// readBody reads a request body of one of the media types, refusing a body
// larger than limit before reading it (Content-Length) or while reading it.
func readBody(w http.ResponseWriter, r *http.Request, limit int64, mediaTypes ...string) (mediaType string, body []byte, err error) {
	mediaType, _, err = mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !slices.Contains(mediaTypes, mediaType) {
		return "", nil, &mediaTypeError{got: r.Header.Get("Content-Type"), want: mediaTypes}
	}
	if r.ContentLength > limit {
		return "", nil, ErrTooLarge
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	_, err = buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return "", nil, ErrTooLarge
	case err != nil:
		return "", nil, &MalformedError{What: "request body", Err: err}
	}
	return mediaType, buf.Bytes(), nil
}

type mediaTypeError struct {
	got  string
	want []string
}

func (e *mediaTypeError) Error() string {
	return "delivery: unsupported media type " + strconv.Quote(e.got) + ", want " + e.want[0]
}

func (e *mediaTypeError) Unwrap() error { return ErrMediaType }

// groupIDParam decodes the {group} path parameter: the group_id in
// unpadded base64url.
func groupIDParam(r *http.Request) ([]byte, error) {
	s := r.PathValue("group")
	gid, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(gid) == 0 || len(gid) > store.MaxGroupIDLen {
		return nil, malformed("group id", "want 1 to 255 bytes in unpadded base64url")
	}
	return gid, nil
}

// EncodeGroupID returns the form of a group id used in URLs.
func EncodeGroupID(groupID []byte) string { return base64.RawURLEncoding.EncodeToString(groupID) }

// writeContext returns the context for a store write on behalf of r: it is
// not cancelled when the client goes away, so that a write either happens
// completely or was never attempted as far as the client's retry can tell.
func writeContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(r.Context()), 30*time.Second)
}
