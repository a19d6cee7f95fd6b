package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mlsengine/engine/mls/sim"
)

// TestSimSweep runs a sweep of three sizes with every output: the JSON
// array, the CSV rows and the SVG chart, which must be well-formed XML
// holding each series that has data, as a line through its points.
func TestSimSweep(t *testing.T) {
	dir := t.TempDir()
	csvPath, svgPath := filepath.Join(dir, "rows.csv"), filepath.Join(dir, "chart.svg")
	code, out, errOut := runCLI("sim", "--sizes", "12,2.4e1,48", "--epochs", "9", "--observers", "2",
		"--mix", "update=1,add=1,remove=1", "--committers", "zipf:1.2", "--json", "--csv", csvPath, "--plot", svgPath)
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("not a JSON array: %v\n%s", err, out)
	}
	if len(rows) != 3 {
		t.Fatalf("%d rows, want 3", len(rows))
	}
	for i, n := range []float64{12, 24, 48} {
		if rows[i]["members"] != n || rows[i]["agreed_epochs"] != 9.0 || rows[i]["committers"] != "zipf:1.2" {
			t.Errorf("row %d: %v", i, rows[i])
		}
	}
	// The sweep's rows are the objects a single run prints.
	_, single, _ := runCLI("sim", "--members", "24", "--epochs", "9", "--observers", "2", "--committers", "zipf:1.2", "--json")
	var one map[string]any
	if err := json.Unmarshal([]byte(single), &one); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(sortedKeys(one), sortedKeys(rows[1])) || !reflect.DeepEqual(one["ops"].(map[string]any)["add"].(map[string]any)["count"], rows[1]["ops"].(map[string]any)["add"].(map[string]any)["count"]) {
		t.Errorf("single run %v\nsweep row %v", one, rows[1])
	}
	for _, s := range []string{"mls sim: 3 group sizes", "mls sim: 24 members (size 2 of 3)", "9/9"} {
		if !strings.Contains(errOut, s) {
			t.Errorf("stderr lacks %q:\n%s", s, errOut)
		}
	}

	f, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil || len(recs) != 4 || recs[0][0] != "members" || recs[3][0] != "48" {
		t.Fatalf("CSV %v, %v", recs, err)
	}

	results := make([]*sim.Result, len(rows))
	if err := json.Unmarshal([]byte(out), &results); err != nil {
		t.Fatal(err)
	}
	checkSVG(t, svgPath, results)
}

// checkSVG parses the chart and checks it against the results: the
// legend names every series that has a point, and each such series is a
// path of its colour and dashes through its points (plus its legend
// thumbnail, one segment).
func checkSVG(t *testing.T, path string, results []*sim.Result) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(strings.NewReader(string(data)))
	var texts, lines []string
	root := ""
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("the SVG is not well-formed XML: %v", err)
		}
		el, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if root == "" {
			root = el.Name.Local
			if el.Name.Space != "http://www.w3.org/2000/svg" {
				t.Fatalf("root element %v", el.Name)
			}
		}
		switch el.Name.Local {
		case "text":
			var s string
			if err := dec.DecodeElement(&s, &el); err != nil {
				t.Fatal(err)
			}
			texts = append(texts, s)
		case "path":
			if l, ok := linePath(el); ok {
				lines = append(lines, l)
			}
		}
	}
	if root != "svg" {
		t.Fatalf("root element %q, want svg", root)
	}
	var want []string
	for _, s := range slices.Concat(timeSeries(), sizeSeries()) {
		points := 0
		for _, r := range results {
			if s.value(r) > 0 {
				points++
			}
		}
		if points == 0 {
			continue
		}
		if !slices.Contains(texts, s.name) {
			t.Errorf("the legend lacks %q", s.name)
		}
		want = append(want, lineKey(s.color, s.dashed, 1)) // the thumbnail
		if points > 1 {
			want = append(want, lineKey(s.color, s.dashed, points-1))
		}
	}
	if len(want) < 2*9 {
		t.Fatalf("only %d lines expected: the runs measured too little", len(want))
	}
	slices.Sort(want)
	slices.Sort(lines)
	if !slices.Equal(lines, want) {
		t.Errorf("lines in the SVG:\n%q\nwant:\n%q", lines, want)
	}
	for _, s := range []string{"members", "ms", "bytes", "median wall-clock time per operation", "median message size"} {
		if !slices.Contains(texts, s) {
			t.Errorf("the SVG lacks the text %q", s)
		}
	}
}

// linePath returns the key of a series' line (a path of width 1.5) as
// lineKey makes it.
func linePath(el xml.StartElement) (string, bool) {
	var d, style string
	for _, a := range el.Attr {
		switch a.Name.Local {
		case "d":
			d = a.Value
		case "style":
			style = a.Value
		}
	}
	if !strings.Contains(style, "stroke-width:1.5") {
		return "", false
	}
	stroke := ""
	for decl := range strings.SplitSeq(style, ";") {
		if v, ok := strings.CutPrefix(decl, "stroke:"); ok {
			stroke = v
		}
	}
	return fmt.Sprintf("%s dashed=%v segments=%d", stroke, strings.Contains(style, "stroke-dasharray"), strings.Count(d, "L")), true
}

func lineKey(c color.Color, dashed bool, segments int) string {
	r, g, b, _ := c.RGBA()
	return fmt.Sprintf("#%02X%02X%02X dashed=%v segments=%d", r>>8, g>>8, b>>8, dashed, segments)
}

func sortedKeys(m map[string]any) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	slices.Sort(k)
	return k
}

// TestSimOutputFiles checks --csv and --plot of a single run, and that a
// path that cannot be written fails before the run.
func TestSimOutputFiles(t *testing.T) {
	dir := t.TempDir()
	svgPath := filepath.Join(dir, "one.svg")
	code, out, errOut := runCLI("sim", "--members", "12", "--epochs", "6", "--observers", "2", "--plot", svgPath, "--csv", filepath.Join(dir, "one.csv"))
	if code != exitOK || !strings.Contains(out, "12 members") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "one.csv")); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(svgPath)
	if err != nil || xml.Unmarshal(data, new(struct{})) != nil {
		t.Fatalf("the single run's SVG: %v", err)
	}

	code, out, errOut = runCLI("sim", "--members", "12", "--plot", filepath.Join(dir, "no", "such", "dir.svg"))
	if code != exitFailed || out != "" || strings.Contains(errOut, "build") {
		t.Fatalf("unwritable --plot: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	// Interrupted, the sweep leaves no file behind.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	gone := []string{filepath.Join(dir, "cut.csv"), filepath.Join(dir, "cut.svg")}
	code = run(ctx, []string{"sim", "--sizes", "12,24", "--csv", gone[0], "--plot", gone[1]}, &stdout, &stderr)
	if code != exitInterrupted || stdout.Len() != 0 || !strings.HasSuffix(stderr.String(), "mls sim: interrupted\n") {
		t.Fatalf("interrupted sweep: exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
	for _, p := range gone {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left behind: %v", p, err)
		}
	}
}
