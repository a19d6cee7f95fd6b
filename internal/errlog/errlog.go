// Package errlog is a slog.Handler that keeps the errors a delivery
// service logs, for tools that run one in their process and want to say
// why a request failed: a 500 response does not tell its cause.
package errlog

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
)

// Handler keeps the first and the last record at level Error or above,
// each as its message followed by " key=value" for each attribute, and
// drops everything else. The zero value is ready to use.
type Handler struct {
	mu          sync.Mutex
	first, last string
}

// Enabled reports whether l is Error or above.
func (h *Handler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelError }

// Handle keeps r.
func (h *Handler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.first == "" {
		h.first = b.String()
	}
	h.last = b.String()
	return nil
}

// WithAttrs returns h: attributes given to a logger are not kept.
func (h *Handler) WithAttrs([]slog.Attr) slog.Handler { return h }

// WithGroup returns h.
func (h *Handler) WithGroup(string) slog.Handler { return h }

// First returns the first error kept, "" if none.
func (h *Handler) First() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.first
}

// Last returns the last error kept, "" if none.
func (h *Handler) Last() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.last
}
