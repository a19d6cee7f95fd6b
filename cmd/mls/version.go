package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

func versionCommand() *command {
	c := &command{
		name:    "version",
		summary: "print the module version, the commit it was built from and the Go version",
		details: `Prints one line: "mls VERSION (commit COMMIT[, modified]) GOVERSION OS/ARCH".
VERSION is the module's version ("(devel)" for a build from a checkout);
COMMIT is the VCS revision the Go tool stamped in the binary (go build or
go install in a git checkout), "unknown" when there is none (go run).
`,
	}
	c.run = func(e *env, args []string) int {
		if len(args) > 0 {
			if isHelp(args[0]) {
				fmt.Fprint(e.stdout, c.usage())
				return exitOK
			}
			return usageError(e, c, "unexpected argument %q", args[0])
		}
		fmt.Fprintln(e.stdout, versionLine())
		return exitOK
	}
	return c
}

// versionLine describes the running binary from its build information.
func versionLine() string {
	version, commit, modified := "(devel)", "unknown", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if modified {
		commit += ", modified"
	}
	return fmt.Sprintf("mls %s (commit %s) %s %s/%s", version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
