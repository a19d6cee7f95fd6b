package testvectors

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
)

// EnvDir names the environment variable that points at the vector folder.
const EnvDir = "MLS_TEST_VECTORS"

// DefaultDir is where the vectors are looked for when EnvDir is unset,
// relative to the module root.
const DefaultDir = "../shared/mls-test-vectors"

// ErrNotImplemented marks a case whose kind or feature is not implemented:
// it counts as failed, never skipped.
var ErrNotImplemented = errors.New("testvectors: not implemented")

// ErrMismatch is wrapped by every failure where a computed value differs
// from the expected one.
var ErrMismatch = errors.New("testvectors: mismatch")

// Case is one test case of a vector file.
type Case interface {
	// CipherSuite returns the case's cipher suite, or 0 if the kind has none.
	CipherSuite() uint16
	// Verify checks the library against the case.
	Verify() error
}

// Failure is one failed case.
type Failure struct {
	Index       int    `json:"index"`
	CipherSuite uint16 `json:"cipher_suite"`
	Error       string `json:"error"`
}

// FileResult is the outcome of verifying one file.
type FileResult struct {
	File     string    `json:"file"`
	Kind     string    `json:"kind"`
	Cases    int       `json:"cases"`
	Passed   int       `json:"passed"`
	Failed   int       `json:"failed"`
	Failures []Failure `json:"failures"`
}

// decoders maps each kind to the function that decodes a file of that kind.
var decoders = map[string]func([]byte) ([]Case, error){
	"tree-math":          decode[TreeMath],
	"crypto-basics":      decode[CryptoBasics],
	"secret-tree":        decode[SecretTree],
	"message-protection": decode[MessageProtection],
	"key-schedule":       decode[KeySchedule],
	"psk_secret":         decode[PSKSecret],
	"transcript-hashes":  decode[TranscriptHashes],
	"welcome":            decode[Welcome],
	"tree-operations":    decode[TreeOperations],
	"tree-validation":    decode[TreeValidation],
	"treekem":            decode[TreeKEM],
	"messages":           decode[Messages],
	"deserialization":    decode[Deserialization],
	"passive-client":     decode[PassiveClient],
}

// Kinds returns the known kinds, sorted.
func Kinds() []string { return slices.Sorted(maps.Keys(decoders)) }

// KindOf returns the kind of a vector file from its base name, as in the
// official set; every name starting with "passive-client" is a
// passive-client file.
func KindOf(path string) (string, bool) {
	base := strings.TrimSuffix(filepath.Base(path), ".json")
	if strings.HasPrefix(base, "passive-client") {
		return "passive-client", true
	}
	_, ok := decoders[base]
	return base, ok
}

// Dir returns the vector folder: $MLS_TEST_VECTORS, or DefaultDir.
func Dir() string {
	if d := os.Getenv(EnvDir); d != "" {
		return d
	}
	return DefaultDir
}

// LoadFile reads and decodes a vector file of the given kind.
func LoadFile(path, kind string) ([]Case, error) {
	dec, ok := decoders[kind]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownKind, kind)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("testvectors: %w", err)
	}
	cases, err := dec(data)
	if err != nil {
		return nil, fmt.Errorf("testvectors: %s: %w", path, err)
	}
	return cases, nil
}

// VerifyFile verifies every case of a file. The error is for a file that
// cannot be read or decoded; failed cases are reported in the result.
func VerifyFile(path, kind string) (*FileResult, error) {
	cases, err := LoadFile(path, kind)
	if err != nil {
		return nil, err
	}
	res := &FileResult{File: path, Kind: kind, Cases: len(cases), Failures: []Failure{}}
	for i, c := range cases {
		if err := VerifyCase(c); err != nil {
			res.Failed++
			res.Failures = append(res.Failures, Failure{Index: i, CipherSuite: c.CipherSuite(), Error: err.Error()})
			continue
		}
		res.Passed++
	}
	return res, nil
}

// VerifyCase runs c.Verify, turning a panic (a bug of ours) into an error so
// that one bad case cannot stop a whole run.
func VerifyCase(c Case) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("testvectors: panic: %v\n%s", r, debug.Stack())
		}
	}()
	return c.Verify()
}

// decode decodes a JSON array of cases of type T.
func decode[T any, PT interface {
	*T
	Case
}](data []byte) ([]Case, error) {
	var raw []T
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	cases := make([]Case, len(raw))
	for i := range raw {
		cases[i] = PT(&raw[i])
	}
	return cases, nil
}
