package testvectors

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// vectorDir returns the vector folder, failing the test (never skipping)
// when it is missing. The test runs from the package folder, one level
// below the module root, so the default is resolved from there.
func vectorDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv(EnvDir)
	if dir == "" {
		dir = filepath.Join("..", DefaultDir)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("official RFC 9420 test vectors not found at %s (%v): set %s to the test-vectors folder of "+
			"github.com/mlswg/mls-implementations, or run the README's test command, which fetches them", dir, err, EnvDir)
	}
	return dir
}

func TestOfficialVectors(t *testing.T) {
	dir := vectorDir(t)
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no *.json vector files in %s", dir)
	}
	sort.Strings(files)
	for _, path := range files {
		kind, ok := KindOf(path)
		if !ok {
			t.Errorf("%s: unknown vector kind", path)
			continue
		}
		t.Run(filepath.Base(path), func(t *testing.T) {
			cases, err := LoadFile(path, kind)
			if err != nil {
				t.Fatal(err)
			}
			for i, c := range cases {
				t.Run(fmt.Sprintf("%d/suite%d", i, c.CipherSuite()), func(t *testing.T) {
					if err := VerifyCase(c); err != nil {
						t.Fatal(err)
					}
				})
			}
		})
	}
}
