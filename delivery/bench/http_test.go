package bench

import (
	"errors"
	"log/slog"
	"testing"
)

// TestFirstError: the handler keeps the first error logged, with its
// attributes, and nothing of lesser levels.
func TestFirstError(t *testing.T) {
	h := new(firstError)
	log := slog.New(h)
	log.Warn("a warning")
	if got := h.get(); got != "" {
		t.Fatalf("kept %q from a warning", got)
	}
	log.Error("delivery: request failed", "path", "/v1/x", "err", errors.New("disk full"))
	log.Error("a second error")
	if got, want := h.get(), "delivery: request failed path=/v1/x err=disk full"; got != want {
		t.Fatalf("kept %q, want %q", got, want)
	}
}
