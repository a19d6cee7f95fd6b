package testvectors

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/mlsengine/engine/mls/suite"
)

// generated returns the JSON encoding of freshly generated cases.
func generated(t *testing.T, kind string, s *suite.Suite) []byte {
	t.Helper()
	cases, err := Generate(kind, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestGenerate generates every kind for every built-in suite and verifies
// the cases decoded from their JSON, as `mls vectors verify` reads them.
func TestGenerate(t *testing.T) {
	for _, kind := range GenerateKinds() {
		for _, id := range suite.IDs() {
			s, _ := suite.Lookup(id)
			t.Run(fmt.Sprintf("%s/%#04x", kind, uint16(id)), func(t *testing.T) {
				t.Parallel()
				cases, err := decoders[kind](generated(t, kind, s))
				if err != nil || len(cases) == 0 {
					t.Fatalf("decoding: %d cases, %v", len(cases), err)
				}
				for i, c := range cases {
					if c.CipherSuite() != uint16(id) {
						t.Errorf("case %d of suite %d", i, c.CipherSuite())
					}
					if err := VerifyCase(c); err != nil {
						t.Errorf("case %d: %v", i, err)
					}
				}
			})
		}
	}
	if _, err := Generate("tree-math", nil, nil); !errors.Is(err, ErrUnknownKind) {
		t.Errorf("tree-math: %v", err)
	}
}

// TestGeneratedAltered changes each hex value of the first generated case
// of each kind, for a post-quantum suite, in turn (a bit of its first
// byte): every change must make the case fail.
func TestGeneratedAltered(t *testing.T) {
	s, _ := suite.Lookup(suite.MLS_128_MLKEM768X25519_CHACHA20POLY1305_SHA384_MLDSA44)
	for _, kind := range GenerateKinds() {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			var doc []any
			if err := json.Unmarshal(generated(t, kind, s), &doc); err != nil {
				t.Fatal(err)
			}
			first := doc[:1]
			values := hexValues(first[0], "")
			if len(values) == 0 {
				t.Fatal("no hex values")
			}
			for _, alter := range values {
				alter.flip()
				data, _ := json.Marshal(first)
				alter.flip()
				cases, err := decoders[kind](data)
				if err != nil {
					t.Fatal(err)
				}
				if VerifyCase(cases[0]) == nil {
					t.Errorf("%s altered: the case still passes", alter.path)
				}
			}
		})
	}
}

// hexValue is a hex string in a decoded JSON document and how to change it.
type hexValue struct {
	path string
	flip func() // flips bit 4 of its first byte; again to restore
}

// hexValues lists the non-empty hex strings of a decoded JSON document
// (labels excepted), with their paths.
func hexValues(v any, path string) []hexValue {
	var out []hexValue
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok {
				if k == "label" || s == "" {
					continue
				}
				out = append(out, hexValue{path + "." + k, func() { x[k] = flipHex(x[k].(string)) }})
				continue
			}
			out = append(out, hexValues(e, path+"."+k)...)
		}
	case []any:
		for i, e := range x {
			p := fmt.Sprintf("%s[%d]", path, i)
			if s, ok := e.(string); ok && s != "" {
				out = append(out, hexValue{p, func() { x[i] = flipHex(x[i].(string)) }})
				continue
			}
			out = append(out, hexValues(e, p)...)
		}
	}
	return out
}

// flipHex flips bit 4 of the first byte of a hex string: a bit that no
// clamping of a private key (RFC 7748 §5) ignores, within the sample of a
// ciphertext (RFC 9420 §6.3.2).
func flipHex(s string) string {
	const digits = "0123456789abcdef"
	return string(digits[strings.IndexByte(digits, s[0])^1]) + s[1:]
}
