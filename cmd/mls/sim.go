package main

import (
	"fmt"
	"io"
)

// runSim is a placeholder until `mls sim` is implemented.
func runSim(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "mls: sim: not implemented yet")
	return exitUsage
}
