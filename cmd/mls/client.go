package main

import (
	"fmt"
	"io"
)

// runClient is a placeholder until `mls client` is implemented.
func runClient(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "mls: client: not implemented yet")
	return exitUsage
}
