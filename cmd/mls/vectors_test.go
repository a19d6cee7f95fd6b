package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlsengine/engine/testvectors/vectordir"
)

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestVectorsVerifyTreeMath(t *testing.T) {
	path := filepath.Join(vectordir.Dir(t), "tree-math.json")
	code, out, errOut := runCLI("vectors", "verify", path)
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "tree-math.json: 10 passed, 0 failed\n") || !strings.HasSuffix(out, "10 passed, 0 failed\n") {
		t.Fatalf("unexpected output:\n%s", out)
	}

	code, out, _ = runCLI("vectors", "verify", path, "--json")
	if code != exitOK {
		t.Fatalf("--json exit %d", code)
	}
	var rep struct {
		Files []struct {
			File     string `json:"file"`
			Kind     string `json:"kind"`
			Cases    int    `json:"cases"`
			Passed   int    `json:"passed"`
			Failed   int    `json:"failed"`
			Failures []any  `json:"failures"`
		} `json:"files"`
		Passed int `json:"passed"`
		Failed int `json:"failed"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("--json output is not JSON: %v\n%s", err, out)
	}
	if len(rep.Files) != 1 || rep.Files[0].Kind != "tree-math" || rep.Files[0].Cases != 10 ||
		rep.Files[0].Failures == nil || rep.Passed != 10 || rep.Failed != 0 {
		t.Fatalf("unexpected report %+v", rep)
	}
}

func TestVectorsVerifyUsageErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "tree-math.json")
	os.WriteFile(garbage, []byte("{not json"), 0o644)
	unknown := filepath.Join(dir, "whatever.json")
	os.WriteFile(unknown, []byte("[]"), 0o644)
	for _, args := range [][]string{
		{"vectors"},
		{"vectors", "verify"},
		{"vectors", "verify", "--kind", "nope", garbage},
		{"vectors", "verify", filepath.Join(dir, "missing.json")},
		{"vectors", "verify", garbage},
		{"vectors", "verify", unknown},
		{"frobnicate"},
	} {
		if code, _, _ := runCLI(args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
	// --kind makes an unknown name usable.
	if code, _, errOut := runCLI("vectors", "verify", "--kind", "tree-math", unknown); code != exitOK {
		t.Errorf("--kind tree-math on an empty list: exit %d: %s", code, errOut)
	}
}

// alterations names, per vector file, one expected value of case 0 to
// change; the altered copy must be reported as failing at case 0.
var alterations = map[string][]any{
	"tree-math.json":                      {"root"},
	"crypto-basics.json":                  {"ref_hash", "out"},
	"secret-tree.json":                    {"leaves", 0, 0, "application_key"},
	"message-protection.json":             {"proposal"},
	"key-schedule.json":                   {"epochs", 0, "epoch_authenticator"},
	"psk_secret.json":                     {"psk_secret"},
	"transcript-hashes.json":              {"interim_transcript_hash_after"},
	"messages.json":                       {"commit"},
	"deserialization.json":                {"length"},
	"welcome.json":                        {"signer_pub"},
	"tree-operations.json":                {"tree_hash_after"},
	"tree-validation.json":                {"tree_hashes", 0},
	"treekem.json":                        {"update_paths", 0, "commit_secret"},
	"passive-client-welcome.json":         {"initial_epoch_authenticator"},
	"passive-client-handling-commit.json": {"initial_epoch_authenticator"},
	"passive-client-random.json":          {"initial_epoch_authenticator"},
}

func TestVectorsVerifyAlteredCopyFails(t *testing.T) {
	src := vectordir.Dir(t)
	for name, path := range alterations {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(src, name))
			if err != nil {
				t.Fatal(err)
			}
			var cases []any
			if err := json.Unmarshal(data, &cases); err != nil {
				t.Fatal(err)
			}
			alter(t, cases[0], path, name == "messages.json")
			altered, _ := json.Marshal(cases[:1])
			file := filepath.Join(t.TempDir(), name)
			os.WriteFile(file, altered, 0o644)
			code, out, errOut := runCLI("vectors", "verify", file)
			if code != exitFailed || !strings.Contains(out, "0 passed, 1 failed") {
				t.Fatalf("altered %v: exit %d, want %d\n%s%s", path, code, exitFailed, out, errOut)
			}
		})
	}
}

// alter changes the value at path inside v: numbers are incremented, hex
// strings get their last digit flipped. A messages.json value instead gets a
// trailing zero byte (flipping a bit inside an opaque field would still
// round-trip), which strict decoding must reject.
func alter(t *testing.T, v any, path []any, trailingByte bool) {
	t.Helper()
	for i, step := range path {
		last := i == len(path)-1
		switch s := step.(type) {
		case string:
			m := v.(map[string]any)
			if last {
				m[s] = altered(t, m[s], trailingByte)
				return
			}
			v = m[s]
		case int:
			l := v.([]any)
			if last {
				l[s] = altered(t, l[s], trailingByte)
				return
			}
			v = l[s]
		}
	}
}

func altered(t *testing.T, v any, trailingByte bool) any {
	switch x := v.(type) {
	case float64:
		return x + 1
	case string:
		if trailingByte || x == "" {
			return x + "00"
		}
		var d int
		fmt.Sscanf(x[len(x)-1:], "%x", &d)
		return x[:len(x)-1] + fmt.Sprintf("%x", d^1)
	}
	t.Fatalf("cannot alter a %T", v)
	return nil
}
