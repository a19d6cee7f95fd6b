package testvectors

import (
	"fmt"
	"path/filepath"
	"sort"
	"testing"

	"github.com/mlsengine/engine/testvectors/vectordir"
)

func TestOfficialVectors(t *testing.T) {
	dir := vectordir.Dir(t)
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
