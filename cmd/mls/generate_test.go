package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/testvectors"
)

// pqSuites is the --suite list of the draft's eleven suites, by number.
func pqSuites() string {
	var ids []string
	for _, id := range suite.IDs() {
		if id >= suite.MLS_128_MLKEM768X25519_AES128GCM_SHA256_Ed25519 {
			ids = append(ids, fmt.Sprintf("%#x", uint16(id)))
		}
	}
	return strings.Join(ids, ",")
}

// TestVectorsGenerate generates every kind for the eleven post-quantum
// suites, which `mls vectors verify` must pass, and fail once a value is
// altered.
func TestVectorsGenerate(t *testing.T) {
	dir := t.TempDir()
	for _, kind := range testvectors.GenerateKinds() {
		path := filepath.Join(dir, kind+".json")
		if code, out, errOut := runCLI("vectors", "generate", "--kind", kind, "--suite", pqSuites(), "--out", path); code != exitOK || out != "" {
			t.Fatalf("%s: exit %d\n%s%s", kind, code, out, errOut)
		}
		code, out, errOut := runCLI("vectors", "verify", path)
		if code != exitOK || !strings.HasSuffix(out, " passed, 0 failed\n") || strings.HasPrefix(out, kind+".json: 0 passed") {
			t.Fatalf("%s: verify exit %d\n%s%s", kind, code, out, errOut)
		}

		// The first long hex value (a key, secret or message) altered.
		data, _ := os.ReadFile(path)
		loc := regexp.MustCompile(`"[0-9a-f]{64,}"`).FindIndex(data)
		if loc == nil {
			t.Fatalf("%s: no hex value", kind)
		}
		i := loc[0] + 1
		data[i] = "1032547698badcfe"[strings.IndexByte("0123456789abcdef", data[i])]
		altered := filepath.Join(dir, "altered", kind+".json")
		os.MkdirAll(filepath.Dir(altered), 0o755)
		os.WriteFile(altered, data, 0o644)
		if code, out, _ := runCLI("vectors", "verify", altered); code != exitFailed || !strings.Contains(out, "case 0 (cipher suite 0xf101)") {
			t.Errorf("%s altered: verify exit %d\n%s", kind, code, out)
		}
	}
}

func TestVectorsGenerateStdout(t *testing.T) {
	code, out, errOut := runCLI("vectors", "generate", "--kind", "crypto-basics", "--suite", "1,MLS_256_MLKEM1024_AES256GCM_SHA384_MLDSA87")
	if code != exitOK || !strings.HasPrefix(out, "[\n  {\n    \"cipher_suite\": 1,") || !strings.Contains(out, `"cipher_suite": 61707,`) {
		t.Fatalf("exit %d\n%.300s\n%s", code, out, errOut)
	}
}

func TestVectorsGenerateUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--suite", "1"},
		{"--kind", "welcome"},
		{"--kind", "tree-math", "--suite", "1"},
		{"--kind", "welcome", "--suite", "1,0xF100"},
		{"--kind", "welcome", "--suite", "bogus"},
		{"--kind", "welcome", "--suite", "1", "extra"},
		{"--kind", "welcome", "--kind", "welcome", "--suite", "1"},
		{"--nope"},
	} {
		code, out, errOut := runCLI(append([]string{"vectors", "generate"}, args...)...)
		if m := usageErrorRE.FindStringSubmatch(errOut); code != exitUsage || out != "" || m == nil || m[1] != "vectors generate" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want a usage error", args, code, out, errOut)
		}
	}
	out := filepath.Join(t.TempDir(), "no", "such", "dir")
	if code, _, errOut := runCLI("vectors", "generate", "--kind", "welcome", "--suite", "1", "--out", out); code != exitUsage || !strings.Contains(errOut, "no such file") {
		t.Errorf("unwritable --out: exit %d, %q", code, errOut)
	}
	if code, out, _ := runCLI("vectors", "generate", "--help"); code != exitOK || !strings.Contains(out, "Kinds: crypto-basics,") {
		t.Errorf("--help: exit %d\n%s", code, out)
	}
}
