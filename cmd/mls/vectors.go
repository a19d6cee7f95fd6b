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

const vectorsUsage = `usage: mls vectors verify [--json] [--kind KIND] PATH...
       mls vectors generate --kind KIND --suite ID[,ID...] [--out FILE]

PATH is a vector file or a directory (every *.json in it). A file's kind
comes from its base name as in the official set; --kind overrides it.
Kinds: %s

Exit status: 0 when every case passed, 1 when any case failed, 2 for a usage
error or an unreadable or undecodable file.

generate makes vector files for any built-in suite; see
mls vectors generate --help.
`

// vectorsReport is the --json output of `mls vectors verify`.
type vectorsReport struct {
	Files  []*testvectors.FileResult `json:"files"`
	Passed int                       `json:"passed"`
	Failed int                       `json:"failed"`
}

func runVectors(args []string, stdout, stderr io.Writer) int {
	usage := fmt.Sprintf(vectorsUsage, strings.Join(testvectors.Kinds(), ", "))
	if len(args) > 0 && args[0] == "generate" {
		return runVectorsGenerate(args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	fs := newFlagSet("mls vectors verify", stderr)
	asJSON := fs.Bool("json", false, "print one JSON object on stdout")
	kind := fs.String("kind", "", "treat every file as this kind")
	paths, err := parseInterleaved(fs, args[1:])
	if err != nil || len(paths) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	if *kind != "" && !knownKind(*kind) {
		fmt.Fprintf(stderr, "mls: unknown kind %q\n", *kind)
		return exitUsage
	}
	files, err := expandVectorPaths(paths)
	if err != nil {
		fmt.Fprintf(stderr, "mls: %v\n", err)
		return exitUsage
	}

	code := exitOK
	report := vectorsReport{Files: []*testvectors.FileResult{}}
	for _, path := range files {
		k := *kind
		if k == "" {
			var ok bool
			if k, ok = testvectors.KindOf(path); !ok {
				fmt.Fprintf(stderr, "mls: %s: cannot tell the vector kind from the file name; use --kind\n", path)
				code = exitUsage
				continue
			}
		}
		res, err := testvectors.VerifyFile(path, k)
		if err != nil {
			fmt.Fprintf(stderr, "mls: %v\n", err)
			code = exitUsage
			continue
		}
		report.Files = append(report.Files, res)
		report.Passed += res.Passed
		report.Failed += res.Failed
		if !*asJSON {
			printFileResult(stdout, res)
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		if err := enc.Encode(report); err != nil {
			fmt.Fprintf(stderr, "mls: %v\n", err)
			return exitUsage
		}
	} else {
		fmt.Fprintf(stdout, "%d passed, %d failed\n", report.Passed, report.Failed)
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

func knownKind(k string) bool { return slices.Contains(testvectors.Kinds(), k) }

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
