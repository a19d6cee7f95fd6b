package main

import (
	"flag"
	"io"
)

// parseInterleaved parses flags that may appear before, between or after
// positional arguments (the standard flag package stops at the first
// positional one) and returns the positional arguments in order. A lone
// "--" ends flag parsing.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		// fs.Parse consumed a "--" terminator if it stopped there.
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// newFlagSet returns a FlagSet that reports errors (but not usage text) to
// stderr and lets the caller map failures to exit codes.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// suiteRange describes the code points of the built-in suites for usage
// messages.
const suiteRange = "1 to 7 (RFC 9420) or 0xF101 to 0xF10B (draft-ietf-mls-pq-ciphersuites)"
