package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/testvectors"
)

// suiteRange is the code points of the built-in suites, for usage texts.
const suiteRange = "1 to 7 or 0xF101 to 0xF10B"

func generateCommand() *command {
	c := &command{
		name:    "vectors generate",
		args:    "--kind KIND --suite ID[,ID...] [--out FILE]",
		summary: "make test vectors in the official format for any suite",
		details: `Writes a vector file of KIND in the format of the official RFC 9420 vectors:
a JSON array of the cases of each cipher suite ID in turn, on stdout or in
FILE (created or replaced). An ID is a number (` + suiteRange + `,
decimal or 0x hex) or a name. The inputs are random, so every run gives new
cases; 'mls vectors verify' passes them.
Kinds: ` + strings.Join(testvectors.GenerateKinds(), ", ") + `

flags:
  --kind KIND     the kind of vector file
  --suite ID,...  the suites, comma-separated
  --out FILE      write to FILE instead of stdout

Exit status: 0 when the file was written, 1 when generation failed, 2 for a
usage error (a missing flag, an unknown kind or suite, an argument) or a
FILE that cannot be written.
`,
	}
	c.run = func(e *env, args []string) int { return runVectorsGenerate(e, c, args) }
	return c
}

func runVectorsGenerate(e *env, c *command, args []string) int {
	fs := newFlagSet(c)
	kind := fs.String("kind", "", "")
	suites := fs.String("suite", "", "")
	out := fs.String("out", "", "")
	rest, code, ok := parse(e, c, fs, args, nil)
	switch {
	case !ok:
		return code
	case len(rest) > 0:
		return usageError(e, c, "unexpected argument %q", rest[0])
	case *kind == "" || *suites == "":
		return usageError(e, c, "--kind and --suite are required")
	case !slices.Contains(testvectors.GenerateKinds(), *kind):
		return usageError(e, c, "unknown kind %q: want one of %s", *kind, strings.Join(testvectors.GenerateKinds(), ", "))
	}
	var ids []suite.ID
	for _, name := range strings.Split(*suites, ",") {
		id, err := suite.ParseID(name)
		if err != nil {
			return usageError(e, c, "--suite: %v", err)
		}
		ids = append(ids, id)
	}
	cases := []testvectors.Case{}
	for _, id := range ids {
		if e.ctx.Err() != nil {
			return interrupted(e, c)
		}
		s, _ := suite.Lookup(id) // checked by ParseID
		more, err := testvectors.Generate(*kind, s, nil)
		if err != nil {
			fmt.Fprintf(e.stderr, "mls %s: %v\n", c.name, err)
			return exitFailed
		}
		cases = append(cases, more...)
	}
	data, err := json.MarshalIndent(cases, "", "  ")
	if err != nil {
		fmt.Fprintf(e.stderr, "mls %s: %v\n", c.name, err)
		return exitFailed
	}
	data = append(data, '\n')
	if *out == "" {
		_, err = e.stdout.Write(data)
	} else {
		err = os.WriteFile(*out, data, 0o644)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "mls %s: %v\n", c.name, err)
		return exitUsage
	}
	return exitOK
}
