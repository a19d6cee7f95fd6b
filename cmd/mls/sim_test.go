package main

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestSimJSON(t *testing.T) {
	code, out, errOut := runCLI("sim", "--members", "30", "--epochs", "6", "--observers", "2", "--seed", "7", "--json")
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	var rep map[string]any
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("not one JSON object: %v\n%s", err, out)
	}
	keys := func(m map[string]any) []string {
		var k []string
		for key := range m {
			k = append(k, key)
		}
		slices.Sort(k)
		return k
	}
	want := []string{"agreed_epochs", "application", "build_seconds", "committers", "epochs", "join", "max_rss_bytes", "members", "mix", "observers", "ops", "suite"}
	if got := keys(rep); !reflect.DeepEqual(got, want) {
		t.Fatalf("fields %v, want %v", got, want)
	}
	for k, v := range map[string]float64{"members": 30, "suite": 1, "epochs": 6, "observers": 2, "agreed_epochs": 6} {
		if rep[k] != v {
			t.Errorf("%s = %v, want %v", k, rep[k], v)
		}
	}
	ops := rep["ops"].(map[string]any)
	if got := keys(ops); !reflect.DeepEqual(got, []string{"add", "remove", "update"}) {
		t.Fatalf("ops fields %v", got)
	}
	total := 0.0
	for _, op := range ops {
		m := op.(map[string]any)
		if got := keys(m); !reflect.DeepEqual(got, []string{"commit_bytes_median", "count", "create_median_ms", "process_median_ms"}) {
			t.Fatalf("op fields %v", got)
		}
		total += m["count"].(float64)
	}
	if total != 6 {
		t.Errorf("%v commits, want 6", total)
	}
	if got := keys(rep["join"].(map[string]any)); !reflect.DeepEqual(got, []string{"median_ms", "welcome_bytes"}) {
		t.Errorf("join fields %v", got)
	}
	if got := keys(rep["application"].(map[string]any)); !reflect.DeepEqual(got, []string{"decrypt_median_us", "encrypt_median_us"}) {
		t.Errorf("application fields %v", got)
	}
	if rep["max_rss_bytes"].(float64) <= 0 {
		t.Errorf("max_rss_bytes = %v", rep["max_rss_bytes"])
	}
	if mix := rep["mix"].(map[string]any); mix["update"] != 1.0 || mix["add"] != 1.0 || mix["remove"] != 1.0 || rep["committers"] != "uniform" {
		t.Errorf("workload %v, %v; want the default", rep["mix"], rep["committers"])
	}
}

func TestSimTable(t *testing.T) {
	code, out, errOut := runCLI("sim", "--members", "20", "--epochs", "3", "--observers", "2", "--bare")
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	for _, s := range []string{"20 members", "bare", "update", "agreed        3 of 3 epochs"} {
		if !strings.Contains(out, s) {
			t.Errorf("table lacks %q:\n%s", s, out)
		}
	}
	if !strings.Contains(errOut, "mls sim: epochs done") {
		t.Errorf("no progress on stderr:\n%s", errOut)
	}
}

func TestSimUsage(t *testing.T) {
	for _, args := range [][]string{
		{"sim", "--members", "1"},
		{"sim", "--observers", "0"},
		{"sim", "--suite", "99"},
		{"sim", "--members", "x"},
		{"sim", "extra"},
		{"sim", "--nope"},
		{"sim", "--mix", "update=x"},
		{"sim", "--mix", "update=0"},
		{"sim", "--mix", "join=1"},
		{"sim", "--committers", "zipf:-1"},
		{"sim", "--committers", "pareto"},
		{"sim", "--sizes", "1e3,x"},
		{"sim", "--sizes", "20,20"},
		{"sim", "--sizes", "3,20"},
		{"sim", "--sizes", "20", "--members", "30"},
	} {
		if code, out, _ := runCLI(args...); code != exitUsage || out != "" {
			t.Errorf("%v: exit %d, stdout %q; want %d and nothing", args, code, out, exitUsage)
		}
	}
}

// TestSimDS runs `mls sim --ds memory: --json`: the JSON gains the "ds"
// object of the contract, and every epoch is agreed.
func TestSimDS(t *testing.T) {
	code, out, errOut := runCLI("sim", "--members", "30", "--epochs", "6", "--observers", "2", "--ds", "memory:", "--json")
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	var rep struct {
		AgreedEpochs int            `json:"agreed_epochs"`
		DS           map[string]any `json:"ds"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("not one JSON object: %v\n%s", err, out)
	}
	if rep.AgreedEpochs != 6 {
		t.Errorf("agreed on %d epochs, want 6", rep.AgreedEpochs)
	}
	if rep.DS["store"] != "memory:" {
		t.Errorf("store %v", rep.DS["store"])
	}
	for _, k := range []string{"join_download_bytes", "fanout_bytes_per_commit", "ds_cpu_per_commit_ms", "post_median_ms", "fetch_median_ms"} {
		if v, ok := rep.DS[k].(float64); !ok || v <= 0 {
			t.Errorf("ds.%s = %v", k, rep.DS[k])
		}
	}
	up, _ := rep.DS["commit_upload_bytes"].(map[string]any)
	if len(up) != 3 || up["update"] == nil || up["add"] == nil || up["remove"] == nil {
		t.Errorf("ds.commit_upload_bytes = %v", rep.DS["commit_upload_bytes"])
	}
	if !strings.Contains(errOut, "delivery service memory:") {
		t.Errorf("the table on stderr lacks the delivery service:\n%s", errOut)
	}
	if code, out, _ := runCLI("sim", "--ds", "nosuch:"); code != exitUsage || out != "" {
		t.Errorf("--ds nosuch: exit %d, stdout %q; want %d and nothing", code, out, exitUsage)
	}
}
