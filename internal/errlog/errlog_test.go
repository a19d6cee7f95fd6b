package errlog

import (
	"errors"
	"log/slog"
	"testing"
)

// TestHandler: the handler keeps the first and the last error logged, with
// their attributes, and nothing of lesser levels.
func TestHandler(t *testing.T) {
	h := new(Handler)
	log := slog.New(h)
	log.Warn("a warning")
	if h.First() != "" || h.Last() != "" {
		t.Fatalf("kept %q, %q from a warning", h.First(), h.Last())
	}
	log.Error("delivery: request failed", "path", "/v1/x", "err", errors.New("disk full"))
	log.Error("a second error")
	if got, want := h.First(), "delivery: request failed path=/v1/x err=disk full"; got != want {
		t.Errorf("First = %q, want %q", got, want)
	}
	if got, want := h.Last(), "a second error"; got != want {
		t.Errorf("Last = %q, want %q", got, want)
	}
}
