// Command mls is the command-line interface of the MLS engine: it verifies
// the official RFC 9420 test vectors, simulates large groups, runs a
// delivery service and drives real groups through one.
//
// Usage:
//
//	mls vectors verify [--json] [--kind KIND] PATH...
//	mls vectors generate --kind KIND --suite ID[,ID...] [--out FILE]
//	mls sim [--members N | --sizes LIST] [--suite ID] [--epochs E] [--observers K] [--seed S] [--bare]
//	        [--mix MIX] [--committers C] [--json] [--csv FILE] [--plot FILE]
//	mls ds serve [--listen ADDR] [--store URL]
//	mls ds bench [--store URL] [--clients N] [--groups G] [--seconds S] [--http] [--json]
//	mls client [--dir DIR] [--ds URL] COMMAND [ARGS]
//	mls interop serve [--listen ADDR] [--name NAME]
//	mls version
//	mls help [COMMAND...]
//
// Run `mls help` for every command, `mls help COMMAND` (or `mls COMMAND
// -h`) for one.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// commands returns the tree of commands. A new command is one more entry.
func commands() *command {
	root := &command{
		name:    "",
		summary: "mls verifies the official RFC 9420 test vectors, simulates large groups, runs a delivery service and drives real groups through it.",
		subs: []*command{
			vectorsCommand(),
			simCommand(),
			dsCommand(),
			clientCommand(),
			interopCommand(),
			versionCommand(),
		},
	}
	root.subs = append(root.subs, helpCommand(root))
	return root
}

// run runs the command line args and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := &env{ctx: ctx, stdout: stdout, stderr: stderr}
	root := commands()
	if len(args) == 0 {
		fmt.Fprint(stderr, rootUsage(root))
		return exitUsage
	}
	if isHelp(args[0]) && len(args) == 1 {
		fmt.Fprint(stdout, rootUsage(root))
		return exitOK
	}
	c := find(root.subs, args[:1])
	if c == nil {
		fmt.Fprintf(stderr, "mls: unknown command %q\nrun 'mls help' for usage\n", args[0])
		return exitUsage
	}
	if c.run == nil {
		return dispatch(e, c, args[1:])
	}
	return c.run(e, args[1:])
}

func rootUsage(root *command) string {
	return "usage: mls COMMAND [ARGS]\n\n" + root.summary + "\n\ncommands:\n" + commandList(root.subs) +
		"\nRun 'mls help COMMAND' (or 'mls COMMAND -h') for a command's usage.\n"
}

// commandList lists cmds and, below a group, its commands.
func commandList(cmds []*command) string {
	var all []*command
	var walk func([]*command)
	walk = func(cs []*command) {
		for _, c := range cs {
			if c.run != nil || len(c.subs) == 0 {
				all = append(all, c)
			}
			if c.run == nil {
				walk(c.subs)
			}
		}
	}
	walk(cmds)
	var b strings.Builder
	writeCommandList(&b, all)
	return b.String()
}

func helpCommand(root *command) *command {
	c := &command{
		name:    "help",
		args:    "[COMMAND...]",
		summary: "print the usage of a command, or the list of commands",
	}
	c.run = func(e *env, args []string) int {
		if len(args) == 0 {
			fmt.Fprint(e.stdout, rootUsage(root))
			return exitOK
		}
		if isHelp(args[0]) && len(args) == 1 {
			fmt.Fprint(e.stdout, c.usage())
			return exitOK
		}
		target := find(root.subs, args)
		if target == nil {
			return usageError(e, c, "unknown command %q", strings.Join(args, " "))
		}
		fmt.Fprint(e.stdout, target.usage())
		return exitOK
	}
	return c
}
