package suite_test

import (
	"bytes"
	"fmt"

	"github.com/mlsengine/engine/mls/suite"
)

// AppendHash hashes into a buffer the caller reuses, where Hash returns a
// new slice each time.
func ExampleSuite_AppendHash() {
	cs, _ := suite.Lookup(suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519)
	buf := make([]byte, 0, cs.HashSize())
	for _, msg := range []string{"first node", "second node"} {
		buf = cs.AppendHash(buf[:0], []byte(msg))
		fmt.Println(len(buf), bytes.Equal(buf, cs.Hash([]byte(msg))))
	}
	// Output:
	// 32 true
	// 32 true
}
