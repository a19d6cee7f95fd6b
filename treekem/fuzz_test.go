package treekem

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"

	"github.com/mlsengine/engine/testvectors/vectordir"
)

// FuzzUnmarshalTree feeds arbitrary ratchet trees to the join path: no
// input may panic, and an accepted tree re-encodes to its input, hashes,
// and can be validated, queried and changed.
func FuzzUnmarshalTree(f *testing.F) {
	for _, name := range []string{"tree-validation.json", "treekem.json"} {
		data, err := os.ReadFile(vectordir.Path(f, name))
		if err != nil {
			f.Fatal(err)
		}
		var cases []struct {
			Tree        string `json:"tree"`
			RatchetTree string `json:"ratchet_tree"`
		}
		if err := json.Unmarshal(data, &cases); err != nil {
			f.Fatal(err)
		}
		for i, c := range cases {
			if i%7 != 0 { // suite 0x0001 cases only
				continue
			}
			b, _ := hex.DecodeString(c.Tree + c.RatchetTree)
			f.Add(b)
		}
	}
	cs := testSuite(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := UnmarshalTree(cs, data)
		if err != nil {
			return
		}
		re, err := tr.RatchetTree()
		if err != nil || !bytes.Equal(re, data) {
			t.Fatalf("re-encoding differs: %v", err)
		}
		tr.TreeHash()
		_ = tr.Validate([]byte("g"), nil)
		for x := NodeIndex(0); uint32(x) < tr.Width(); x++ {
			tr.Resolution(x)
		}
		for i := range tr.Members() {
			tr.FilteredDirectPath(i)
			c := tr.Clone()
			if err := c.RemoveLeaf(i); err != nil {
				t.Fatal(err)
			}
			c.TreeHash()
		}
	})
}
