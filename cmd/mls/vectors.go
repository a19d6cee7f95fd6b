package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/mlsengine/engine/testvectors"
)

func vectorsCommand() *command {
	verify := &command{
		name:    "vectors verify",
		args:    "[--json] [--kind KIND] PATH...",
		summary: "check official RFC 9420 test vectors",
		details: `PATH is a vector file or a directory (every *.json in it). A file's kind
comes from its base name as in the official set; --kind overrides it.
Kinds: ` + strings.Join(testvectors.Kinds(), ", ") + `

Plain output is one line per file ("key-schedule.json: 7 passed, 0
failed"), each failing case with its index, cipher suite and reason, then
"N passed, N failed". --json prints one object:
{"files":[{"file","kind","cases","passed","failed","failures":[{"index",
"cipher_suite","error"}]}],"passed","failed","errors":[{"file","error"}]},
where errors lists the files that could not be read, decoded or given a
kind. A case of a kind or feature not implemented counts as failed.

Exit status: 0 when every case passed, 1 when any case failed, 2 for a usage
error or an unreadable or undecodable file.
`,
	}
	verify.run = func(e *env, args []string) int { return runVectorsVerify(e, verify, args) }
	return &command{name: "vectors", summary: "work with RFC 9420 test vectors", subs: []*command{verify, generateCommand()}}
}

// vectorsReport is the --json output of `mls vectors verify`.
type vectorsReport struct {
	Files  []*testvectors.FileResult `json:"files"`
	Passed int                       `json:"passed"`
	Failed int                       `json:"failed"`
	Errors []fileError               `json:"errors"`
}

// fileError is a file that could not be verified at all.
type fileError struct {
	File  string `json:"file"`
	Error string `json:"error"`
}

func runVectorsVerify(e *env, c *command, args []string) int {
	fs := newFlagSet(c)
	asJSON := fs.Bool("json", false, "")
	kind := fs.String("kind", "", "")
	paths, code, ok := parse(e, c, fs, args, nil)
	if !ok {
		return code
	}
	if len(paths) == 0 {
		return usageError(e, c, "no PATH given")
	}
	if *kind != "" && !slices.Contains(testvectors.Kinds(), *kind) {
		return usageError(e, c, "unknown kind %q", *kind)
	}
	files, err := expandVectorPaths(paths)
	if err != nil {
		fmt.Fprintf(e.stderr, "mls vectors verify: %v\n", err)
		return exitUsage
	}

	code = exitOK
	report := vectorsReport{Files: []*testvectors.FileResult{}, Errors: []fileError{}}
	fail := func(path string, err error) {
		fmt.Fprintf(e.stderr, "mls vectors verify: %v\n", err)
		report.Errors = append(report.Errors, fileError{File: path, Error: err.Error()})
		code = exitUsage
	}
	for _, path := range files {
		if e.ctx.Err() != nil {
			return interrupted(e, c)
		}
		k := *kind
		if k == "" {
			var ok bool
			if k, ok = testvectors.KindOf(path); !ok {
				fail(path, fmt.Errorf("%s: cannot tell the vector kind from the file name; use --kind", path))
				continue
			}
		}
		res, err := testvectors.VerifyFile(path, k)
		if err != nil {
			fail(path, err)
			continue
		}
		report.Files = append(report.Files, res)
		report.Passed += res.Passed
		report.Failed += res.Failed
		if !*asJSON {
			printFileResult(e.stdout, res)
		}
	}
	if *asJSON {
		if err := json.NewEncoder(e.stdout).Encode(report); err != nil {
			fmt.Fprintf(e.stderr, "mls vectors verify: %v\n", err)
			return exitUsage
		}
	} else {
		fmt.Fprintf(e.stdout, "%d passed, %d failed\n", report.Passed, report.Failed)
	}
	if code == exitOK && report.Failed > 0 {
		code = exitFailed
	}
	return code
}

func printFileResult(w io.Writer, res *testvectors.FileResult) {
	fmt.Fprintf(w, "%s: %d passed, %d failed\n", filepath.Base(res.File), res.Passed, res.Failed)
	for _, f := range res.Failures {
		suite := "-"
		if f.CipherSuite != 0 {
			suite = fmt.Sprintf("0x%04x", f.CipherSuite)
		}
		// Keep one line per failure: a panic's stack trace goes no further.
		msg, _, _ := strings.Cut(f.Error, "\n")
		fmt.Fprintf(w, "  case %d (cipher suite %s): %s\n", f.Index, suite, msg)
	}
}

// expandVectorPaths replaces each directory by the *.json files in it.
func expandVectorPaths(paths []string) ([]string, error) {
	var files []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			files = append(files, p)
			continue
		}
		matches, err := filepath.Glob(filepath.Join(p, "*.json"))
		if err != nil {
			return nil, err
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("%s: no *.json files", p)
		}
		sort.Strings(matches)
		files = append(files, matches...)
	}
	return files, nil
}
