package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"

	"github.com/mlsengine/engine/delivery/agent"
	"github.com/mlsengine/engine/mls/suite"
)

const clientUsage = `usage: mls client [--dir DIR] [--ds URL] COMMAND [ARGS]

One MLS client, its state kept in DIR (default $MLS_DIR, then ./.mls),
talking to the delivery service at URL (default $MLS_DS, then
http://127.0.0.1:8080). Flags may come anywhere; "--" ends them.

commands:
  init NAME [--suite ID]   create the identity NAME, register it with the
                           delivery service, upload KeyPackages (suite 1 to
                           7 or 0xF101 to 0xF10B, or its name; default 1)
  create GROUP             create a group named GROUP
  add GROUP NAME...        add clients; prints "GROUP: ME added NAME"
  join                     accept every pending Welcome; prints "joined GROUP"
  send GROUP TEXT...       send a message (the words of TEXT joined by spaces)
  recv [GROUP]             fetch and process everything new; prints
                           "GROUP NAME: TEXT" per message and a line per
                           membership change ("GROUP: NAME added NAME",
                           "removed", "NAME left", "NAME updated",
                           "NAME removed you")
  update GROUP             refresh this client's keys in the group
  remove GROUP NAME...     remove clients from the group
  leave GROUP              ask to leave the group and forget it (the next
                           member to recv commits the request)
  info GROUP [--json]      epoch, members and epoch authenticator; JSON:
                           {"group","epoch","members","epoch_authenticator"}
  rejoin GROUP             join GROUP again by external commit, from the
                           GroupInfo the delivery service publishes (after
                           being removed, or when recv reports the group out
                           of sync); prints "rejoined GROUP"
  rejoin --id HEX          the same for a group known by its id (the
                           group_id info prints), e.g. once its state is lost

Every command on a group first catches up with it; what that reads is
printed by the next recv. Exit status: 0 on success, 1 when the command
failed, 2 for a usage error.
`

// Defaults of `mls client`.
const (
	defaultClientDir = ".mls"
	defaultClientDS  = "http://127.0.0.1:8080"
)

// clientCommand describes a command's arguments and the flags it takes
// besides --dir and --ds.
type clientCommand struct {
	min, max int // positional arguments; max < 0: any number
	flags    []string
}

var clientCommands = map[string]clientCommand{
	"init":   {1, 1, []string{"suite"}},
	"create": {1, 1, nil},
	"add":    {2, -1, nil},
	"join":   {0, 0, nil},
	"send":   {2, -1, nil},
	"recv":   {0, 1, nil},
	"update": {1, 1, nil},
	"remove": {2, -1, nil},
	"leave":  {1, 1, nil},
	"info":   {1, 1, []string{"json"}},
	"rejoin": {0, 1, []string{"id"}},
}

func runClient(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("mls client", stderr)
	dir := fs.String("dir", "", "")
	dsURL := fs.String("ds", "", "")
	suiteArg := fs.String("suite", "", "")
	asJSON := fs.Bool("json", false, "")
	groupID := fs.String("id", "", "")
	fs.Usage = func() { fmt.Fprint(stderr, clientUsage) }
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "mls: client: "+format+"\n\n", a...)
		fmt.Fprint(stderr, clientUsage)
		return exitUsage
	}
	if len(pos) == 0 {
		return usage("no command")
	}
	if pos[0] == "help" {
		fmt.Fprint(stdout, clientUsage)
		return exitOK
	}
	name, rest := pos[0], pos[1:]
	cmd, ok := clientCommands[name]
	if !ok {
		return usage("unknown command %q", name)
	}
	if len(rest) < cmd.min || (cmd.max >= 0 && len(rest) > cmd.max) {
		return usage("%s: wrong number of arguments", name)
	}
	var misplaced string
	fs.Visit(func(f *flag.Flag) {
		if f.Name != "dir" && f.Name != "ds" && !slices.Contains(cmd.flags, f.Name) {
			misplaced = f.Name
		}
	})
	if misplaced != "" {
		return usage("%s does not take --%s", name, misplaced)
	}
	var rejoinID []byte
	if name == "rejoin" {
		if (len(rest) == 1) == (*groupID != "") {
			return usage("rejoin: name a GROUP or give --id HEX, not both")
		}
		if *groupID != "" {
			if rejoinID, err = hex.DecodeString(*groupID); err != nil || len(rejoinID) == 0 {
				return usage("rejoin: --id %q: want the group id in hex", *groupID)
			}
		}
	}
	opts, err := clientOptions(*dir, *dsURL)
	if err != nil {
		return usage("%v", err)
	}
	var cs suite.ID
	if name == "init" {
		if cs, err = parseSuite(*suiteArg); err != nil {
			return usage("%v", err)
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	c := &clientRun{ctx: ctx, opts: opts, stdout: stdout, stderr: stderr}
	switch name {
	case "init":
		err = c.init(rest[0], cs)
	case "info":
		err = c.info(rest[0], *asJSON)
	case "rejoin":
		err = c.rejoin(rest, rejoinID)
	default:
		err = c.groupCommand(name, rest)
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitFailed
	}
	return exitOK
}

// clientOptions resolves the state directory and delivery service URL.
func clientOptions(dir, ds string) (agent.Options, error) {
	if dir == "" {
		dir = os.Getenv("MLS_DIR")
	}
	if dir == "" {
		dir = defaultClientDir
	}
	if ds == "" {
		ds = os.Getenv("MLS_DS")
	}
	if ds == "" {
		ds = defaultClientDS
	}
	u, err := url.Parse(ds)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return agent.Options{}, fmt.Errorf("delivery service URL %q: want http://HOST:PORT or https://...", ds)
	}
	return agent.Options{Dir: dir, DS: ds}, nil
}

// parseSuite parses a cipher suite given as a number (decimal or 0x hex)
// or a name (suite.ParseID); "" is the default suite.
func parseSuite(s string) (suite.ID, error) {
	if s == "" {
		return agent.DefaultSuite, nil
	}
	id, err := suite.ParseID(s)
	if err != nil {
		return 0, fmt.Errorf("unknown cipher suite %q: want %s or a name such as %s", s, suiteRange, agent.DefaultSuite)
	}
	return id, nil
}

// clientRun is one `mls client` command being run.
type clientRun struct {
	ctx            context.Context
	opts           agent.Options
	stdout, stderr io.Writer
}

func (c *clientRun) init(name string, cs suite.ID) error {
	a, err := agent.Init(c.ctx, c.opts, name, cs)
	if err != nil {
		return err
	}
	defer a.Close()
	fmt.Fprintf(c.stdout, "initialized %s (%v) in %s\n", a.Name(), a.Suite(), c.opts.Dir)
	return nil
}

func (c *clientRun) info(group string, asJSON bool) error {
	a, err := agent.Open(c.opts)
	if err != nil {
		return err
	}
	defer a.Close()
	s, err := a.Info(group)
	if err != nil {
		return err
	}
	if asJSON {
		data, err := json.Marshal(s)
		if err != nil {
			return fmt.Errorf("mls: client: %w", err)
		}
		fmt.Fprintf(c.stdout, "%s\n", data)
		return nil
	}
	fmt.Fprintf(c.stdout, "group: %s\ngroup_id: %s\nepoch: %d\nmembers: %s\nepoch_authenticator: %s\n",
		s.Group, s.GroupID, s.Epoch, strings.Join(s.Members, " "), s.EpochAuthenticator)
	return nil
}

// rejoin joins a group again by external commit: the group named
// args[0], or the one whose id is groupID.
func (c *clientRun) rejoin(args []string, groupID []byte) error {
	a, err := agent.Open(c.opts)
	if err != nil {
		return err
	}
	defer a.Close()
	var name string
	if len(args) == 1 {
		name, err = args[0], a.Rejoin(c.ctx, args[0])
	} else {
		name, err = a.RejoinID(c.ctx, groupID)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "rejoined %s\n", name)
	return nil
}

// groupCommand runs one of the commands that talk to the delivery service
// about groups, and prints the events they return.
func (c *clientRun) groupCommand(name string, args []string) error {
	a, err := agent.Open(c.opts)
	if err != nil {
		return err
	}
	defer a.Close()
	var events []agent.Event
	switch name {
	case "create":
		if err = a.Create(c.ctx, args[0]); err == nil {
			fmt.Fprintf(c.stdout, "created %s\n", args[0])
		}
	case "add":
		events, err = a.Add(c.ctx, args[0], args[1:]...)
	case "join":
		var joined []string
		joined, events, err = a.Join(c.ctx)
		for _, g := range joined {
			fmt.Fprintf(c.stdout, "joined %s\n", g)
		}
	case "send":
		events, err = a.Send(c.ctx, args[0], strings.Join(args[1:], " "))
	case "recv":
		group := ""
		if len(args) == 1 {
			group = args[0]
		}
		events, err = a.Receive(c.ctx, group)
	case "update":
		events, err = a.Update(c.ctx, args[0])
	case "remove":
		events, err = a.Remove(c.ctx, args[0], args[1:]...)
	case "leave":
		events, err = a.Leave(c.ctx, args[0])
	}
	c.printEvents(events)
	return err
}

// printEvents prints events one per line, warnings on stderr.
func (c *clientRun) printEvents(events []agent.Event) {
	for _, e := range events {
		if e.Kind == agent.EventWarning {
			fmt.Fprintf(c.stderr, "mls: client: %s\n", e)
			continue
		}
		fmt.Fprintln(c.stdout, e)
	}
}
