package delivery

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/mlsengine/engine/delivery/store"
)

var (
	// ErrMalformed is matched by every error about a request that is not
	// well formed: a body that does not decode strictly, a message of the
	// wrong kind or for another group, a bad parameter. HTTP 400.
	ErrMalformed = errors.New("delivery: malformed request")

	// ErrTooLarge reports a request body over the server's limit. HTTP 413.
	ErrTooLarge = errors.New("delivery: request body too large")

	// ErrMediaType reports a request body of the wrong media type. HTTP 415.
	ErrMediaType = errors.New("delivery: unsupported media type")

	// ErrUnauthorized reports a request without valid credentials. HTTP 401.
	ErrUnauthorized = errors.New("delivery: not authenticated")

	// ErrStoreURL reports a store URL of an unknown kind.
	ErrStoreURL = errors.New("delivery: unsupported store URL")

	// ErrForbidden reports a request the caller may not make: reading a
	// group it is not a member of, speaking for another member, certifying
	// another client's key. HTTP 403.
	ErrForbidden = errors.New("delivery: forbidden")

	// ErrRejected reports a handshake message or GroupInfo of a tracked
	// group that the service's view of the group refuses (RFC 9420
	// validation, the group's policy); the error says why. HTTP 422.
	ErrRejected = errors.New("delivery: rejected by the group's view")

	// ErrRateLimited reports a request over one of the service's limits
	// (Limits): too many streams, registrations, claims... HTTP 429.
	ErrRateLimited = errors.New("delivery: too many requests")

	// ErrGroupExists reports the creation of a group that exists with
	// another initial state. HTTP 409.
	ErrGroupExists = errors.New("delivery: group exists")

	// ErrCanceled is the status of a request the client gave up on:
	// never counted as a server error. HTTP 499 (no response is read).
	ErrCanceled = errors.New("delivery: request canceled by the client")

	// ErrServer is matched by a client's error for a response of status
	// 5xx or one it cannot decode: the server's fault, not the request's.
	ErrServer = errors.New("delivery: server error")
)

// MalformedError says what was wrong with a request.
type MalformedError struct {
	What   string // the part of the request, e.g. "commit" or "group id"
	Reason string
	Err    error // the decoding error, if any
}

func (e *MalformedError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("delivery: malformed %s: %v", e.What, e.Err)
	}
	return fmt.Sprintf("delivery: malformed %s: %s", e.What, e.Reason)
}

// Unwrap makes errors.Is(err, ErrMalformed) true, and exposes the decoding
// error.
func (e *MalformedError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrMalformed, e.Err}
	}
	return []error{ErrMalformed}
}

func malformed(what, reason string) error { return &MalformedError{What: what, Reason: reason} }

// StatusError is a client's error for a response that is not a success and
// not an *store.EpochError. It matches (errors.Is) the sentinel error of its
// Code, e.g. store.ErrUnknownGroup or ErrMalformed, and ErrServer for 5xx.
type StatusError struct {
	StatusCode int    // the HTTP status
	Code       string // the machine-readable error code of the body, e.g. "unknown_group"
	Message    string // the server's message
}

func (e *StatusError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("delivery: HTTP %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	}
	return fmt.Sprintf("delivery: HTTP %d: %s", e.StatusCode, e.Message)
}

// Unwrap returns the sentinel error of e's Code.
func (e *StatusError) Unwrap() error {
	if e.StatusCode >= 500 {
		return ErrServer
	}
	for _, c := range errorCodes {
		if c.code == e.Code {
			return c.err
		}
	}
	return nil
}

// errorCodes maps the sentinel errors of a response to their HTTP status
// and the code in the response body, which a Client maps back.
var errorCodes = []struct {
	err    error
	status int
	code   string
}{
	{ErrMalformed, http.StatusBadRequest, "malformed"},
	{ErrTooLarge, http.StatusRequestEntityTooLarge, "too_large"},
	{ErrMediaType, http.StatusUnsupportedMediaType, "unsupported_media_type"},
	{ErrUnauthorized, http.StatusUnauthorized, "unauthorized"},
	{store.ErrUnknownGroup, http.StatusNotFound, "unknown_group"},
	{store.ErrEpoch, http.StatusConflict, "wrong_epoch"},
	{store.ErrClientExists, http.StatusConflict, "client_exists"},
	{store.ErrKeyPackageExists, http.StatusConflict, "key_package_exists"},
	{store.ErrNoKeyPackage, http.StatusNotFound, "no_key_package"},
	{store.ErrNoGroupInfo, http.StatusNotFound, "no_group_info"},
	{store.ErrNotFound, http.StatusNotFound, "not_found"},
	{ErrForbidden, http.StatusForbidden, "forbidden"},
	{ErrRejected, http.StatusUnprocessableEntity, "rejected"},
	{ErrRateLimited, http.StatusTooManyRequests, "rate_limited"},
	{ErrGroupExists, http.StatusConflict, "group_exists"},
	{ErrCanceled, statusClientClosed, "canceled"},
}

// statusClientClosed is the status recorded for a request the client
// cancelled (nginx's 499): its response is never read.
const statusClientClosed = 499

func forbidden(reason string) error { return fmt.Errorf("%w: %s", ErrForbidden, reason) }

func errRateLimited(what string) error {
	return fmt.Errorf("%w: %s; try again later", ErrRateLimited, what)
}

// rejected wraps an error of the group's view.
func rejected(what string, err error) error { return fmt.Errorf("%w: %s: %w", ErrRejected, what, err) }
