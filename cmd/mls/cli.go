package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Exit codes shared by every command.
const (
	exitOK          = 0   // success
	exitFailed      = 1   // the command ran and found a failure
	exitUsage       = 2   // bad usage, or input that could not be read or decoded
	exitInterrupted = 130 // interrupted by SIGINT (Ctrl-C), as shells report it
)

// A command is one `mls` command, or a group of them (subs). Adding a
// command is adding one to the tree commands returns.
type command struct {
	// name is the words after "mls" that select it, e.g. "vectors verify".
	name string
	// args is the synopsis of what follows the name.
	args string
	// synopsis, if set, replaces "NAME ARGS" in the usage line.
	synopsis string
	// summary is the one line `mls help` lists.
	summary string
	// details is the rest of `mls help NAME`: what it does, its flags,
	// output and exit status.
	details string
	// subs are the commands of a group such as "vectors".
	subs []*command
	// run runs the command with the arguments after its name; nil for a
	// group, which dispatches to subs.
	run func(e *env, args []string) int
}

// env is what a command runs with.
type env struct {
	ctx            context.Context // canceled by SIGINT
	stdout, stderr io.Writer
}

// lastWord returns the last word of the command's name.
func (c *command) lastWord() string {
	return c.name[strings.LastIndexByte(c.name, ' ')+1:]
}

// usage returns the command's help text.
func (c *command) usage() string {
	var b strings.Builder
	switch {
	case c.synopsis != "":
		fmt.Fprintf(&b, "usage: mls %s", c.synopsis)
	case c.args != "":
		fmt.Fprintf(&b, "usage: mls %s %s", c.name, c.args)
	default:
		fmt.Fprintf(&b, "usage: mls %s", c.name)
	}
	fmt.Fprintf(&b, "\n\n%s\n", c.summary)
	if c.details != "" {
		fmt.Fprintf(&b, "\n%s", strings.TrimLeft(c.details, "\n"))
	}
	if len(c.subs) > 0 {
		b.WriteString("\ncommands:\n")
		writeCommandList(&b, c.subs)
		fmt.Fprintf(&b, "\nRun 'mls help %s COMMAND' for a command's usage.\n", c.name)
	}
	return b.String()
}

// writeCommandList writes one line per command, its synopsis and summary
// (below it if the synopsis is long).
func writeCommandList(w io.Writer, cmds []*command) {
	const width = 34
	for _, c := range cmds {
		syn := strings.TrimSpace(c.name + " " + c.args)
		if len(syn) > width {
			fmt.Fprintf(w, "  %s\n  %-*s  %s\n", syn, width, "", c.summary)
			continue
		}
		fmt.Fprintf(w, "  %-*s  %s\n", width, syn, c.summary)
	}
}

// find returns the command at the path of words (such as ["client",
// "send"]) in cmds, or nil.
func find(cmds []*command, words []string) *command {
	var found *command
	for _, w := range words {
		var next *command
		for _, c := range cmds {
			if c.lastWord() == w {
				next = c
			}
		}
		if next == nil {
			return nil
		}
		found, cmds = next, next.subs
	}
	return found
}

// dispatch runs the command of a group selected by args[0].
func dispatch(e *env, group *command, args []string) int {
	if len(args) == 0 {
		return usageError(e, group, "missing command")
	}
	if isHelp(args[0]) {
		fmt.Fprint(e.stdout, group.usage())
		return exitOK
	}
	c := find(group.subs, args[:1])
	if c == nil {
		return usageError(e, group, "unknown command %q", args[0])
	}
	if c.run == nil {
		return dispatch(e, c, args[1:])
	}
	return c.run(e, args[1:])
}

func isHelp(arg string) bool {
	return arg == "help" || arg == "-h" || arg == "--help" || arg == "-help"
}

// usageError prints a one-line usage error for command c and the way to its
// usage, and returns exitUsage.
func usageError(e *env, c *command, format string, args ...any) int {
	fmt.Fprintf(e.stderr, "mls %s: %s\nrun 'mls %s -h' for usage\n", c.name, fmt.Sprintf(format, args...), c.name)
	return exitUsage
}

// interrupted reports an interrupted command and returns its exit code.
func interrupted(e *env, c *command) int {
	fmt.Fprintf(e.stderr, "mls %s: interrupted\n", c.name)
	return exitInterrupted
}

// newFlagSet returns a FlagSet that prints nothing itself: parse reports
// its errors.
func newFlagSet(c *command) *flag.FlagSet {
	fs := flag.NewFlagSet("mls "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parse parses args for command c: flags may come before, between or after
// positional arguments ("--" ends them), and once verbatim(positional)
// reports true, the rest of args is taken as positional arguments as it
// is. A flag given twice is an error. With -h it prints c's usage; ok is
// false when the command must stop with code.
func parse(e *env, c *command, fs *flag.FlagSet, args []string, verbatim func([]string) bool) (pos []string, code int, ok bool) {
	onlyOnce(fs)
	pos, err := parseInterleaved(fs, args, verbatim)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(e.stdout, c.usage())
		return nil, exitOK, false
	}
	if err != nil {
		return nil, usageError(e, c, "%v", err), false
	}
	return pos, 0, true
}

// parseInterleaved parses flags that may appear before, between or after
// positional arguments (the standard flag package stops at the first
// positional one) and returns the positional arguments in order. A lone
// "--" ends flag parsing, and so does verbatim (if not nil) returning true
// for the positional arguments so far. On error it returns the positional
// arguments read before.
func parseInterleaved(fs *flag.FlagSet, args []string, verbatim func([]string) bool) ([]string, error) {
	var positional []string
	for {
		if verbatim != nil && verbatim(positional) {
			return append(positional, args...), nil
		}
		if err := fs.Parse(args); err != nil {
			return positional, err
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

// onlyOnce makes every flag of fs an error when given twice.
func onlyOnce(fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		if _, done := f.Value.(*onceValue); done {
			return
		}
		f.Value = &onceValue{Value: f.Value}
	})
}

// onceValue is a flag.Value that may be set once.
type onceValue struct {
	flag.Value
	set bool
}

var errGivenTwice = errors.New("given more than once")

func (v *onceValue) Set(s string) error {
	if v.set {
		return errGivenTwice
	}
	v.set = true
	return v.Value.Set(s)
}

// IsBoolFlag keeps a boolean flag usable without a value.
func (v *onceValue) IsBoolFlag() bool {
	b, ok := v.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// flagsSet returns the names of the flags given on the command line.
func flagsSet(fs *flag.FlagSet) []string {
	var names []string
	fs.Visit(func(f *flag.Flag) { names = append(names, f.Name) })
	return names
}
