package sim

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestSweep(t *testing.T) {
	o := smallOptions()
	o.Epochs = 4
	var seen []int
	o.Progress = func(p Progress) {
		if len(seen) == 0 || seen[len(seen)-1] != p.Members {
			seen = append(seen, p.Members)
		}
	}
	res, err := Sweep(context.Background(), o, []int{12, 30})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[0].Members != 12 || res[1].Members != 30 {
		t.Fatalf("results %+v", res)
	}
	for _, r := range res {
		if r.AgreedEpochs != 4 || r.Join.MedianMS <= 0 || r.MaxRSSBytes == 0 {
			t.Errorf("result %+v", r)
		}
	}
	if !slices.Equal(seen, []int{12, 30}) {
		t.Errorf("progress reported sizes %v, want [12 30]", seen)
	}
	// The same size in a sweep is the same run as on its own.
	one := o
	one.Members, one.Progress = 30, nil
	alone, err := Run(context.Background(), one)
	if err != nil {
		t.Fatal(err)
	}
	if alone.Ops.Update.Count != res[1].Ops.Update.Count || alone.Ops.Add.CommitBytesMedian != res[1].Ops.Add.CommitBytesMedian {
		t.Errorf("run at 30 members %+v, in the sweep %+v", alone.Ops, res[1].Ops)
	}

	var table bytes.Buffer
	if err := WriteSweepTable(&table, res); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(table.String()), "\n")
	if len(lines) != 6 || !strings.Contains(lines[0], "2 group sizes") || !strings.HasPrefix(strings.TrimSpace(lines[5]), "30 ") ||
		!strings.HasSuffix(lines[5], "4/4") {
		t.Errorf("table:\n%s", table.String())
	}
}

func TestSweepInvalid(t *testing.T) {
	for _, sizes := range [][]int{nil, {10, 10}, {10, 3}, {maxMembers + 1}} {
		res, err := Sweep(context.Background(), smallOptions(), sizes)
		if !errors.Is(err, ErrInvalidOptions) || res != nil {
			t.Errorf("sizes %v: %v, %v; want ErrInvalidOptions and nothing", sizes, res, err)
		}
	}
}

// TestSweepCancelled stops a sweep in its second run: the first result
// and the partial second come back with ctx's error.
func TestSweepCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	o := smallOptions()
	o.Epochs = 3
	o.Progress = func(p Progress) {
		if p.Members == 40 && p.Phase == "join" {
			cancel()
		}
	}
	res, err := Sweep(ctx, o, []int{12, 40, 60})
	if !errors.Is(err, context.Canceled) || len(res) != 2 || res[0].AgreedEpochs != 3 || res[1].AgreedEpochs != 0 {
		t.Fatalf("%v, %d results", err, len(res))
	}
}

func TestParseSizes(t *testing.T) {
	got, err := ParseSizes("1e3, 10000,2.5e4,7")
	if err != nil || !slices.Equal(got, []int{1000, 10000, 25000, 7}) {
		t.Fatalf("ParseSizes = %v, %v", got, err)
	}
	for _, in := range []string{"", "1e3,", "1.5", "-10", "0", "1e10", "x", "1e3;1e4"} {
		if _, err := ParseSizes(in); !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("ParseSizes(%q): err = %v", in, err)
		}
	}
}

func TestWriteCSV(t *testing.T) {
	res := []*Result{
		{Members: 1000, Suite: 1, Epochs: 20, Observers: 4, BuildSeconds: 1.25, Mix: defaultMix,
			Ops: Ops{Update: Op{Count: 7, CreateMedianMS: 0.5, CommitBytesMedian: 1234}}, AgreedEpochs: 20},
		{Members: 10000, Suite: 1, Epochs: 20, Observers: 4, Mix: Mix{Update: 1}, Committers: Committers{Zipf: 1.2},
			Join: Join{MedianMS: 75.5, WelcomeBytes: 900}, AgreedEpochs: 19},
	}
	var b bytes.Buffer
	if err := WriteCSV(&b, res); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 {
		t.Fatalf("%d records, want a header and 2 rows", len(recs))
	}
	head := recs[0]
	if head[0] != "members" || head[len(head)-1] != "committers" {
		t.Fatalf("header %v", head)
	}
	cell := func(row int, col string) string {
		i := slices.Index(head, col)
		if i < 0 {
			t.Fatalf("no column %q in %v", col, head)
		}
		return recs[row][i]
	}
	for _, c := range []struct {
		row       int
		col, want string
	}{
		{1, "members", "1000"},
		{1, "build_seconds", "1.25"},
		{1, "ops.update.count", "7"},
		{1, "ops.update.create_median_ms", "0.5"},
		{1, "ops.update.commit_bytes_median", "1234"},
		{1, "mix.remove", "1"},
		{1, "committers", "uniform"},
		{2, "members", "10000"},
		{2, "join.median_ms", "75.5"},
		{2, "join.welcome_bytes", "900"},
		{2, "mix.add", "0"},
		{2, "committers", "zipf:1.2"},
		{2, "agreed_epochs", strconv.Itoa(19)},
	} {
		if got := cell(c.row, c.col); got != c.want {
			t.Errorf("row %d %s = %q, want %q", c.row, c.col, got, c.want)
		}
	}
}

func TestFlattenJSON(t *testing.T) {
	var got []string
	err := flattenJSON([]byte(`{"a":1,"b":{"c":"x","d":[true,null]},"e":{}}`), func(k, v string) { got = append(got, k+"="+v) })
	if err != nil || !slices.Equal(got, []string{"a=1", "b.c=x", "b.d.0=true", "b.d.1="}) {
		t.Fatalf("%q, %v", got, err)
	}
	if err := flattenJSON([]byte(`{"a":`), func(string, string) {}); err == nil {
		t.Fatal("truncated JSON flattened")
	}
}
