package main

import (
	"fmt"
	"io"
)

// runDS is a placeholder until `mls ds` is implemented.
func runDS(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "mls: ds: not implemented yet")
	return exitUsage
}
