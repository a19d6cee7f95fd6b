package treekem

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"

	"github.com/mlsengine/engine/mls/wire"

	"github.com/mlsengine/engine/testvectors/vectordir"
)

func TestNodeListRoundTripMessagesVectors(t *testing.T) {
	data, err := os.ReadFile(vectordir.Path(t, "messages.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		RatchetTree string `json:"ratchet_tree"`
	}
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		enc, _ := hex.DecodeString(c.RatchetTree)
		var nl NodeList
		if err := wire.Unmarshal(enc, &nl); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		re, err := wire.Marshal(nl)
		if err != nil || !bytes.Equal(re, enc) {
			t.Fatalf("case %d: re-encoding differs (%v)", i, err)
		}
		for n := range len(enc) {
			var p NodeList
			if wire.Unmarshal(enc[:n], &p) == nil {
				t.Fatalf("case %d: strict prefix %d decodes", i, n)
			}
		}
	}
}

func TestRequiredCapabilitiesExtensionRoundTrip(t *testing.T) {
	rc := &RequiredCapabilities{
		Extensions:  []ExtensionType{7, 0xf001},
		Proposals:   []uint16{9, 10},
		Credentials: []CredentialType{CredentialBasic},
	}
	ext, err := rc.Extension()
	if err != nil || ext.Type != ExtensionRequiredCapabilities {
		t.Fatalf("Extension() = %v, %v", ext, err)
	}
	got, err := RequiredCapabilitiesOf(Extensions{{Type: ExtensionApplicationID, Data: []byte("x")}, ext})
	if err != nil || got == nil {
		t.Fatalf("RequiredCapabilitiesOf: %v, %v", got, err)
	}
	re, _ := wire.Marshal(got)
	if !bytes.Equal(re, ext.Data) {
		t.Fatalf("re-encoding differs: %x vs %x", re, ext.Data)
	}
	for n := range len(ext.Data) {
		if wire.Unmarshal(ext.Data[:n], new(RequiredCapabilities)) == nil {
			t.Fatalf("strict prefix %d decodes", n)
		}
	}
	if got, err := RequiredCapabilitiesOf(nil); got != nil || err != nil {
		t.Fatalf("RequiredCapabilitiesOf(nil) = %v, %v", got, err)
	}
}

// TestLeafSizeBound checks that sizeBound bounds the encoding of leaves of
// every source, with X.509 credentials and extensions, closely.
func TestLeafSizeBound(t *testing.T) {
	cs := testSuite(t)
	rnd := newSeeded(9)
	for _, src := range []LeafNodeSource{SourceKeyPackage, SourceUpdate, SourceCommit} {
		ln, _ := newLeaf(t, cs, rnd, src, nil, []byte("group"), 3)
		variants := []LeafNode{*ln}
		x := *ln
		x.Credential = Credential{Type: CredentialX509, Certificates: [][]byte{make([]byte, 300), make([]byte, 70000)}}
		x.Extensions = Extensions{{Type: 0xff01, Data: make([]byte, 20000)}, {Type: 0xff02, Data: nil}}
		x.Capabilities.Extensions = []ExtensionType{0xff01, 0xff02}
		variants = append(variants, x)
		for _, v := range variants {
			enc, err := wire.Marshal(&v)
			if err != nil {
				t.Fatal(err)
			}
			if b := v.sizeBound(); b < len(enc) || b > len(enc)+64 {
				t.Fatalf("source %d: size bound %d for an encoding of %d bytes", src, b, len(enc))
			}
		}
	}
}
