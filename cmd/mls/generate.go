package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/testvectors"
)

const generateUsage = `usage: mls vectors generate --kind KIND --suite ID[,ID...] [--out FILE]

Generates a test vector file of KIND in the format of the official RFC 9420
vectors: a JSON array of the cases of each cipher suite ID, on stdout or in
FILE. An ID is a name or a code point:
%s.
The choices are random, so every run gives new cases, and
` + "`mls vectors verify`" + ` passes them.
Kinds: %s

Exit status: 0 when the file was written, 1 when generation failed, 2 for a
usage error (unknown kind or suite, missing flag) or a file that cannot be
written.

flags:
`

func runVectorsGenerate(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("mls vectors generate", stderr)
	kind := fs.String("kind", "", "vector `KIND`")
	suites := fs.String("suite", "", "comma-separated cipher suite `ID`s")
	out := fs.String("out", "", "write to `FILE` instead of stdout")
	fs.Usage = func() {
		fmt.Fprintf(stderr, generateUsage, suiteRange, strings.Join(testvectors.GenerateKinds(), ", "))
		fs.PrintDefaults()
	}
	rest, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil || len(rest) > 0 || *kind == "" || *suites == "" {
		if err == nil {
			fs.Usage()
		}
		return exitUsage
	}
	var ids []suite.ID
	for _, name := range strings.Split(*suites, ",") {
		id, err := suite.ParseID(name)
		if err != nil {
			fmt.Fprintf(stderr, "mls: vectors generate: %v\n", err)
			return exitUsage
		}
		ids = append(ids, id)
	}
	if !slices.Contains(testvectors.GenerateKinds(), *kind) {
		fmt.Fprintf(stderr, "mls: vectors generate: unknown kind %q (want one of %s)\n", *kind, strings.Join(testvectors.GenerateKinds(), ", "))
		return exitUsage
	}
	cases := []testvectors.Case{}
	for _, id := range ids {
		s, _ := suite.Lookup(id) // checked by ParseID
		c, err := testvectors.Generate(*kind, s, nil)
		if err != nil {
			fmt.Fprintf(stderr, "mls: %v\n", err)
			return exitFailed
		}
		cases = append(cases, c...)
	}
	data, err := json.MarshalIndent(cases, "", "  ")
	if err != nil {
		fmt.Fprintf(stderr, "mls: vectors generate: %v\n", err)
		return exitFailed
	}
	data = append(data, '\n')
	if *out == "" {
		_, err = stdout.Write(data)
	} else {
		err = os.WriteFile(*out, data, 0o644)
	}
	if err != nil {
		fmt.Fprintf(stderr, "mls: vectors generate: %v\n", err)
		return exitUsage
	}
	return exitOK
}
