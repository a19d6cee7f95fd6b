// Command mls is the command-line interface of the MLS engine: it verifies
// the official RFC 9420 test vectors, simulates large groups, runs a
// delivery service and drives real groups through one.
//
// Usage:
//
//	mls vectors verify [--json] [--kind KIND] PATH...
//	mls vectors generate --kind KIND --suite ID[,ID...] [--out FILE]
//	mls sim [--members N] [--suite ID] [--epochs E] [--observers K] [--seed S] [--json]
//	mls ds serve [--listen ADDR] [--store URL]
//	mls client [--dir DIR] [--ds URL] COMMAND ...
//
// Run `mls help` for every command.
package main

import (
	"fmt"
	"io"
	"os"
)

// Exit codes shared by every subcommand.
const (
	exitOK      = 0 // success
	exitFailed  = 1 // the command ran and found a failure
	exitUsage   = 2 // bad usage, or input that could not be read or decoded
	usageHeader = `usage: mls COMMAND [ARGS]

commands:
  vectors verify [--json] [--kind KIND] PATH...   check official RFC 9420 test vectors
  vectors generate --kind KIND --suite ID[,ID...] [--out FILE]
                                                  make vectors in the official format
  sim [--members N] [--suite ID] [--epochs E] [--observers K] [--seed S] [--json]
                                                  simulate a large group
  ds serve [--listen ADDR] [--store URL]          run a delivery service
  client [--dir DIR] [--ds URL] COMMAND ...       drive real groups through a delivery service
  help                                            this text
`
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches a command line and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageHeader)
		return exitUsage
	}
	switch args[0] {
	case "vectors":
		return runVectors(args[1:], stdout, stderr)
	case "sim":
		return runSim(args[1:], stdout, stderr)
	case "ds":
		return runDS(args[1:], stdout, stderr)
	case "client":
		return runClient(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usageHeader)
		return exitOK
	default:
		fmt.Fprintf(stderr, "mls: unknown command %q\n\n%s", args[0], usageHeader)
		return exitUsage
	}
}
