package sim

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
)

// Sweep runs opts once for each group size of sizes, in order, with
// Members set to the size and every other option (the seed included) as in
// opts, and returns one Result per size, each as Run returns it.
//
// Every size is checked first: none, a size given twice or a size that
// makes invalid Options fails with ErrInvalidOptions and no result. A run
// that fails (or a cancelled ctx) stops the sweep: Sweep returns the
// results so far, the failed run's partial result last, and its error.
//
// Before each run Sweep collects the garbage of the last and, on Linux,
// resets the process's peak resident set size, so that each MaxRSSBytes
// is its own run's peak; elsewhere it is the process's peak so far.
func Sweep(ctx context.Context, opts Options, sizes []int) ([]*Result, error) {
	if len(sizes) == 0 {
		return nil, fmt.Errorf("%w: no group size to sweep", ErrInvalidOptions)
	}
	seen := map[int]bool{}
	for _, n := range sizes {
		if seen[n] {
			return nil, fmt.Errorf("%w: group size %d given twice", ErrInvalidOptions, n)
		}
		seen[n] = true
		o := opts
		o.Members = n
		if err := o.check(); err != nil {
			return nil, err
		}
	}
	var out []*Result
	for i, n := range sizes {
		if i > 0 {
			runtime.GC()
			debug.FreeOSMemory()
		}
		resetPeakRSS()
		o := opts
		o.Members = n
		res, err := Run(ctx, o)
		if res != nil {
			out = append(out, res)
		}
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// ParseSizes parses the syntax of `mls sim --sizes`: comma-separated whole
// numbers, each written as digits or in exponent form (1e3, 2.5e4).
func ParseSizes(s string) ([]int, error) {
	var sizes []int
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		v, err := strconv.ParseFloat(f, 64)
		if err != nil || v != math.Trunc(v) || v < 1 || v > maxMembers {
			return nil, fmt.Errorf("%w: group size %q is not a whole number from 1 to %d", ErrInvalidOptions, f, maxMembers)
		}
		sizes = append(sizes, int(v))
	}
	return sizes, nil
}

// WriteSweepTable writes results (those of a Sweep, which differ only in
// their group size) as a human-readable table, one row per result.
func WriteSweepTable(w io.Writer, results []*Result) error {
	if len(results) == 0 {
		return nil
	}
	p := &printer{w: w}
	p.printf("mls sim: %d group sizes, %s\n\n", len(results), results[0].describe())
	group := func(name string) string {
		dashes := 34 - len(name) - 2
		return strings.Repeat("-", dashes/2) + " " + name + " " + strings.Repeat("-", dashes-dashes/2)
	}
	p.printf("%9s  %s  %s  %s  %10s %8s %8s %8s %7s\n", "", group("update"), group("add"), group("remove"), "join", "Welcome", "build", "max RSS", "agreed")
	opHead := fmt.Sprintf("%3s %9s %10s %9s", "n", "create ms", "process ms", "bytes")
	p.printf("%9s  %s  %s  %s  %10s %8s %8s %8s %7s\n", "members", opHead, opHead, opHead, "ms", "bytes", "s", "MiB", "epochs")
	for _, r := range results {
		p.printf("%9d", r.Members)
		for _, op := range []Op{r.Ops.Update, r.Ops.Add, r.Ops.Remove} {
			p.printf("  %3d %9.3f %10.3f %9d", op.Count, op.CreateMedianMS, op.ProcessMedianMS, op.CommitBytesMedian)
		}
		p.printf("  %10.3f %8d %8.1f %8.0f %7s\n", r.Join.MedianMS, r.Join.WelcomeBytes, r.BuildSeconds,
			float64(r.MaxRSSBytes)/(1<<20), fmt.Sprintf("%d/%d", r.AgreedEpochs, r.Epochs))
	}
	if results[0].DS != nil {
		writeSweepDS(p, results)
	}
	return p.err
}

// writeSweepDS writes the delivery service's figures of a sweep's
// results, one row per result.
func writeSweepDS(p *printer, results []*Result) {
	p.printf("\ndelivery service %s (medians; HTTP body bytes)\n\n", results[0].DS.Store)
	p.printf("%9s  %8s %8s %8s  %12s %12s  %8s %8s %8s\n", "", "upload", "upload", "upload", "join", "fan-out", "service", "post", "fetch")
	p.printf("%9s  %8s %8s %8s  %12s %12s  %8s %8s %8s\n", "members", "update", "add", "remove", "download", "per commit", "cpu ms", "ms", "ms")
	for _, r := range results {
		if ds := r.DS; ds != nil {
			u := ds.CommitUploadBytes
			p.printf("%9d  %8d %8d %8d  %12d %12d  %8.3f %8.3f %8.3f\n", r.Members, u.Update, u.Add, u.Remove,
				ds.JoinDownloadBytes, ds.FanoutBytesPerCommit, ds.DSCPUPerCommitMS, ds.PostMedianMS, ds.FetchMedianMS)
		}
	}
}

// WriteCSV writes results as CSV: a header, then one row per result. The
// columns are the fields of the results' JSON encoding (that of
// `mls sim --json`), in its order, the names of nested fields joined by
// dots: members, suite, …, ops.update.count, ops.update.create_median_ms,
// …, mix.update, …, committers. A field that only some results have is an
// empty cell in the others.
func WriteCSV(w io.Writer, results []*Result) error {
	var header []string
	col := map[string]int{}
	rows := make([]map[string]string, len(results))
	for i, r := range results {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		rows[i] = map[string]string{}
		err = flattenJSON(b, func(key, value string) {
			if _, ok := col[key]; !ok {
				col[key] = len(header)
				header = append(header, key)
			}
			rows[i][key] = value
		})
		if err != nil {
			return err
		}
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return err
	}
	for _, row := range rows {
		rec := make([]string, len(header))
		for k, v := range row {
			rec[col[k]] = v
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// flattenJSON calls leaf with the dotted path and text of every scalar in
// the JSON value b, in order (array elements are named by their index).
func flattenJSON(b []byte, leaf func(key, value string)) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var walk func(path string) error
	walk = func(path string) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case json.Delim: // '{' or '[': Token checks the nesting
			for i := 0; dec.More(); i++ {
				name := strconv.Itoa(i)
				if t == '{' {
					k, err := dec.Token()
					if err != nil {
						return err
					}
					name = k.(string)
				}
				if path != "" {
					name = path + "." + name
				}
				if err := walk(name); err != nil {
					return err
				}
			}
			_, err = dec.Token() // the closing delimiter
			return err
		case json.Number:
			leaf(path, t.String())
		case string:
			leaf(path, t)
		case bool:
			leaf(path, strconv.FormatBool(t))
		case nil:
			leaf(path, "")
		}
		return nil
	}
	return walk("")
}
