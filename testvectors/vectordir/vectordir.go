// Package vectordir locates the official RFC 9420 test vectors for the
// project's tests: $MLS_TEST_VECTORS, else ../shared/mls-test-vectors next
// to the module root. It imports nothing of the project, so the tests of
// every package (including those package testvectors imports) can use it.
// Missing vectors fail the test; they are never skipped.
package vectordir

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// Env names the environment variable that points at the vector folder.
const Env = "MLS_TEST_VECTORS"

// Dir returns the vector folder, failing tb when it does not exist.
func Dir(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv(Env)
	if dir == "" {
		root, err := moduleRoot()
		if err != nil {
			tb.Fatalf("test vectors: %v", err)
		}
		dir = filepath.Join(root, "..", "shared", "mls-test-vectors")
	}
	if _, err := os.Stat(dir); err != nil {
		tb.Fatalf("official RFC 9420 test vectors not found at %s (%v): set %s to the test-vectors folder of "+
			"github.com/mlswg/mls-implementations, or run the README's test command, which fetches them", dir, err, Env)
	}
	return dir
}

// Path returns the path of the vector file name, failing tb when it is
// missing.
func Path(tb testing.TB, name string) string {
	tb.Helper()
	path := filepath.Join(Dir(tb), name)
	if _, err := os.Stat(path); err != nil {
		tb.Fatalf("official test vector %s: %v", name, err)
	}
	return path
}

// Load decodes the JSON vector file name into v, failing tb on any error.
func Load(tb testing.TB, name string, v any) {
	tb.Helper()
	data, err := os.ReadFile(Path(tb, name))
	if err != nil {
		tb.Fatalf("official test vector %s: %v", name, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		tb.Fatalf("official test vector %s: %v", name, err)
	}
}

// moduleRoot returns the nearest folder at or above the working directory
// (a test's package folder) that holds go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}
