package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDSBenchJSON(t *testing.T) {
	code, out, errOut := runCLI("ds", "bench", "--clients", "2", "--groups", "5", "--seconds", "0.3", "--http", "--json")
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	var r struct {
		Clients, Groups int
		Append, Floor   *struct {
			MsgsPerS float64 `json:"msgs_per_s"`
		}
		HTTP *struct {
			MsgsPerS float64 `json:"msgs_per_s"`
		}
		FloorRatio float64 `json:"floor_ratio"`
		HTTPRatio  float64 `json:"http_ratio"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if r.Clients != 2 || r.Groups != 5 || r.Append == nil || r.Append.MsgsPerS <= 0 || r.Floor == nil || r.HTTP == nil ||
		r.FloorRatio <= 0 || r.HTTPRatio <= 0 {
		t.Fatalf("report %s", out)
	}
}

func TestDSBenchTable(t *testing.T) {
	code, out, errOut := runCLI("ds", "bench", "--clients", "2", "--groups", "5", "--seconds", "0.2")
	if code != exitOK || !strings.Contains(out, "store ÷ floor:") || !strings.Contains(out, "msgs/s") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
}

func TestDSBenchUsage(t *testing.T) {
	for _, args := range [][]string{
		{"ds", "bench", "--clients", "0"},
		{"ds", "bench", "--groups", "-1"},
		{"ds", "bench", "--seconds", "0"},
		{"ds", "bench", "extra"},
		{"ds", "bench", "--nope"},
	} {
		code, out, errOut := runCLI(args...)
		if code != exitUsage || out != "" || !strings.Contains(errOut, "run 'mls ds bench -h' for usage") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want a usage error", args, code, out, errOut)
		}
	}
}
